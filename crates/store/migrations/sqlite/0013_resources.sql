-- R-ORG-4: the resource list (资源清单) of units and party members, the needs (需求清单) of the
-- cases, and the matches accepted onto a case's plan. Kept in lockstep with
-- migrations/postgres/0013_resources.sql.

-- An offer: published at a node (the community, street or district it serves), by a unit or an
-- in-service party member; `remaining` goes down with every accepted match (funds in fen).
CREATE TABLE resources (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    unit_id INTEGER REFERENCES units(id),
    person_id INTEGER REFERENCES people(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT,
    quantity INTEGER NOT NULL,
    remaining INTEGER NOT NULL,
    measure TEXT NOT NULL,
    categories TEXT NOT NULL,
    available_from TEXT,
    available_to TEXT,
    status TEXT NOT NULL,
    withdraw_reason TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (remaining >= 0 AND remaining <= quantity)
);
CREATE INDEX resources_org_kind ON resources(org_id, kind, status);
CREATE INDEX resources_unit ON resources(unit_id);
CREATE INDEX resources_person ON resources(person_id);

-- What a case needs; `matched` is what accepted matches cover.
CREATE TABLE case_needs (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    measure TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    CHECK (matched >= 0 AND matched <= quantity)
);
CREATE INDEX case_needs_case ON case_needs(case_id);

-- An accepted match, recorded on the plan: funds also as a budget line (R-SUP-1).
CREATE TABLE resource_matches (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    need_id INTEGER NOT NULL REFERENCES case_needs(id),
    resource_id INTEGER NOT NULL REFERENCES resources(id),
    quantity INTEGER NOT NULL,
    budget_id INTEGER REFERENCES project_budget(id),
    accepted_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX resource_matches_need_resource ON resource_matches(need_id, resource_id);
CREATE INDEX resource_matches_case ON resource_matches(case_id);
CREATE INDEX resource_matches_resource ON resource_matches(resource_id);
