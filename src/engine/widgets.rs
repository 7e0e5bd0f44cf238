//! Jupyter widgets as nbclient records them. The state of every widget a cell creates or
//! changes comes from that cell's comm messages and is written as the notebook's
//! `metadata.widgets`, so saved widgets render. Output widgets are mimicked as a frontend
//! does: while the kernel says a widget captures a request's output (`with out:` sets its
//! `msg_id`), that output belongs to the widget's state, not to the cell, and the widget's
//! outputs are sent back to the kernel.

use super::outputs::output_from_msg;
use crate::kernel::Message;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const STATE_MIME: &str = "application/vnd.jupyter.widget-state+json";
const WIDGET_TARGET: &str = "jupyter.widget";
const OUTPUT_MODULE: &str = "@jupyter-widgets/output";
const OUTPUT_MODEL: &str = "OutputModel";

#[derive(Default)]
pub struct Widgets {
    /// comm id -> the widget's state, merged from every update, in the order first seen.
    state: Map<String, Value>,
    /// comm id -> its binary buffers, one per path (a later buffer for a path replaces it).
    buffers: HashMap<String, Vec<Value>>,
    outputs: HashMap<String, OutputWidget>,
    /// Request msg_id -> the output widgets capturing its output, innermost last.
    capturing: HashMap<String, Vec<String>>,
}

struct OutputWidget {
    outputs: Vec<Value>,
    clear_before_next_output: bool,
    msg_id: String,
}

/// A comm message the frontend owes the kernel: an Output widget's new outputs.
pub struct StateSync {
    pub comm_id: String,
    pub data: Map<String, Value>,
    /// The header of the output message it answers.
    pub parent: Value,
}

impl Widgets {
    /// nbclient's `handle_comm_msg` for a `comm_open`, `comm_msg` or `comm_close`.
    pub fn handle_comm(&mut self, msg: &Message) {
        let content = &msg.content;
        let Some(comm_id) = content["comm_id"].as_str() else {
            return;
        };
        let data = &content["data"];
        if let Some(update) = data["state"].as_object() {
            let state = self
                .state
                .entry(comm_id.to_owned())
                .or_insert_with(|| json!({}));
            if let Some(state) = state.as_object_mut() {
                for (key, value) in update {
                    state.insert(key.clone(), value.clone());
                }
            }
            self.record_buffers(comm_id, data, &msg.buffers);
        }
        match msg.msg_type.as_str() {
            "comm_open" if content["target_name"] == WIDGET_TARGET => {
                let state = &data["state"];
                if state["_model_module"] == OUTPUT_MODULE && state["_model_name"] == OUTPUT_MODEL {
                    let outputs = state["outputs"].as_array().cloned().unwrap_or_default();
                    self.outputs.insert(
                        comm_id.to_owned(),
                        OutputWidget {
                            outputs,
                            clear_before_next_output: false,
                            msg_id: String::new(),
                        },
                    );
                }
            }
            "comm_msg" => {
                if let Some(msg_id) = data["state"]["msg_id"].as_str() {
                    self.set_capture(comm_id, msg_id);
                }
            }
            _ => {}
        }
    }

    fn record_buffers(&mut self, comm_id: &str, data: &Value, buffers: &[Vec<u8>]) {
        let Some(paths) = data["buffer_paths"].as_array().filter(|p| !p.is_empty()) else {
            return;
        };
        let recorded = self.buffers.entry(comm_id.to_owned()).or_default();
        for (path, bytes) in paths.iter().zip(buffers) {
            let buffer = json!({
                "data": base64::engine::general_purpose::STANDARD.encode(bytes),
                "encoding": "base64",
                "path": path,
            });
            match recorded.iter_mut().find(|b| b["path"] == *path) {
                Some(existing) => *existing = buffer,
                None => recorded.push(buffer),
            }
        }
    }

    /// An Output widget's `msg_id` set (it captures that request's output) or cleared.
    fn set_capture(&mut self, comm_id: &str, msg_id: &str) {
        let Some(widget) = self.outputs.get_mut(comm_id) else {
            return;
        };
        if msg_id.is_empty() {
            if let Some(stack) = self.capturing.get_mut(&widget.msg_id) {
                if let Some(at) = stack.iter().rposition(|c| c == comm_id) {
                    stack.remove(at);
                }
            }
        } else {
            self.capturing
                .entry(msg_id.to_owned())
                .or_default()
                .push(comm_id.to_owned());
        }
        widget.msg_id = msg_id.to_owned();
    }

    /// The Output widget capturing the output of request `msg_id`, if any.
    pub fn capturing(&self, msg_id: Option<&str>) -> Option<String> {
        self.capturing.get(msg_id?)?.last().cloned()
    }

    /// An output message captured by widget `comm_id`: added to its outputs (a stream
    /// continuing the last one is merged into it).
    pub fn output(&mut self, comm_id: &str, msg: &Message) -> Option<StateSync> {
        let widget = self.outputs.get_mut(comm_id)?;
        if widget.clear_before_next_output {
            widget.outputs.clear();
            widget.clear_before_next_output = false;
        }
        let output = output_from_msg(&msg.msg_type, &msg.content)?;
        match widget.outputs.last_mut() {
            Some(last)
                if last["output_type"] == "stream"
                    && output["output_type"] == "stream"
                    && last["name"] == output["name"] =>
            {
                let more = output["text"].as_str().unwrap_or_default();
                if let Value::String(text) = &mut last["text"] {
                    text.push_str(more);
                }
            }
            _ => widget.outputs.push(output),
        }
        Some(self.sync(comm_id, msg))
    }

    /// A `clear_output` captured by widget `comm_id`.
    pub fn clear_output(&mut self, comm_id: &str, msg: &Message) -> Option<StateSync> {
        let widget = self.outputs.get_mut(comm_id)?;
        if msg.content["wait"].as_bool().unwrap_or(false) {
            widget.clear_before_next_output = true;
            return None;
        }
        widget.outputs.clear();
        Some(self.sync(comm_id, msg))
    }

    /// The widget's outputs into its recorded state, and the update owed to the kernel.
    fn sync(&mut self, comm_id: &str, msg: &Message) -> StateSync {
        let outputs = Value::Array(self.outputs[comm_id].outputs.clone());
        if let Some(state) = self.state.get_mut(comm_id).and_then(Value::as_object_mut) {
            state.insert("outputs".into(), outputs.clone());
        }
        let mut data = Map::new();
        data.insert("method".into(), json!("update"));
        data.insert("state".into(), json!({ "outputs": outputs }));
        data.insert("buffer_paths".into(), json!([]));
        StateSync {
            comm_id: comm_id.to_owned(),
            data,
            parent: msg.parent_header.clone(),
        }
    }

    /// `metadata.widgets` as nbclient writes it: every widget with a model, with its
    /// buffers; None when the run created no widget.
    pub fn metadata(&self) -> Option<Value> {
        if self.state.is_empty() {
            return None;
        }
        let mut states = Map::new();
        for (comm_id, state) in &self.state {
            if state.get("_model_name").is_none() {
                continue;
            }
            let mut entry = json!({
                "model_name": state["_model_name"],
                "model_module": state["_model_module"],
                "model_module_version": state["_model_module_version"],
                "state": state,
            });
            if let Some(buffers) = self.buffers.get(comm_id).filter(|b| !b.is_empty()) {
                entry["buffers"] = json!(buffers);
            }
            states.insert(comm_id.clone(), entry);
        }
        Some(json!({
            STATE_MIME: {
                "state": states,
                "version_major": 2,
                "version_minor": 0,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(msg_type: &str, content: Value, buffers: Vec<Vec<u8>>) -> Message {
        Message {
            msg_type: msg_type.into(),
            parent_msg_id: Some("request".into()),
            date: None,
            parent_header: json!({"msg_id": "request"}),
            content,
            buffers,
        }
    }

    fn open_output(widgets: &mut Widgets, comm_id: &str) {
        widgets.handle_comm(&msg(
            "comm_open",
            json!({"comm_id": comm_id, "target_name": "jupyter.widget", "data": {"state": {
                "_model_name": "OutputModel", "_model_module": "@jupyter-widgets/output",
                "_model_module_version": "1.0.0", "outputs": [], "msg_id": ""}, "buffer_paths": []}}),
            vec![],
        ));
    }

    #[test]
    fn state_is_merged_and_buffers_kept_per_path() {
        let mut widgets = Widgets::default();
        assert!(widgets.metadata().is_none());
        widgets.handle_comm(&msg(
            "comm_open",
            json!({"comm_id": "a", "target_name": "jupyter.widget", "data": {"state": {
                "_model_name": "IntSliderModel", "_model_module": "@jupyter-widgets/controls",
                "_model_module_version": "2.0.0", "value": 1}, "buffer_paths": []}}),
            vec![],
        ));
        widgets.handle_comm(&msg(
            "comm_msg",
            json!({"comm_id": "a", "data": {"method": "update", "state": {"value": 7, "data": null},
                "buffer_paths": [["data"]]}}),
            vec![b"\x00\x01".to_vec()],
        ));
        // A custom message (no state) changes nothing.
        widgets.handle_comm(&msg(
            "comm_msg",
            json!({"comm_id": "a", "data": {"method": "custom", "content": {}}}),
            vec![],
        ));
        let metadata = widgets.metadata().unwrap();
        let a = &metadata[STATE_MIME]["state"]["a"];
        assert_eq!(a["model_name"], "IntSliderModel");
        assert_eq!(a["state"]["value"], 7);
        assert_eq!(
            a["buffers"],
            json!([{"data": "AAE=", "encoding": "base64", "path": ["data"]}])
        );
        assert_eq!(metadata[STATE_MIME]["version_major"], 2);
    }

    #[test]
    fn output_widget_captures_its_request_until_released() {
        let mut widgets = Widgets::default();
        open_output(&mut widgets, "out");
        assert_eq!(widgets.capturing(Some("request")), None);
        widgets.handle_comm(&msg(
            "comm_msg",
            json!({"comm_id": "out", "data": {"method": "update", "state": {"msg_id": "request"}, "buffer_paths": []}}),
            vec![],
        ));
        assert_eq!(widgets.capturing(Some("request")).as_deref(), Some("out"));
        for text in ["a\n", "b\n"] {
            let stream = msg("stream", json!({"name": "stdout", "text": text}), vec![]);
            let sync = widgets.output("out", &stream).unwrap();
            assert_eq!(sync.parent["msg_id"], "request");
        }
        let state = &widgets.metadata().unwrap()[STATE_MIME]["state"]["out"]["state"];
        assert_eq!(
            state["outputs"],
            json!([{"output_type": "stream", "name": "stdout", "text": "a\nb\n"}])
        );
        widgets.handle_comm(&msg(
            "comm_msg",
            json!({"comm_id": "out", "data": {"method": "update", "state": {"msg_id": ""}, "buffer_paths": []}}),
            vec![],
        ));
        assert_eq!(widgets.capturing(Some("request")), None);
        let clear = msg("clear_output", json!({"wait": false}), vec![]);
        let sync = widgets.clear_output("out", &clear).unwrap();
        assert_eq!(sync.data["state"], json!({"outputs": []}));
    }
}
