//! The Python-facing layer: converts arguments in, runs the core with the GIL released,
//! converts results and errors out. No logic of its own.

mod blocking;
mod errors;
mod executor;
mod params;
mod run;
mod server;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Awaitables run on the module's one runtime.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(crate::runtime::runtime());
    m.add_function(wrap_pyfunction!(run::execute_notebook, m)?)?;
    m.add_function(wrap_pyfunction!(params::parse_parameter_string, m)?)?;
    m.add_function(wrap_pyfunction!(params::parse_typed_value, m)?)?;
    m.add_function(wrap_pyfunction!(params::notebook_parameters, m)?)?;
    m.add_function(wrap_pyfunction!(run::list_kernelspecs, m)?)?;
    m.add_function(wrap_pyfunction!(executor::schedule_preview, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_error_samples, m)?)?;
    m.add_class::<executor::ExecutorCore>()?;
    m.add_class::<server::ServerCore>()?;
    m.add_class::<server::SchedulerTask>()?;
    Ok(())
}
