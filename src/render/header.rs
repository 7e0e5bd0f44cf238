//! The result page's header: what ran, how it ended (a run that did not succeed says so,
//! and why, first), when, where, with which parameters; from the execution's record.

use super::escape;
use crate::model::{Execution, State};
use serde_json::{Map, Value};
use std::fmt::Write;

/// Where the links that only the owner's page has go (see `with_owner_links`).
const OWNER_LINKS_SLOT: &str = "<!--nx-owner-links-->";

/// The owner's page (the authenticated result route, `executions/{id}/result`) gets links
/// to download the notebook and to import it in JupyterLab; a share link's page does not
/// (its viewers have no access to either). Relative to the result route, so they work under
/// any base URL: `notebook` is `executions/{id}/notebook`, and five levels up is the base.
pub fn with_owner_links(page: &str, execution_id: &str) -> String {
    let id = escape(execution_id);
    let links = format!(
        "<nav class=\"nx-links\" aria-label=\"Result files\">\
         <a href=\"notebook\" download>Download the executed notebook (.ipynb)</a>\
         <a href=\"../../../../../lab?notebook-executor-import={id}\" target=\"_blank\" rel=\"noopener\">Import it into JupyterLab…</a>\
         </nav>"
    );
    page.replacen(OWNER_LINKS_SLOT, &links, 1)
}

/// "RUNNING" -> "Running", as the panel writes states.
fn state_label(state: State) -> String {
    let name = state.as_str();
    name[..1].to_owned() + &name[1..].to_lowercase()
}

/// The notebook by its file name: the record holds a path of the server's disk (or a
/// bucket), which is no business of a share link's viewers.
fn notebook_name(input: &str) -> &str {
    input
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(input)
}

/// The sentence on top of the page when the run has not (or not successfully) ended;
/// `None` for a success.
fn state_notice(e: &Execution) -> Option<(&'static str, String)> {
    let why = |lead: &str| {
        if e.state_message.is_empty() {
            format!("{lead}.")
        } else {
            format!("{lead}: {}", e.state_message)
        }
    };
    Some(match e.state {
        State::Queued | State::Preparing => (
            "nx-notice",
            format!(
                "{}: the notebook as submitted; it has not run yet. This page refreshes by itself.",
                state_label(e.state)
            ),
        ),
        State::Running | State::Cancelling => (
            "nx-notice",
            format!(
                "{}: {} of {} cells done. This page shows the progress so far and refreshes by itself.",
                state_label(e.state),
                e.progress.cells_done,
                e.progress.cells_total
            ),
        ),
        State::Failed => ("nx-failure", why("This run failed")),
        State::Expired => ("nx-failure", why("This run timed out")),
        State::Cancelled => ("nx-notice", why("This run was cancelled")),
        // A success's message is its warnings (e.g. a parameter passed as it was given).
        State::Succeeded if !e.state_message.is_empty() => {
            ("nx-notice", format!("Succeeded, with warnings: {}", e.state_message))
        }
        State::Succeeded => return None,
    })
}

/// `2026-11-28T14:05:03.123456Z` -> `2026-11-28 14:05:03 UTC` (a script on the page shows it
/// in the reader's zone, named).
fn time_html(rfc3339: &str) -> String {
    let shown = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned());
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(rfc3339),
        escape(&shown)
    )
}

/// 0.4 -> "0.4 s"; 65 -> "1 min 5 s"; 3725 -> "1 h 2 min" (the panel's form, with tenths
/// under a minute).
pub fn duration_text(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if seconds < 60.0 {
        return format!("{:.1} s", seconds);
    }
    let s = seconds.round() as u64;
    if s < 3600 {
        return match s % 60 {
            0 => format!("{} min", s / 60),
            rest => format!("{} min {rest} s", s / 60),
        };
    }
    match (s % 3600) / 60 {
        0 => format!("{} h", s / 3600),
        minutes => format!("{} h {minutes} min", s / 3600),
    }
}

fn duration_between(start: &str, end: &str) -> Option<f64> {
    let start = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let end = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    Some((end - start).num_milliseconds() as f64 / 1000.0)
}

fn parameters_html(parameters: &Map<String, Value>) -> String {
    if parameters.is_empty() {
        return "<span class=\"nx-muted\">none (the notebook's defaults)</span>".to_owned();
    }
    let items: Vec<String> = parameters
        .iter()
        .map(|(name, value)| {
            format!(
                "<code>{} = {}</code>",
                escape(name),
                escape(&value.to_string())
            )
        })
        .collect();
    items.join(", ")
}

pub(super) fn render(out: &mut String, e: &Execution) {
    out.push_str("<header class=\"nx-header\">\n");
    if let Some((class, text)) = state_notice(e) {
        let role = if class == "nx-failure" {
            "alert"
        } else {
            "status"
        };
        let _ = writeln!(
            out,
            "<div class=\"{class}\" role=\"{role}\">{}</div>",
            escape(&text)
        );
    }
    let _ = writeln!(
        out,
        "<h1 class=\"nx-name\">{}</h1>",
        escape(&e.spec.display_name)
    );
    out.push_str("<dl class=\"nx-facts\">\n");
    let mut fact = |term: &str, value: String| {
        let _ = writeln!(out, "<div><dt>{term}</dt><dd>{value}</dd></div>");
    };
    fact(
        "State",
        format!(
            "<span class=\"nx-badge nx-badge-{}\" data-state=\"{}\">{}</span>",
            e.state.as_str().to_lowercase(),
            e.state.as_str(),
            state_label(e.state)
        ),
    );
    fact(
        "Notebook",
        format!(
            "<code>{}</code>",
            escape(notebook_name(&e.spec.input_notebook))
        ),
    );
    let not_yet = || "<span class=\"nx-muted\">not yet</span>".to_owned();
    fact(
        "Start",
        e.start_time
            .as_deref()
            .map(time_html)
            .unwrap_or_else(not_yet),
    );
    fact(
        "End",
        e.end_time.as_deref().map(time_html).unwrap_or_else(not_yet),
    );
    let duration = match (&e.start_time, &e.end_time) {
        (Some(start), Some(end)) => duration_between(start, end).map(duration_text),
        _ => None,
    };
    fact(
        "Duration",
        duration.map(|d| escape(&d)).unwrap_or_else(not_yet),
    );
    fact("Backend", escape(&e.spec.backend));
    let _ = writeln!(
        out,
        "<div class=\"nx-fact-wide\"><dt>Parameters</dt><dd>{}</dd></div>",
        parameters_html(&e.spec.parameters)
    );
    out.push_str("</dl>\n");
    out.push_str(OWNER_LINKS_SLOT);
    out.push_str("\n</header>\n");
}

/// Shows the header's UTC times in the reader's time zone, named ("2026-11-28 15:05:03
/// Europe/Paris"), as the panel shows times. Without scripts the UTC text stays.
pub(super) const LOCAL_TIMES_SCRIPT: &str = r#"<script>
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  var two = function (n) { return (n < 10 ? '0' : '') + n; };
  document.querySelectorAll('.nx-header time[datetime]').forEach(function (el) {
    var t = new Date(el.getAttribute('datetime'));
    if (isNaN(t.getTime())) { return; }
    el.textContent = t.getFullYear() + '-' + two(t.getMonth() + 1) + '-' + two(t.getDate()) + ' ' +
      two(t.getHours()) + ':' + two(t.getMinutes()) + ':' + two(t.getSeconds()) + ' ' + zone;
    el.title = el.getAttribute('datetime');
  });
})();
</script>
"#;
