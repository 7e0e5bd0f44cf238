//! The state store: SQLite (default, WAL) or PostgreSQL, through one code path (sqlx's
//! `Any` driver, `$N` placeholders, TEXT timestamps in RFC 3339 UTC). Versioned
//! migrations run at open, so a store written by an older version opens in a newer one.

mod deletions;
mod executions;
mod migrations;
mod runners;
mod schedules;
mod shares;

pub use schedules::{Due, DueKey, DueSchedule, Firing};

pub use executions::{ExecutionRow, ListFilter};
pub use runners::WarmRunner;
pub use shares::Share;

use crate::error::{Error, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    pub dialect: Dialect,
    pub url: String,
    /// A SQLite store's file and its identity when opened.
    file: Option<(PathBuf, Option<(u64, u64)>)>,
    /// Where submitted notebooks are snapshotted (next to a SQLite file; the Jupyter data
    /// dir for PostgreSQL).
    pub staging_dir: PathBuf,
}

/// The Jupyter data dir (`JUPYTER_DATA_DIR`, else the platform's; without a home, under
/// the working directory).
pub fn jupyter_data_dir() -> PathBuf {
    crate::jupyter_paths::data_dir().unwrap_or_else(|| {
        PathBuf::from(".")
            .join(".local")
            .join("share")
            .join("jupyter")
    })
}

/// `{jupyter_data_dir}/notebook_executor`: the default home of the store and outputs.
pub fn default_home() -> PathBuf {
    jupyter_data_dir().join("notebook_executor")
}

/// The store URL to use: the explicit one, else `NOTEBOOK_EXECUTOR_STORE`, else the
/// default SQLite file.
pub fn resolve_url(explicit: Option<&str>) -> String {
    match explicit.filter(|s| !s.is_empty()) {
        Some(url) => url.to_owned(),
        None => match std::env::var("NOTEBOOK_EXECUTOR_STORE") {
            Ok(url) if !url.is_empty() => url,
            _ => format!("sqlite://{}", default_home().join("store.sqlite").display()),
        },
    }
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Made (with its folder) if missing: submitting, serving.
    CreateIfMissing,
    /// Only an existing store: reading commands and runners never create one.
    Existing,
}

/// Where a store lives, by its URL's scheme.
enum Location {
    Sqlite(PathBuf),
    Postgres,
}

/// Checks a store URL's form (scheme, path) without opening it.
pub fn check_url(url: &str) -> std::result::Result<(), String> {
    locate(url).map(drop)
}

fn locate(url: &str) -> std::result::Result<Location, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres);
    }
    let path = match url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Some(path) => path,
        None if url.contains("://") => {
            let scheme = url.split("://").next().unwrap_or("");
            return Err(format!(
                "unsupported store {scheme}:// (give a sqlite:// path or a postgresql:// URL)"
            ));
        }
        None => url,
    };
    if path.is_empty() || path == ":memory:" || path.starts_with(":memory:") {
        return Err(
            "give a file path (an in-memory database is not shared between processes)".into(),
        );
    }
    Ok(Location::Sqlite(PathBuf::from(path)))
}

/// The file's identity: a store removed or replaced while we use it is noticed.
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Store {
    pub async fn open(url: &str, mode: Open) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let store_error = |message: String| Error::Store {
            url: url.to_owned(),
            message,
        };
        let location = locate(url).map_err(store_error)?;
        let (dialect, connect_url, staging_dir, file) = match &location {
            Location::Postgres => (
                Dialect::Postgres,
                url.to_owned(),
                default_home().join("staging"),
                None,
            ),
            Location::Sqlite(path) => {
                let folder = parent_dir(path);
                if !path.exists() {
                    if mode == Open::Existing {
                        return Err(Error::resource(
                            path.display().to_string(),
                            crate::error::Failure::NotFound,
                            "no store here (reading never creates one: nothing was submitted to it yet)",
                        ));
                    }
                    std::fs::create_dir_all(&folder).map_err(|e| {
                        store_error(format!("cannot create {}: {e}", folder.display()))
                    })?;
                }
                check_companions(path).map_err(store_error)?;
                (
                    Dialect::Sqlite,
                    format!("sqlite://{}", path.display()),
                    folder.join("staging"),
                    Some(path.clone()),
                )
            }
        };
        if let Some(path) = &file {
            // One connection first, outside any pool: a file that is not a database (or a
            // damaged one) is said at once, not after the pool's timeout.
            check_database(&format!("{connect_url}?mode=rwc"), path)
                .await
                .map_err(store_error)?;
        }
        // From here on, a SQLite file is never created again: one removed while we run is
        // an error, not a new empty store.
        let pool_url = match dialect {
            Dialect::Sqlite => format!("{connect_url}?mode=rw"),
            Dialect::Postgres => connect_url,
        };
        let opened = file.as_deref().and_then(identity);
        let watched = file.clone().map(|path| (path, opened));
        let watched_too = watched.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                let watched = watched_too.clone();
                Box::pin(async move {
                    still_the_same(&watched)?;
                    if dialect == Dialect::Sqlite {
                        // WAL: readers never wait for the writer; busy_timeout: writers queue.
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .before_acquire(move |_, _| {
                let watched = watched.clone();
                Box::pin(async move { still_the_same(&watched).map(|()| true) })
            })
            .connect(&pool_url)
            .await
            .map_err(|e| store_error(e.to_string()))?;
        let store = Store {
            pool,
            dialect,
            url: url.to_owned(),
            file: file.map(|path| (path, opened)),
            staging_dir,
        };
        if dialect == Dialect::Sqlite {
            // Created outside the migration transaction so that `lock_in` can write to it.
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS notebook_executor_schema (version BIGINT NOT NULL)",
            )
            .execute(store.pool())
            .await
            .map_err(|e| store.err(e))?;
        }
        migrations::apply(&store).await?;
        std::fs::create_dir_all(&store.staging_dir)
            .map_err(|e| Error::io(&store.staging_dir, e))?;
        Ok(store)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn err(&self, e: sqlx::Error) -> Error {
        // Whatever the driver said, a store that is not the one opened is the reason.
        let message = match still_the_same(&self.file) {
            Err(sqlx::Error::Protocol(reason)) => reason,
            _ => e.to_string(),
        };
        Error::Store {
            url: self.url.clone(),
            message,
        }
    }

    /// Makes a transaction the only writer until it ends, taken before it reads: PostgreSQL
    /// by a transaction-scoped advisory lock, SQLite by a first (empty) write, which takes
    /// the write lock through the busy timeout instead of failing later on an upgrade.
    pub(crate) async fn lock_in(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
        let statement = match self.dialect {
            Dialect::Postgres => "SELECT pg_advisory_xact_lock(727274)",
            Dialect::Sqlite => "UPDATE notebook_executor_schema SET version = version WHERE 1 = 0",
        };
        sqlx::query(statement)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// The store's file is the one opened (not removed, not replaced by another).
fn still_the_same(
    file: &Option<(PathBuf, Option<(u64, u64)>)>,
) -> std::result::Result<(), sqlx::Error> {
    match file {
        Some((path, opened)) if identity(path) != *opened => Err(sqlx::Error::Protocol(format!(
            "the store file {} was removed or replaced while in use; it is not re-created \
             (restore it, or start again on another store)",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// SQLite writes beside the database (`-wal`, `-shm`, and the folder for them): one that
/// cannot be written would kill the process later (a read-only `-shm` is a SIGBUS).
fn check_companions(path: &Path) -> std::result::Result<(), String> {
    let writable = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_default();
        // SAFETY: access only reads the NUL-terminated path.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    };
    for suffix in ["", "-wal", "-shm"] {
        let companion = PathBuf::from(format!("{}{suffix}", path.display()));
        if companion.exists() && !writable(&companion) {
            return Err(format!(
                "{} cannot be written (SQLite needs to write it): fix its permissions",
                companion.display()
            ));
        }
    }
    let folder = parent_dir(path);
    if path.exists() && !writable(&folder) {
        return Err(format!(
            "the folder {} cannot be written (SQLite keeps its -wal and -shm files there)",
            folder.display()
        ));
    }
    Ok(())
}

/// Opens one connection and reads the schema: a file that is not a SQLite database, or a
/// damaged one, fails here with a message that says so.
async fn check_database(url: &str, path: &Path) -> std::result::Result<(), String> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let checked = async {
        conn.execute("PRAGMA busy_timeout = 30000").await?;
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master")
            .fetch_one(&mut conn)
            .await
    }
    .await;
    let _ = conn.close().await;
    checked.map(drop).map_err(|e| {
        let text = e.to_string();
        if text.contains("not a database") || text.contains("malformed") || text.contains("corrupt")
        {
            format!(
                "the store is corrupt or not a database: {} ({text})",
                path.display()
            )
        } else {
            format!("cannot read {}: {text}", path.display())
        }
    })
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The store's times: RFC 3339 UTC with microseconds, which sorts as text and parses back.
fn time_text(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn now_text() -> String {
    time_text(chrono::Utc::now())
}

/// `age` before now; any age reaching past 1970 gives 1970 (nothing in a store is older),
/// so a caller's huge age is a cutoff, not an overflow.
pub fn time_text_ago(age: std::time::Duration) -> String {
    let at = chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
        .filter(|at| *at > chrono::DateTime::UNIX_EPOCH)
        .unwrap_or(chrono::DateTime::UNIX_EPOCH);
    time_text(at)
}

/// `age` before the store time `at` (unchanged if `at` is not one).
pub fn time_text_before(at: &str, age: std::time::Duration) -> String {
    let parsed = chrono::DateTime::parse_from_rfc3339(at).map(|t| t.with_timezone(&chrono::Utc));
    match (parsed, chrono::Duration::from_std(age)) {
        (Ok(t), Ok(age)) => t
            .checked_sub_signed(age)
            .map_or_else(|| at.to_owned(), time_text),
        _ => at.to_owned(),
    }
}

/// `delay` after now, at most a hundred years ahead (as good as never).
pub fn time_text_in(delay: std::time::Duration) -> String {
    let at = chrono::Utc::now()
        + chrono::Duration::from_std(delay.min(HUNDRED_YEARS)).expect("a hundred years fits");
    time_text(at)
}

const HUNDRED_YEARS: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

pub(crate) fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &str,
) -> T {
    use sqlx::Row;
    row.try_get(column)
        .unwrap_or_else(|e| panic!("column {column}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{now_text, time_text_ago, time_text_in};
    use std::time::Duration;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn times_sort_as_text_around_now() {
        let (before, now, after) = (time_text_ago(DAY), now_text(), time_text_in(DAY));
        assert!(before < now && now < after, "{before} {now} {after}");
    }

    #[test]
    fn huge_ages_and_delays_saturate_instead_of_overflowing() {
        assert_eq!(time_text_ago(Duration::MAX), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            time_text_ago(DAY * 365 * 100_000),
            "1970-01-01T00:00:00.000000Z"
        );
        let year = |t: &str| t[..4].parse::<i32>().unwrap();
        let now = now_text();
        let ahead = year(&time_text_in(Duration::MAX)) - year(&now);
        assert!((99..=100).contains(&ahead), "{ahead} years ahead");
    }
}
