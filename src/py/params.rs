//! Parameter values between Python objects and the core's `ParamValue`.

use super::blocking::block;
use super::errors::to_pyerr;
use crate::error::Error;
use crate::params::{self, Language, ParamValue, Parameters};
use crate::storage;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

pub fn value_from_py(obj: &Bound<'_, PyAny>, path: &str) -> Result<ParamValue, Error> {
    let unsupported = || {
        Error::parameter(
            None,
            format!(
                "parameter {path}: a {} cannot be passed as a parameter (use JSON-like values)",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ),
        )
    };
    if obj.is_none() {
        return Ok(ParamValue::None);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(ParamValue::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(ParamValue::Int(
            obj.str().map_err(|_| unsupported())?.to_string(),
        ));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(ParamValue::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(ParamValue::Str(
            s.to_str().map_err(|_| unsupported())?.to_owned(),
        ));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter().map_err(|_| unsupported())?.enumerate() {
            items.push(value_from_py(
                &item.map_err(|_| unsupported())?,
                &format!("{path}[{i}]"),
            )?);
        }
        return Ok(ParamValue::List(items));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut entries = Vec::new();
        for (key, value) in dict.iter() {
            let Ok(key) = key.cast::<PyString>().map(|k| k.to_string()) else {
                return Err(Error::parameter(
                    None,
                    format!("parameter {path}: dictionary keys must be strings"),
                ));
            };
            let child = format!("{path}[{key:?}]");
            entries.push((key, value_from_py(&value, &child)?));
        }
        return Ok(ParamValue::Dict(entries));
    }
    Err(unsupported())
}

pub fn parameters_from_py(obj: Option<&Bound<'_, PyAny>>) -> Result<Parameters, Error> {
    let mut out = Parameters::new();
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(out);
    };
    let dict = obj
        .cast::<PyDict>()
        .map_err(|_| Error::parameter(None, "parameters must be a dict of name -> value"))?;
    for (key, value) in dict.iter() {
        let name = key
            .cast::<PyString>()
            .map(|k| k.to_string())
            .map_err(|_| Error::parameter(None, "parameter names must be strings"))?;
        let value = value_from_py(&value, &name)?;
        out.set(name, value);
    }
    Ok(out)
}

pub fn value_to_py<'py>(py: Python<'py>, value: &ParamValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        ParamValue::None => py.None().into_bound(py),
        ParamValue::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        ParamValue::Int(digits) => py.get_type::<PyInt>().call1((digits.as_str(),))?,
        ParamValue::Float(f) => PyFloat::new(py, *f).into_any(),
        ParamValue::Str(s) => PyString::new(py, s).into_any(),
        ParamValue::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_py(py, item)?)?;
            }
            list.into_any()
        }
        ParamValue::Dict(entries) => {
            let dict = PyDict::new(py);
            for (k, v) in entries {
                dict.set_item(k, value_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Parses `optimizer="SGD",learning_rate=0.01` into a dict.
#[pyfunction]
pub fn parse_parameter_string<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyDict>> {
    let parsed = params::parse_assignments(text).map_err(|e| to_pyerr(py, e))?;
    let dict = PyDict::new(py);
    for (name, value) in parsed.iter() {
        dict.set_item(name, value_to_py(py, value)?)?;
    }
    Ok(dict)
}

/// papermill's `-p` typing of a command-line value.
#[pyfunction]
pub fn parse_typed_value<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    value_to_py(py, &params::typed_value(text))
}

/// The parameters cell of a notebook: a list of `{name, type, default, source, help}`.
#[pyfunction]
#[pyo3(signature = (path, language=None))]
pub fn notebook_parameters<'py>(
    py: Python<'py>,
    path: String,
    language: Option<&str>,
) -> PyResult<Bound<'py, PyList>> {
    let location = storage::parse_field("path", &path).map_err(|e| to_pyerr(py, e))?;
    let notebook = block(py, async move { storage::read_notebook(&location).await })?;
    let language = language
        .or(notebook.language())
        .and_then(Language::from_name)
        .unwrap_or(Language::Python);
    let out = PyList::empty(py);
    for default in params::notebook_defaults(&notebook, language) {
        let entry = PyDict::new(py);
        entry.set_item("name", &default.name)?;
        entry.set_item("type", &default.type_name)?;
        match &default.value {
            Some(value) => entry.set_item("default", value_to_py(py, value)?)?,
            None => entry.set_item("default", py.None())?,
        }
        entry.set_item("source", &default.source)?;
        entry.set_item("help", &default.help)?;
        out.append(entry)?;
    }
    Ok(out)
}
