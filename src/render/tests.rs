use super::*;
use serde_json::json;
use std::path::Path;

fn notebook(cells: Value) -> Notebook {
    let nb = json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info": {"name": "python"}}, "cells": cells});
    Notebook::parse(&nb.to_string(), Path::new("t.ipynb")).unwrap()
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
        "My <run>",
        None,
    );
    assert!(page.contains("<h1>Title</h1>"));
    assert!(page.contains("<table>"));
    assert!(page.contains("<title>My &lt;run&gt;</title>"));
    assert!(page.contains("[3]:"));
    // Source is text, never markup.
    assert!(page.contains("if x &lt; 1 and y &gt; 2: print(&#39;&lt;script&gt;&#39;)"));
    assert!(!page.contains("<script>"));
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
        "t",
        None,
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
        "t",
        Some("Running: cell 2 of 5"),
    );
    assert!(page.contains("<pre class=\"nx-output nx-stdout\">a &lt; b\n</pre>"));
    assert!(page.contains("nx-stderr\">warn"));
    assert!(page.contains("<span class=\"ansi-fg-1\">ValueError</span>: bad"));
    assert!(page.contains("<span class=\"ansi-bold ansi-fg-2\">line</span> "));
    assert!(!page.contains('\u{1b}'));
    assert!(page.contains("role=\"status\">Running: cell 2 of 5</div>"));
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
