//! nbformat stores multiline strings as lists of lines on disk and as single strings in
//! memory: it joins them on read (`rejoin_lines`) and splits them on write
//! (`split_lines`). We do the same, so the in-memory notebook is what nbformat users see
//! and a file written by Jupyter is written back byte for byte.

use serde_json::{Map, Value};

/// Python's `str.splitlines(keepends=True)`, which nbformat uses to split strings on write.
pub fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = chars.peek() {
                    end = j + 1;
                    chars.next();
                }
            }
            lines.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// The text of a multiline field: a string, or a list of strings joined.
pub fn join(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for part in parts {
                out.push_str(part.as_str()?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// nbformat's `_is_json_mime`: JSON values are never joined or split.
pub fn is_json_mime(mime: &str) -> bool {
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Whether nbformat writes this mime type's string value as a list of lines.
pub fn is_split_mime(mime: &str) -> bool {
    (mime.starts_with("text/") || mime == "application/javascript" || mime == "image/svg+xml")
        && !is_json_mime(mime)
}

fn join_in_place(value: &mut Value) {
    if let Value::Array(parts) = value {
        if parts.iter().all(Value::is_string) {
            *value = Value::String(join(value).expect("all parts are strings"));
        }
    }
}

fn join_bundle(bundle: &mut Value) {
    if let Some(bundle) = bundle.as_object_mut() {
        for (mime, value) in bundle.iter_mut() {
            if !is_json_mime(mime) {
                join_in_place(value);
            }
        }
    }
}

/// nbformat's `rejoin_lines` on one cell.
pub fn rejoin_cell(cell: &mut Map<String, Value>) {
    if let Some(source) = cell.get_mut("source") {
        join_in_place(source);
    }
    if let Some(Value::Object(attachments)) = cell.get_mut("attachments") {
        attachments.values_mut().for_each(join_bundle);
    }
    if let Some(Value::Array(outputs)) = cell.get_mut("outputs") {
        for output in outputs {
            match output["output_type"].as_str() {
                Some("stream") => {
                    if let Some(text) = output.get_mut("text") {
                        join_in_place(text);
                    }
                }
                Some("execute_result" | "display_data") => {
                    if let Some(data) = output.get_mut("data") {
                        join_bundle(data);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_python_splitlines() {
        assert_eq!(
            split_lines("a\nb\r\nc\rd"),
            vec!["a\n", "b\r\n", "c\r", "d"]
        );
        assert_eq!(split_lines("x\n"), vec!["x\n"]);
        assert_eq!(split_lines(""), Vec::<&str>::new());
        assert_eq!(split_lines("é\u{2028}ü"), vec!["é\u{2028}", "ü"]);
    }
}
