//! Parameters, papermill-style: parsed from their text forms, typed after the parameters
//! cell's defaults, translated to the kernel's language and injected as a tagged cell.

mod defaults;
mod parse;
mod translate;
mod value;

pub use defaults::{parse_defaults, parse_literal, ParamDefault};
pub use parse::{parse_assignments, typed_value};
pub use translate::codify;
pub use value::{ParamValue, Parameters};

use crate::error::Result;
use crate::notebook::{cell_has_tag, cell_source, Notebook};

pub const PARAMETERS_TAG: &str = "parameters";
pub const INJECTED_TAG: &str = "injected-parameters";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    R,
    Julia,
}

impl Language {
    /// The language of a kernel or notebook by its name (`python`, `R`, `julia`...).
    pub fn from_name(name: &str) -> Option<Language> {
        match name.to_ascii_lowercase().as_str() {
            "python" | "python3" | "ipython" => Some(Language::Python),
            "r" => Some(Language::R),
            "julia" => Some(Language::Julia),
            _ => None,
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::R => "R",
            Language::Julia => "Julia",
        }
    }
}

/// The names and defaults of a notebook's parameters cell (empty without one).
pub fn notebook_defaults(notebook: &Notebook, language: Language) -> Vec<ParamDefault> {
    notebook
        .cells()
        .iter()
        .find(|cell| cell_has_tag(cell, PARAMETERS_TAG))
        .map(|cell| parse_defaults(&cell_source(cell), language))
        .unwrap_or_default()
}

/// Injects `params` into the notebook and returns the warnings for the user. Nothing is
/// changed when a parameter is invalid.
pub fn inject(
    notebook: &mut Notebook,
    params: &Parameters,
    language: Language,
) -> Result<(Parameters, Vec<String>)> {
    let mut warnings = Vec::new();
    if params.is_empty() {
        return Ok((params.clone(), warnings));
    }
    let has_parameters_cell = notebook
        .cells()
        .iter()
        .any(|cell| cell_has_tag(cell, PARAMETERS_TAG));
    let defaults = notebook_defaults(notebook, language);
    let mut typed = params.clone();
    for (name, value) in typed.iter_mut() {
        match defaults.iter().find(|d| d.name == *name) {
            Some(default) => {
                if let (ParamValue::Str(text), Some(type_name)) =
                    (&*value, default.type_name.as_deref())
                {
                    match convert_to_type(text, type_name) {
                        Some(converted) => *value = converted,
                        // papermill never converts: the string goes as it is, said aloud.
                        None => warnings.push(format!(
                            "parameter {name}: {text:?} does not convert to {type_name} (the type of its default): passed as a string"
                        )),
                    }
                }
            }
            None if has_parameters_cell => {
                warnings.push(format!("Passed unknown parameter: {name}"))
            }
            None => {}
        }
    }
    let source = codify(language, typed.iter())?;
    if !has_parameters_cell {
        warnings.push("Input notebook does not contain a cell with tag 'parameters': parameters are injected at the top".into());
    }
    let mut cell = notebook.new_cell("code", &source);
    cell["metadata"]["tags"] = serde_json::json!([INJECTED_TAG]);
    let cells = notebook.cells_mut();
    cells.retain(|c| !cell_has_tag(c, INJECTED_TAG));
    let at = cells
        .iter()
        .position(|c| cell_has_tag(c, PARAMETERS_TAG))
        .map_or(0, |i| i + 1);
    cells.insert(at, cell);
    Ok((typed, warnings))
}

/// A string given for a parameter whose default has another type takes that type, when
/// it converts; None when it does not.
fn convert_to_type(text: &str, type_name: &str) -> Option<ParamValue> {
    let t = text.trim();
    Some(match type_name {
        "int" => ParamValue::Int(value::parse_int_literal(t)?),
        "float" => ParamValue::Float(value::parse_float_literal(t)?),
        "bool" => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "on" => ParamValue::Bool(true),
            "false" | "0" | "no" | "n" | "off" => ParamValue::Bool(false),
            _ => return None,
        },
        "list" | "dict" => {
            let parsed: serde_json::Value = serde_json::from_str(t).ok()?;
            match (&parsed, type_name) {
                (serde_json::Value::Array(_), "list") | (serde_json::Value::Object(_), "dict") => {
                    ParamValue::from_json(&parsed)
                }
                _ => return None,
            }
        }
        _ => ParamValue::Str(text.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn notebook(cells: &str) -> Notebook {
        let text = format!(
            r#"{{"nbformat": 4, "nbformat_minor": 4, "metadata": {{}}, "cells": [{cells}]}}"#
        );
        Notebook::parse(&text, Path::new("t.ipynb")).unwrap()
    }

    fn code(source: &str, tags: &[&str]) -> String {
        serde_json::json!({"cell_type": "code", "source": source, "metadata": {"tags": tags}, "outputs": [], "execution_count": null}).to_string()
    }

    #[test]
    fn injects_after_parameters_cell_and_replaces_old_injection() {
        let mut nb = notebook(
            &[
                code("import x", &[]),
                code("n = 1\nrate = 0.5", &["parameters"]),
                code("old", &["injected-parameters"]),
                code("use", &[]),
            ]
            .join(","),
        );
        let params: Parameters = [
            ("n".to_string(), ParamValue::Str("3".into())),
            ("extra".to_string(), ParamValue::Bool(true)),
        ]
        .into_iter()
        .collect();
        let (typed, warnings) = inject(&mut nb, &params, Language::Python).unwrap();
        let sources: Vec<_> = nb.cells().iter().map(cell_source).collect();
        assert_eq!(
            sources,
            [
                "import x",
                "n = 1\nrate = 0.5",
                "# Parameters\nn = 3\nextra = True\n",
                "use"
            ]
        );
        assert!(cell_has_tag(&nb.cells()[2], INJECTED_TAG));
        assert_eq!(typed.iter().next().unwrap().1, ParamValue::Int("3".into()));
        assert_eq!(warnings, ["Passed unknown parameter: extra"]);
    }

    #[test]
    fn injects_first_without_parameters_cell() {
        let mut nb = notebook(&code("print(1)", &[]));
        let params: Parameters = [("a".to_string(), ParamValue::Int("1".into()))]
            .into_iter()
            .collect();
        let (_, warnings) = inject(&mut nb, &params, Language::Python).unwrap();
        assert_eq!(cell_source(&nb.cells()[0]), "# Parameters\na = 1\n");
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn a_string_that_does_not_convert_is_passed_as_a_string_with_a_warning() {
        let mut nb = notebook(&code("n = 1", &["parameters"]));
        let params: Parameters = [("n".to_string(), ParamValue::Str("It works".into()))]
            .into_iter()
            .collect();
        let (typed, warnings) = inject(&mut nb, &params, Language::Python).unwrap();
        assert_eq!(
            typed.iter().next().unwrap().1,
            ParamValue::Str("It works".into())
        );
        assert_eq!(
            warnings,
            ["parameter n: \"It works\" does not convert to int (the type of its default): passed as a string"]
        );
        assert_eq!(
            cell_source(&nb.cells()[1]),
            "# Parameters\nn = \"It works\"\n"
        );
    }
}
