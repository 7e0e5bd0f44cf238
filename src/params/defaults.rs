//! Reads the parameters cell: the names it assigns, their default values and types (the
//! way papermill's `inspect` does), so that string values can take the default's type and
//! the UI can prefill a form.

use super::value::{parse_float_literal, parse_int_literal, ParamValue};
use crate::params::Language;

#[derive(Debug, Clone, PartialEq)]
pub struct ParamDefault {
    pub name: String,
    /// The default's type ("int", "float", "str", "bool", "None", "list", "dict") when the
    /// default is a literal or the assignment is annotated with a type.
    pub type_name: Option<String>,
    /// The default as a value, when it is a literal.
    pub value: Option<ParamValue>,
    /// The default as written.
    pub source: String,
    /// The trailing comment, if any.
    pub help: String,
}

pub fn parse_defaults(source: &str, language: Language) -> Vec<ParamDefault> {
    let mut out: Vec<ParamDefault> = Vec::new();
    let lines: Vec<&str> = source.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with(char::is_whitespace) || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((name, annotation, rest)) = split_assignment(line, language) else {
            continue;
        };
        // A value whose brackets stay open goes on over the next lines.
        let mut expr = rest.to_owned();
        while open_brackets(&strip_comment(&expr).0) > 0 && i < lines.len() {
            expr.push('\n');
            expr.push_str(lines[i]);
            i += 1;
        }
        let (code, help) = strip_comment(&expr);
        let code = code.trim().to_owned();
        let value = parse_literal(&code, language);
        let type_name = value
            .as_ref()
            .map(|v| v.type_name().to_owned())
            .or_else(|| annotation.map(normalize_annotation));
        let entry = ParamDefault {
            name: name.to_owned(),
            type_name,
            value,
            source: code,
            help,
        };
        match out.iter_mut().find(|d| d.name == entry.name) {
            Some(existing) => *existing = entry,
            None => out.push(entry),
        }
    }
    out
}

fn normalize_annotation(annotation: &str) -> String {
    match annotation.trim() {
        "int" | "integer" => "int",
        "float" | "numeric" | "double" | "Float64" => "float",
        "str" | "character" | "String" => "str",
        "bool" | "logical" | "Bool" => "bool",
        other if other.starts_with("list") || other.starts_with("List") => "list",
        other if other.starts_with("dict") || other.starts_with("Dict") => "dict",
        other => other,
    }
    .to_owned()
}

/// `name = rest`, `name: T = rest` (Python), `name <- rest` (R).
fn split_assignment(line: &str, language: Language) -> Option<(&str, Option<&str>, &str)> {
    let end = line.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))?;
    let name = &line[..end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = line[end..].trim_start();
    if language == Language::R {
        if let Some(value) = rest.strip_prefix("<-") {
            return Some((name, None, value));
        }
    }
    if let Some(after_colon) = rest
        .strip_prefix(':')
        .filter(|_| language == Language::Python)
    {
        let (annotation, value) = after_colon.split_once('=')?;
        return Some((name, Some(annotation.trim()), value));
    }
    if language == Language::Julia {
        if let Some(after) = rest.strip_prefix("::") {
            let (annotation, value) = after.split_once('=')?;
            return Some((name, Some(annotation.trim()), value));
        }
    }
    let value = rest.strip_prefix('=')?;
    if value.starts_with('=') {
        return None;
    }
    Some((name, None, value))
}

/// Splits `code  # comment` outside string literals.
fn strip_comment(text: &str) -> (String, String) {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return (text[..i].to_owned(), text[i + 1..].trim().to_owned()),
            None => {}
        }
    }
    (text.to_owned(), String::new())
}

fn open_brackets(code: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in code.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

/// A literal of the language, or None for anything else (calls, names, arithmetic).
pub fn parse_literal(code: &str, language: Language) -> Option<ParamValue> {
    let mut parser = LiteralParser {
        chars: code.chars().collect(),
        pos: 0,
        language,
    };
    let value = parser.value()?;
    parser.skip_ws();
    (parser.pos == parser.chars.len()).then_some(value)
}

struct LiteralParser {
    chars: Vec<char>,
    pos: usize,
    language: Language,
}

impl LiteralParser {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<ParamValue> {
        self.skip_ws();
        let c = self.peek()?;
        match c {
            '"' | '\'' => self.string().map(ParamValue::Str),
            '[' => self.sequence('[', ']').map(ParamValue::List),
            '(' if self.language == Language::Python => {
                self.sequence('(', ')').map(ParamValue::List)
            }
            '{' if self.language == Language::Python => self.dict(),
            _ => self.word(),
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.chars[self.pos..].starts_with(&[quote, quote, quote]);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if triple && self.chars[self.pos..].starts_with(&[quote, quote, quote]) {
                self.pos += 3;
                return Some(out);
            }
            if !triple && c == quote {
                self.pos += 1;
                return Some(out);
            }
            if c == '\\' {
                let e = *self.chars.get(self.pos + 1)?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    other => other,
                });
                self.pos += 2;
            } else {
                out.push(c);
                self.pos += 1;
            }
        }
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Vec<ParamValue>> {
        self.pos += 1;
        debug_assert_eq!(self.chars[self.pos - 1], open);
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.value()?);
            if !self.eat(',') {
                return self.eat(close).then_some(items);
            }
        }
    }

    fn dict(&mut self) -> Option<ParamValue> {
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            if self.eat('}') {
                return Some(ParamValue::Dict(entries));
            }
            self.skip_ws();
            let key = self.string()?;
            if !self.eat(':') {
                return None;
            }
            entries.push((key, self.value()?));
            if !self.eat(',') {
                return self.eat('}').then_some(ParamValue::Dict(entries));
            }
        }
    }

    fn word(&mut self) -> Option<ParamValue> {
        if self.language == Language::R && self.chars[self.pos..].starts_with(&['c', '(']) {
            self.pos += 1;
            return self.sequence('(', ')').map(ParamValue::List);
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
        {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        let value = match (self.language, word.as_str()) {
            (Language::Python, "True")
            | (Language::R, "TRUE" | "T")
            | (Language::Julia, "true") => ParamValue::Bool(true),
            (Language::Python, "False")
            | (Language::R, "FALSE" | "F")
            | (Language::Julia, "false") => ParamValue::Bool(false),
            (Language::Python, "None") | (Language::R, "NULL") | (Language::Julia, "nothing") => {
                ParamValue::None
            }
            (Language::R, w)
                if w.ends_with('L') && parse_int_literal(&w[..w.len() - 1]).is_some() =>
            {
                ParamValue::Int(parse_int_literal(&w[..w.len() - 1])?)
            }
            _ => {
                if let Some(digits) = parse_int_literal(&word) {
                    ParamValue::Int(digits)
                } else {
                    let lower = word.trim_start_matches(['+', '-']).to_ascii_lowercase();
                    if lower
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit() || c == '.')
                    {
                        ParamValue::Float(parse_float_literal(&word)?)
                    } else {
                        return None;
                    }
                }
            }
        };
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_parameters_cell() {
        let src = "# defaults\nalpha = 0.1  # learning rate\nepochs: int = 3\nname = \"run # 1\"\nflags = [1, 'a',\n  None]\ncfg = {'a': {'b': True}}\nnothing = None\nexpr = compute(3)\n  indented = 5\nalpha = 0.2\nx == 3\n";
        let d = parse_defaults(src, Language::Python);
        let names: Vec<_> = d.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["alpha", "epochs", "name", "flags", "cfg", "nothing", "expr"]
        );
        assert_eq!(d[0].value, Some(ParamValue::Float(0.2)));
        assert_eq!(d[1].type_name.as_deref(), Some("int"));
        assert_eq!(d[2].value, Some(ParamValue::Str("run # 1".into())));
        assert_eq!(
            d[3].value,
            Some(ParamValue::List(vec![
                ParamValue::Int("1".into()),
                ParamValue::Str("a".into()),
                ParamValue::None
            ]))
        );
        assert_eq!(d[4].type_name.as_deref(), Some("dict"));
        assert_eq!(d[5].type_name.as_deref(), Some("None"));
        assert_eq!(d[6].value, None);
        assert_eq!(d[6].source, "compute(3)");
        let first = parse_defaults("alpha = 0.1  # learning rate", Language::Python);
        assert_eq!(first[0].help, "learning rate");
    }

    #[test]
    fn r_and_julia_cells() {
        let r = parse_defaults(
            "n <- 5L\nname = \"x\"\nok <- TRUE\nv <- c(1, 2)\n",
            Language::R,
        );
        assert_eq!(r[0].value, Some(ParamValue::Int("5".into())));
        assert_eq!(r[2].value, Some(ParamValue::Bool(true)));
        assert_eq!(r[3].type_name.as_deref(), Some("list"));
        let j = parse_defaults("n = 5\nok = false\nrate::Float64 = 0.5\n", Language::Julia);
        assert_eq!(j[1].value, Some(ParamValue::Bool(false)));
        assert_eq!(j[2].value, Some(ParamValue::Float(0.5)));
    }
}
