-- Issue 6: the fingerprint (SM3 of exactly what was published) of each public notice version
-- and each filed resolution, shown on the public page and the printed copy; anyone can ask
-- the public API what a fingerprint stands for. Kept in lockstep with
-- migrations/postgres/0015_fingerprints.sql.
CREATE TABLE fingerprints (
    id INTEGER PRIMARY KEY,
    -- The first 16 hex digits in four groups (what people read and type).
    code TEXT NOT NULL,
    digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    record_id INTEGER NOT NULL,
    -- The text the digest was computed over.
    content TEXT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE UNIQUE INDEX fingerprints_code ON fingerprints(code);
CREATE UNIQUE INDEX fingerprints_record ON fingerprints(kind, record_id);
CREATE INDEX fingerprints_case ON fingerprints(case_id);
