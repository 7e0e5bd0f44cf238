//! Kernel start against a real ipykernel (`make test-rust` runs with the project's
//! virtualenv active, so the environment's `python3` kernel is found).

use super::*;

fn python3() -> KernelSpec {
    KernelSearch::from_env()
        .find("python3")
        .unwrap_or_else(|e| {
            panic!("these tests need ipykernel: run them through `make test-rust` ({e})")
        })
}

/// Several kernels starting at once can be handed the same free port; the one that loses
/// it must be started again on other ports, not fail the execution. The case here: our
/// iopub port is held by a busy kernel, so its signed-with-another-key messages reach us.
#[test]
fn a_start_that_meets_another_kernels_socket_is_retried() {
    crate::runtime::runtime().block_on(async {
        let spec = python3();
        let cwd = std::env::temp_dir();
        let busy_ports = free_ports().await.unwrap().ports;
        let given = |ports: [u16; 5]| {
            Some(FreePorts {
                ports,
                held: Box::new(()),
            })
        };
        let Ok(mut busy) = Kernel::start_once(&spec, &cwd, given(busy_ports)).await else {
            panic!("the first kernel did not start");
        };
        busy.execute("while True: print('busy', flush=True)", false)
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !matches!(busy.next_event(deadline).await.unwrap(),
            Event::IoPub(m) if m.msg_type == "stream")
        {}

        // Whether the foreign messages or the kernel's own death show first is a race:
        // a few tries meet both.
        for _ in 0..3 {
            let mut ports = free_ports().await.unwrap().ports;
            ports[1] = busy_ports[1];
            match Kernel::start_once(&spec, &cwd, given(ports)).await {
                Err(StartFailure::PortTaken(_)) => {}
                Err(StartFailure::Other(e)) => panic!("a lost port ended the start: {e}"),
                Ok(_) => panic!("started although another kernel holds its iopub port"),
            }
        }
        // And the whole start (ipykernel binds ports of its own) succeeds next to it.
        let kernel = Kernel::start(&spec, &cwd).await.unwrap();
        kernel.shutdown().await;
        busy.kill().await;
    });
}

#[test]
fn start_failures_worth_a_retry_are_the_lost_ports() {
    let died = |message: &str| Error::KernelDied {
        cell_index: None,
        message: message.into(),
    };
    let retried = |e| matches!(StartFailure::classify(e), StartFailure::PortTaken(_));
    assert!(retried(died("kernel 'python3' exited; its last output:\nzmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:5555')")));
    assert!(retried(Error::Protocol(
        "a message failed its signature check".into()
    )));
    assert!(!retried(died("kernel 'python3' exited during startup with exit code 1; its last output:\nModuleNotFoundError: No module named 'ipykernel'")));
    assert!(!retried(Error::Cancelled));
}

/// ipykernel chooses its own ports (no race with other starts): several at once all start
/// at the first try, each on its own ports.
#[test]
fn kernels_starting_at_once_choose_their_own_ports() {
    crate::runtime::runtime().block_on(async {
        let spec = python3();
        assert!(spec.binds_its_own_ports());
        let starts: Vec<_> = (0..6)
            .map(|_| {
                let spec = spec.clone();
                tokio::spawn(async move {
                    Kernel::start_once(&spec, &std::env::temp_dir(), None)
                        .await
                        .map_err(StartFailure::into_error)
                })
            })
            .collect();
        let mut kernels = Vec::new();
        for start in starts {
            kernels.push(start.await.unwrap().expect("every start succeeds at once"));
        }
        for kernel in kernels {
            kernel.shutdown().await;
        }
    });
}
