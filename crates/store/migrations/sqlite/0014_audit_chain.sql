-- Issue 6: the audit log as a hash chain. Each entry gets its place (seq), the hash of the one
-- before it and its own (HMAC-SM3 under the deployment's key, computed by the application);
-- the head holds the last place and hash, and is locked by each writer until it commits.
-- Entries written before this migration are chained once, at start-up (store::audit::seal_unchained).
-- Kept in lockstep with migrations/postgres/0014_audit_chain.sql.
ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log(seq);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TABLE audit_chain_head (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '');
