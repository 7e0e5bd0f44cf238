//! A running kernel: its process and its client sockets, started from a kernelspec and
//! stopped (then killed) when done or dropped.

mod client;
mod process;
mod spec;
#[cfg(test)]
mod tests;

use client::Channel;
pub use client::Message;
pub use spec::{InterruptMode, KernelSearch, KernelSpec};

use crate::error::{Error, Result};
use client::KernelClient;
use jupyter_protocol::connection_info::Transport;
use jupyter_protocol::ConnectionInfo;
use process::{describe_exit, KernelProcess};
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// How long a kernel may take to start and answer kernel_info (nbclient's default).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an interrupted kernel gets to answer before it is killed.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

pub struct Kernel {
    process: KernelProcess,
    client: KernelClient,
    pub spec: KernelSpec,
    pub language_info: serde_json::Value,
}

/// What woke up a wait on the kernel.
pub enum Event {
    IoPub(Message),
    Shell(Message),
    /// The kernel process ended; the text says how.
    Died(String),
    Deadline,
}

impl Kernel {
    /// Starts the kernel. ipykernel binds ports of its own choosing and writes them back
    /// into its connection file: no other process can take them first. Other kernels get
    /// ports picked free (held until their process is spawned), which another process may
    /// still take before the kernel binds them (several kernels starting at once): such a
    /// start is retried with other ports.
    pub async fn start(spec: &KernelSpec, cwd: &Path) -> Result<Kernel> {
        if spec.binds_its_own_ports() {
            return Kernel::start_once(spec, cwd, None)
                .await
                .map_err(StartFailure::into_error);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Kernel::start_once(spec, cwd, Some(free_ports().await?)).await {
                Err(StartFailure::PortTaken(_)) if attempt < START_ATTEMPTS => continue,
                Err(failure) => return Err(failure.into_error()),
                Ok(kernel) => return Ok(kernel),
            }
        }
    }

    /// One start: on the given ports (shell, iopub, stdin, control, heartbeat), or on the
    /// ports the kernel chooses (None).
    async fn start_once(
        spec: &KernelSpec,
        cwd: &Path,
        ports: Option<FreePorts>,
    ) -> std::result::Result<Kernel, StartFailure> {
        let (ports, held): ([u16; 5], Box<dyn std::any::Any + Send>) =
            ports.map_or(([0; 5], Box::new(())), |p| (p.ports, p.held));
        let mut info = ConnectionInfo {
            ip: "127.0.0.1".into(),
            transport: Transport::TCP,
            shell_port: ports[0],
            iopub_port: ports[1],
            stdin_port: ports[2],
            control_port: ports[3],
            hb_port: ports[4],
            key: uuid::Uuid::new_v4().to_string(),
            signature_scheme: "hmac-sha256".into(),
            kernel_name: Some(spec.name.clone()),
        };
        let mut process = KernelProcess::launch(spec, &info, cwd).map_err(StartFailure::Other)?;
        // Held until the kernel's process exists, so that no other start is handed them.
        drop(held);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let startup_failure = |process: &mut KernelProcess, what: String| Error::KernelDied {
            cell_index: None,
            message: format!("kernel '{}' {what}{}", spec.name, log_suffix(process)),
        };

        if info.shell_port == 0 {
            info = process
                .wait_for_ports(&info, deadline)
                .await
                .map_err(StartFailure::Other)?;
        }
        // Connect only once the kernel listens: zeromq would back off exponentially.
        let mut last_log_check = Instant::now();
        for port in [info.shell_port, info.iopub_port, info.control_port] {
            loop {
                if let Some(status) = process.has_exited() {
                    return Err(StartFailure::classify(startup_failure(
                        &mut process,
                        format!("exited during startup with {}", describe_exit(status)),
                    )));
                }
                // A kernel that lost a port may log the error and then hang rather than exit.
                let port_taken = last_log_check.elapsed() > Duration::from_millis(100) && {
                    last_log_check = Instant::now();
                    process.log_tail(4000).contains(PORT_TAKEN)
                };
                if port_taken || Instant::now() > deadline {
                    process.kill().await;
                    let what = if port_taken {
                        "could not bind its ports".to_owned()
                    } else {
                        format!("did not start within {}s", STARTUP_TIMEOUT.as_secs())
                    };
                    return Err(StartFailure::classify(startup_failure(&mut process, what)));
                }
                if std::net::TcpStream::connect_timeout(
                    &([127, 0, 0, 1], port).into(),
                    Duration::from_millis(200),
                )
                .is_ok()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let client =
            match tokio::time::timeout(Duration::from_secs(10), KernelClient::connect(&info)).await
            {
                Ok(Ok(client)) => client,
                // Every port listens, yet the sockets do not fit ours: another process holds one.
                Ok(Err(e)) => {
                    process.kill().await;
                    return Err(StartFailure::PortTaken(startup_failure(
                        &mut process,
                        format!("cannot be connected to: {e}"),
                    )));
                }
                Err(_) => {
                    process.kill().await;
                    return Err(StartFailure::PortTaken(startup_failure(
                        &mut process,
                        "did not accept connections".into(),
                    )));
                }
            };
        let mut kernel = Kernel {
            process,
            client,
            spec: spec.clone(),
            language_info: serde_json::Value::Null,
        };
        // On failure the kernel is killed on drop.
        kernel
            .handshake(deadline)
            .await
            .map_err(StartFailure::classify)?;
        Ok(kernel)
    }

    /// kernel_info until both its reply and iopub traffic arrive: then the iopub
    /// subscription is live and no output of the first cell can be missed.
    async fn handshake(&mut self, deadline: Instant) -> Result<()> {
        let mut got_reply = false;
        let mut got_iopub = false;
        let mut request = self.client.kernel_info().await?;
        let mut resend_at = Instant::now() + Duration::from_millis(200);
        while !(got_reply && got_iopub) {
            match self.next_event(resend_at.min(deadline)).await? {
                Event::Shell(msg) if msg.parent_msg_id.as_deref() == Some(request.as_str()) => {
                    got_reply = true;
                    self.language_info = msg.content["language_info"].clone();
                }
                Event::IoPub(_) => got_iopub = true,
                Event::Shell(_) => {}
                Event::Died(how) => {
                    return Err(Error::KernelDied {
                        cell_index: None,
                        message: format!("kernel '{}' died during startup: {how}", self.spec.name),
                    })
                }
                Event::Deadline if Instant::now() >= deadline => {
                    self.process.kill().await;
                    return Err(Error::KernelDied {
                        cell_index: None,
                        message: format!(
                            "kernel '{}' did not answer within {}s",
                            self.spec.name,
                            STARTUP_TIMEOUT.as_secs()
                        ),
                    });
                }
                Event::Deadline => {
                    request = self.client.kernel_info().await?;
                    resend_at = Instant::now() + Duration::from_millis(200);
                }
            }
        }
        Ok(())
    }

    /// A kernel started ahead of time (in another folder) made to stand where one started
    /// for this run would: its working directory, the folder on `sys.path` and IPython's
    /// directory history become `cwd`, and `PWD` names it, as for a kernel started there.
    /// Its environment is otherwise the same already (the same runner started it). Run silently: no count, no history, no output. Only for
    /// ipykernel (see `KernelSpec::binds_its_own_ports`).
    pub async fn adopt(mut self, cwd: &Path) -> Result<Kernel> {
        let cwd = std::path::absolute(cwd).unwrap_or_else(|_| cwd.to_owned());
        let quoted = serde_json::to_string(&cwd.display().to_string()).expect("a string");
        let setup = format!(
            "import os as _nx_os, sys as _nx_sys\n\
             _nx_was = _nx_os.getcwd()\n\
             _nx_os.chdir({quoted})\n\
             _nx_os.environ['PWD'] = {quoted}\n\
             _nx_sys.path[:] = [{quoted} if p == _nx_was else p for p in _nx_sys.path]\n\
             _nx_ip = get_ipython()\n\
             if '_dh' in _nx_ip.user_ns: _nx_ip.user_ns['_dh'][:] = [{quoted}]\n\
             del _nx_os, _nx_sys, _nx_was, _nx_ip\n"
        );
        let request = self.client.execute_silently(&setup).await?;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match self.next_event(deadline).await? {
                Event::Shell(msg)
                    if msg.parent_msg_id.as_deref() == Some(request.as_str())
                        && msg.msg_type == "execute_reply" =>
                {
                    if msg.content["status"] != "ok" {
                        return Err(Error::KernelDied {
                            cell_index: None,
                            message: format!(
                                "the kernel started ahead could not be set up: {}",
                                msg.content["evalue"]
                            ),
                        });
                    }
                    return Ok(self);
                }
                Event::IoPub(_) | Event::Shell(_) => {}
                Event::Died(how) => {
                    return Err(Error::KernelDied {
                        cell_index: None,
                        message: format!("the kernel started ahead died: {how}"),
                    })
                }
                Event::Deadline => {
                    return Err(Error::KernelDied {
                        cell_index: None,
                        message: "the kernel started ahead did not answer".into(),
                    })
                }
            }
        }
    }

    /// The process has not exited.
    pub fn is_alive(&mut self) -> bool {
        self.process.has_exited().is_none()
    }

    pub async fn execute(&mut self, code: &str, stop_on_error: bool) -> Result<String> {
        self.client.execute(code, stop_on_error).await
    }

    /// A comm message to the kernel, as a frontend sends (see `KernelClient::comm_msg`).
    pub async fn comm_msg(
        &mut self,
        comm_id: &str,
        data: serde_json::Map<String, serde_json::Value>,
        parent: &serde_json::Value,
    ) -> Result<()> {
        self.client.comm_msg(comm_id, data, parent).await
    }

    /// The next message from the kernel, its death, or the deadline; whichever is first.
    pub async fn next_event(&mut self, deadline: Instant) -> Result<Event> {
        tokio::select! {
            biased;
            msg = self.client.recv() => Ok(match msg? {
                (Channel::IoPub, msg) => Event::IoPub(msg),
                (Channel::Shell, msg) => Event::Shell(msg),
            }),
            status = self.process.wait_exit() => {
                Ok(Event::Died(format!("the kernel process ended with {}{}", describe_exit(status), log_suffix(&mut self.process))))
            }
            _ = tokio::time::sleep_until(deadline) => Ok(Event::Deadline),
        }
    }

    /// A message the kernel sent that is still on its way (after its process ended, say),
    /// or None once none arrives before `deadline`.
    pub async fn message_in_flight(&mut self, deadline: Instant) -> Option<Event> {
        tokio::select! {
            msg = self.client.recv() => match msg.ok()? {
                (Channel::IoPub, msg) => Some(Event::IoPub(msg)),
                (Channel::Shell, msg) => Some(Event::Shell(msg)),
            },
            _ = tokio::time::sleep_until(deadline) => None,
        }
    }

    /// Interrupts the running cell: SIGINT to the process group, or an interrupt_request
    /// for kernels whose spec asks for messages.
    pub async fn interrupt(&mut self) {
        match self.spec.interrupt_mode {
            InterruptMode::Signal => self.process.signal_group(libc::SIGINT),
            InterruptMode::Message => {
                let _ = self.client.interrupt().await;
            }
        }
    }

    /// Asks the kernel to shut down, gives it a moment, then kills its process group.
    pub async fn shutdown(mut self) {
        if self.process.has_exited().is_none() && self.client.shutdown().await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.process.wait_exit()).await;
        }
        self.process.kill().await;
    }

    pub async fn kill(mut self) {
        self.process.kill().await;
    }
}

const START_ATTEMPTS: u32 = 5;

/// Five loopback ports (shell, iopub, stdin, control, heartbeat), held by listeners of
/// ours until the kernel is launched; free only until someone binds them after that, hence
/// the retries of `Kernel::start` for kernels that cannot choose their own.
struct FreePorts {
    ports: [u16; 5],
    /// The listeners (dropped to release the ports).
    held: Box<dyn std::any::Any + Send>,
}

async fn free_ports() -> Result<FreePorts> {
    let (ports, held) =
        jupyter_zmq_client::peek_ports_with_listeners("127.0.0.1".parse().expect("loopback"), 5)
            .await
            .map_err(|e| Error::KernelDied {
                cell_index: None,
                message: format!("cannot reserve ports for the kernel: {e}"),
            })?;
    Ok(FreePorts {
        ports: ports.try_into().expect("five ports were asked for"),
        held: Box::new(held),
    })
}
/// What zeromq (and so every kernel built on it) says when a port is taken.
const PORT_TAKEN: &str = "Address already in use";

enum StartFailure {
    /// Lost a port to another process: worth another try with other ports.
    PortTaken(Error),
    Other(Error),
}

impl StartFailure {
    fn into_error(self) -> Error {
        match self {
            StartFailure::PortTaken(e) | StartFailure::Other(e) => e,
        }
    }

    fn classify(error: Error) -> StartFailure {
        match &error {
            Error::KernelDied { message, .. } if message.contains(PORT_TAKEN) => {
                StartFailure::PortTaken(error)
            }
            // During the start, a message that fails its signature comes from another
            // kernel holding one of our ports (ours then failed to bind it).
            Error::Protocol(_) => StartFailure::PortTaken(error),
            _ => StartFailure::Other(error),
        }
    }
}

fn log_suffix(process: &mut KernelProcess) -> String {
    let tail = process.log_tail(2000);
    if tail.is_empty() {
        String::new()
    } else {
        format!("; its last output:\n{tail}")
    }
}
