//! The executed notebook as one self-contained HTML page (the "result"): markdown
//! rendered, code with its outputs in the richest form a browser can show, images inline.
//! Written next to the output notebook by the runner and served by the extension inside a
//! sandbox (its scripts never run in JupyterLab's origin). Native and fast, so that a run
//! does not pay for a Python converter.

mod ansi;
mod header;
mod page;

pub use header::{duration_text, with_owner_links};

use crate::model::{Execution, State};
use crate::notebook::{cell_source, lines, Notebook};
use crate::storage::{self, Location};
use serde_json::Value;
use std::fmt::Write;

/// Output MIME types in the order a browser page prefers them (nbconvert's HTML order,
/// without widgets).
const MIME_ORDER: &[&str] = &[
    "application/javascript",
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/gif",
    "application/json",
    "text/plain",
];

/// The page for `notebook`, under a header that says what ran and how it ended (from
/// `execution`'s record as it is, or as it ends: see `write_result_page`).
pub fn render_html(notebook: &Notebook, execution: &Execution) -> String {
    let mut body = String::new();
    header::render(&mut body, execution);
    body.push_str("<div class=\"nx-cells\">\n");
    let language = notebook.language().unwrap_or("python").to_owned();
    for cell in notebook.cells() {
        render_cell(&mut body, cell, &language);
    }
    body.push_str("</div>\n");
    body.push_str(header::LOCAL_TIMES_SCRIPT);
    page::wrap(&execution.spec.display_name, &body)
}

fn render_cell(out: &mut String, cell: &Value, language: &str) {
    let source = cell_source(cell);
    match cell["cell_type"].as_str() {
        Some("markdown") => {
            let _ = write!(
                out,
                "<div class=\"nx-cell nx-markdown\">{}</div>\n",
                markdown(&source)
            );
        }
        Some("code") => {
            let prompt = match cell["execution_count"].as_i64() {
                Some(n) => format!("[{n}]:"),
                None => "[ ]:".to_owned(),
            };
            let _ = write!(
                out,
                "<div class=\"nx-cell nx-code\"><div class=\"nx-input\"><div class=\"nx-prompt\">{}</div><pre class=\"nx-source language-{}\"><code>{}</code></pre></div>\n",
                escape(&prompt),
                escape(language),
                escape(&source)
            );
            if let Some(outputs) = cell["outputs"].as_array().filter(|o| !o.is_empty()) {
                out.push_str("<div class=\"nx-outputs\">\n");
                for output in outputs {
                    render_output(out, output);
                }
                out.push_str("</div>\n");
            }
            out.push_str("</div>\n");
        }
        // Raw cells are for other converters: shown as their text.
        _ if !source.is_empty() => {
            let _ = write!(
                out,
                "<div class=\"nx-cell nx-raw\"><pre>{}</pre></div>\n",
                escape(&source)
            );
        }
        _ => {}
    }
}

fn render_output(out: &mut String, output: &Value) {
    match output["output_type"].as_str() {
        Some("stream") => {
            let class = if output["name"] == "stderr" {
                "nx-stderr"
            } else {
                "nx-stdout"
            };
            let _ = write!(
                out,
                "<pre class=\"nx-output {class}\">{}</pre>\n",
                ansi::to_html(&text(&output["text"]))
            );
        }
        Some("error") => {
            let traceback: Vec<String> = output["traceback"]
                .as_array()
                .map(|t| t.iter().map(text).collect())
                .unwrap_or_default();
            let shown = if traceback.is_empty() {
                format!("{}: {}", text(&output["ename"]), text(&output["evalue"]))
            } else {
                traceback.join("\n")
            };
            let _ = write!(
                out,
                "<pre class=\"nx-output nx-error\">{}</pre>\n",
                ansi::to_html(&shown)
            );
        }
        Some("display_data" | "execute_result") => {
            let data = &output["data"];
            if let Some(mime) = MIME_ORDER.iter().find(|m| data.get(**m).is_some()) {
                render_data(out, mime, &data[*mime]);
            }
        }
        _ => {}
    }
}

fn render_data(out: &mut String, mime: &str, value: &Value) {
    let content = text(value);
    let _ = match mime {
        "text/html" => write!(out, "<div class=\"nx-output nx-html\">{content}</div>\n"),
        "image/svg+xml" => write!(out, "<div class=\"nx-output nx-image\">{content}</div>\n"),
        "text/markdown" => write!(
            out,
            "<div class=\"nx-output nx-markdown\">{}</div>\n",
            markdown(&content)
        ),
        "application/javascript" => write!(
            out,
            "<div class=\"nx-output\"><script>{}</script></div>\n",
            content.replace("</script", "<\\/script")
        ),
        "image/png" | "image/jpeg" | "image/gif" => {
            let data: String = content.chars().filter(|c| !c.is_whitespace()).collect();
            write!(out, "<div class=\"nx-output nx-image\"><img src=\"data:{mime};base64,{}\" alt=\"output image\"></div>\n", escape(&data))
        }
        "application/json" => {
            let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
            write!(out, "<pre class=\"nx-output\">{}</pre>\n", escape(&pretty))
        }
        // text/latex and text/plain
        _ => write!(
            out,
            "<pre class=\"nx-output\">{}</pre>\n",
            ansi::to_html(&content)
        ),
    };
}

/// Multiline strings may still be lists of lines (nbformat allows both).
fn text(value: &Value) -> String {
    lines::join(value).unwrap_or_default()
}

fn markdown(source: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH;
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(source, options));
    out
}

/// Renders an execution's output notebook into its page (`output_html_uri`), wherever both
/// live, its header saying how the run ends (`state`, `message`): written just before the
/// end is recorded, so that the page is there when the state is. A run's result does not
/// depend on its page: a failure here is logged (runner.log, the server's log) and the state
/// recorded as it is.
pub async fn write_result_page(execution: &Execution, state: State, message: &str) {
    let (Ok(notebook), Ok(page)) = (
        Location::parse(&execution.output_notebook_uri),
        Location::parse(&execution.output_html_uri),
    ) else {
        return;
    };
    let notebook = match storage::read_notebook(&notebook).await {
        Ok(notebook) => notebook,
        Err(_) => return, // nothing was written (the run failed before its first write)
    };
    let ending = Execution {
        state,
        state_message: message.to_owned(),
        end_time: Some(crate::store::now_text()),
        ..execution.clone()
    };
    let html = render_html(&notebook, &ending);
    if let Err(e) = storage::write(&page, html.into_bytes()).await {
        eprintln!("notebook-executor: cannot write the result page {page}: {e}");
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
