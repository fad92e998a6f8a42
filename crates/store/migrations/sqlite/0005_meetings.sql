-- The round-table meeting of a case (DOMAIN.md section 4, R-MEET-1…4; R-PROC-4): participants
-- and sign-in, minutes with versions and comments, the resolution and the filing number.
-- Kept in lockstep with migrations/postgres/0005_meetings.sql.

CREATE TABLE meetings (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    held_on TEXT NOT NULL,
    start_time TEXT NOT NULL,
    place TEXT NOT NULL,
    chair_person_id INTEGER REFERENCES people(id),
    chair_name TEXT NOT NULL,
    -- R-MEET-1/2/4 warnings accepted with a recorded reason (JSON list of {rule, message}).
    warnings TEXT NOT NULL,
    override_reason TEXT,
    -- planned (participants being chosen), held (opened: sign-in, minutes, resolution)
    status TEXT NOT NULL,
    resolution TEXT,
    votes_for INTEGER,
    votes_against INTEGER,
    votes_abstain INTEGER,
    -- 备案登记号: in sequence per community and year.
    filing_year INTEGER,
    filing_seq INTEGER,
    filing_number TEXT,
    filed_at TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX meetings_case ON meetings(case_id);
CREATE UNIQUE INDEX meetings_filing ON meetings(org_id, filing_year, filing_seq);
CREATE INDEX meetings_org_held ON meetings(org_id, held_on);

CREATE TABLE meeting_participants (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    person_id INTEGER REFERENCES people(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    fixed BOOLEAN NOT NULL,
    unit_name TEXT,
    signed_in_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX meeting_participants_meeting ON meeting_participants(meeting_id, id);
CREATE UNIQUE INDEX meeting_participants_person ON meeting_participants(meeting_id, person_id);

-- Minutes per agenda item (JSON), draft → review → confirmed; a correction is a new version
-- that supersedes the confirmed one.
CREATE TABLE meeting_minutes (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    supersedes_id INTEGER REFERENCES meeting_minutes(id),
    correction_reason TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    confirmed_by INTEGER REFERENCES users(id),
    confirmed_at TEXT
);
CREATE UNIQUE INDEX meeting_minutes_version ON meeting_minutes(meeting_id, version);

CREATE TABLE minutes_comments (
    id INTEGER PRIMARY KEY,
    minutes_id INTEGER NOT NULL REFERENCES meeting_minutes(id),
    author_user_id INTEGER REFERENCES users(id),
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX minutes_comments_minutes ON minutes_comments(minutes_id, id);
