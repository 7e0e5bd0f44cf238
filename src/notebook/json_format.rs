//! Writes JSON exactly as nbformat does (`json.dumps(nb, sort_keys=True, indent=1,
//! ensure_ascii=False)` plus a trailing newline), so files we write diff cleanly against
//! files Jupyter writes. serde_json already escapes strings like Python with
//! `ensure_ascii=False`; what differs is key order and float formatting.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::Value;
use std::io;

/// The nbformat text of a notebook (or any JSON value).
pub fn to_nbformat_string(value: &Value) -> String {
    let mut out = Vec::with_capacity(4096);
    write_nbformat(value, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Streams the nbformat text of a notebook to `writer`, splitting multiline strings into
/// lines as nbformat does on write, without building the text or the lines in memory.
pub fn write_nbformat<W: io::Write>(value: &Value, writer: W) -> io::Result<()> {
    let formatter = PythonFormatter(PrettyFormatter::with_indent(b" "));
    let mut ser = serde_json::Serializer::with_formatter(writer, formatter);
    Node {
        value,
        at: Place::Root,
    }
    .serialize(&mut ser)
    .map_err(io::Error::other)?;
    ser.into_inner().write_all(b"\n")
}

/// Python's `repr(float)`: shortest round-trip digits, positional notation for decimal
/// exponents in [-4, 16), `e+XX` notation outside, and always a `.0` on integral values.
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{value:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} always has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let decpt = exponent + 1; // value = 0.DIGITS * 10^decpt
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(&digits);
        } else if (decpt as usize) >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', decpt as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        out.push_str(&format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()));
    }
    out
}

struct PythonFormatter(PrettyFormatter<'static>);

macro_rules! delegate {
    ($($name:ident ( $($arg:ident : $ty:ty),* );)*) => {
        $(fn $name<W: ?Sized + io::Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(writer $(, $arg)*)
        })*
    };
}

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }
}

/// Where a value sits in a notebook: it decides which strings nbformat splits into lines.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Root,
    Cells,
    Cell,
    Attachments,
    Outputs,
    Output {
        stream: bool,
    },
    Bundle,
    /// A multiline string: written as a list of lines.
    Lines,
    Other,
}

impl Place {
    fn child(self, key: Option<&str>) -> Place {
        match (self, key) {
            (Place::Root, Some("cells")) => Place::Cells,
            (Place::Cells, None) => Place::Cell,
            (Place::Cell, Some("source")) => Place::Lines,
            (Place::Cell, Some("outputs")) => Place::Outputs,
            (Place::Cell, Some("attachments")) => Place::Attachments,
            (Place::Attachments, Some(_)) => Place::Bundle,
            (Place::Outputs, None) => Place::Output { stream: false },
            (Place::Output { stream: true }, Some("text")) => Place::Lines,
            (Place::Output { .. }, Some("data")) => Place::Bundle,
            (Place::Bundle, Some(mime)) if crate::notebook::lines::is_split_mime(mime) => {
                Place::Lines
            }
            _ => Place::Other,
        }
    }
}

/// Serializes a value with object keys in code point order (whatever the map's own
/// order) and multiline strings as lists of lines.
struct Node<'a> {
    value: &'a Value,
    at: Place,
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let at = match self.at {
            Place::Output { .. } => Place::Output {
                stream: self.value["output_type"] == "stream",
            },
            other => other,
        };
        match self.value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(
                        key,
                        &Node {
                            value,
                            at: at.child(Some(key)),
                        },
                    )?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Node {
                        value: item,
                        at: at.child(None),
                    })?;
                }
                out.end()
            }
            Value::String(text) if at == Place::Lines => {
                let lines = crate::notebook::lines::split_lines(text);
                let mut out = serializer.serialize_seq(Some(lines.len()))?;
                for line in lines {
                    out.serialize_element(line)?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_python_repr() {
        for (value, python) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (1.5e300, "1.5e+300"),
            (-2.5e-7, "-2.5e-07"),
            (123.456, "123.456"),
            (-0.0, "-0.0"),
            (0.30000000000000004, "0.30000000000000004"),
        ] {
            assert_eq!(python_float_repr(value), python, "{value:e}");
        }
    }

    #[test]
    fn multiline_strings_are_split_where_nbformat_splits() {
        let nb = json!({"cells": [{"source": "a\nb", "outputs": [
            {"output_type": "stream", "text": "x\ny\n"},
            {"output_type": "display_data", "data": {"text/plain": "p\nq", "application/json": {"k": "v\nw"}, "image/png": "AAA\nBBB"}}
        ]}], "metadata": {"source": "m\nn"}});
        let back: Value = serde_json::from_str(&to_nbformat_string(&nb)).unwrap();
        assert_eq!(back["cells"][0]["source"], json!(["a\n", "b"]));
        assert_eq!(
            back["cells"][0]["outputs"][0]["text"],
            json!(["x\n", "y\n"])
        );
        let data = &back["cells"][0]["outputs"][1]["data"];
        assert_eq!(data["text/plain"], json!(["p\n", "q"]));
        assert_eq!(data["application/json"], json!({"k": "v\nw"}));
        assert_eq!(data["image/png"], json!("AAA\nBBB"));
        assert_eq!(back["metadata"]["source"], json!("m\nn"));
    }

    #[test]
    fn layout_is_nbformat_layout() {
        let value = json!({"b": [1, 2.5, {}], "a": {"z": "é\n\"", "y": []}});
        assert_eq!(
            to_nbformat_string(&value),
            "{\n \"a\": {\n  \"y\": [],\n  \"z\": \"é\\n\\\"\"\n },\n \"b\": [\n  1,\n  2.5,\n  {}\n ]\n}\n"
        );
    }
}
