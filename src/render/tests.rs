use super::*;
use crate::model::State;
use serde_json::json;
use std::path::Path;

fn notebook(cells: Value) -> Notebook {
    let nb = json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info": {"name": "python"}}, "cells": cells});
    Notebook::parse(&nb.to_string(), Path::new("t.ipynb")).unwrap()
}

/// A succeeded execution named `name`, of `/srv/root/reports/t.ipynb`.
fn execution(name: &str) -> Execution {
    serde_json::from_value(json!({
        "id": "e1", "display_name": name, "input_notebook": "/srv/root/reports/t.ipynb", "backend": "local",
        "state": "SUCCEEDED", "state_message": "", "create_time": "2026-11-28T14:05:02.000000Z",
        "start_time": "2026-11-28T14:05:03.250000Z", "end_time": "2026-11-28T14:06:08.750000Z",
        "update_time": "2026-11-28T14:06:08.750000Z", "progress": {"cells_total": 1, "cells_done": 1, "current_cell": null},
        "output_notebook_uri": "", "output_html_uri": "", "backend_job_id": ""
    }))
    .unwrap()
}

/// `execution(name)` changed by `change`.
fn with(name: &str, change: impl FnOnce(&mut Execution)) -> Execution {
    let mut e = execution(name);
    change(&mut e);
    e
}

fn code(source: &str, outputs: Value) -> Value {
    json!({"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 3, "source": source, "outputs": outputs})
}

#[test]
fn markdown_code_and_prompt() {
    let page = render_html(
        &notebook(json!([
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |"},
            code("if x < 1 and y > 2: print('<script>')", json!([])),
        ])),
        &execution("My <run>"),
    );
    assert!(page.contains("<h1>Title</h1>"));
    assert!(page.contains("<table>"));
    assert!(page.contains("<title>My &lt;run&gt;</title>"));
    assert!(page.contains("[3]:"));
    // Source is text, never markup.
    assert!(page.contains("if x &lt; 1 and y &gt; 2: print(&#39;&lt;script&gt;&#39;)"));
    let cells = &page[page.find("nx-cells").unwrap()..page.rfind("</div>").unwrap()];
    assert!(!cells.contains("<script>"));
}

#[test]
fn richest_mime_type_wins_and_images_are_inline() {
    let page = render_html(
        &notebook(json!([code(
            "x",
            json!([
                {"output_type": "execute_result", "execution_count": 3, "metadata": {},
                 "data": {"text/plain": ["<DataFrame>"], "text/html": ["<table><tr><td>1</td></tr>", "</table>"]}},
                {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}},
            ])
        )])),
        &execution("t"),
    );
    assert!(page.contains("<table><tr><td>1</td></tr></table>"));
    assert!(!page.contains("&lt;DataFrame&gt;"));
    assert!(page.contains("<img src=\"data:image/png;base64,iVBORw0KGgo=\""));
    assert!(!page.contains("Figure"));
}

#[test]
fn streams_errors_and_terminal_colours() {
    let page = render_html(
        &notebook(json!([code(
            "x",
            json!([
                {"output_type": "stream", "name": "stdout", "text": "a < b\n"},
                {"output_type": "stream", "name": "stderr", "text": "warn\n"},
                {"output_type": "error", "ename": "ValueError", "evalue": "bad",
                 "traceback": ["\u{1b}[0;31mValueError\u{1b}[0m: bad", "\u{1b}[1;32mline\u{1b}[0m \u{1b}[2K"]},
            ])
        )])),
        &with("t", |e| {
            e.state = State::Running;
            e.end_time = None;
            e.progress.cells_done = 2;
            e.progress.cells_total = 5;
        }),
    );
    assert!(page.contains("<pre class=\"nx-output nx-stdout\">a &lt; b\n</pre>"));
    assert!(page.contains("nx-stderr\">warn"));
    assert!(page.contains("<span class=\"ansi-fg-1\">ValueError</span>: bad"));
    assert!(page.contains("<span class=\"ansi-bold ansi-fg-2\">line</span> "));
    assert!(!page.contains('\u{1b}'));
    assert!(page.contains("role=\"status\">Running: 2 of 5 cells done."));
}

#[test]
fn ansi_edge_cases() {
    assert_eq!(ansi::to_html("plain"), "plain");
    assert_eq!(
        ansi::to_html("\u{1b}[31mred"),
        "<span class=\"ansi-fg-1\">red</span>"
    );
    assert_eq!(ansi::to_html("\u{1b}[38;5;208mx\u{1b}[0m"), "x");
    assert_eq!(ansi::to_html("a\u{1b}"), "a");
    assert_eq!(ansi::to_html("\u{1b}[31"), "");
}

#[test]
fn header_says_what_ran_when_and_where() {
    let mut parameters = serde_json::Map::new();
    parameters.insert("learning_rate".into(), json!(0.25));
    parameters.insert("optimizer".into(), json!("<SGD>"));
    let page = render_html(
        &notebook(json!([code("x", json!([]))])),
        &with("nightly <report>", |e| e.spec.parameters = parameters),
    );
    let top = &page[page.find("<header").unwrap()..page.find("</header>").unwrap()];
    assert!(top.contains("<h1 class=\"nx-name\">nightly &lt;report&gt;</h1>"));
    assert!(top.contains("data-state=\"SUCCEEDED\">Succeeded</span>"));
    // The file's name, not the server's path.
    assert!(top.contains("<dt>Notebook</dt><dd><code>t.ipynb</code></dd>"));
    assert!(!page.contains("/srv/root"));
    assert!(top.contains(
        "<code>learning_rate = 0.25</code>, <code>optimizer = &quot;&lt;SGD&gt;&quot;</code>"
    ));
    assert!(top
        .contains("<time datetime=\"2026-11-28T14:05:03.250000Z\">2026-11-28 14:05:03 UTC</time>"));
    assert!(top
        .contains("<time datetime=\"2026-11-28T14:06:08.750000Z\">2026-11-28 14:06:08 UTC</time>"));
    assert!(top.contains("<dt>Duration</dt><dd>1 min 6 s</dd>"));
    assert!(top.contains("<dt>Backend</dt><dd>local</dd>"));
    // A success has no notice; the header comes before the cells.
    assert!(!top.contains("role=\"alert\"") && !top.contains("role=\"status\""));
    assert!(page.find("</header>").unwrap() < page.find("nx-cells").unwrap());
    let without = render_html(&notebook(json!([])), &execution("t"));
    assert!(without.contains(
        "<dt>Parameters</dt><dd><span class=\"nx-muted\">none (the notebook's defaults)</span>"
    ));
}

#[test]
fn a_run_that_did_not_succeed_says_so_and_why_first() {
    let nb = notebook(json!([code("x", json!([]))]));
    let cases = [
        (
            "FAILED",
            "In [3] raised ValueError: <bad>",
            "This run failed: In [3] raised ValueError: &lt;bad&gt;",
            "alert",
        ),
        ("FAILED", "", "This run failed.", "alert"),
        (
            "EXPIRED",
            "the run did not finish within 5s (timeout); stopped at In [2]",
            "This run timed out: the run did not finish",
            "alert",
        ),
        (
            "CANCELLED",
            "cancelled while running; the partial output is kept",
            "This run was cancelled: cancelled while running",
            "status",
        ),
        (
            "SUCCEEDED",
            "learning_rate: \"x\" is not a float; passed as the string it is",
            "Succeeded, with warnings: learning_rate:",
            "status",
        ),
        (
            "QUEUED",
            "",
            "Queued: the notebook as submitted; it has not run yet.",
            "status",
        ),
    ];
    for (state, message, says, role) in cases {
        let page = render_html(
            &nb,
            &with("t", |e| {
                e.state = State::parse(state).unwrap();
                e.state_message = message.into();
            }),
        );
        let body = &page[page.find("<body>").unwrap()..];
        let notice = body
            .find(&format!("role=\"{role}\">{says}"))
            .unwrap_or_else(|| panic!("{state}: {body}"));
        // At the top: before the name, the facts and every cell.
        assert!(notice < body.find("nx-name").unwrap(), "{state}");
        assert!(notice < body.find("nx-cell").unwrap(), "{state}");
    }
}

#[test]
fn only_the_owners_page_links_to_the_notebook_and_import() {
    let page = render_html(&notebook(json!([])), &execution("t"));
    assert!(
        !page.contains("<a href"),
        "the stored page has no links: a share link's page serves it as it is"
    );
    let owners = with_owner_links(&page, "abc123");
    assert!(owners.contains("<a href=\"notebook\" download>"));
    assert!(owners
        .contains("href=\"../../../../../lab?notebook-executor-import=abc123\" target=\"_blank\""));
    assert_eq!(owners.matches("<nav").count(), 1);
}

#[test]
fn durations_read_as_the_panel_writes_them() {
    assert_eq!(duration_text(0.44), "0.4 s");
    assert_eq!(duration_text(59.94), "59.9 s");
    assert_eq!(duration_text(65.0), "1 min 5 s");
    assert_eq!(duration_text(120.2), "2 min");
    assert_eq!(duration_text(3725.0), "1 h 2 min");
    assert_eq!(duration_text(7200.0), "2 h");
    assert_eq!(duration_text(-1.0), "0.0 s");
}
