//! Execution records. Every state change is one statement or one locked transaction, and
//! a transition names the states it may start from, so two processes never both win.

use super::{get, now_text, Store};
use crate::error::{Error, Result};
use crate::model::{Execution, ExecutionSpec, FailureKind, Progress, State};
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;

pub type ExecutionRow = Execution;

const COLUMNS: &str =
    "seq, id, spec, state, state_message, failure_kind, create_time, start_time, end_time, update_time, \
     cells_total, cells_done, current_cell, output_notebook_uri, output_html_uri, backend_job_id";

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<State>,
    pub schedule_id: Option<String>,
    pub region: Option<String>,
}

fn from_row(row: &AnyRow) -> Result<(i64, Execution)> {
    let spec: String = get(row, "spec");
    let spec: ExecutionSpec = serde_json::from_str(&spec).map_err(|e| Error::Store {
        url: String::new(),
        message: format!("bad spec: {e}"),
    })?;
    let state: String = get(row, "state");
    Ok((
        get(row, "seq"),
        Execution {
            id: get(row, "id"),
            spec,
            state: State::parse(&state).unwrap_or(State::Failed),
            state_message: get(row, "state_message"),
            failure_kind: FailureKind::parse(&get::<String>(row, "failure_kind")),
            create_time: get(row, "create_time"),
            start_time: get(row, "start_time"),
            end_time: get(row, "end_time"),
            update_time: get(row, "update_time"),
            progress: Progress {
                cells_total: get(row, "cells_total"),
                cells_done: get(row, "cells_done"),
                current_cell: get(row, "current_cell"),
            },
            output_notebook_uri: get(row, "output_notebook_uri"),
            output_html_uri: get(row, "output_html_uri"),
            backend_job_id: get(row, "backend_job_id"),
        },
    ))
}

const INSERT_COLUMNS: usize = 16;

/// The insert of new records (one statement for many: a firing creates hundreds at once);
/// `suffix` adds e.g. an ON CONFLICT clause.
pub(super) fn insert_query<'q>(
    rows: &'q [Execution],
    suffix: &str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let values: Vec<String> = (0..rows.len())
        .map(|r| {
            let params: Vec<String> = (1..=INSERT_COLUMNS)
                .map(|c| format!("${}", r * INSERT_COLUMNS + c))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO executions (id, display_name, input_notebook, spec, idempotency_token, schedule_id, scheduled_time, \
         state, state_message, create_time, update_time, output_notebook_uri, output_html_uri, backend, end_time, \
         region) \
         VALUES {} {suffix}",
        values.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for e in rows {
        query = query
            .bind(&e.id)
            .bind(&e.spec.display_name)
            .bind(&e.spec.input_notebook)
            .bind(serde_json::to_string(&e.spec).expect("specs serialize"))
            .bind(&e.spec.idempotency_token)
            .bind(&e.spec.schedule_id)
            .bind(&e.spec.scheduled_time)
            .bind(e.state.as_str())
            .bind(&e.state_message)
            .bind(&e.create_time)
            .bind(&e.update_time)
            .bind(&e.output_notebook_uri)
            .bind(&e.output_html_uri)
            .bind(&e.spec.backend)
            .bind(&e.end_time)
            .bind(&e.spec.region);
    }
    query
}

impl Store {
    pub async fn insert_execution(&self, e: &Execution) -> Result<()> {
        insert_query(std::slice::from_ref(e), "")
            .execute(self.pool())
            .await
            .map_err(|err| match &err {
                sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(format!(
                    "an execution with idempotency token {:?} exists",
                    e.spec.idempotency_token.as_deref().unwrap_or("")
                )),
                _ => self.err(err),
            })?;
        Ok(())
    }

    pub async fn get_execution(&self, id: &str) -> Result<Execution> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM executions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        match row {
            Some(row) => Ok(from_row(&row)?.1),
            None => Err(Error::NotFound {
                kind: "execution",
                id: id.to_owned(),
            }),
        }
    }

    pub async fn execution_by_token(&self, token: &str) -> Result<Option<Execution>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM executions WHERE idempotency_token = $1"
        )))
        .bind(token)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        row.map(|r| from_row(&r).map(|(_, e)| e)).transpose()
    }

    /// Newest first; `before_seq` continues a page (keyset pagination: fast at any depth).
    pub async fn list_executions(
        &self,
        filter: &ListFilter,
        page_size: i64,
        before_seq: Option<i64>,
    ) -> Result<(Vec<Execution>, Option<i64>)> {
        let mut sql = format!("SELECT {COLUMNS} FROM executions WHERE seq < $1");
        let mut n = 1;
        if filter.state.is_some() {
            n += 1;
            sql.push_str(&format!(" AND state = ${n}"));
        }
        if filter.schedule_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND schedule_id = ${n}"));
        }
        if filter.region.is_some() {
            n += 1;
            sql.push_str(&format!(" AND region = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", page_size + 1));
        // Only fixed column names and placeholders are formatted in; values are bound.
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(before_seq.unwrap_or(i64::MAX));
        if let Some(state) = filter.state {
            query = query.bind(state.as_str());
        }
        if let Some(schedule) = &filter.schedule_id {
            query = query.bind(schedule);
        }
        if let Some(region) = &filter.region {
            query = query.bind(region);
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        let mut items = Vec::with_capacity(rows.len());
        let mut last_seq = None;
        for row in rows.iter().take(page_size as usize) {
            let (seq, execution) = from_row(row)?;
            last_seq = Some(seq);
            items.push(execution);
        }
        let next = if rows.len() as i64 > page_size {
            last_seq
        } else {
            None
        };
        Ok((items, next))
    }

    /// Takes the oldest queued execution of `backend` for `runner_id` (FIFO), or None.
    pub async fn claim_execution(
        &self,
        backend: &str,
        runner_id: &str,
    ) -> Result<Option<Execution>> {
        let mut tx = self.pool().begin().await.map_err(|e| self.err(e))?;
        self.lock_in(&mut tx).await?;
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM executions WHERE backend = $1 AND state = 'QUEUED' ORDER BY seq LIMIT 1")
            .bind(backend)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let Some(id) = id else {
            tx.commit().await.map_err(|e| self.err(e))?;
            return Ok(None);
        };
        let now = now_text();
        sqlx::query(
            "UPDATE executions SET state = 'PREPARING', runner_id = $1, start_time = $2, update_time = $2 \
             WHERE id = $3 AND state = 'QUEUED'",
        )
        .bind(runner_id)
        .bind(&now)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        tx.commit().await.map_err(|e| self.err(e))?;
        self.get_execution(&id).await.map(Some)
    }

    /// Moves an execution from one of `from` to `to`; false when it was in none of them.
    pub async fn transition(
        &self,
        id: &str,
        from: &[State],
        to: State,
        message: Option<&str>,
    ) -> Result<bool> {
        self.end_as(id, from, to, message, FailureKind::None).await
    }

    /// A transition that also says what kind of failure it is (a run's end).
    pub async fn end_as(
        &self,
        id: &str,
        from: &[State],
        to: State,
        message: Option<&str>,
        failure_kind: FailureKind,
    ) -> Result<bool> {
        let now = now_text();
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 6)).collect();
        let sql = format!(
            "UPDATE executions SET state = $1, state_message = COALESCE($2, state_message), update_time = $3, \
             end_time = CASE WHEN $1 IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED') THEN $3 ELSE end_time END, \
             failure_kind = $5 \
             WHERE id = $4 AND state IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(to.as_str())
            .bind(message)
            .bind(&now)
            .bind(id)
            .bind(failure_kind.as_str());
        for state in from {
            query = query.bind(state.as_str());
        }
        let done = query.execute(self.pool()).await.map_err(|e| self.err(e))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_progress(&self, id: &str, progress: &Progress) -> Result<()> {
        sqlx::query("UPDATE executions SET cells_total = $1, cells_done = $2, current_cell = $3, update_time = $4 WHERE id = $5")
            .bind(progress.cells_total)
            .bind(progress.cells_done)
            .bind(progress.current_cell)
            .bind(now_text())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records the job a remote backend created for the execution.
    pub async fn set_backend_job_id(&self, id: &str, job_id: &str) -> Result<()> {
        sqlx::query("UPDATE executions SET backend_job_id = $1, update_time = $2 WHERE id = $3")
            .bind(job_id)
            .bind(now_text())
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The executions of `backend` that have started and not ended (PREPARING, RUNNING,
    /// CANCELLING), oldest first.
    pub async fn active_executions(&self, backend: &str) -> Result<Vec<Execution>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM executions WHERE backend = $1 \
             AND state IN ('PREPARING', 'RUNNING', 'CANCELLING') ORDER BY seq"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(backend)
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|row| from_row(row).map(|(_, e)| e))
            .collect()
    }

    pub async fn state_of(&self, id: &str) -> Result<Option<State>> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM executions WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await
                .map_err(|e| self.err(e))?;
        Ok(state.and_then(|s| State::parse(&s)))
    }

    /// Deletes the record and its share links (one transaction: no link outlives it), and
    /// leaves a tombstone for the change feed.
    pub async fn delete_execution(&self, id: &str) -> Result<bool> {
        let mut tx = self.pool().begin().await.map_err(|e| self.err(e))?;
        let done = sqlx::query("DELETE FROM executions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        sqlx::query("DELETE FROM shares WHERE execution_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let deleted = done.rows_affected() == 1;
        if deleted {
            self.record_deletion(&mut tx, "execution", id).await?;
        }
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(deleted)
    }

    /// Executions written at or after `since` (update_time), oldest change first: the
    /// change feed of the server's live updates, whichever process wrote them.
    pub async fn executions_changed_since(
        &self,
        since: &str,
        limit: i64,
    ) -> Result<Vec<Execution>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM executions WHERE update_time >= $1 ORDER BY update_time LIMIT {limit}"
        )))
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        rows.iter().map(|r| from_row(r).map(|(_, e)| e)).collect()
    }

    /// Executions owned by runners that no longer exist end FAILED (or CANCELLED when a
    /// cancel was asked); returns how many.
    pub async fn fail_orphans(&self, backend: &str) -> Result<u64> {
        let now = now_text();
        let message = "the runner process ended without recording a result (killed, crashed, or the machine restarted)";
        let mut total = 0;
        for (from, to) in [
            ("CANCELLING", "CANCELLED"),
            ("PREPARING", "FAILED"),
            ("RUNNING", "FAILED"),
        ] {
            let done = sqlx::query(
                "UPDATE executions SET state = $1, state_message = $2, update_time = $3, end_time = $3 \
                 WHERE state = $4 AND backend = $5 \
                 AND (runner_id IS NULL OR runner_id NOT IN (SELECT id FROM runners))",
            )
            .bind(to)
            .bind(message)
            .bind(&now)
            .bind(from)
            .bind(backend)
            .execute(self.pool())
            .await
            .map_err(|e| self.err(e))?;
            total += done.rows_affected();
        }
        Ok(total)
    }

    /// Ids of finished executions that a retention rule lets go: ended before `ended_before`,
    /// or beyond the newest `keep_per_schedule` of their schedule.
    pub async fn purgeable(
        &self,
        ended_before: Option<&str>,
        keep_per_schedule: Option<i64>,
    ) -> Result<Vec<String>> {
        let mut ids: Vec<String> = Vec::new();
        if let Some(cutoff) = ended_before {
            ids.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM executions WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED') AND end_time < $1",
                )
                .bind(cutoff)
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err(e))?,
            );
        }
        if let Some(keep) = keep_per_schedule {
            ids.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY schedule_id ORDER BY seq DESC) AS n \
                     FROM executions WHERE schedule_id IS NOT NULL \
                     AND state IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED')) ranked WHERE n > $1",
                )
                .bind(keep)
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err(e))?,
            );
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Queued executions waiting for `backend`.
    pub async fn count_queued(&self, backend: &str) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM executions WHERE backend = $1 AND state = 'QUEUED'",
        )
        .bind(backend)
        .fetch_one(self.pool())
        .await
        .map_err(|e| self.err(e))
    }

    /// When the newest execution of `backend` was created (a warm pool's measure of use).
    pub async fn latest_create_time(&self, backend: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT create_time FROM executions WHERE backend = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(backend)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err(e))
    }
}
