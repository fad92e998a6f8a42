-- 定期通报 (issue 5): a monthly or yearly bulletin of the district or a street, generated from
-- the record; once published its content (JSON) is frozen — later records do not change it.
CREATE TABLE periodic_bulletins (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    period TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    published_by INTEGER REFERENCES users(id),
    published_at TEXT NOT NULL
);
CREATE UNIQUE INDEX periodic_bulletins_org_period ON periodic_bulletins(org_id, period);
