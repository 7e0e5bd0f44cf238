//! The text forms of parameters: papermill's typed `-p NAME VALUE` and the Vertex-style
//! string `optimizer="SGD",learning_rate=0.01`.

use super::value::{parse_float_literal, parse_int_literal, ParamValue, Parameters};
use crate::error::{Error, Result};

/// papermill's `-p` typing: True/False/None (also lower case), int, float, else the string.
pub fn typed_value(text: &str) -> ParamValue {
    match text {
        "True" | "true" => return ParamValue::Bool(true),
        "False" | "false" => return ParamValue::Bool(false),
        "None" | "none" => return ParamValue::None,
        _ => {}
    }
    if let Some(digits) = parse_int_literal(text) {
        return ParamValue::Int(digits);
    }
    if let Some(f) = parse_float_literal(text) {
        return ParamValue::Float(f);
    }
    ParamValue::Str(text.to_owned())
}

/// Parses `name=value,name2="a, b"`: unquoted values are typed as with `-p`; quoted values
/// (single or double quotes, backslash escapes) are strings and may hold `,` and `=`;
/// values starting with `[` or `{` are JSON.
pub fn parse_assignments(text: &str) -> Result<Parameters> {
    let mut out = Parameters::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let err = |pos: usize, msg: &str| {
        Error::parameter(
            None,
            format!("parameters string, at character {}: {msg}", pos + 1),
        )
    };
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ',' {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect::<String>().trim().to_owned();
        if i >= chars.len() || chars[i] != '=' {
            return Err(err(start, &format!("expected NAME=VALUE, found {name:?}")));
        }
        if name.is_empty() {
            return Err(err(start, "a parameter name is missing before '='"));
        }
        i += 1; // '='
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        let value = if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
            let quote = chars[i];
            let open = i;
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(err(open, "unterminated quoted string")),
                    Some('\\') => {
                        let escaped = chars
                            .get(i + 1)
                            .ok_or_else(|| err(i, "a backslash ends the string"))?;
                        s.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => *other,
                        });
                        i += 2;
                    }
                    Some(c) if *c == quote => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        s.push(*c);
                        i += 1;
                    }
                }
            }
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            ParamValue::Str(s)
        } else if i < chars.len() && (chars[i] == '[' || chars[i] == '{') {
            let end = balanced_end(&chars, i).ok_or_else(|| err(i, "unbalanced brackets"))?;
            let json: String = chars[i..end].iter().collect();
            let parsed: serde_json::Value = serde_json::from_str(&json)
                .map_err(|e| err(i, &format!("value of {name} is not valid JSON: {e}")))?;
            i = end;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            ParamValue::from_json(&parsed)
        } else {
            let vstart = i;
            while i < chars.len() && chars[i] != ',' {
                i += 1;
            }
            let raw: String = chars[vstart..i].iter().collect();
            typed_value(raw.trim())
        };
        if i < chars.len() {
            if chars[i] != ',' {
                return Err(err(i, "expected ',' after a value"));
            }
            i += 1;
        }
        out.set(name, value);
    }
    Ok(out)
}

fn balanced_end(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
        } else {
            match c {
                '"' => in_string = true,
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_follow_papermill() {
        assert_eq!(typed_value("3"), ParamValue::Int("3".into()));
        assert_eq!(
            typed_value("-12345678901234567890123"),
            ParamValue::Int("-12345678901234567890123".into())
        );
        assert_eq!(typed_value("0.01"), ParamValue::Float(0.01));
        assert_eq!(typed_value("1e3"), ParamValue::Float(1000.0));
        assert!(matches!(typed_value("nan"), ParamValue::Float(f) if f.is_nan()));
        assert_eq!(typed_value("True"), ParamValue::Bool(true));
        assert_eq!(typed_value("none"), ParamValue::None);
        assert_eq!(typed_value("SGD"), ParamValue::Str("SGD".into()));
        assert_eq!(typed_value(""), ParamValue::Str("".into()));
        assert_eq!(typed_value("1.2.3"), ParamValue::Str("1.2.3".into()));
    }

    #[test]
    fn vertex_style_string() {
        let p = parse_assignments(r#"optimizer="SGD",learning_rate=0.01, note="a, b=c", q='it\'s', n=3, l=[1, "x,y"], d={"a": {"b": 2}}"#).unwrap();
        let got: Vec<_> = p.iter().cloned().collect();
        assert_eq!(got[0], ("optimizer".into(), ParamValue::Str("SGD".into())));
        assert_eq!(got[1], ("learning_rate".into(), ParamValue::Float(0.01)));
        assert_eq!(got[2], ("note".into(), ParamValue::Str("a, b=c".into())));
        assert_eq!(got[3], ("q".into(), ParamValue::Str("it's".into())));
        assert_eq!(got[4], ("n".into(), ParamValue::Int("3".into())));
        assert_eq!(
            got[5].1,
            ParamValue::List(vec![
                ParamValue::Int("1".into()),
                ParamValue::Str("x,y".into())
            ])
        );
        assert!(matches!(&got[6].1, ParamValue::Dict(d) if d[0].0 == "a"));
    }

    #[test]
    fn vertex_style_errors_say_where() {
        for bad in ["x", "=3", "x=\"open", "x=[1,", "x=\"a\"y"] {
            let e = parse_assignments(bad).unwrap_err();
            assert!(matches!(e, Error::Parameter { .. }), "{bad}");
            assert!(e.to_string().contains("at character"), "{bad}: {e}");
        }
        assert!(parse_assignments("").unwrap().is_empty());
    }
}
