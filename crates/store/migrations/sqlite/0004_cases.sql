-- Deliberation cases (DOMAIN.md section 3, R-PROC-1…7) and the holiday calendar (R-CAL-1).
-- Kept in lockstep with migrations/postgres/0004_cases.sql.

-- The State Council's yearly holiday notices: seeded from the shipped copy, extended by an
-- administrator when a new notice comes out. A year listed here is known; others are provisional.
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    imported_by INTEGER REFERENCES users(id),
    imported_at TEXT NOT NULL
);
-- Holidays (not working days) and make-up working days (调休上班) of each known year.
CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    year INTEGER NOT NULL REFERENCES calendar_years(year),
    kind TEXT NOT NULL
);
CREATE INDEX calendar_days_year ON calendar_days(year);

-- One case per chosen topic (R-PROC-1), at one of the seven steps, 办结 or 终止.
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    public_code TEXT NOT NULL,
    topic_id INTEGER NOT NULL REFERENCES topics(id),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    level TEXT NOT NULL,
    step TEXT NOT NULL,
    stop_reason TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE UNIQUE INDEX cases_topic ON cases(topic_id);
CREATE UNIQUE INDEX cases_public_code ON cases(public_code);
CREATE INDEX cases_org_created ON cases(org_id, created_at);
CREATE INDEX cases_step_created ON cases(step, created_at);

-- The case's history: creation, every step entered, gone back to or stopped, with the reason.
CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id),
    kind TEXT NOT NULL,
    from_step TEXT,
    to_step TEXT NOT NULL,
    note TEXT
);
CREATE INDEX case_events_case ON case_events(case_id, id);

-- R-PROC-2: visits of 民情理事会 members to households and the site.
CREATE TABLE case_visits (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    visitor_person_id INTEGER REFERENCES people(id),
    visitor_name TEXT NOT NULL,
    place TEXT NOT NULL,
    visited_on TEXT NOT NULL,
    findings TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX case_visits_case ON case_visits(case_id, visited_on);

-- R-PROC-2: opinions gathered, from a visit, online on the public page or a questionnaire.
CREATE TABLE case_opinions (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    source TEXT NOT NULL,
    visit_id INTEGER REFERENCES case_visits(id),
    questionnaire_id INTEGER REFERENCES questionnaires(id),
    author TEXT,
    content TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX case_opinions_case ON case_opinions(case_id, id);

-- Documents of the steps (初步协商方案, 可行性研判, 民情理事会会议, 议事方案, 事先沟通…): each
-- save is a new version (JSON body checked in core); the latest version counts.
CREATE TABLE case_documents (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX case_documents_version ON case_documents(case_id, kind, version);

-- Photos and files of a case's records (visits, ledger evidence, inspections), stored under the
-- data directory by content hash like a topic's photos.
CREATE TABLE case_photos (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    record_kind TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    mime TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX case_photos_record ON case_photos(case_id, record_kind, record_id);
