-- Notifications and reminders (issue 5): in-app notifications (one per user and key, so a
-- reminder is never sent twice), each user's channels, the outbox of e-mails and webhook calls
-- (sent by the scheduler with retries; a request never waits on one), and the scheduled jobs
-- with one row per run: the unique (job, run_key) lets exactly one instance run it.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    dedup_key TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    href TEXT,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE UNIQUE INDEX notifications_user_key ON notifications(user_id, dedup_key);
CREATE INDEX notifications_user_created ON notifications(user_id, created_at);

CREATE TABLE notification_prefs (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    email TEXT,
    by_email BOOLEAN NOT NULL,
    by_webhook BOOLEAN NOT NULL,
    mobile TEXT,
    daily_digest BOOLEAN NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER REFERENCES notifications(id),
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);

CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    run_key TEXT NOT NULL,
    instance TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    detail TEXT
);
CREATE UNIQUE INDEX job_runs_once ON job_runs(job, run_key);
CREATE INDEX job_runs_started ON job_runs(job, started_at);
