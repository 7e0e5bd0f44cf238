//! notebook-executor's core: runs notebooks on Jupyter kernels (papermill-compatible),
//! exposed to Python as `notebook_executor._core`.

pub mod backend;
pub mod engine;
pub mod error;
pub mod google;
pub mod jupyter_paths;
pub mod kernel;
pub mod model;
pub mod notebook;
pub mod owner_lock;
pub mod params;
mod py;
pub mod render;
pub mod runtime;
pub mod schedule;
pub mod service;
pub mod storage;
pub mod store;
pub mod timeouts;

#[cfg(test)]
mod properties;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
