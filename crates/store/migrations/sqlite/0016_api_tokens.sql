-- API tokens for machine clients (issue 6 point 4): shown once, kept as the SHA-256 of the
-- token; each narrows its account to some of its roles (comma-separated codes) and, when
-- org_id is set, to that subtree; it expires and may be revoked.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    roles TEXT NOT NULL,
    org_id INTEGER REFERENCES orgs(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens(token_sha256);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
