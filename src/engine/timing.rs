//! nbclient's per-cell timings (`record_timing`): `metadata.execution` of each executed
//! cell holds when the kernel went busy, took the code, replied and went idle, from the
//! kernel's own message dates, in nbclient's format.

use crate::kernel::Message;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Before a cell is sent: earlier timings go (nbclient clears them the same way).
pub fn start(cell: &mut Value) {
    cell["metadata"]["execution"] = json!({});
}

/// Records the time of a message of the cell's request, if it is one nbclient times.
pub fn record(cell: &mut Value, msg: &Message) {
    let key = match (
        msg.msg_type.as_str(),
        msg.content["execution_state"].as_str(),
    ) {
        ("status", Some("busy")) => "iopub.status.busy",
        ("status", Some("idle")) => "iopub.status.idle",
        ("execute_input", _) => "iopub.execute_input",
        ("execute_reply", _) => "shell.execute_reply",
        _ => return,
    };
    cell["metadata"]["execution"][key] = json!(timestamp(msg.date.as_deref()));
}

/// `%Y-%m-%dT%H:%M:%S.%fZ` of the message's date; now when it has none that parses.
fn timestamp(date: Option<&str>) -> String {
    let at = date
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map_or_else(Utc::now, |d| d.with_timezone(&Utc));
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(msg_type: &str, content: Value, date: Option<&str>) -> Message {
        Message {
            msg_type: msg_type.into(),
            parent_msg_id: Some("r".into()),
            date: date.map(str::to_owned),
            parent_header: json!({}),
            content,
            buffers: vec![],
        }
    }

    #[test]
    fn the_four_moments_in_nbclient_format() {
        let mut cell = json!({"metadata": {"execution": {"stale": 1}}});
        start(&mut cell);
        let busy = json!({"execution_state": "busy"});
        record(
            &mut cell,
            &msg("status", busy, Some("2026-11-28T10:00:00.123456Z")),
        );
        record(
            &mut cell,
            &msg(
                "execute_input",
                json!({}),
                Some("2026-11-28T11:00:00.5+01:00"),
            ),
        );
        record(
            &mut cell,
            &msg(
                "execute_reply",
                json!({}),
                Some("2026-11-28T10:00:01.000001Z"),
            ),
        );
        record(
            &mut cell,
            &msg("stream", json!({}), Some("2026-11-28T10:00:02Z")),
        );
        assert_eq!(
            cell["metadata"]["execution"],
            json!({
                "iopub.status.busy": "2026-11-28T10:00:00.123456Z",
                "iopub.execute_input": "2026-11-28T10:00:00.500000Z",
                "shell.execute_reply": "2026-11-28T10:00:01.000001Z",
            })
        );
        record(
            &mut cell,
            &msg("status", json!({"execution_state": "idle"}), None),
        );
        let idle = cell["metadata"]["execution"]["iopub.status.idle"]
            .as_str()
            .unwrap();
        assert!(idle.ends_with('Z') && idle.len() == 27, "{idle}");
    }
}
