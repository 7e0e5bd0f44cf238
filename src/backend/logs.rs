//! An execution's logs: what its run printed. A remote engine that keeps its jobs' logs
//! (Ray) gives them; otherwise they are the notebook's own output as far as the run got
//! (stream text and errors, in cell order), read through the storage layer, which is what
//! `notebook-executor run --log-output` prints.

use crate::error::{Error, Failure, Result};
use crate::model::Execution;
use crate::notebook::{lines, Notebook};
use crate::storage::{self, Location};
use serde_json::Value;

/// Where logs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// The engine's log of the job's process (everything it printed, the run's own
    /// messages included).
    Job,
    /// The notebook's outputs (stream text and errors).
    Notebook,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Logs {
    pub source: LogSource,
    pub text: String,
}

/// The notebook's stream output and errors so far; empty while it has no output notebook.
pub async fn notebook_logs(execution: &Execution) -> Result<Logs> {
    let text = match Location::parse(&execution.output_notebook_uri) {
        Ok(output) => match storage::read_notebook(&output).await {
            Ok(notebook) => text_of(&notebook),
            Err(Error::Resource {
                failure: Failure::NotFound,
                ..
            }) => String::new(),
            Err(e) => return Err(e),
        },
        Err(_) => String::new(), // not started: no output location yet
    };
    Ok(Logs {
        source: LogSource::Notebook,
        text,
    })
}

/// Stream text and error tracebacks (without colours) of the code cells, in order.
pub fn text_of(notebook: &Notebook) -> String {
    let mut out = String::new();
    for cell in notebook.cells() {
        let Some(outputs) = cell["outputs"].as_array() else {
            continue;
        };
        for output in outputs {
            match output["output_type"].as_str() {
                Some("stream") => out.push_str(&lines::join(&output["text"]).unwrap_or_default()),
                Some("error") => {
                    let traceback: Vec<&str> = output["traceback"]
                        .as_array()
                        .map(|t| t.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let text = if traceback.is_empty() {
                        format!(
                            "{}: {}",
                            output["ename"].as_str().unwrap_or("Error"),
                            output["evalue"].as_str().unwrap_or("")
                        )
                    } else {
                        strip_ansi(&traceback.join("\n"))
                    };
                    if !out.is_empty() && !out.ends_with('\n') {
                        out.push('\n');
                    }
                    out.push_str(&text);
                    out.push('\n');
                }
                _ => {}
            }
        }
    }
    out
}

/// Text without ANSI escape sequences (tracebacks are coloured for terminals).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, up to the final byte (@ to ~).
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// The end of a long log, with a line saying how much came before.
pub fn tail(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    // From the next line start, when there is one near.
    if let Some(newline) = text[start..].find('\n').filter(|n| *n < 4096) {
        start += newline + 1;
    }
    format!(
        "[... {} earlier bytes not shown]\n{}",
        start,
        &text[start..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_errors_in_cell_order_without_colours() {
        let nb = Notebook::parse(
            r##"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": "# title"},
                {"cell_type": "code", "metadata": {}, "source": "", "execution_count": 1, "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]},
                    {"output_type": "execute_result", "data": {"text/plain": "3"}, "metadata": {}, "execution_count": 1},
                    {"output_type": "stream", "name": "stderr", "text": "warn"}]},
                {"cell_type": "code", "metadata": {}, "source": "", "execution_count": 2, "outputs": [
                    {"output_type": "error", "ename": "ValueError", "evalue": "bad",
                     "traceback": ["\u001b[0;31mValueError\u001b[0m: bad"]}]}]}"##,
            std::path::Path::new("t.ipynb"),
        )
        .unwrap();
        assert_eq!(text_of(&nb), "a\nb\nwarn\nValueError: bad\n");
    }

    #[test]
    fn the_tail_of_a_long_log_says_what_it_left_out() {
        let text = "line one\nline two\nline three\n".to_owned();
        assert_eq!(tail(text.clone(), 100), text);
        let cut = tail(text, 15);
        assert_eq!(cut, "[... 18 earlier bytes not shown]\nline three\n");
    }
}
