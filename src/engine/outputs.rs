//! Turns iopub messages into notebook outputs the way nbclient does: display ids updated
//! across cells, `clear_output(wait=True)` deferred to the next output, and stream
//! outputs coalesced as nbclient's `coalesce_streams` does at the end of a cell. Streams
//! are merged as they arrive (into the cell's first stream of that name), so a cell that
//! prints a lot holds one string per stream, not one output per message.

use super::widgets::{StateSync, Widgets};
use crate::kernel::Message;
use crate::notebook::lines;
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Default)]
pub struct OutputRecorder {
    /// display_id -> (cell index, output index) of every output showing it.
    display_ids: HashMap<String, Vec<(usize, usize)>>,
    clear_before_next_output: bool,
    /// Stream name -> index of the cell's output that collects that stream.
    streams: HashMap<String, usize>,
    pub widgets: Widgets,
}

/// What an iopub message meant for the cell being run.
pub enum Effect {
    None,
    ExecutionCount(Value),
    /// The kernel went idle for the request.
    Idle,
    /// An output was added or a stream grew (`stream`: the message is stream text).
    Output {
        stream: bool,
    },
    /// An Output widget took the output: its new state is owed to the kernel.
    WidgetOutput(StateSync),
}

impl OutputRecorder {
    pub fn start_cell(&mut self) {
        self.clear_before_next_output = false;
        self.streams.clear();
    }

    pub fn handle(&mut self, cells: &mut [Value], cell_index: usize, msg: &Message) -> Effect {
        let content = &msg.content;
        if let Some(effect) = self.to_output_widget(msg) {
            return effect;
        }
        match msg.msg_type.as_str() {
            "status" if content["execution_state"] == "idle" => Effect::Idle,
            "execute_input" => Effect::ExecutionCount(content["execution_count"].clone()),
            "comm_open" | "comm_msg" | "comm_close" => {
                self.widgets.handle_comm(msg);
                Effect::None
            }
            "clear_output" => {
                if content["wait"].as_bool().unwrap_or(false) {
                    self.clear_before_next_output = true;
                } else {
                    self.clear(cells, cell_index);
                }
                Effect::None
            }
            "update_display_data" => {
                if let Some(id) = content["transient"]["display_id"].as_str() {
                    for &(cell, index) in self.display_ids.get(id).map(Vec::as_slice).unwrap_or(&[])
                    {
                        if let Some(out) = cells
                            .get_mut(cell)
                            .and_then(|c| c["outputs"].get_mut(index))
                        {
                            out["data"] = bundle(&content["data"]);
                            out["metadata"] = content["metadata"].clone();
                        }
                    }
                }
                Effect::None
            }
            "stream" | "display_data" | "execute_result" | "error" => {
                if self.clear_before_next_output {
                    self.clear(cells, cell_index);
                    self.clear_before_next_output = false;
                }
                let outputs = cells[cell_index]["outputs"]
                    .as_array_mut()
                    .expect("code cells have outputs");
                if msg.msg_type == "stream" {
                    let name = content["name"].as_str().unwrap_or("stdout");
                    let text = content["text"].as_str().unwrap_or("");
                    if let Some(Value::String(collected)) = self
                        .streams
                        .get(name)
                        .and_then(|&at| outputs.get_mut(at))
                        .map(|o| &mut o["text"])
                    {
                        collected.push_str(text);
                        return Effect::Output { stream: true };
                    }
                    self.streams.insert(name.to_owned(), outputs.len());
                }
                let Some(output) = output_from_msg(&msg.msg_type, content) else {
                    return Effect::None;
                };
                if let Some(id) = content["transient"]["display_id"].as_str() {
                    self.display_ids
                        .entry(id.to_owned())
                        .or_default()
                        .push((cell_index, outputs.len()));
                }
                outputs.push(output);
                Effect::Output {
                    stream: msg.msg_type == "stream",
                }
            }
            _ => Effect::None,
        }
    }

    /// Output (and clearing) that an Output widget captures goes to the widget, as in a
    /// frontend.
    fn to_output_widget(&mut self, msg: &Message) -> Option<Effect> {
        let clear = match msg.msg_type.as_str() {
            "clear_output" => true,
            "stream" | "display_data" | "execute_result" | "error" => false,
            _ => return None,
        };
        let widget = self.widgets.capturing(msg.parent_msg_id.as_deref())?;
        let sync = if clear {
            self.widgets.clear_output(&widget, msg)
        } else {
            self.widgets.output(&widget, msg)
        };
        Some(sync.map_or(Effect::None, Effect::WidgetOutput))
    }

    fn clear(&mut self, cells: &mut [Value], cell_index: usize) {
        cells[cell_index]["outputs"] = json!([]);
        self.streams.clear();
        for places in self.display_ids.values_mut() {
            places.retain(|(cell, _)| *cell != cell_index);
        }
    }
}

fn bundle(data: &Value) -> Value {
    if data.is_object() {
        data.clone()
    } else {
        json!({})
    }
}

/// nbformat's `output_from_msg`.
pub fn output_from_msg(msg_type: &str, content: &Value) -> Option<Value> {
    Some(match msg_type {
        "execute_result" => json!({
            "output_type": "execute_result",
            "data": bundle(&content["data"]),
            "metadata": content.get("metadata").cloned().unwrap_or_else(|| json!({})),
            "execution_count": content["execution_count"],
        }),
        "display_data" => json!({
            "output_type": "display_data",
            "data": bundle(&content["data"]),
            "metadata": content.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        "stream" => json!({
            "output_type": "stream",
            "name": content["name"],
            "text": content["text"].as_str()?,
        }),
        "error" => json!({
            "output_type": "error",
            "ename": content["ename"],
            "evalue": content["evalue"],
            "traceback": content["traceback"],
        }),
        _ => return None,
    })
}

/// nbclient's `coalesce_streams`: every stream of a name merged into its first output,
/// `\r` applied, and stdout kept before an adjacent stderr. (nbclient's backspace pass
/// never runs, so backspaces are kept, as there.)
pub fn coalesce_streams(outputs: &mut Vec<Value>) {
    if outputs.is_empty() {
        return;
    }
    let mut merged: Vec<Value> = Vec::with_capacity(outputs.len());
    let mut first_of: HashMap<String, usize> = HashMap::new();
    let mut texts: HashMap<usize, String> = HashMap::new();
    for mut output in outputs.drain(..) {
        if output["output_type"] == "stream" {
            let name = output["name"].as_str().unwrap_or_default().to_owned();
            let text = match output["text"].take() {
                Value::String(text) => text,
                other => lines::join(&other).unwrap_or_default(),
            };
            match first_of.get(&name) {
                Some(&at) => texts.get_mut(&at).expect("recorded").push_str(&text),
                None => {
                    first_of.insert(name, merged.len());
                    texts.insert(merged.len(), text);
                    merged.push(output);
                }
            }
        } else {
            merged.push(output);
        }
    }
    for (at, text) in texts {
        // Most output has no carriage return: keep the string, copy nothing.
        merged[at]["text"] = Value::String(if text.contains('\r') {
            apply_carriage_returns(&text)
        } else {
            text
        });
    }
    let mut i = 0;
    while i < merged.len() {
        let is_stderr = merged[i]["output_type"] == "stream" && merged[i]["name"] == "stderr";
        if is_stderr
            && i + 1 < merged.len()
            && merged[i + 1]["output_type"] == "stream"
            && merged[i + 1]["name"] == "stdout"
        {
            let stdout = merged.remove(i + 1);
            merged.insert(i, stdout);
        }
        i += 1;
    }
    *outputs = merged;
}

/// nbclient's `.*\r(?=[^\n])` removed: on each line, everything up to the last carriage
/// return that is followed by more text on that line.
fn apply_carriage_returns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let chars: Vec<char> = line.chars().collect();
        let cut = (0..chars.len().saturating_sub(1))
            .rev()
            .find(|&j| chars[j] == '\r');
        match cut {
            Some(j) => out.extend(&chars[j + 1..]),
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriage_returns_like_nbclient() {
        assert_eq!(
            apply_carriage_returns("10%\r50%\r100%\ndone\r\n"),
            "100%\ndone\r\n"
        );
        assert_eq!(apply_carriage_returns("a\r"), "a\r");
    }

    #[test]
    fn streams_merge_into_first_and_stdout_precedes_stderr() {
        let mut outs = vec![
            json!({"output_type": "stream", "name": "stderr", "text": ["w\n"]}),
            json!({"output_type": "stream", "name": "stdout", "text": ["a\n"]}),
            json!({"output_type": "display_data", "data": {}, "metadata": {}}),
            json!({"output_type": "stream", "name": "stdout", "text": ["b\n"]}),
        ];
        coalesce_streams(&mut outs);
        assert_eq!(outs.len(), 3);
        assert_eq!(outs[0]["name"], "stdout");
        assert_eq!(outs[0]["text"], json!("a\nb\n"));
        assert_eq!(outs[1]["name"], "stderr");
    }
}
