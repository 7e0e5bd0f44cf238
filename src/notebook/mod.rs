//! The notebook model: nbformat 4 JSON kept as a JSON tree, so that everything we do not
//! touch (unknown metadata, cell fields of newer minors) is written back as it was read.

mod json_format;
pub mod lines;
mod upgrade;

use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::Path;

pub use json_format::{python_float_repr, to_nbformat_string, write_nbformat};

#[derive(Debug, Clone)]
pub struct Notebook {
    /// Always a JSON object (checked on read).
    root: Value,
}

impl Notebook {
    /// Parses notebook JSON (nbformat 3 is upgraded to 4); `path` names the source in error
    /// messages. Files are read by the storage layer.
    pub fn parse(text: &str, path: &Path) -> Result<Notebook> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format_error(path, format!("not valid JSON: {e}")))?;
        let Value::Object(root) = value else {
            return Err(format_error(path, "the top level is not a JSON object"));
        };
        let major = root.get("nbformat").and_then(Value::as_i64);
        let root = match major {
            Some(4) => root,
            Some(3) => upgrade::from_v3(text).map_err(|m| format_error(path, m))?,
            Some(v) => {
                return Err(format_error(
                    path,
                    format!("nbformat {v} is not supported (only 3 and 4)"),
                ))
            }
            None => {
                return Err(format_error(
                    path,
                    "no 'nbformat' version: this is not a Jupyter notebook",
                ))
            }
        };
        let mut notebook = Notebook {
            root: Value::Object(root),
        };
        notebook
            .check_and_repair()
            .map_err(|m| format_error(path, m))?;
        Ok(notebook)
    }

    /// The notebook's text in nbformat's on-disk layout.
    pub fn to_nbformat_string(&self) -> String {
        to_nbformat_string(&self.root)
    }

    pub fn as_value(&self) -> &Value {
        &self.root
    }

    /// The notebook's nbformat text, streamed to `writer`.
    pub fn write_to<W: std::io::Write>(&self, writer: W) -> std::io::Result<()> {
        write_nbformat(&self.root, writer)
    }

    fn check_and_repair(&mut self) -> std::result::Result<(), String> {
        let minor = self
            .root
            .get("nbformat_minor")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if !self.root.get("metadata").is_some_and(Value::is_object) {
            self.root["metadata"] = json!({});
        }
        let Some(Value::Array(cells)) = self.root.get_mut("cells") else {
            return Err("'cells' is missing or not a list".into());
        };
        for (index, cell) in cells.iter_mut().enumerate() {
            let Value::Object(cell) = cell else {
                return Err(format!("cell {index} is not a JSON object"));
            };
            let kind = cell
                .get("cell_type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if !matches!(kind.as_str(), "code" | "markdown" | "raw") {
                return Err(format!(
                    "cell {index} has an unknown cell_type {:?}",
                    cell.get("cell_type")
                ));
            }
            if lines::join(cell.get("source").unwrap_or(&Value::Null)).is_none() {
                return Err(format!(
                    "cell {index}: 'source' must be a string or a list of strings"
                ));
            }
            lines::rejoin_cell(cell);
            if !cell.get("metadata").is_some_and(Value::is_object) {
                cell.insert("metadata".into(), json!({}));
            }
            if kind == "code" {
                if !cell.get("outputs").is_some_and(Value::is_array) {
                    cell.insert("outputs".into(), json!([]));
                }
                cell.entry("execution_count").or_insert(Value::Null);
            }
            // nbformat 4.5 requires cell ids; nbformat itself adds missing ones on read.
            if minor >= 5
                && !cell
                    .get("id")
                    .is_some_and(|id| id.as_str().is_some_and(|s| !s.is_empty()))
            {
                cell.insert("id".into(), Value::String(new_cell_id()));
            }
        }
        Ok(())
    }

    pub fn metadata(&self) -> &Map<String, Value> {
        self.root["metadata"].as_object().expect("checked on read")
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        self.root
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .expect("checked on read")
    }

    pub fn cells(&self) -> &[Value] {
        self.root["cells"].as_array().expect("checked on read")
    }

    pub fn cells_mut(&mut self) -> &mut Vec<Value> {
        self.root
            .get_mut("cells")
            .and_then(Value::as_array_mut)
            .expect("checked on read")
    }

    pub fn nbformat_minor(&self) -> i64 {
        self.root
            .get("nbformat_minor")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// `metadata.kernelspec.name`, the kernel the notebook asks for.
    pub fn kernel_name(&self) -> Option<&str> {
        self.metadata()
            .get("kernelspec")?
            .get("name")?
            .as_str()
            .filter(|s| !s.is_empty())
    }

    /// The notebook's language: `kernelspec.language`, else `language_info.name`.
    pub fn language(&self) -> Option<&str> {
        let metadata = self.metadata();
        metadata
            .get("kernelspec")
            .and_then(|k| k.get("language"))
            .and_then(Value::as_str)
            .or_else(|| {
                metadata
                    .get("language_info")
                    .and_then(|l| l.get("name"))
                    .and_then(Value::as_str)
            })
    }

    /// A new cell in this notebook's format (with an id from nbformat 4.5 on).
    pub fn new_cell(&self, cell_type: &str, source: &str) -> Value {
        let mut cell = Map::new();
        cell.insert("cell_type".into(), json!(cell_type));
        if self.nbformat_minor() >= 5 {
            cell.insert("id".into(), Value::String(new_cell_id()));
        }
        cell.insert("metadata".into(), json!({}));
        cell.insert("source".into(), Value::String(source.to_owned()));
        if cell_type == "code" {
            cell.insert("execution_count".into(), Value::Null);
            cell.insert("outputs".into(), json!([]));
        }
        Value::Object(cell)
    }
}

/// The source text of a cell.
pub fn cell_source(cell: &Value) -> String {
    lines::join(&cell["source"]).unwrap_or_default()
}

/// The tags of a cell (`metadata.tags`).
pub fn cell_has_tag(cell: &Value, tag: &str) -> bool {
    cell["metadata"]["tags"]
        .as_array()
        .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag)))
}

fn new_cell_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::NotebookFormat {
        path: path.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUPYTER_WRITTEN: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "id": "a1",
   "metadata": {
    "custom": {
     "keep": [
      1,
      2.5e-07,
      null
     ]
    }
   },
   "source": [
    "# Title\n",
    "text"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "id": "b2",
   "metadata": {},
   "outputs": [],
   "source": []
  }
 ],
 "metadata": {
  "kernelspec": {
   "display_name": "Python 3",
   "language": "python",
   "name": "python3"
  },
  "unknown_tool": {
   "x": "ü"
  }
 },
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

    #[test]
    fn unchanged_notebook_round_trips_byte_for_byte() {
        let nb = Notebook::parse(JUPYTER_WRITTEN, Path::new("t.ipynb")).unwrap();
        assert_eq!(nb.to_nbformat_string(), JUPYTER_WRITTEN);
        assert_eq!(nb.kernel_name(), Some("python3"));
        assert_eq!(nb.language(), Some("python"));
    }

    #[test]
    fn format_errors_name_the_file_and_the_problem() {
        let err = Notebook::parse("{\"cells\": [", Path::new("bad.ipynb")).unwrap_err();
        assert!(matches!(err, Error::NotebookFormat { .. }));
        assert!(
            err.to_string().starts_with("bad.ipynb: not valid JSON"),
            "{err}"
        );
        let err = Notebook::parse(
            r#"{"nbformat": 4, "cells": [{"cell_type": "x"}]}"#,
            Path::new("c.ipynb"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cell 0 has an unknown cell_type"),
            "{err}"
        );
        let err = Notebook::parse(r#"{"cells": []}"#, Path::new("d.ipynb")).unwrap_err();
        assert!(err.to_string().contains("not a Jupyter notebook"), "{err}");
    }

    #[test]
    fn missing_ids_are_added_in_4_5() {
        let text = r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": "1", "metadata": {}, "outputs": [], "execution_count": null}]}"#;
        let nb = Notebook::parse(text, Path::new("x.ipynb")).unwrap();
        assert_eq!(nb.cells()[0]["id"].as_str().unwrap().len(), 8);
    }

    #[test]
    fn v3_is_upgraded() {
        let v3 = r#"{"metadata": {"name": "old"}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [
            {"cell_type": "code", "collapsed": false, "input": ["print(1)"], "language": "python", "metadata": {}, "outputs": [], "prompt_number": 1},
            {"cell_type": "markdown", "metadata": {}, "source": ["hi"]}], "metadata": {}}]}"#;
        let nb = Notebook::parse(v3, Path::new("v3.ipynb")).unwrap();
        assert_eq!(nb.as_value()["nbformat"], 4);
        assert_eq!(nb.cells().len(), 2);
        assert_eq!(cell_source(&nb.cells()[0]), "print(1)");
        assert!(!nb.metadata().contains_key("name"));
        assert_eq!(nb.cells()[0]["metadata"]["collapsed"], false);
        // No kernelspec in v3: the cells' language is the notebook's.
        assert_eq!(nb.language(), Some("python"));
        assert_eq!(nb.kernel_name(), None);
    }
}
