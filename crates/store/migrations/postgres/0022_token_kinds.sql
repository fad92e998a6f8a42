-- An API token may be limited to some record kinds of the exchange (issue 7 point 4):
-- comma-separated codes; empty: every kind its roles and subtree reach.
ALTER TABLE api_tokens ADD COLUMN kinds TEXT NOT NULL DEFAULT '';
