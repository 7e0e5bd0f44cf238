//! The client side of the Jupyter messaging protocol over ZeroMQ: shell, iopub and control
//! sockets. Incoming messages are kept as raw JSON so outputs reach the notebook exactly
//! as the kernel sent them.

use crate::error::{Error, Result};
use jupyter_protocol::{
    CommId, CommMsg, ConnectionInfo, ExecuteRequest, InterruptRequest, JupyterMessage,
    KernelInfoRequest, ShutdownRequest,
};
use jupyter_zmq_client::{
    create_client_control_connection, create_client_iopub_connection,
    create_client_shell_connection_with_identity, peer_identity_for_session,
    ClientControlConnection, ClientIoPubConnection, ClientShellConnection, Connection, RawMessage,
};
use serde_json::Value;
use zeromq::SocketRecv;

/// A message from the kernel, with its JSON parts parsed.
#[derive(Debug, Clone)]
pub struct Message {
    pub msg_type: String,
    pub parent_msg_id: Option<String>,
    /// The header's `date`, as the kernel wrote it (ISO 8601).
    pub date: Option<String>,
    /// The request this message answers, whole (a reply to the kernel names it as its parent).
    pub parent_header: Value,
    pub content: Value,
    /// Binary buffers after the JSON parts (widgets send arrays this way).
    pub buffers: Vec<Vec<u8>>,
}

pub struct KernelClient {
    shell: ClientShellConnection,
    iopub: ClientIoPubConnection,
    control: ClientControlConnection,
}

impl KernelClient {
    /// Connects the sockets; the kernel must already listen (connects to a port nobody
    /// listens on are retried by zeromq with growing delays).
    pub async fn connect(info: &ConnectionInfo) -> Result<KernelClient> {
        let session = uuid::Uuid::new_v4().to_string();
        let identity = peer_identity_for_session(&session).map_err(protocol)?;
        let iopub = create_client_iopub_connection(info, "", &session)
            .await
            .map_err(protocol)?;
        let shell = create_client_shell_connection_with_identity(info, &session, identity)
            .await
            .map_err(protocol)?;
        let control = create_client_control_connection(info, &session)
            .await
            .map_err(protocol)?;
        Ok(KernelClient {
            shell,
            iopub,
            control,
        })
    }

    /// Sends an execute request and returns its msg_id.
    pub async fn execute(&mut self, code: &str, stop_on_error: bool) -> Result<String> {
        let request = ExecuteRequest {
            code: code.to_owned(),
            silent: false,
            store_history: true,
            user_expressions: None,
            allow_stdin: false,
            stop_on_error,
        };
        self.send_shell(JupyterMessage::new(request, None)).await
    }

    /// Code run without a trace: no execution count, no history, no execute_input.
    pub async fn execute_silently(&mut self, code: &str) -> Result<String> {
        let request = ExecuteRequest {
            code: code.to_owned(),
            silent: true,
            store_history: false,
            user_expressions: None,
            allow_stdin: false,
            stop_on_error: false,
        };
        self.send_shell(JupyterMessage::new(request, None)).await
    }

    /// Sends a comm message on shell as a frontend does, in reply to `parent` (the header
    /// of the message it answers).
    pub async fn comm_msg(
        &mut self,
        comm_id: &str,
        data: serde_json::Map<String, Value>,
        parent: &Value,
    ) -> Result<()> {
        let mut message = JupyterMessage::new(
            CommMsg {
                comm_id: CommId(comm_id.to_owned()),
                data,
            },
            None,
        );
        message.parent_header = serde_json::from_value(parent.clone()).ok();
        self.send_shell(message).await.map(drop)
    }

    pub async fn kernel_info(&mut self) -> Result<String> {
        self.send_shell(JupyterMessage::new(KernelInfoRequest {}, None))
            .await
    }

    pub async fn interrupt(&mut self) -> Result<()> {
        self.control
            .send(JupyterMessage::new(InterruptRequest {}, None))
            .await
            .map_err(protocol)
    }

    pub async fn shutdown(&mut self) -> Result<()> {
        self.control
            .send(JupyterMessage::new(
                ShutdownRequest { restart: false },
                None,
            ))
            .await
            .map_err(protocol)
    }

    async fn send_shell(&mut self, message: JupyterMessage) -> Result<String> {
        let id = message.header.msg_id.clone();
        self.shell.send(message).await.map_err(protocol)?;
        Ok(id)
    }

    /// The next message from iopub or shell, whichever comes first (cancel-safe).
    pub async fn recv(&mut self) -> Result<(Channel, Message)> {
        tokio::select! {
            biased;
            msg = recv_from(&mut self.iopub) => Ok((Channel::IoPub, msg?)),
            msg = recv_from(&mut self.shell) => Ok((Channel::Shell, msg?)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    IoPub,
    Shell,
}

async fn recv_from<S: SocketRecv>(connection: &mut Connection<S>) -> Result<Message> {
    let parts = connection
        .socket
        .recv()
        .await
        .map_err(|e| Error::Protocol(e.to_string()))?;
    let raw = RawMessage::from_multipart(parts, &connection.mac).map_err(|e| match e {
        jupyter_zmq_client::RuntimeError::VerifyError(_) => Error::Protocol(
            "a message failed its signature check: it was not sent by this kernel".into(),
        ),
        e => protocol(e),
    })?;
    parse(raw)
}

fn parse(raw: RawMessage) -> Result<Message> {
    let header: Value = serde_json::from_slice(&raw.jparts[0])
        .map_err(|e| Error::Protocol(format!("bad header: {e}")))?;
    let parent: Value = serde_json::from_slice(&raw.jparts[1]).unwrap_or(Value::Null);
    let content: Value = serde_json::from_slice(&raw.jparts[3])
        .map_err(|e| Error::Protocol(format!("bad content: {e}")))?;
    Ok(Message {
        msg_type: header["msg_type"].as_str().unwrap_or_default().to_owned(),
        parent_msg_id: parent["msg_id"].as_str().map(str::to_owned),
        date: header["date"].as_str().map(str::to_owned),
        parent_header: parent,
        content,
        buffers: raw.jparts[4..].iter().map(|b| b.to_vec()).collect(),
    })
}

fn protocol(e: jupyter_zmq_client::RuntimeError) -> Error {
    Error::Protocol(e.to_string())
}
