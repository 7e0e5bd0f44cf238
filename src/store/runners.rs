//! Runner slots: one row per runner process, reserved atomically against the concurrency
//! limit before the process is started, kept alive by its heartbeat.

use super::{now_text, time_text_ago, Store};
use crate::error::Result;
use std::time::Duration;

/// A runner whose heartbeat is older than this is dead.
pub const RUNNER_STALE_AFTER: Duration = Duration::from_secs(15);

/// A runner waiting with a kernel started ahead (`pid` 0: its process is starting).
#[derive(Debug, Clone)]
pub struct WarmRunner {
    pub id: String,
    pub pid: i64,
    pub kernel: String,
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "localhost".into()
    }
}

fn pid_alive(pid: i64) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid as i32, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

impl Store {
    /// Reserves a runner slot if fewer than `limit` runners live; returns its id.
    /// `warm_kernel`: the kernelspec a warm runner starts ahead and waits with (empty: a
    /// runner that takes queued work at once).
    pub async fn reserve_runner(&self, limit: i64, warm_kernel: &str) -> Result<Option<String>> {
        let mut tx = self.pool().begin().await.map_err(|e| self.err(e))?;
        self.lock_in(&mut tx).await?;
        let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runners")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        if live >= limit {
            tx.commit().await.map_err(|e| self.err(e))?;
            return Ok(None);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = now_text();
        sqlx::query(
            "INSERT INTO runners (id, host, pid, start_time, heartbeat_time, warm_kernel) \
             VALUES ($1, $2, 0, $3, $3, $4)",
        )
        .bind(&id)
        .bind(hostname())
        .bind(&now)
        .bind(warm_kernel)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(Some(id))
    }

    /// Heartbeat (and pid once known); false when the slot was taken away as stale.
    pub async fn runner_heartbeat(&self, id: &str, pid: u32) -> Result<bool> {
        let done = sqlx::query("UPDATE runners SET heartbeat_time = $1, pid = $2 WHERE id = $3")
            .bind(now_text())
            .bind(pid as i64)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_runner(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM runners WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Marks the runner as waiting with a kernel of `kernel` (empty: it took work).
    pub async fn set_runner_warm(&self, id: &str, kernel: &str) -> Result<()> {
        sqlx::query("UPDATE runners SET warm_kernel = $1 WHERE id = $2")
            .bind(kernel)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Tells the warm runners of this host to leave (their keeper stops); returns their
    /// ids, to be woken.
    pub async fn retire_warm_runners(&self) -> Result<Vec<String>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM runners WHERE warm_kernel <> '' AND host = $1")
                .bind(hostname())
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err(e))?;
        for id in &ids {
            self.set_runner_warm(id, "").await?;
        }
        Ok(ids)
    }

    /// Whether the runner is still listed as waiting with a kernel (false once retired).
    pub async fn runner_is_warm(&self, id: &str) -> Result<bool> {
        let kernel: Option<String> =
            sqlx::query_scalar("SELECT warm_kernel FROM runners WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| self.err(e))?;
        Ok(kernel.is_some_and(|k| !k.is_empty()))
    }

    /// The runners of this host that wait with a kernel (started or starting).
    pub async fn warm_runners(&self) -> Result<Vec<WarmRunner>> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT id, pid, warm_kernel FROM runners WHERE warm_kernel <> '' AND host = $1 ORDER BY start_time",
        )
        .bind(hostname())
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|(id, pid, kernel)| WarmRunner { id, pid, kernel })
            .collect())
    }

    /// Removes dead runners (process gone on this host, or heartbeat stale) and fails the
    /// executions of `backend` they held. Only a backend that runs its executions in runner
    /// processes calls this: a remote backend's running executions hold no runner.
    pub async fn recover_runners(&self, backend: &str) -> Result<u64> {
        let rows: Vec<(String, String, i64, String)> =
            sqlx::query_as("SELECT id, host, pid, heartbeat_time FROM runners")
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err(e))?;
        let host = hostname();
        let cutoff = time_text_ago(RUNNER_STALE_AFTER);
        for (id, runner_host, pid, heartbeat) in rows {
            let dead = heartbeat < cutoff || (runner_host == host && pid > 0 && !pid_alive(pid));
            if dead {
                self.release_runner(&id).await?;
            }
        }
        self.fail_orphans(backend).await
    }
}
