//! Cloud Storage through its JSON API (the one the emulators implement): objects read,
//! written (one request; resumable in chunks above `RESUMABLE_ABOVE`), listed, copied and
//! deleted, and the buckets of a project listed and created.
//!
//! Where it is: `STORAGE_EMULATOR_HOST` (no credentials then, as Google's libraries do),
//! else `NOTEBOOK_EXECUTOR_STORAGE_ENDPOINT` (another endpoint, with credentials), else
//! Google's.

use super::{error, Entry, Location};
use crate::error::{Error, Failure, Result};
use crate::google;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Objects above this size are uploaded in resumable chunks of this size (a multiple of
/// 256 KiB, as the protocol requires), so a big file is never held in memory whole.
const CHUNK: usize = 8 * 1024 * 1024;
const RESUMABLE_ABOVE: u64 = CHUNK as u64;

/// Everything but RFC 3986's unreserved characters is escaped in a path segment.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The emulator's base URL, when `STORAGE_EMULATOR_HOST` names one.
pub fn emulator() -> Option<String> {
    let host = std::env::var("STORAGE_EMULATOR_HOST").ok()?;
    let host = host.trim().trim_end_matches('/');
    if host.is_empty() {
        return None;
    }
    Some(if host.contains("://") {
        host.to_owned()
    } else {
        format!("http://{host}")
    })
}

struct Endpoint {
    base: String,
    authorized: bool,
}

fn endpoint() -> Endpoint {
    if let Some(base) = emulator() {
        return Endpoint {
            base,
            authorized: false,
        };
    }
    let base = std::env::var("NOTEBOOK_EXECUTOR_STORAGE_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "https://storage.googleapis.com".into());
    Endpoint {
        base: base.trim_end_matches('/').to_owned(),
        authorized: true,
    }
}

/// A request maker for `google::send`, with the bearer token when the endpoint needs one.
pub(super) struct Call {
    pub(super) base: String,
    token: Option<String>,
}

impl Call {
    pub(super) async fn new() -> Result<Call> {
        let Endpoint { base, authorized } = endpoint();
        let token = if authorized {
            Some(google::bearer_token().await?)
        } else {
            None
        };
        Ok(Call { base, token })
    }

    pub(super) fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = google::http().request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn object_url(&self, bucket: &str, name: &str) -> String {
        format!(
            "{}/storage/v1/b/{}/o/{}",
            self.base,
            segment(bucket),
            segment(name)
        )
    }
}

pub(super) fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

fn uri(bucket: &str, name: &str) -> Location {
    Location::Gcs {
        bucket: bucket.to_owned(),
        name: name.to_owned(),
    }
}

/// Bucket names as Cloud Storage takes them (3-63 characters: lowercase letters, digits,
/// `-`, `_`, `.`; a letter or digit at each end). Dotted names up to 222 are left to the
/// service.
pub fn check_bucket_name(bucket: &str) -> std::result::Result<(), String> {
    let ok_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let max = if bucket.contains('.') { 222 } else { 63 };
    if (3..=max).contains(&bucket.len())
        && ok_chars
        && ends(bucket.chars().next())
        && ends(bucket.chars().last())
    {
        Ok(())
    } else {
        Err(format!(
            "{bucket:?} is not a Cloud Storage bucket name (3-63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
        ))
    }
}

/// Object names: at most 1024 bytes of UTF-8, no line breaks.
pub fn check_object_name(name: &str) -> std::result::Result<(), String> {
    if name.len() > 1024 || name.contains(['\r', '\n']) {
        return Err(format!(
            "{name:?} is not a Cloud Storage object name (at most 1024 bytes, no line breaks)"
        ));
    }
    Ok(())
}

/// What a 404 about `gs://bucket/name` means: the object or the whole bucket is missing
/// (asked, as services word it differently).
async fn not_found_message(bucket: &str, name: &str) -> String {
    let bucket_missing = name.is_empty()
        || match Call::new().await {
            Ok(call) => matches!(bucket_exists(&call, bucket).await, Ok(false)),
            Err(_) => false,
        };
    if bucket_missing {
        format!("bucket {bucket} does not exist")
    } else {
        "no such object".to_owned()
    }
}

/// The error an answer means, about `gs://bucket/name`.
async fn failed(bucket: &str, name: &str, response: reqwest::Response) -> Error {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let failure = google::failure_of(status);
    let message = match failure {
        Failure::NotFound => not_found_message(bucket, name).await,
        Failure::PermissionDenied | Failure::Unauthenticated => format!(
            "no permission for bucket {bucket}: {}",
            google::error_message(status, &body)
        ),
        _ => google::error_message(status, &body),
    };
    error(&uri(bucket, name), failure, message)
}

pub async fn read(bucket: &str, name: &str) -> Result<Vec<u8>> {
    let call = Call::new().await?;
    let url = format!("{}?alt=media", call.object_url(bucket, name));
    let what = uri(bucket, name).to_string();
    let response = google::send(&what, || Ok(call.request(reqwest::Method::GET, &url))).await?;
    if !response.status().is_success() {
        return Err(failed(bucket, name, response).await);
    }
    let bytes = response.bytes().await.map_err(|e| {
        error(
            &uri(bucket, name),
            Failure::Unavailable,
            format!("download cut short: {e}"),
        )
    })?;
    Ok(bytes.into())
}

/// Writes `bytes` as the object; `only_new` makes it a no-op (false) when the object exists.
pub async fn write(bucket: &str, name: &str, bytes: bytes::Bytes, only_new: bool) -> Result<bool> {
    if bytes.len() as u64 <= RESUMABLE_ABOVE {
        return media_upload(bucket, name, Payload::Bytes(bytes), only_new).await;
    }
    let spool = super::local::spool_file()?;
    std::fs::write(spool.path(), &bytes)
        .map_err(|e| error(&uri(bucket, name), Failure::Other, e.to_string()))?;
    resumable_upload(bucket, name, spool.path(), bytes.len() as u64, only_new).await
}

/// What an upload sends: bytes in memory, or a local file streamed from disk (so that its
/// content is never held in memory whole).
enum Payload<'a> {
    Bytes(bytes::Bytes),
    File { path: &'a Path, size: u64 },
}

impl Payload<'_> {
    /// A body for one attempt (a stream cannot be sent twice: each attempt reopens the file).
    fn body(&self) -> Result<(reqwest::Body, u64)> {
        match self {
            Payload::Bytes(bytes) => Ok((bytes.clone().into(), bytes.len() as u64)),
            Payload::File { path, size } => {
                let file = std::fs::File::open(path).map_err(|e| local_error(path, e))?;
                let stream = tokio_util::io::ReaderStream::with_capacity(
                    tokio::fs::File::from_std(file),
                    256 * 1024,
                );
                Ok((reqwest::Body::wrap_stream(stream), *size))
            }
        }
    }
}

/// One request; the object appears whole or not at all.
async fn media_upload(
    bucket: &str,
    name: &str,
    payload: Payload<'_>,
    only_new: bool,
) -> Result<bool> {
    let call = Call::new().await?;
    let mut url = format!(
        "{}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
        call.base,
        segment(bucket),
        segment(name)
    );
    if only_new {
        url.push_str("&ifGenerationMatch=0");
    }
    let what = uri(bucket, name).to_string();
    let response = google::send(&what, || {
        let (body, length) = payload.body()?;
        Ok(call
            .request(reqwest::Method::POST, &url)
            .header(reqwest::header::CONTENT_TYPE, content_type(name))
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(body))
    })
    .await?;
    match response.status().as_u16() {
        200 | 201 => Ok(true),
        412 if only_new => Ok(false),
        _ => Err(failed(bucket, name, response).await),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("ipynb") | Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Uploads a local file: in one request when small, else by the resumable protocol.
pub async fn upload_file(bucket: &str, name: &str, file: &Path) -> Result<()> {
    let size = tokio::fs::metadata(file)
        .await
        .map_err(|e| local_error(file, e))?
        .len();
    if size <= RESUMABLE_ABOVE {
        let payload = Payload::File { path: file, size };
        return media_upload(bucket, name, payload, false).await.map(drop);
    }
    resumable_upload(bucket, name, file, size, false)
        .await
        .map(drop)
}

fn local_error(file: &Path, e: std::io::Error) -> Error {
    error(
        &Location::Local(file.to_owned()),
        Failure::Other,
        e.to_string(),
    )
}

/// The resumable protocol: a session, then `CHUNK`s read from the file one at a time; the
/// object appears only when the last chunk is in.
async fn resumable_upload(
    bucket: &str,
    name: &str,
    file: &Path,
    size: u64,
    only_new: bool,
) -> Result<bool> {
    let call = Call::new().await?;
    let what = uri(bucket, name).to_string();
    let mut start = format!(
        "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}",
        call.base,
        segment(bucket),
        segment(name)
    );
    if only_new {
        start.push_str("&ifGenerationMatch=0");
    }
    let response = google::send(&what, || {
        Ok(call
            .request(reqwest::Method::POST, &start)
            .header("X-Upload-Content-Type", content_type(name))
            .header("X-Upload-Content-Length", size)
            .header(reqwest::header::CONTENT_LENGTH, 0))
    })
    .await?;
    match response.status().as_u16() {
        200 | 201 => {}
        412 if only_new => return Ok(false),
        _ => return Err(failed(bucket, name, response).await),
    }
    let session = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            error(
                &uri(bucket, name),
                Failure::Unavailable,
                "the resumable upload was not given a session",
            )
        })?;
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut source = tokio::fs::File::open(file)
        .await
        .map_err(|e| local_error(file, e))?;
    let mut offset: u64 = 0;
    let mut buffer = vec![0u8; CHUNK];
    while offset < size {
        let len = (size - offset).min(CHUNK as u64) as usize;
        source
            .seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| local_error(file, e))?;
        source
            .read_exact(&mut buffer[..len])
            .await
            .map_err(|e| local_error(file, e))?;
        let chunk = bytes::Bytes::copy_from_slice(&buffer[..len]);
        let range = format!("bytes {offset}-{}/{size}", offset + len as u64 - 1);
        let response = google::send(&what, || {
            Ok(call
                .request(reqwest::Method::PUT, &session)
                .header(reqwest::header::CONTENT_RANGE, range.as_str())
                .body(chunk.clone()))
        })
        .await?;
        offset = match response.status().as_u16() {
            200 | 201 => size,
            // Incomplete: the service says how much it has kept (it may be less than sent).
            308 => response
                .headers()
                .get(reqwest::header::RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|r| r.rsplit_once('-'))
                .and_then(|(_, end)| end.parse::<u64>().ok())
                .map_or(0, |end| end + 1),
            412 if only_new => return Ok(false),
            _ => return Err(failed(bucket, name, response).await),
        };
    }
    Ok(true)
}

pub async fn exists(bucket: &str, name: &str) -> Result<bool> {
    let call = Call::new().await?;
    let url = format!("{}?fields=name", call.object_url(bucket, name));
    let what = uri(bucket, name).to_string();
    let response = google::send(&what, || Ok(call.request(reqwest::Method::GET, &url))).await?;
    match response.status().as_u16() {
        200 => Ok(true),
        404 if bucket_exists(&call, bucket).await? => Ok(false),
        _ => Err(failed(bucket, name, response).await),
    }
}

async fn bucket_exists(call: &Call, bucket: &str) -> Result<bool> {
    let url = format!("{}/storage/v1/b/{}?fields=name", call.base, segment(bucket));
    let what = format!("gs://{bucket}");
    let response = google::send(&what, || Ok(call.request(reqwest::Method::GET, &url))).await?;
    match response.status().as_u16() {
        200 => Ok(true),
        404 => Ok(false),
        _ => Err(google::check(&what, response)
            .await
            .err()
            .expect("not a success")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectList {
    #[serde(default)]
    items: Vec<ObjectItem>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ObjectItem {
    name: String,
    /// int64 as a string, as Google's JSON does.
    #[serde(default)]
    size: Option<String>,
}

pub async fn list(bucket: &str, prefix: &str) -> Result<Vec<Entry>> {
    let call = Call::new().await?;
    let url = format!("{}/storage/v1/b/{}/o", call.base, segment(bucket));
    let what = uri(bucket, prefix).to_string();
    let mut out = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let response = google::send(&what, || {
            let mut query = vec![("prefix", prefix), ("delimiter", "/")];
            if let Some(token) = &page_token {
                query.push(("pageToken", token));
            }
            Ok(call.request(reqwest::Method::GET, &url).query(&query))
        })
        .await?;
        if !response.status().is_success() {
            return Err(failed(bucket, prefix, response).await);
        }
        let page: ObjectList = response
            .json()
            .await
            .map_err(|e| error(&uri(bucket, prefix), Failure::Unavailable, e.to_string()))?;
        out.extend(page.items.into_iter().map(|item| Entry {
            size: item.size.and_then(|s| s.parse().ok()).unwrap_or(0),
            location: uri(bucket, &item.name),
        }));
        match page.next_page_token {
            Some(token) if !token.is_empty() => page_token = Some(token),
            _ => return Ok(out),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rewrite {
    #[serde(default)]
    done: bool,
    rewrite_token: Option<String>,
}

/// A copy inside Cloud Storage: the service moves the bytes (`rewriteTo`, repeated until
/// done, as large copies take several calls).
pub async fn copy(bucket: &str, name: &str, to_bucket: &str, to_name: &str) -> Result<()> {
    let call = Call::new().await?;
    let url = format!(
        "{}/rewriteTo/b/{}/o/{}",
        call.object_url(bucket, name),
        segment(to_bucket),
        segment(to_name)
    );
    let what = uri(bucket, name).to_string();
    let mut token: Option<String> = None;
    loop {
        let response = google::send(&what, || {
            let request = call.request(reqwest::Method::POST, &url);
            Ok(match &token {
                Some(t) => request.query(&[("rewriteToken", t)]),
                None => request,
            }
            .header(reqwest::header::CONTENT_LENGTH, 0))
        })
        .await?;
        if !response.status().is_success() {
            return Err(failed(bucket, name, response).await);
        }
        let step: Rewrite = response
            .json()
            .await
            .map_err(|e| error(&uri(bucket, name), Failure::Unavailable, e.to_string()))?;
        if step.done {
            return Ok(());
        }
        token = step.rewrite_token;
    }
}

pub async fn delete(bucket: &str, name: &str) -> Result<bool> {
    let call = Call::new().await?;
    let url = call.object_url(bucket, name);
    let what = uri(bucket, name).to_string();
    let response = google::send(&what, || Ok(call.request(reqwest::Method::DELETE, &url))).await?;
    match response.status().as_u16() {
        200 | 204 => Ok(true),
        404 => Ok(false),
        _ => Err(failed(bucket, name, response).await),
    }
}

/// The bucket exists and we may write under `prefix`: a probe object written and removed.
pub async fn check_writable(bucket: &str, prefix: &str) -> Result<()> {
    let call = Call::new().await?;
    if !bucket_exists(&call, bucket).await? {
        return Err(error(
            &uri(bucket, prefix),
            Failure::NotFound,
            format!("bucket {bucket} does not exist"),
        ));
    }
    let probe = format!(
        "{prefix}.notebook-executor-probe-{}",
        uuid::Uuid::new_v4().simple()
    );
    write(bucket, &probe, bytes::Bytes::new(), false)
        .await
        .map_err(|e| match e {
            Error::Resource {
                failure: failure @ (Failure::PermissionDenied | Failure::Unauthenticated),
                message,
                ..
            } => error(
                &uri(bucket, prefix),
                failure,
                format!("may not write there: {message}"),
            ),
            other => other,
        })?;
    // A probe that cannot be removed (create but no delete permission) is harmless.
    let _ = delete(bucket, &probe).await;
    Ok(())
}

/// A bucket as the submit dialog lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default, alias = "timeCreated")]
    pub create_time: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BucketList {
    #[serde(default)]
    items: Vec<Bucket>,
    next_page_token: Option<String>,
}

/// The project whose buckets are listed or made: with the emulator and no project known, a
/// placeholder (the emulator does not check it), as Google's own clients do.
async fn project() -> Result<String> {
    match google::project().await {
        Err(_) if emulator().is_some() => Ok("<none>".to_owned()),
        found => found,
    }
}

/// The buckets of the project (see `google::project`).
pub async fn list_buckets() -> Result<Vec<Bucket>> {
    let project = project().await?;
    let call = Call::new().await?;
    let url = format!("{}/storage/v1/b", call.base);
    let what = format!("buckets of project {project}");
    let mut out = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let response = google::send(&what, || {
            let mut query = vec![("project", project.as_str())];
            if let Some(token) = &page_token {
                query.push(("pageToken", token));
            }
            Ok(call.request(reqwest::Method::GET, &url).query(&query))
        })
        .await?;
        let response = google::check(&what, response).await?;
        let page: BucketList = response
            .json()
            .await
            .map_err(|e| Error::resource(&what, Failure::Unavailable, e.to_string()))?;
        out.extend(page.items);
        match page.next_page_token {
            Some(token) if !token.is_empty() => page_token = Some(token),
            _ => break,
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Creates a bucket in the project (`location`: a region or multi-region; empty: the
/// service's default). An existing name is `AlreadyExists`.
pub async fn create_bucket(name: &str, location: &str) -> Result<Bucket> {
    check_bucket_name(name).map_err(|m| Error::invalid("name", m))?;
    let project = project().await?;
    let call = Call::new().await?;
    let url = format!("{}/storage/v1/b", call.base);
    let mut body = serde_json::json!({ "name": name });
    if !location.is_empty() {
        body["location"] = location.into();
    }
    let what = format!("gs://{name}");
    let response = google::send(&what, || {
        Ok(call
            .request(reqwest::Method::POST, &url)
            .query(&[("project", project.as_str())])
            .json(&body))
    })
    .await?;
    if response.status().as_u16() == 409 {
        return Err(Error::resource(
            &what,
            Failure::AlreadyExists,
            format!("a bucket named {name} already exists (bucket names are global)"),
        ));
    }
    let response = google::check(&what, response).await?;
    response
        .json()
        .await
        .map_err(|e| Error::resource(&what, Failure::Unavailable, e.to_string()))
}
