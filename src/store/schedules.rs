//! Schedule records, and firing: due schedules become executions in one locked
//! transaction, and the store keeps one execution per (schedule, slot), so any number of
//! scheduler processes fire each slot once.

use super::executions::insert_query;
use super::{get, Store};
use crate::error::{Error, Result};
use crate::model::{Execution, State};
use crate::model::{LastExecution, MissedRuns, Schedule, ScheduleState};
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;

const COLUMNS: &str = "s.seq, s.id, s.display_name, s.cron_schedule, s.time_zone, s.state, s.missed_runs, s.template, \
     s.create_time, s.update_time, s.next_run_time, \
     (SELECT e.id FROM executions e WHERE e.schedule_id = s.id ORDER BY e.seq DESC LIMIT 1) AS last_id, \
     (SELECT e.state FROM executions e WHERE e.schedule_id = s.id ORDER BY e.seq DESC LIMIT 1) AS last_state";

/// Rows per insert statement: a few rows per statement saves round trips, but sqlx's
/// SQLite binding grows with the square of a statement's parameters (measured: 200 rows
/// of 15 took 27 ms, 20 rows 0.8 ms).
const INSERT_CHUNK: usize = 8;
const UPDATE_CHUNK: usize = 100;

/// A due schedule, as the firing step sees it.
pub struct DueSchedule {
    pub schedule: Schedule,
}

/// What identifies a due schedule's state: a firing prepared for it ahead still holds if
/// these are unchanged.
pub struct DueKey {
    pub id: String,
    pub update_time: String,
    pub next_run_time: String,
}

/// What the firing step is asked about: a key (answer with a prepared firing, or None to
/// get the whole schedule), or a whole schedule (answer with its firing).
pub enum Due<'a> {
    Key(&'a DueKey),
    Full(&'a DueSchedule),
}

/// What firing one due schedule writes.
pub struct Firing {
    pub executions: Vec<Execution>,
    pub next_run_time: Option<String>,
}

fn from_row(row: &AnyRow) -> Result<(i64, Schedule)> {
    let bad = |what: &str| Error::Store {
        url: String::new(),
        message: format!("bad schedule {what}"),
    };
    let template: String = get(row, "template");
    let last_id: Option<String> = get(row, "last_id");
    let last_state: Option<String> = get(row, "last_state");
    Ok((
        get(row, "seq"),
        Schedule {
            id: get(row, "id"),
            display_name: get(row, "display_name"),
            cron_schedule: get(row, "cron_schedule"),
            time_zone: get(row, "time_zone"),
            state: ScheduleState::parse(&get::<String>(row, "state"))
                .ok_or_else(|| bad("state"))?,
            missed_runs: MissedRuns::parse(&get::<String>(row, "missed_runs"))
                .ok_or_else(|| bad("missed_runs"))?,
            execution_template: serde_json::from_str(&template).map_err(|_| bad("template"))?,
            create_time: get(row, "create_time"),
            update_time: get(row, "update_time"),
            next_run_time: get(row, "next_run_time"),
            last_execution: last_id
                .zip(last_state.and_then(|s| State::parse(&s)))
                .map(|(id, state)| LastExecution { id, state }),
        },
    ))
}

impl Store {
    pub async fn insert_schedule(&self, s: &Schedule) -> Result<()> {
        sqlx::query(
            "INSERT INTO schedules (id, display_name, cron_schedule, time_zone, state, missed_runs, template, create_time, \
             update_time, next_run_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&s.id)
        .bind(&s.display_name)
        .bind(&s.cron_schedule)
        .bind(&s.time_zone)
        .bind(s.state.as_str())
        .bind(s.missed_runs.as_str())
        .bind(serde_json::to_string(&s.execution_template).expect("specs serialize"))
        .bind(&s.create_time)
        .bind(&s.update_time)
        .bind(&s.next_run_time)
        .execute(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub async fn get_schedule(&self, id: &str) -> Result<Schedule> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM schedules s WHERE s.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        match row {
            Some(row) => Ok(from_row(&row)?.1),
            None => Err(Error::NotFound {
                kind: "schedule",
                id: id.to_owned(),
            }),
        }
    }

    /// Newest first, keyset pagination as for executions.
    pub async fn list_schedules(
        &self,
        state: Option<ScheduleState>,
        page_size: i64,
        before_seq: Option<i64>,
    ) -> Result<(Vec<Schedule>, Option<i64>)> {
        let filter = if state.is_some() {
            " AND s.state = $2"
        } else {
            ""
        };
        let sql = format!("SELECT {COLUMNS} FROM schedules s WHERE s.seq < $1{filter} ORDER BY s.seq DESC LIMIT {}", page_size + 1);
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(before_seq.unwrap_or(i64::MAX));
        if let Some(state) = state {
            query = query.bind(state.as_str());
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        let mut items = Vec::with_capacity(rows.len());
        let mut last_seq = None;
        for row in rows.iter().take(page_size as usize) {
            let (seq, schedule) = from_row(row)?;
            last_seq = Some(seq);
            items.push(schedule);
        }
        Ok((
            items,
            if rows.len() as i64 > page_size {
                last_seq
            } else {
                None
            },
        ))
    }

    /// Writes every user-changeable field and the next run time; false if it is gone.
    pub async fn update_schedule(&self, s: &Schedule) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE schedules SET display_name = $1, cron_schedule = $2, time_zone = $3, state = $4, missed_runs = $5, \
             template = $6, update_time = $7, next_run_time = $8 WHERE id = $9",
        )
        .bind(&s.display_name)
        .bind(&s.cron_schedule)
        .bind(&s.time_zone)
        .bind(s.state.as_str())
        .bind(s.missed_runs.as_str())
        .bind(serde_json::to_string(&s.execution_template).expect("specs serialize"))
        .bind(&s.update_time)
        .bind(&s.next_run_time)
        .bind(&s.id)
        .execute(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        Ok(done.rows_affected() == 1)
    }

    /// Schedules written at or after `since` (the change feed, as for executions).
    pub async fn schedules_changed_since(&self, since: &str, limit: i64) -> Result<Vec<Schedule>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM schedules s WHERE s.update_time >= $1 ORDER BY s.update_time LIMIT {limit}"
        )))
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err(e))?;
        rows.iter().map(|r| from_row(r).map(|(_, s)| s)).collect()
    }

    /// Removes the schedule; its executions stay (their `schedule_id` still names it).
    pub async fn delete_schedule(&self, id: &str) -> Result<bool> {
        let mut tx = self.pool().begin().await.map_err(|e| self.err(e))?;
        let done = sqlx::query("DELETE FROM schedules WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let deleted = done.rows_affected() == 1;
        if deleted {
            self.record_deletion(&mut tx, "schedule", id).await?;
        }
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(deleted)
    }

    /// The earliest slot any enabled schedule waits for.
    pub async fn earliest_next_run_time(&self) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT MIN(next_run_time) FROM schedules WHERE state = 'ENABLED'")
            .fetch_one(self.pool())
            .await
            .map_err(|e| self.err(e))
    }

    /// Enabled schedules whose next slot is `slot` (read without the lock: for preparing a
    /// firing ahead of its slot).
    pub async fn schedules_due_at(&self, slot: &str) -> Result<Vec<Schedule>> {
        let columns = COLUMNS.split(", (SELECT").next().expect("columns");
        let sql = format!(
            "SELECT {columns}, CAST(NULL AS TEXT) AS last_id, CAST(NULL AS TEXT) AS last_state FROM schedules s \
             WHERE s.state = 'ENABLED' AND s.next_run_time = $1"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(slot)
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|row| from_row(row).map(|(_, s)| s))
            .collect()
    }

    /// Fires the schedules due at `now` (at most `limit`), in one locked transaction: for
    /// each, `fire` says which executions to create and the next slot. A slot already
    /// fired (by another process) is not fired again. Returns the executions created.
    pub async fn fire_due(
        &self,
        now: &str,
        limit: i64,
        mut fire: impl FnMut(Due<'_>) -> Option<Firing>,
    ) -> Result<Vec<Execution>> {
        let mut tx = self.pool().begin().await.map_err(|e| self.err(e))?;
        self.lock_in(&mut tx).await?;
        // Keys first: a firing prepared ahead needs no more (decoding whole rows is most of
        // the cost at a busy slot); the rest are read in full.
        let sql = format!(
            "SELECT s.id, s.update_time, s.next_run_time FROM schedules s \
             WHERE s.state = 'ENABLED' AND s.next_run_time <= $1 ORDER BY s.next_run_time LIMIT {limit}"
        );
        let keys: Vec<(String, String, String)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(now)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let mut proposed = Vec::new();
        let mut next_times: std::collections::BTreeMap<Option<String>, Vec<String>> =
            Default::default();
        let mut unprepared = Vec::new();
        for (id, update_time, next_run_time) in keys {
            let key = DueKey {
                id,
                update_time,
                next_run_time,
            };
            match fire(Due::Key(&key)) {
                Some(firing) => {
                    proposed.extend(firing.executions);
                    next_times
                        .entry(firing.next_run_time)
                        .or_default()
                        .push(key.id);
                }
                None => unprepared.push(key.id),
            }
        }
        let columns = COLUMNS.split(", (SELECT").next().expect("columns");
        for chunk in unprepared.chunks(UPDATE_CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {columns}, CAST(NULL AS TEXT) AS last_id, CAST(NULL AS TEXT) AS last_state FROM schedules s \
                 WHERE s.id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&mut *tx).await.map_err(|e| self.err(e))? {
                let (_, schedule) = from_row(&row)?;
                let due = DueSchedule { schedule };
                let firing = fire(Due::Full(&due)).expect("a due schedule is always planned");
                proposed.extend(firing.executions);
                next_times
                    .entry(firing.next_run_time)
                    .or_default()
                    .push(due.schedule.id);
            }
        }
        // A slot already fired (by another process) is skipped by the unique index; the
        // ids returned are the executions this call created.
        let mut created_ids = std::collections::HashSet::new();
        for chunk in proposed.chunks_mut(INSERT_CHUNK) {
            // Stamped as they are written (the commit follows at once).
            let now = super::now_text();
            for e in chunk.iter_mut() {
                if e.end_time.is_some() {
                    e.end_time = Some(now.clone());
                }
                e.create_time = now.clone();
                e.update_time = now.clone();
            }
            let inserted = insert_query(
                chunk,
                "ON CONFLICT (schedule_id, scheduled_time) DO NOTHING",
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?
            .rows_affected();
            // All new: the common case. Otherwise ask which ones went in (cheaper than
            // RETURNING rows for every insert).
            let ids: Vec<String> = if inserted as usize == chunk.len() {
                chunk.iter().map(|e| e.id.clone()).collect()
            } else {
                let placeholders: Vec<String> =
                    (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT id FROM executions WHERE id IN ({})",
                    placeholders.join(", ")
                );
                let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
                for e in chunk.iter() {
                    query = query.bind(&e.id);
                }
                query.fetch_all(&mut *tx).await.map_err(|e| self.err(e))?
            };
            created_ids.extend(ids);
        }
        // Most schedules due together share their next slot: one statement per slot.
        for (next_run_time, ids) in &next_times {
            for chunk in ids.chunks(UPDATE_CHUNK) {
                let placeholders: Vec<String> =
                    (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "UPDATE schedules SET next_run_time = $1 WHERE id IN ({})",
                    placeholders.join(", ")
                );
                let mut query = sqlx::query(AssertSqlSafe(sql)).bind(next_run_time);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *tx).await.map_err(|e| self.err(e))?;
            }
        }
        let created: Vec<Execution> = proposed
            .into_iter()
            .filter(|e| created_ids.contains(&e.id))
            .collect();
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(created)
    }
}
