//! Parameter values: JSON data plus what JSON cannot hold but Python users pass
//! (NaN and infinities, integers of any size).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    None,
    Bool(bool),
    /// Decimal digits with an optional leading '-': integers of any size.
    Int(String),
    Float(f64),
    Str(String),
    List(Vec<ParamValue>),
    Dict(Vec<(String, ParamValue)>),
}

/// Named parameters in the order they were given; a later value for a name replaces the
/// earlier one in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parameters(Vec<(String, ParamValue)>);

impl Parameters {
    pub fn new() -> Self {
        Parameters(Vec::new())
    }

    pub fn set(&mut self, name: String, value: ParamValue) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn extend(&mut self, other: Parameters) {
        for (name, value) in other.0 {
            self.set(name, value);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, ParamValue)> {
        self.0.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut (String, ParamValue)> {
        self.0.iter_mut()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The parameters as a JSON object, as recorded in `metadata.papermill.parameters`.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

impl FromIterator<(String, ParamValue)> for Parameters {
    fn from_iter<I: IntoIterator<Item = (String, ParamValue)>>(iter: I) -> Self {
        let mut out = Parameters::new();
        for (name, value) in iter {
            out.set(name, value);
        }
        out
    }
}

impl ParamValue {
    pub fn from_json(value: &Value) -> ParamValue {
        match value {
            Value::Null => ParamValue::None,
            Value::Bool(b) => ParamValue::Bool(*b),
            Value::Number(n) if n.is_f64() => ParamValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            Value::Number(n) => ParamValue::Int(n.to_string()),
            Value::String(s) => ParamValue::Str(s.clone()),
            Value::Array(items) => {
                ParamValue::List(items.iter().map(ParamValue::from_json).collect())
            }
            Value::Object(map) => ParamValue::Dict(
                map.iter()
                    .map(|(k, v)| (k.clone(), ParamValue::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// JSON for records. JSON has no NaN or infinities: those are written as the strings
    /// "NaN", "Infinity", "-Infinity"; integers beyond 64 bits as floats.
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::None => Value::Null,
            ParamValue::Bool(b) => Value::Bool(*b),
            ParamValue::Int(digits) => digits
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| digits.parse::<u64>().map(Value::from))
                .unwrap_or_else(|_| {
                    digits
                        .parse::<f64>()
                        .map(Value::from)
                        .unwrap_or(Value::Null)
                }),
            ParamValue::Float(f) if f.is_finite() => Value::from(*f),
            ParamValue::Float(f) => Value::String(crate::notebook::python_float_repr(*f)),
            ParamValue::Str(s) => Value::String(s.clone()),
            ParamValue::List(items) => {
                Value::Array(items.iter().map(ParamValue::to_json).collect())
            }
            ParamValue::Dict(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ParamValue::None => "None",
            ParamValue::Bool(_) => "bool",
            ParamValue::Int(_) => "int",
            ParamValue::Float(_) => "float",
            ParamValue::Str(_) => "str",
            ParamValue::List(_) => "list",
            ParamValue::Dict(_) => "dict",
        }
    }
}

/// Canonical integer digits if `text` is an integer literal (optional sign, digits,
/// Python-style underscores between digits), else None.
pub fn parse_int_literal(text: &str) -> Option<String> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    let trimmed = digits.trim_start_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    Some(if trimmed == "0" {
        "0".into()
    } else {
        format!("{sign}{trimmed}")
    })
}

/// A float if `text` is what Python's `float()` accepts (including nan and inf).
pub fn parse_float_literal(text: &str) -> Option<f64> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "nan" | "inf" | "infinity") {
        return t.replace('_', "").to_ascii_lowercase().parse::<f64>().ok();
    }
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
    {
        return None;
    }
    t.replace('_', "").parse::<f64>().ok()
}
