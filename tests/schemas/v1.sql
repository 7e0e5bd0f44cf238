-- The schema of store version 1 (notebook-executor 0.1, first release of the service),
-- frozen: tests open a store written by it with the current code. SQLite's dialect; the
-- test derives PostgreSQL's as the migrations do. Never edit: add a file per version.
CREATE TABLE IF NOT EXISTS notebook_executor_schema (version INTEGER NOT NULL);
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
INSERT INTO notebook_executor_schema (version) VALUES (1);
INSERT INTO executions (id, display_name, input_notebook, spec, state, state_message, create_time, start_time,
    end_time, update_time, cells_total, cells_done, output_notebook_uri)
VALUES ('0123456789abcdef0123456789abcdef', 'old run', '/data/old.ipynb',
    '{"display_name": "old run", "input_notebook": "/data/old.ipynb", "parameters": {"n": 3}, "kernel_name": "python3", "backend": "local"}',
    'SUCCEEDED', '', '2026-01-02T03:04:05.000000Z', '2026-01-02T03:04:06.000000Z', '2026-01-02T03:04:07.000000Z',
    '2026-01-02T03:04:07.000000Z', 2, 2, '/data/old-out.ipynb');
