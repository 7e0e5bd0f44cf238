//! Parameter values as source code of the kernel's language. A value is data, never code:
//! every string is escaped so that the evaluated literal equals the value, whatever it holds.

use super::value::ParamValue;
use super::Language;
use crate::error::{Error, Result};
use crate::notebook::python_float_repr;

/// The source of the injected cell: a comment line, then one assignment per parameter.
pub fn codify<'a>(
    language: Language,
    params: impl Iterator<Item = &'a (String, ParamValue)>,
) -> Result<String> {
    let mut out = String::from("# Parameters\n");
    for (name, value) in params {
        check_name(name, language)?;
        let literal = translate(value, language)
            .map_err(|m| Error::parameter(Some(name), format!("parameter {name}: {m}")))?;
        out.push_str(&format!("{name} = {literal}\n"));
    }
    Ok(out)
}

fn check_name(name: &str, language: Language) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || (language == Language::R && c == '.'));
    let rest_ok =
        chars.all(|c| c.is_alphanumeric() || c == '_' || (language == Language::R && c == '.'));
    let keyword = match language {
        Language::Python => PYTHON_KEYWORDS.contains(&name),
        Language::R => R_KEYWORDS.contains(&name),
        Language::Julia => JULIA_KEYWORDS.contains(&name),
    };
    if !first_ok || !rest_ok || keyword || (language == Language::R && name.starts_with('_')) {
        return Err(Error::parameter(
            Some(name),
            format!(
                "{name:?} is not a valid {} variable name",
                language.display_name()
            ),
        ));
    }
    Ok(())
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];
const R_KEYWORDS: &[&str] = &[
    "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL",
    "Inf", "NaN", "NA", "in",
];
const JULIA_KEYWORDS: &[&str] = &[
    "baremodule",
    "begin",
    "break",
    "catch",
    "const",
    "continue",
    "do",
    "else",
    "elseif",
    "end",
    "export",
    "false",
    "finally",
    "for",
    "function",
    "global",
    "if",
    "import",
    "let",
    "local",
    "macro",
    "module",
    "quote",
    "return",
    "struct",
    "true",
    "try",
    "using",
    "while",
    "nothing",
];

pub fn translate(value: &ParamValue, language: Language) -> std::result::Result<String, String> {
    match language {
        Language::Python => Ok(python(value)),
        Language::R => r(value),
        Language::Julia => Ok(julia(value)),
    }
}

fn join<T>(
    items: &[T],
    f: impl Fn(&T) -> std::result::Result<String, String>,
) -> std::result::Result<String, String> {
    Ok(items
        .iter()
        .map(f)
        .collect::<std::result::Result<Vec<_>, _>>()?
        .join(", "))
}

fn python(value: &ParamValue) -> String {
    match value {
        ParamValue::None => "None".into(),
        ParamValue::Bool(b) => if *b { "True" } else { "False" }.into(),
        ParamValue::Int(digits) => digits.clone(),
        ParamValue::Float(f) if f.is_nan() => "float('nan')".into(),
        ParamValue::Float(f) if f.is_infinite() => if *f > 0.0 {
            "float('inf')"
        } else {
            "float('-inf')"
        }
        .into(),
        ParamValue::Float(f) => python_float_repr(*f),
        ParamValue::Str(s) => quote(s, Language::Python),
        ParamValue::List(items) => format!(
            "[{}]",
            items.iter().map(python).collect::<Vec<_>>().join(", ")
        ),
        ParamValue::Dict(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k, Language::Python), python(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Largest integer a double holds exactly: R numbers are doubles.
const R_EXACT_INT: u128 = 1 << 53;

fn r(value: &ParamValue) -> std::result::Result<String, String> {
    Ok(match value {
        ParamValue::None => "NULL".into(),
        ParamValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        ParamValue::Int(digits) => {
            let magnitude: Option<u128> = digits.trim_start_matches('-').parse().ok();
            if magnitude.is_none_or(|m| m > R_EXACT_INT) {
                return Err(format!(
                    "the integer {digits} cannot be held exactly by an R number"
                ));
            }
            digits.clone()
        }
        ParamValue::Float(f) if f.is_nan() => "NaN".into(),
        ParamValue::Float(f) if f.is_infinite() => if *f > 0.0 { "Inf" } else { "-Inf" }.into(),
        ParamValue::Float(f) => python_float_repr(*f),
        ParamValue::Str(s) => quote(s, Language::R),
        ParamValue::List(items) => format!("list({})", join(items, r)?),
        ParamValue::Dict(entries) => {
            format!(
                "list({})",
                join(entries, |(k, v)| Ok(format!(
                    "{} = {}",
                    quote(k, Language::R),
                    r(v)?
                )))?
            )
        }
    })
}

fn julia(value: &ParamValue) -> String {
    match value {
        ParamValue::None => "nothing".into(),
        ParamValue::Bool(b) => b.to_string(),
        // Julia reads integer literals too large for Int64 as Int128 or BigInt.
        ParamValue::Int(digits) => digits.clone(),
        ParamValue::Float(f) if f.is_nan() => "NaN".into(),
        ParamValue::Float(f) if f.is_infinite() => if *f > 0.0 { "Inf" } else { "-Inf" }.into(),
        ParamValue::Float(f) => python_float_repr(*f),
        ParamValue::Str(s) => quote(s, Language::Julia),
        ParamValue::List(items) => format!(
            "[{}]",
            items.iter().map(julia).collect::<Vec<_>>().join(", ")
        ),
        ParamValue::Dict(entries) => format!(
            "Dict({})",
            entries
                .iter()
                .map(|(k, v)| format!("{} => {}", quote(k, Language::Julia), julia(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A double-quoted string literal. Backslash and quote are escaped; so are control and
/// line-separator characters (which would otherwise break or hide lines of the cell),
/// and `$`, which Julia would interpolate.
fn quote(s: &str, language: Language) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if language == Language::Julia => out.push_str("\\$"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let code = c as u32;
                match language {
                    Language::Python if code <= 0xff => out.push_str(&format!("\\x{code:02x}")),
                    Language::Python => out.push_str(&format!("\\u{code:04x}")),
                    // R and Julia both read \u{XXXX}.
                    Language::R | Language::Julia => out.push_str(&format!("\\u{{{code:04x}}}")),
                }
            }
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> ParamValue {
        ParamValue::Str(x.into())
    }

    #[test]
    fn python_literals() {
        assert_eq!(python(&s("a\"b\\c\nd\u{1b}é$")), r#""a\"b\\c\nd\x1bé$""#);
        assert_eq!(python(&ParamValue::Float(f64::NAN)), "float('nan')");
        assert_eq!(
            python(&ParamValue::Float(f64::NEG_INFINITY)),
            "float('-inf')"
        );
        assert_eq!(python(&ParamValue::Float(1e-5)), "1e-05");
        assert_eq!(
            python(&ParamValue::Int("1180591620717411303424".into())),
            "1180591620717411303424"
        );
        let nested = ParamValue::Dict(vec![(
            "k\"".into(),
            ParamValue::List(vec![ParamValue::None, ParamValue::Bool(true)]),
        )]);
        assert_eq!(python(&nested), r#"{"k\"": [None, True]}"#);
    }

    #[test]
    fn r_and_julia_literals() {
        assert_eq!(
            r(&ParamValue::List(vec![
                ParamValue::Bool(false),
                ParamValue::None
            ]))
            .unwrap(),
            "list(FALSE, NULL)"
        );
        assert_eq!(
            r(&ParamValue::Dict(vec![(
                "a".into(),
                ParamValue::Float(f64::INFINITY)
            )]))
            .unwrap(),
            "list(\"a\" = Inf)"
        );
        assert!(r(&ParamValue::Int("1180591620717411303424".into())).is_err());
        assert_eq!(julia(&s("cost $x")), r#""cost \$x""#);
        assert_eq!(
            julia(&ParamValue::Dict(vec![("a".into(), ParamValue::None)])),
            r#"Dict("a" => nothing)"#
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(codify(
            Language::Python,
            [("x; import os".to_string(), ParamValue::None)].iter()
        )
        .is_err());
        assert!(codify(
            Language::Python,
            [("class".to_string(), ParamValue::None)].iter()
        )
        .is_err());
        assert!(codify(Language::R, [("_x".to_string(), ParamValue::None)].iter()).is_err());
        assert_eq!(
            codify(
                Language::Python,
                [("épsilon".to_string(), ParamValue::Int("1".into()))].iter()
            )
            .unwrap(),
            "# Parameters\népsilon = 1\n"
        );
    }
}
