-- Topics (议题, DOMAIN.md section 2): residents' matters from every channel, their status history
-- and photos. Kept in lockstep with migrations/postgres/0002_topics.sql.

CREATE TABLE topics (
    id INTEGER PRIMARY KEY,
    tracking_code TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    category_reason TEXT,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    collector_person_id INTEGER REFERENCES people(id),
    submitter_name TEXT,
    submitter_phone TEXT,
    contact_consent BOOLEAN NOT NULL,
    location TEXT,
    level TEXT NOT NULL,
    -- R-TOP-5: the similarity terms of title and description (segmented once, at intake).
    terms TEXT NOT NULL,
    status TEXT NOT NULL,
    merged_into INTEGER REFERENCES topics(id),
    reject_reason TEXT,
    referred_to TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX topics_tracking_code ON topics(tracking_code);
CREATE INDEX topics_org_status ON topics(org_id, status, created_at);
CREATE INDEX topics_org_created ON topics(org_id, created_at);
CREATE INDEX topics_status_created ON topics(status, created_at);
CREATE INDEX topics_merged_into ON topics(merged_into);
CREATE INDEX topics_submitter_phone ON topics(submitter_phone);

-- Every change of status: who, when, why (the public part is shown to the submitter).
CREATE TABLE topic_events (
    id INTEGER PRIMARY KEY,
    topic_id INTEGER NOT NULL REFERENCES topics(id),
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    public_note TEXT,
    internal_note TEXT
);
CREATE INDEX topic_events_topic ON topic_events(topic_id, id);

-- Photos live under the data directory, named by their content hash.
CREATE TABLE topic_photos (
    id INTEGER PRIMARY KEY,
    topic_id INTEGER NOT NULL REFERENCES topics(id),
    sha256 TEXT NOT NULL,
    mime TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX topic_photos_topic ON topic_photos(topic_id);
