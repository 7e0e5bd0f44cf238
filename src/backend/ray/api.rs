//! The Ray Jobs REST API of a cluster's dashboard (`/api/jobs/`): submit, get, list, stop,
//! logs, and `/api/version` to check that the head answers. Token authentication as Ray
//! does it: `Authorization: Bearer <token>`. Quirks: a duplicate `submission_id` is an
//! HTTP 500 (not a 409), an unknown id a plain-text 404, and errors are plain text
//! (often a Python traceback).

use crate::error::{Error, Failure, Result};
use crate::google::{decode, transport_message};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

/// Attempts of a call while the head answers (a dropped connection, a proxy's 502-504);
/// one attempt while it has been failing (see `remote::Reachability`).
pub const ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(200);

/// The body of `POST /api/jobs/`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubmitRequest {
    pub entrypoint: String,
    pub submission_id: String,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub runtime_env: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint_num_cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint_num_gpus: Option<f64>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint_memory: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub entrypoint_resources: BTreeMap<String, f64>,
}

/// What we read of a job (`JobDetails`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JobInfo {
    #[serde(default)]
    pub submission_id: Option<String>,
    /// PENDING, RUNNING, STOPPED, SUCCEEDED, FAILED.
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct LogsResponse {
    #[serde(default)]
    logs: String,
}

/// The HTTP client of Ray calls: a head that does not answer fails quickly.
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        crate::google::install_crypto(); // for https:// heads
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .read_timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("notebook-executor/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's settings are valid")
    })
}

/// Calls one cluster's Jobs API.
pub struct Client {
    /// `http(s)://host:port` of the dashboard, without a trailing slash.
    pub address: String,
    pub token: Option<String>,
    /// Extra headers of every call (a proxy's, for hosted clusters).
    pub headers: BTreeMap<String, String>,
    /// Attempts per call (1 once the head has been failing).
    pub attempts: u32,
}

impl Client {
    fn resource(&self) -> String {
        format!("Ray head {}", self.address)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends what `make` builds (again after a pause on a dropped connection or a 502-504,
    /// up to `attempts`); returns the answer of any other status.
    async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let mut attempt = 1;
        loop {
            let mut request = make();
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            let failure = match request.send().await {
                Ok(r) if !matches!(r.status().as_u16(), 502..=504) => return Ok(r),
                Ok(r) => format!("HTTP {}", r.status()),
                Err(e) => transport_message(&e),
            };
            if attempt >= self.attempts {
                return Err(Error::resource(
                    self.resource(),
                    Failure::Unavailable,
                    format!("cannot be reached: {failure}"),
                ));
            }
            tokio::time::sleep(BACKOFF * attempt).await;
            attempt += 1;
        }
    }

    /// The answer of a successful call; an error that says what Ray said otherwise.
    async fn check(&self, what: &str, response: reqwest::Response) -> Result<reqwest::Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let said = last_line(&body);
        let (failure, message) = match status.as_u16() {
            401 => (
                Failure::Unauthenticated,
                format!(
                    "the Ray cluster needs a token ({said}): set RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH \
                     or ~/.ray/auth_token, as for Ray's own clients"
                ),
            ),
            403 => (
                Failure::PermissionDenied,
                format!("the Ray cluster refused the token ({said})"),
            ),
            404 => (Failure::NotFound, said),
            400 | 422 => (Failure::Invalid, format!("Ray refused the {what}: {said}")),
            _ if said.contains("already exists") => (Failure::AlreadyExists, said),
            // The head has no job agent ready yet (starting, or overloaded): later.
            _ if said.contains("try again later") => (Failure::Unavailable, said),
            code => (
                Failure::Other,
                format!("Ray failed the {what} (HTTP {code}): {said}"),
            ),
        };
        Err(Error::resource(self.resource(), failure, message))
    }

    async fn call(
        &self,
        what: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let response = self.send(make).await?;
        self.check(what, response).await
    }

    /// The head answers (and takes our token).
    pub async fn version(&self) -> Result<()> {
        let url = self.url("/api/version");
        self.call("version check", || http().get(&url))
            .await
            .map(drop)
    }

    /// The job of a submission id; None when Ray does not know it.
    pub async fn get(&self, id: &str) -> Result<Option<JobInfo>> {
        let url = self.url(&format!("/api/jobs/{id}"));
        match self.call("job lookup", || http().get(&url)).await {
            Ok(response) => decode(response).await.map(Some),
            Err(Error::Resource {
                failure: Failure::NotFound,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every job the cluster keeps (one call).
    pub async fn list(&self) -> Result<Vec<JobInfo>> {
        let url = self.url("/api/jobs/");
        decode(self.call("job listing", || http().get(&url)).await?).await
    }

    /// Submits; `AlreadyExists` when a job has this submission id.
    pub async fn submit(&self, request: &SubmitRequest) -> Result<()> {
        let url = self.url("/api/jobs/");
        self.call("job submission", || http().post(&url).json(request))
            .await
            .map(drop)
    }

    /// Stops a job (it ends STOPPED); a job that has ended already is left as it is.
    pub async fn stop(&self, id: &str) -> Result<()> {
        let url = self.url(&format!("/api/jobs/{id}/stop"));
        self.call("job stop", || http().post(&url)).await.map(drop)
    }

    /// Everything the job's process has printed so far.
    pub async fn logs(&self, id: &str) -> Result<String> {
        let url = self.url(&format!("/api/jobs/{id}/logs"));
        let response: LogsResponse =
            decode(self.call("job's logs", || http().get(&url)).await?).await?;
        Ok(response.logs)
    }
}

/// The line of a plain-text error that says what happened (the last of a traceback).
fn last_line(body: &str) -> String {
    let line = body
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("");
    if line.is_empty() {
        "no message".to_owned()
    } else {
        line.chars().take(500).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_of_a_traceback_says_it() {
        let body = "Traceback (most recent call last):\n  File \"x\", line 1\nValueError: Job with submission_id abc already exists. Please use a different submission_id.\n\n";
        assert_eq!(
            last_line(body),
            "ValueError: Job with submission_id abc already exists. Please use a different submission_id."
        );
        assert_eq!(last_line("  \n"), "no message");
    }

    #[test]
    fn a_submission_leaves_out_what_is_not_set() {
        let body = serde_json::to_value(SubmitRequest {
            entrypoint: "notebook-executor run a b".into(),
            submission_id: "id1".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"entrypoint": "notebook-executor run a b", "submission_id": "id1"})
        );
    }
}
