-- The exchange with other systems (issue 7, R-PROC-6, R-INT-1).
-- Every audited change of an exchanged record queues one row here in the same transaction.
-- `seq` is the cursor of deliveries and of the pull API: SQLite has one writer at a time, so
-- the AUTOINCREMENT numbers are handed out in commit order and a reader never sees a later
-- number before an earlier one.
CREATE TABLE exchange_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    org_path TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX exchange_changes_record ON exchange_changes(kind, record_id, seq);
CREATE INDEX exchange_changes_case ON exchange_changes(case_id, seq);

-- What was there before the exchange began is queued once, oldest first.
INSERT INTO exchange_changes (seq, kind, record_id, case_id, org_path, at)
SELECT row_number() OVER (ORDER BY x.at, x.kind, x.record_id), x.kind, x.record_id, x.case_id, o.path, x.at
FROM (
    SELECT 'case' AS kind, c.id AS record_id, c.id AS case_id, c.org_id, c.updated_at AS at FROM cases c
    UNION ALL SELECT 'meeting', m.id, m.case_id, c.org_id, m.updated_at FROM meetings m JOIN cases c ON c.id = m.case_id
    UNION ALL SELECT 'notice', n.id, n.case_id, c.org_id, n.created_at FROM notices n JOIN cases c ON c.id = n.case_id
    UNION ALL SELECT 'ledger_item', l.id, l.case_id, c.org_id, COALESCE(l.confirmed_at, l.closed_at, l.created_at) FROM ledger_items l JOIN cases c ON c.id = l.case_id
    UNION ALL SELECT 'inspection', i.id, i.case_id, c.org_id, i.created_at FROM inspections i JOIN cases c ON c.id = i.case_id
    UNION ALL SELECT 'bulletin', b.id, b.case_id, c.org_id, b.created_at FROM bulletins b JOIN cases c ON c.id = b.case_id
) x JOIN orgs o ON o.id = x.org_id;

-- Kept in lockstep with PostgreSQL, where this row hands out the numbers; SQLite's
-- AUTOINCREMENT does that here and the row is not used.
CREATE TABLE exchange_head (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);
INSERT INTO exchange_head (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM exchange_changes;

-- Where records go: one row per platform (more allowed). The subtree is org_id (none: the
-- whole deployment); kinds are comma-separated codes; the signing secret is sealed under the
-- data key like personal data. `cursor_seq` is the last change delivered or given up on.
CREATE TABLE exchange_targets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    kinds TEXT NOT NULL,
    org_id INTEGER REFERENCES orgs(id),
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    from_config BOOLEAN NOT NULL,
    cursor_seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX exchange_targets_name ON exchange_targets(name);

-- One POST of a range of changes (after_seq, last_seq] to a target, under a key that is the
-- same at every attempt. pending → sent, or dead after the last attempt (replayable).
CREATE TABLE exchange_batches (
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES exchange_targets(id),
    after_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    batch_key TEXT NOT NULL,
    records INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX exchange_batches_target ON exchange_batches(target_id, last_seq);
CREATE INDEX exchange_batches_status ON exchange_batches(status, next_attempt_at);
