//! Running core futures from Python threads: the GIL is released while they run, and
//! long ones stay interruptible by Ctrl-C (or any signal handler that raises).

use super::errors::to_pyerr;
use crate::error::Error;
use crate::runtime::runtime;
use pyo3::prelude::*;
use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

/// Short calls: blocks on the module's runtime with the GIL released.
pub fn block<T: Send>(
    py: Python<'_>,
    future: impl Future<Output = Result<T, Error>> + Send,
) -> PyResult<T> {
    py.detach(|| runtime().block_on(future))
        .map_err(|e| to_pyerr(py, e))
}

/// Long calls: runs `future` on the runtime and waits in slices, checking Python's signal
/// handlers between them. On an interrupt, `on_interrupt` asks the work to stop, the call
/// gives it up to `grace` to finish (e.g. to stop its kernel), then raises.
pub fn block_interruptible<T: Send + 'static>(
    py: Python<'_>,
    future: impl Future<Output = Result<T, Error>> + Send + 'static,
    on_interrupt: impl FnOnce(),
    grace: Duration,
) -> PyResult<T> {
    let (done_tx, mut done_rx) = mpsc::channel();
    let task = runtime().spawn(async move {
        let _ = done_tx.send(future.await);
    });
    loop {
        // The receiver is moved in and out: it may cross threads but not be shared.
        let (rx, received) = py.detach(move || {
            let received = done_rx.recv_timeout(Duration::from_millis(50));
            (done_rx, received)
        });
        done_rx = rx;
        match received {
            Ok(result) => return result.map_err(|e| to_pyerr(py, e)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    on_interrupt();
                    let _ = py.detach(move || done_rx.recv_timeout(grace).map(drop));
                    task.abort();
                    return Err(interrupt);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "the call ended without a result",
                ))
            }
        }
    }
}
