//! Versioned schema migrations. Each is idempotent DDL applied in order inside one
//! transaction; the version table says how far a store is. New versions append here.

use super::{Dialect, Store};
use crate::error::Result;

/// (version, DDL in SQLite's dialect). PostgreSQL's is derived by `for_postgres`: only
/// the integer types differ.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE IF NOT EXISTS executions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        input_notebook TEXT NOT NULL,
        spec TEXT NOT NULL,
        idempotency_token TEXT UNIQUE,
        schedule_id TEXT,
        scheduled_time TEXT,
        state TEXT NOT NULL,
        state_message TEXT NOT NULL DEFAULT '',
        create_time TEXT NOT NULL,
        start_time TEXT,
        end_time TEXT,
        update_time TEXT NOT NULL,
        cells_total INTEGER NOT NULL DEFAULT 0,
        cells_done INTEGER NOT NULL DEFAULT 0,
        current_cell INTEGER,
        output_notebook_uri TEXT NOT NULL DEFAULT '',
        output_html_uri TEXT NOT NULL DEFAULT '',
        backend_job_id TEXT NOT NULL DEFAULT '',
        runner_id TEXT
    );
    CREATE INDEX IF NOT EXISTS executions_by_state ON executions (state, seq);
    CREATE INDEX IF NOT EXISTS executions_by_schedule ON executions (schedule_id, seq);
    CREATE TABLE IF NOT EXISTS runners (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        start_time TEXT NOT NULL,
        heartbeat_time TEXT NOT NULL
    );
    "#,
    ),
    (
        2,
        r#"
    ALTER TABLE executions ADD COLUMN backend TEXT NOT NULL DEFAULT 'local';
    CREATE INDEX IF NOT EXISTS executions_queued_by_backend ON executions (backend, state, seq);
    "#,
    ),
    (
        3,
        r#"
    CREATE TABLE IF NOT EXISTS schedules (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        cron_schedule TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        state TEXT NOT NULL,
        missed_runs TEXT NOT NULL,
        template TEXT NOT NULL,
        create_time TEXT NOT NULL,
        update_time TEXT NOT NULL,
        next_run_time TEXT
    );
    CREATE INDEX IF NOT EXISTS schedules_due ON schedules (state, next_run_time);
    CREATE UNIQUE INDEX IF NOT EXISTS executions_one_per_slot ON executions (schedule_id, scheduled_time);
    "#,
    ),
    (
        4,
        r#"
    CREATE TABLE IF NOT EXISTS shares (
        id TEXT PRIMARY KEY,
        execution_id TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        create_time TEXT NOT NULL,
        expire_time TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS shares_by_execution ON shares (execution_id);
    CREATE INDEX IF NOT EXISTS executions_by_update ON executions (update_time);
    CREATE INDEX IF NOT EXISTS schedules_by_update ON schedules (update_time);
    "#,
    ),
    (
        5,
        r#"
    CREATE TABLE IF NOT EXISTS deletions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        delete_time TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS deletions_by_time ON deletions (delete_time);
    "#,
    ),
    (
        // The region filter of the listing. Earlier executions all ran locally: no region.
        6,
        r#"
    ALTER TABLE executions ADD COLUMN region TEXT NOT NULL DEFAULT '';
    CREATE INDEX IF NOT EXISTS executions_by_region ON executions (region, seq);
    "#,
    ),
    (
        // Warm runners: a kernel started ahead, waiting for work (empty: busy or cold).
        7,
        r#"
    ALTER TABLE runners ADD COLUMN warm_kernel TEXT NOT NULL DEFAULT '';
    "#,
    ),
    (
        // What kind of failure ended a run (the CLI's exit code of `submit --wait`).
        8,
        r#"
    ALTER TABLE executions ADD COLUMN failure_kind TEXT NOT NULL DEFAULT '';
    "#,
    ),
];

fn for_postgres(ddl: &str) -> String {
    ddl.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
        .replace("INTEGER", "BIGINT")
}

pub async fn apply(store: &Store) -> Result<()> {
    let mut tx = store.pool().begin().await.map_err(|e| store.err(e))?;
    // SQLite's version table exists already (see `Store::open`): its lock writes to it.
    store.lock_in(&mut tx).await?;
    if store.dialect == Dialect::Postgres {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS notebook_executor_schema (version BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| store.err(e))?;
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM notebook_executor_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| store.err(e))?;
    let current = current.unwrap_or(0);
    for (version, ddl) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let ddl = if store.dialect == Dialect::Sqlite {
            ddl.to_string()
        } else {
            for_postgres(ddl)
        };
        for statement in ddl.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            // Our own DDL constants, not user input.
            sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&mut *tx)
                .await
                .map_err(|e| store.err(e))?;
        }
        sqlx::query("INSERT INTO notebook_executor_schema (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(|e| store.err(e))?;
    }
    tx.commit().await.map_err(|e| store.err(e))
}
