//! papermill-compatible records: `metadata.papermill` on the notebook and on each cell, and
//! the error banner cells, so tools built for papermill outputs read ours.

use crate::notebook::{cell_has_tag, Notebook};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub const ERROR_MARKER_TAG: &str = "papermill-error-cell-tag";
const ERROR_STYLE: &str = r#"style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;""#;

pub fn timestamp(t: DateTime<Utc>) -> String {
    // papermill writes `datetime.now(timezone.utc).isoformat()`.
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

pub fn seconds_between(start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
    (end - start).num_microseconds().unwrap_or(0) as f64 / 1e6
}

/// Resets the notebook for a run, as papermill does: code cells lose their outputs and
/// execution counts, every cell is `pending`, earlier error banners go.
pub fn start_run(nb: &mut Notebook, record: Value) {
    nb.cells_mut()
        .retain(|c| !cell_has_tag(c, ERROR_MARKER_TAG));
    for cell in nb.cells_mut() {
        if cell["cell_type"] == "code" {
            cell["execution_count"] = Value::Null;
            cell["outputs"] = json!([]);
        }
        cell["metadata"]["papermill"] = json!({"exception": null, "start_time": null, "end_time": null, "duration": null, "status": "pending"});
    }
    nb.metadata_mut().insert("papermill".into(), record);
}

pub fn cell_started(cell: &mut Value, at: DateTime<Utc>) {
    let record = &mut cell["metadata"]["papermill"];
    record["start_time"] = json!(timestamp(at));
    record["status"] = json!("running");
}

pub fn cell_finished(cell: &mut Value, started: DateTime<Utc>, ended: DateTime<Utc>, failed: bool) {
    let record = &mut cell["metadata"]["papermill"];
    record["end_time"] = json!(timestamp(ended));
    record["duration"] = json!(seconds_between(started, ended));
    record["exception"] = json!(failed);
    record["status"] = json!(if failed { "failed" } else { "completed" });
}

pub fn run_finished(nb: &mut Notebook, started: DateTime<Utc>, ended: DateTime<Utc>, failed: bool) {
    let record = nb
        .metadata_mut()
        .entry("papermill")
        .or_insert_with(|| json!({}));
    record["end_time"] = json!(timestamp(ended));
    record["duration"] = json!(seconds_between(started, ended));
    record["exception"] = json!(failed);
}

/// papermill's banner, in papermill's structure (tagged markdown cells, the
/// `papermill-error-cell` anchor) so its tools find it, in our words: a first cell pointing
/// at the failure, and an anchor right before the failing cell.
/// `cell`: how the failed cell is named (`In [3]`).
pub fn insert_error_banner(nb: &mut Notebook, failed_cell: usize, cell: &str) {
    let message = format!(
        "<span {ERROR_STYLE}>The run stopped at an exception in '<a href=\"#papermill-error-cell\">{cell}</a>'.</span>"
    );
    let anchor = format!(
        "<span id=\"papermill-error-cell\" {ERROR_STYLE}>The run stopped here, at this cell's exception:</span>"
    );
    let mut message_cell = nb.new_cell("markdown", &message);
    message_cell["metadata"]["tags"] = json!([ERROR_MARKER_TAG]);
    let mut anchor_cell = nb.new_cell("markdown", &anchor);
    anchor_cell["metadata"]["tags"] = json!([ERROR_MARKER_TAG]);
    let cells = nb.cells_mut();
    cells.insert(failed_cell.min(cells.len()), anchor_cell);
    cells.insert(0, message_cell);
}
