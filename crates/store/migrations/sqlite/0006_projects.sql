-- The project of a case after its meeting (R-PROC-5…7, R-SUP-1): the plan's tasks, budget and
-- agreements, the public notice's versions and objections, the ledger, leader supervision, the
-- supervision committee, inspections, bulletins, acceptance and the residents' satisfaction.
-- Kept in lockstep with migrations/postgres/0006_projects.sql.

-- Counts changes of the plan; a notice records the revision it published (R-PROC-5: a change
-- after publication restarts the notice).
ALTER TABLE cases ADD COLUMN plan_revision INTEGER NOT NULL DEFAULT 0;
-- R-PROC-7: how often the community publishes progress bulletins (days).
ALTER TABLE cases ADD COLUMN bulletin_every_days INTEGER NOT NULL DEFAULT 30;

CREATE TABLE project_tasks (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    title TEXT NOT NULL,
    owner_person_id INTEGER REFERENCES people(id),
    owner_name TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    milestone BOOLEAN NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX project_tasks_case ON project_tasks(case_id, due_on);

CREATE TABLE project_budget (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    source TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX project_budget_case ON project_budget(case_id);

CREATE TABLE project_agreements (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    party TEXT NOT NULL,
    party_kind TEXT NOT NULL,
    agreed_on TEXT NOT NULL,
    note TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX project_agreements_case ON project_agreements(case_id);

-- A published notice is a frozen snapshot of the plan; a new version restarts the period.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    version INTEGER NOT NULL,
    published_on TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    working_days INTEGER NOT NULL,
    provisional BOOLEAN NOT NULL,
    plan_revision INTEGER NOT NULL,
    content TEXT NOT NULL,
    published_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX notices_version ON notices(case_id, version);
CREATE INDEX notices_ends ON notices(ends_on);

CREATE TABLE objections (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    content TEXT NOT NULL,
    submitter_name TEXT,
    submitter_phone TEXT,
    received_at TEXT NOT NULL,
    answer TEXT,
    answered_by INTEGER REFERENCES users(id),
    answered_at TEXT
);
CREATE INDEX objections_case ON objections(case_id, id);

-- R-PROC-6: the ledger, generated from the plan's tasks.
CREATE TABLE ledger_items (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    task_id INTEGER REFERENCES project_tasks(id),
    title TEXT NOT NULL,
    owner_person_id INTEGER REFERENCES people(id),
    owner_name TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    due_on TEXT NOT NULL,
    status TEXT NOT NULL,
    evidence TEXT,
    closed_by INTEGER REFERENCES users(id),
    closed_at TEXT,
    confirmed_by INTEGER REFERENCES users(id),
    confirmed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ledger_items_case ON ledger_items(case_id, due_on);
CREATE INDEX ledger_items_due ON ledger_items(status, due_on);

-- 挂帅督办: a linked leader's remarks on a district- or street-level project.
CREATE TABLE leader_remarks (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    author_user_id INTEGER REFERENCES users(id),
    author_name TEXT NOT NULL,
    remark TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX leader_remarks_case ON leader_remarks(case_id, id);

CREATE TABLE committee_members (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    person_id INTEGER REFERENCES people(id),
    name TEXT NOT NULL,
    side TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX committee_members_case ON committee_members(case_id);

CREATE TABLE inspections (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    inspected_on TEXT NOT NULL,
    inspectors TEXT NOT NULL,
    progress TEXT NOT NULL,
    quality TEXT NOT NULL,
    deadline TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX inspections_case ON inspections(case_id, inspected_on);

-- 定期通报: generated from the ledger and inspections, frozen when published.
CREATE TABLE bulletins (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    seq INTEGER NOT NULL,
    published_on TEXT NOT NULL,
    content TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX bulletins_seq ON bulletins(case_id, seq);

CREATE TABLE acceptances (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    accepted_on TEXT NOT NULL,
    members TEXT NOT NULL,
    conclusion TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX acceptances_case ON acceptances(case_id);

CREATE TABLE satisfaction_votes (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    device_key TEXT NOT NULL,
    choice TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX satisfaction_votes_device ON satisfaction_votes(case_id, device_key);
