-- Each account's private iCalendar address (issue 5): only the SHA-256 of its token is kept;
-- a new token replaces the old one.
CREATE TABLE calendar_feeds (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    token_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX calendar_feeds_token ON calendar_feeds(token_sha256);
