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
    /// Where submitted notebooks are snapshotted (next to a SQLite file; the Jupyter data
    /// dir for PostgreSQL).
    pub staging_dir: PathBuf,
}

/// The Jupyter data dir (`JUPYTER_DATA_DIR`, else the platform's).
pub fn jupyter_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    if cfg!(target_os = "macos") {
        return home.join("Library").join("Jupyter");
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".local").join("share"))
        .join("jupyter")
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

impl Store {
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let store_error = |message: String| Error::Store {
            url: url.to_owned(),
            message,
        };
        let (dialect, connect_url, staging_dir) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                (
                    Dialect::Postgres,
                    url.to_owned(),
                    default_home().join("staging"),
                )
            } else {
                let path = PathBuf::from(
                    url.strip_prefix("sqlite://")
                        .or_else(|| url.strip_prefix("sqlite:"))
                        .unwrap_or(url),
                );
                if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") {
                    return Err(store_error(
                        "give a file path (an in-memory database is not shared between processes)"
                            .into(),
                    ));
                }
                let folder = parent_dir(&path);
                std::fs::create_dir_all(&folder)
                    .map_err(|e| store_error(format!("cannot create {}: {e}", folder.display())))?;
                (
                    Dialect::Sqlite,
                    format!("sqlite://{}?mode=rwc", path.display()),
                    folder.join("staging"),
                )
            };
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL: readers never wait for the writer; busy_timeout: writers queue.
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect_url)
            .await
            .map_err(|e| store_error(e.to_string()))?;
        let store = Store {
            pool,
            dialect,
            url: url.to_owned(),
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
        Error::Store {
            url: self.url.clone(),
            message: e.to_string(),
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
