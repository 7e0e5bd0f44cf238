//! nbformat stores multiline strings as lists of lines on disk and joins them in memory.

use serde_json::Value;

/// Python's `str.splitlines(keepends=True)`, which nbformat uses to split strings on write.
pub fn split_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
        );
        if is_break {
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = chars.peek() {
                    end = j + 1;
                    chars.next();
                }
            }
            lines.push(text[start..end].to_owned());
            start = end;
        }
    }
    if start < text.len() {
        lines.push(text[start..].to_owned());
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

/// A multiline field as nbformat writes it: a list of lines.
pub fn to_lines_value(text: &str) -> Value {
    Value::Array(split_lines(text).into_iter().map(Value::String).collect())
}

/// Splits the text values of a mime bundle as nbformat does on write.
pub fn split_mime_bundle(data: &mut serde_json::Map<String, Value>) {
    for (mime, value) in data.iter_mut() {
        let splittable = mime.starts_with("text/") || mime == "application/javascript" || mime == "image/svg+xml";
        if let (true, Value::String(text)) = (splittable, &*value) {
            *value = to_lines_value(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_python_splitlines() {
        assert_eq!(split_lines("a\nb\r\nc\rd"), vec!["a\n", "b\r\n", "c\r", "d"]);
        assert_eq!(split_lines("x\n"), vec!["x\n"]);
        assert_eq!(split_lines(""), Vec::<String>::new());
        assert_eq!(split_lines("é\u{2028}ü"), vec!["é\u{2028}", "ü"]);
    }
}
