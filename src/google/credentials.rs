//! Application Default Credentials, in their usual order: `GOOGLE_APPLICATION_CREDENTIALS`,
//! gcloud's `application_default_credentials.json`, then the metadata server
//! (`GCE_METADATA_HOST` overrides its address). The credentials themselves come from
//! `google-cloud-auth`; what we add is finding out quickly that there are none: the crate
//! would go on asking a metadata server that is not there, so when no file is found we
//! ask the metadata server once, with a short timeout, before relying on it.

use crate::error::{Error, Failure, Result};
use google_cloud_auth::credentials::{AccessTokenCredentials, Builder};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::Mutex;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// How long the metadata server may take to answer whether it is there.
const METADATA_PROBE: Duration = Duration::from_secs(3);
/// A token must come within this (the crate retries a failing token endpoint by itself).
const TOKEN_DEADLINE: Duration = Duration::from_secs(30);

pub const NO_CREDENTIALS: &str = "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or run `gcloud auth application-default login`";

/// Where the credentials come from.
#[derive(Debug, Clone)]
enum Source {
    File(PathBuf),
    MetadataServer(String),
}

fn source() -> Source {
    if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        return Source::File(PathBuf::from(path));
    }
    // The same well-known file as google-cloud-auth looks for.
    if let Some(home) = std::env::var_os("HOME") {
        let file = PathBuf::from(home).join(".config/gcloud/application_default_credentials.json");
        if file.is_file() {
            return Source::File(file);
        }
    }
    let host = std::env::var("GCE_METADATA_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "metadata.google.internal".into());
    Source::MetadataServer(host)
}

fn unauthenticated(message: impl Into<String>) -> Error {
    Error::resource("Google credentials", Failure::Unauthenticated, message)
}

/// A GET of the metadata server (`path` under `/computeMetadata/v1/`), answered quickly or
/// not at all.
async fn metadata(host: &str, path: &str) -> Result<String> {
    let url = format!("http://{host}/computeMetadata/v1/{path}");
    let answer = async {
        let response = super::http()
            .get(&url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // A real metadata server says so; anything else at that address is not one.
        if response
            .headers()
            .get("Metadata-Flavor")
            .map(|v| v.as_bytes())
            != Some(b"Google")
        {
            return Err(format!("{url} is not a metadata server"));
        }
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        response.text().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(METADATA_PROBE, answer).await {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(why)) => Err(unauthenticated(format!(
            "{NO_CREDENTIALS} (no metadata server either: {why})"
        ))),
        Err(_) => Err(unauthenticated(format!(
            "{NO_CREDENTIALS} (no metadata server answered at {host} within {}s)",
            METADATA_PROBE.as_secs()
        ))),
    }
}

/// Fails quickly, with what to do, when there are no credentials to build.
async fn check_source() -> Result<()> {
    match source() {
        Source::File(path) if !path.is_file() => Err(unauthenticated(format!(
            "GOOGLE_APPLICATION_CREDENTIALS names {}, which is not a file",
            path.display()
        ))),
        Source::File(_) => Ok(()),
        Source::MetadataServer(host) => metadata(&host, "project/project-id").await.map(drop),
    }
}

/// The process's credentials, built once they can be (a failure is not kept: a server
/// started before `gcloud auth application-default login` picks them up at the next call).
async fn credentials() -> Result<AccessTokenCredentials> {
    static CREDENTIALS: Mutex<Option<AccessTokenCredentials>> = Mutex::const_new(None);
    let mut slot = CREDENTIALS.lock().await;
    if let Some(credentials) = slot.as_ref() {
        return Ok(credentials.clone());
    }
    check_source().await?;
    super::install_crypto();
    // Needs a runtime (its token cache is a task): we are in one.
    let credentials = Builder::default()
        .with_scopes([SCOPE])
        .build_access_token_credentials()
        .map_err(|e| unauthenticated(format!("cannot load Google credentials: {e}")))?;
    *slot = Some(credentials.clone());
    Ok(credentials)
}

/// An OAuth access token for the `cloud-platform` scope (a self-signed JWT for a service
/// account key), from the crate's cache.
pub async fn bearer_token() -> Result<String> {
    let credentials = credentials().await?;
    match tokio::time::timeout(TOKEN_DEADLINE, credentials.access_token()).await {
        Ok(Ok(token)) => Ok(token.token),
        Ok(Err(e)) => Err(unauthenticated(format!(
            "cannot get a Google access token: {e}"
        ))),
        Err(_) => Err(unauthenticated(format!(
            "no Google access token within {}s",
            TOKEN_DEADLINE.as_secs()
        ))),
    }
}

/// Signs with the credentials' service account (locally for a key file, else through
/// the IAM API), for V4 signed URLs. Built at each call from the credentials found now, not
/// from the cached ones: signing is rare, and a signer must never come from credentials
/// that the environment no longer names.
pub async fn signer() -> Result<google_cloud_auth::signer::Signer> {
    check_source().await?; // the same quick failure when there are none
    super::install_crypto();
    Builder::default()
        .with_scopes([SCOPE])
        .build_signer()
        .map_err(|e| {
            unauthenticated(format!(
                "cannot sign with these credentials ({e}): signing needs a service account, \
                 from a service-account key in GOOGLE_APPLICATION_CREDENTIALS or the metadata \
                 server's (which signs through the IAM API and needs \
                 roles/iam.serviceAccountTokenCreator on itself)"
            ))
        })
}

/// The project: `GOOGLE_CLOUD_PROJECT`, else the credentials file's, else the metadata
/// server's.
pub async fn project() -> Result<String> {
    if let Ok(project) = std::env::var("GOOGLE_CLOUD_PROJECT") {
        if !project.is_empty() {
            return Ok(project);
        }
    }
    // The credentials' or the metadata server's: looked up once.
    static PROJECT: Mutex<Option<String>> = Mutex::const_new(None);
    let mut slot = PROJECT.lock().await;
    if let Some(project) = slot.as_ref() {
        return Ok(project.clone());
    }
    let found = match source() {
        Source::File(path) => std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| {
                ["project_id", "quota_project_id"]
                    .iter()
                    .find_map(|k| v[k].as_str().map(str::to_owned))
            })
            .filter(|p| !p.is_empty()),
        Source::MetadataServer(host) => Some(
            metadata(&host, "project/project-id")
                .await?
                .trim()
                .to_owned(),
        ),
    };
    match found {
        Some(project) => {
            *slot = Some(project.clone());
            Ok(project)
        }
        None => Err(Error::resource(
            "Google Cloud project",
            Failure::Unauthenticated,
            "no Google Cloud project: set GOOGLE_CLOUD_PROJECT",
        )),
    }
}
