//! One tokio runtime for the whole module: kernels, timers and sockets all live on it.

use std::sync::OnceLock;
use tokio::runtime::Runtime;

pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("notebook-executor")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime")
    })
}
