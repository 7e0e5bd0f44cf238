//! Calling Google Cloud: one HTTP client per process (connection reuse, timeouts), requests
//! retried with backoff as Google documents (429, 5xx, dropped connections), and
//! Application Default Credentials from the official `google-cloud-auth` crate, with the
//! project found as SPEC says. Cloud Storage and Vertex AI both call through here.

mod credentials;

pub use credentials::{bearer_token, project, signer};

use crate::error::{Error, Failure, Result};
use std::sync::OnceLock;
use std::time::Duration;

/// Attempts of one call (the first and its retries), unless `NOTEBOOK_EXECUTOR_HTTP_ATTEMPTS`
/// says otherwise.
const ATTEMPTS: u32 = 6;

fn attempts() -> u32 {
    std::env::var("NOTEBOOK_EXECUTOR_HTTP_ATTEMPTS")
        .ok()
        .and_then(|n| n.trim().parse::<u32>().ok())
        .filter(|n| (1..=20).contains(n))
        .unwrap_or(ATTEMPTS)
}
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// rustls (TLS, and the signing of service-account keys) needs a crypto provider chosen
/// once per process: ring (see Cargo.toml). Every HTTP client of the crate calls this.
pub(crate) fn install_crypto() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The process's one client.
pub fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        install_crypto();
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A stalled transfer fails; a long one that makes progress does not.
            .read_timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("notebook-executor/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's settings are valid")
    })
}

/// What a failed status means.
pub fn failure_of(status: reqwest::StatusCode) -> Failure {
    match status.as_u16() {
        400 | 411 | 413 | 416 | 422 => Failure::Invalid,
        401 => Failure::Unauthenticated,
        403 => Failure::PermissionDenied,
        404 | 410 => Failure::NotFound,
        409 | 412 => Failure::AlreadyExists,
        _ => Failure::Unavailable,
    }
}

fn retryable(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// The message of a Google JSON error body (`{"error": {"message"}}`), else the text.
pub fn error_message(status: reqwest::StatusCode, body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().chars().take(500).collect());
    if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {}: {message}", status.as_u16())
    }
}

/// Sends the request that `make` builds, again after a backoff while the answer is a
/// transient failure; `make` is called once per attempt (a streamed body cannot be sent
/// twice). Returns the first non-transient answer, or the last failure as `Unavailable`.
/// `what` names the resource in errors.
pub async fn send(
    what: &str,
    make: impl Fn() -> Result<reqwest::RequestBuilder>,
) -> Result<reqwest::Response> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    let attempts = attempts();
    loop {
        let last = attempt >= attempts;
        let error = match make()?.send().await {
            Ok(response) if !retryable(response.status()) || last => return Ok(response),
            Ok(response) => format!("HTTP {}", response.status()),
            Err(e) if last => {
                return Err(Error::resource(
                    what,
                    Failure::Unavailable,
                    format!("{} after {attempts} attempts", transport_message(&e)),
                ))
            }
            Err(e) => transport_message(&e),
        };
        // Full jitter, as Google's client libraries: spreads the retries of many callers.
        let pause = backoff.mul_f64(0.5 + jitter() / 2.0);
        if std::env::var_os("NOTEBOOK_EXECUTOR_DEBUG_HTTP").is_some() {
            eprintln!("notebook-executor: {what}: {error}; retrying in {pause:?}");
        }
        tokio::time::sleep(pause).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

/// The request's answer when its status is a success, else the error it says.
pub async fn check(what: &str, response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(Error::resource(
        what,
        failure_of(status),
        error_message(status, &body),
    ))
}

/// A transport error with its causes (reqwest's own text omits them: "error sending
/// request" alone). For every HTTP client of the crate.
pub(crate) fn transport_message(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The JSON body of a successful answer; one we cannot read is the service's fault.
/// For every HTTP client of the crate.
pub(crate) async fn decode<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T> {
    let url = response.url().to_string();
    response.json().await.map_err(|e| {
        Error::resource(
            url,
            Failure::Unavailable,
            format!("an answer we cannot read: {e}"),
        )
    })
}

fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0
}
