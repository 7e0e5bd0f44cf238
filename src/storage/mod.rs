//! The one storage layer: every read or write of a notebook, snapshot, output, result page
//! or import goes through here, whether it lives in a local folder or in Cloud Storage.
//!
//! A location is a local path, a `file://` URI or `gs://BUCKET/NAME`. Writes are whole:
//! a reader never sees half a file (locally a temporary file renamed over the target; in
//! Cloud Storage an object appears only when its upload completes).

mod gcs;
mod iam;
mod local;
mod signed_url;

pub use gcs::{create_bucket, emulator, list_buckets, Bucket};
pub use iam::{grant_object_viewer, member_of, Grant};
pub use signed_url::{signed_url, SignedUrl, MAX_LIFETIME as MAX_SIGNED_URL_LIFETIME};

use crate::error::{Error, Failure, Result};
use crate::notebook::Notebook;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    Local(PathBuf),
    /// An object, or a folder (a prefix: empty, or ending with `/`).
    Gcs {
        bucket: String,
        name: String,
    },
}

/// One entry of a listing.
#[derive(Debug, Clone)]
pub struct Entry {
    pub location: Location,
    pub size: u64,
}

impl Location {
    /// A local path, `file:///absolute/path` or `gs://bucket/name`. Any other scheme is
    /// refused (it would otherwise become a local folder named after it).
    pub fn parse(text: &str) -> std::result::Result<Location, String> {
        if text.is_empty() {
            return Err("empty location".into());
        }
        if let Some(rest) = text.strip_prefix("gs://") {
            let (bucket, name) = rest.split_once('/').unwrap_or((rest, ""));
            gcs::check_bucket_name(bucket)?;
            gcs::check_object_name(name)?;
            return Ok(Location::Gcs {
                bucket: bucket.to_owned(),
                name: name.to_owned(),
            });
        }
        if let Some(rest) = text.strip_prefix("file://") {
            // RFC 8089: no host, or `localhost`; the path percent-encoded (as browsers and
            // `pathlib.Path.as_uri()` write a space or a non-ASCII name).
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            if !path.starts_with('/') {
                return Err(format!(
                    "{text:?}: a file:// URI needs an absolute path on this machine (file:///...)"
                ));
            }
            let bytes: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
            if bytes.contains(&0) {
                return Err(format!("{text:?}: a path cannot hold a NUL byte"));
            }
            use std::os::unix::ffi::OsStringExt;
            return Ok(Location::Local(PathBuf::from(
                std::ffi::OsString::from_vec(bytes),
            )));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
            {
                return Err(format!(
                    "unsupported location scheme {scheme}:// (give a local path, file:// or gs://)"
                ));
            }
        }
        Ok(Location::Local(PathBuf::from(text)))
    }

    /// The same as `parse`, as a folder: in Cloud Storage a prefix ending with `/`.
    pub fn parse_folder(text: &str) -> std::result::Result<Location, String> {
        Ok(match Location::parse(text)? {
            Location::Gcs { bucket, name } if !name.is_empty() && !name.ends_with('/') => {
                Location::Gcs {
                    bucket,
                    name: format!("{name}/"),
                }
            }
            other => other,
        })
    }

    /// `name` inside this folder.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Local(dir) => Location::Local(dir.join(name)),
            Location::Gcs {
                bucket,
                name: prefix,
            } => {
                let sep = if prefix.is_empty() || prefix.ends_with('/') {
                    ""
                } else {
                    "/"
                };
                Location::Gcs {
                    bucket: bucket.clone(),
                    name: format!("{prefix}{sep}{name}"),
                }
            }
        }
    }

    /// The last part of the name (`run.ipynb` of `gs://b/out/run.ipynb`).
    pub fn file_name(&self) -> Option<String> {
        match self {
            Location::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            Location::Gcs { name, .. } => name
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        }
    }

    /// The file name without its extension.
    pub fn stem(&self) -> Option<String> {
        let name = self.file_name()?;
        Some(match name.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
            _ => name,
        })
    }

    /// The folder that holds this file (for a local path: as given; `.` for a bare name).
    pub fn parent(&self) -> Location {
        match self {
            Location::Local(path) => Location::Local(match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            }),
            Location::Gcs { bucket, name } => Location::Gcs {
                bucket: bucket.clone(),
                name: match name.trim_end_matches('/').rsplit_once('/') {
                    Some((folder, _)) => format!("{folder}/"),
                    None => String::new(),
                },
            },
        }
    }

    pub fn as_local(&self) -> Option<&Path> {
        match self {
            Location::Local(path) => Some(path),
            Location::Gcs { .. } => None,
        }
    }

    pub fn is_local(&self) -> bool {
        self.as_local().is_some()
    }

    /// The URI scheme ("" for a local path).
    pub fn scheme(&self) -> &'static str {
        match self {
            Location::Local(_) => "",
            Location::Gcs { .. } => "gs",
        }
    }

    /// A local path made absolute (the current directory's meaning of it), so that it
    /// means the same in another process.
    pub fn absolute(self) -> Location {
        match self {
            Location::Local(path) => Location::Local(std::path::absolute(&path).unwrap_or(path)),
            other => other,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Gcs { bucket, name } => write!(f, "gs://{bucket}/{name}"),
        }
    }
}

/// An error about `location`.
pub fn error(location: &Location, failure: Failure, message: impl Into<String>) -> Error {
    Error::resource(location.to_string(), failure, message)
}

/// Names an invalid location after the field that gave it.
pub fn parse_field(field: &str, text: &str) -> Result<Location> {
    Location::parse(text).map_err(|m| Error::invalid(field, m))
}

pub async fn read(location: &Location) -> Result<Vec<u8>> {
    match location {
        Location::Local(path) => local::read(path).await,
        Location::Gcs { bucket, name } => gcs::read(bucket, name).await,
    }
}

/// Writes `bytes` whole (replacing what was there).
pub async fn write(location: &Location, bytes: Vec<u8>) -> Result<()> {
    match location {
        Location::Local(path) => local::write(path, bytes).await,
        Location::Gcs { bucket, name } => gcs::write(bucket, name, bytes.into(), false)
            .await
            .map(|_| ()),
    }
}

/// Writes `bytes` only where nothing is: false when something already was.
pub async fn create_new(location: &Location, bytes: Vec<u8>) -> Result<bool> {
    match location {
        Location::Local(path) => local::create_new(path, bytes).await,
        Location::Gcs { bucket, name } => gcs::write(bucket, name, bytes.into(), true).await,
    }
}

/// Copies a local file there, streamed (a big file is not held in memory).
pub async fn write_from_file(location: &Location, file: &Path) -> Result<()> {
    match location {
        Location::Local(path) => local::copy(file, path).await,
        Location::Gcs { bucket, name } => gcs::upload_file(bucket, name, file).await,
    }
}

pub async fn exists(location: &Location) -> Result<bool> {
    match location {
        Location::Local(path) => Ok(tokio::fs::try_exists(path).await.unwrap_or(false)),
        Location::Gcs { bucket, name } => gcs::exists(bucket, name).await,
    }
}

/// The files directly in a folder (not in its subfolders), by name.
pub async fn list(folder: &Location) -> Result<Vec<Entry>> {
    match folder {
        Location::Local(path) => local::list(path).await,
        Location::Gcs { bucket, name } => gcs::list(bucket, name).await,
    }
}

/// Copies a file; within Cloud Storage without the bytes passing through here.
pub async fn copy(from: &Location, to: &Location) -> Result<()> {
    match (from, to) {
        (Location::Local(a), Location::Local(b)) => local::copy(a, b).await,
        (
            Location::Gcs { bucket, name },
            Location::Gcs {
                bucket: to_bucket,
                name: to_name,
            },
        ) => gcs::copy(bucket, name, to_bucket, to_name).await,
        (Location::Local(a), to) => write_from_file(to, a).await,
        (from, to) => write(to, read(from).await?).await,
    }
}

/// Removes a file; false when there was none.
pub async fn delete(location: &Location) -> Result<bool> {
    match location {
        Location::Local(path) => local::delete(path).await,
        Location::Gcs { bucket, name } => gcs::delete(bucket, name).await,
    }
}

/// Checks before anything is written that results can be written into `folder`: locally
/// the folder is created if needed and a probe file written and removed; in Cloud Storage
/// the bucket must exist (the error names it) and a probe object is written and removed.
pub async fn check_writable(folder: &Location) -> Result<()> {
    match folder {
        Location::Local(path) => local::check_writable(path).await,
        Location::Gcs { bucket, name } => gcs::check_writable(bucket, name).await,
    }
}

pub async fn read_notebook(location: &Location) -> Result<Notebook> {
    let bytes = read(location).await?;
    let text = String::from_utf8(bytes).map_err(|_| Error::NotebookFormat {
        path: PathBuf::from(location.to_string()),
        message: "the file is not UTF-8 text".into(),
    })?;
    Notebook::parse(&text, Path::new(&location.to_string()))
}

/// Writes a notebook in nbformat's layout, streamed: locally into a temporary file renamed
/// over the target; to Cloud Storage through a local spool file (a big notebook's text is
/// never held in memory next to its tree).
pub async fn write_notebook(location: &Location, notebook: &Notebook) -> Result<()> {
    match location {
        Location::Local(path) => local::write_with(path, |w| notebook.write_to(w)),
        Location::Gcs { .. } => {
            let spool = local::spool_file()?;
            local::write_with(spool.path(), |w| notebook.write_to(w))?;
            write_from_file(location, spool.path()).await
        }
    }
}

impl Default for Location {
    fn default() -> Location {
        Location::Local(PathBuf::new())
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::Local(path)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::Local(path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::Location;
    use std::path::PathBuf;

    fn gcs(bucket: &str, name: &str) -> Location {
        Location::Gcs {
            bucket: bucket.into(),
            name: name.into(),
        }
    }

    #[test]
    fn locations_parse_by_scheme() {
        assert_eq!(
            Location::parse("gs://b-1/out/run.ipynb").unwrap(),
            gcs("b-1", "out/run.ipynb")
        );
        assert_eq!(Location::parse("gs://bkt").unwrap(), gcs("bkt", ""));
        assert_eq!(
            Location::parse("file:///tmp/x.ipynb").unwrap(),
            Location::Local(PathBuf::from("/tmp/x.ipynb"))
        );
        assert_eq!(
            Location::parse("file://localhost/tmp/a%20b/%C3%A9t%C3%A9.ipynb").unwrap(),
            Location::Local(PathBuf::from("/tmp/a b/été.ipynb"))
        );
        assert_eq!(
            Location::parse("rel/x.ipynb").unwrap(),
            Location::Local(PathBuf::from("rel/x.ipynb"))
        );
        // A colon in a local name is not a scheme.
        assert!(Location::parse("a:b.ipynb").unwrap().is_local());
        for bad in [
            "",
            "s3://b/x",
            "gs://Upper/x",
            "gs://ab/x",
            "gs://b_/x",
            "file://rel/x",
            "file://otherhost/x",
            "file:///a%00b",
            "gs://bkt/a\nb",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn folders_join_parent_and_names() {
        let folder = Location::parse_folder("gs://bkt/out").unwrap();
        assert_eq!(folder, gcs("bkt", "out/"));
        let file = folder.join("run.ipynb");
        assert_eq!(file.to_string(), "gs://bkt/out/run.ipynb");
        assert_eq!(file.parent(), folder);
        assert_eq!(file.file_name().as_deref(), Some("run.ipynb"));
        assert_eq!(file.stem().as_deref(), Some("run"));
        assert_eq!(gcs("bkt", "").join("a.ipynb"), gcs("bkt", "a.ipynb"));
        assert_eq!(gcs("bkt", "a.ipynb").parent(), gcs("bkt", ""));
        let local = Location::parse("/data/in.ipynb").unwrap();
        assert_eq!(local.parent(), Location::Local(PathBuf::from("/data")));
        assert_eq!(local.stem().as_deref(), Some("in"));
    }
}
