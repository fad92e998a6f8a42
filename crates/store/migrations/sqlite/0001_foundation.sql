-- Foundation: organisation tree, units, people, dated links, accounts, sessions, audit.
-- Kept in lockstep with migrations/postgres/0001_foundation.sql (schema test compares them).
-- Timestamps are always bound from Rust (never DEFAULT CURRENT_TIMESTAMP) so both backends
-- store one format.

CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES orgs(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT NOT NULL,
    path TEXT NOT NULL,
    sort_order INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX orgs_code ON orgs(code);
CREATE INDEX orgs_parent ON orgs(parent_id);
CREATE INDEX orgs_path ON orgs(path);

CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    unit_type TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    contact_name TEXT,
    contact_phone TEXT,
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX units_name ON units(name);
CREATE INDEX units_org ON units(org_id);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    unit_id INTEGER REFERENCES units(id),
    title TEXT,
    deputy_type TEXT,
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX people_phone ON people(phone);
CREATE INDEX people_org_name ON people(org_id, name);
CREATE INDEX people_name ON people(name);

CREATE TABLE person_kinds (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    PRIMARY KEY (person_id, kind)
);
CREATE INDEX person_kinds_kind ON person_kinds(kind, person_id);

CREATE TABLE links (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id INTEGER REFERENCES people(id),
    unit_id INTEGER REFERENCES units(id),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    group_role TEXT,
    start_date TEXT NOT NULL,
    end_date TEXT,
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX links_org ON links(org_id, kind);
CREATE INDEX links_person ON links(person_id);
CREATE INDEX links_unit ON links(unit_id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    person_id INTEGER REFERENCES people(id),
    must_change_password BOOLEAN NOT NULL,
    disabled BOOLEAN NOT NULL,
    locked_until TEXT,
    password_changed_at TEXT NOT NULL,
    last_login_at TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_username ON users(username);

CREATE TABLE user_roles (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    org_id INTEGER REFERENCES orgs(id),
    created_at TEXT NOT NULL
);
CREATE INDEX user_roles_user ON user_roles(user_id);
CREATE INDEX user_roles_org ON user_roles(org_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE auth_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    username TEXT NOT NULL,
    user_id INTEGER,
    ip TEXT,
    detail TEXT
);
CREATE INDEX auth_events_username_at ON auth_events(username, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_user_id INTEGER,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id INTEGER,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);
