-- 微心愿 (R-MEM-1): a small, concrete need of a household in difficulty, posted by the
-- community, claimed once by an in-service party member, fulfilled once, confirmed by the
-- household (on its public page with the last digits of its phone, or by staff who called).
CREATE TABLE wishes (
    id INTEGER PRIMARY KEY,
    public_code TEXT NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    title TEXT NOT NULL,
    detail TEXT,
    household_name TEXT NOT NULL,
    household_phone TEXT,
    status TEXT NOT NULL,
    posted_by INTEGER REFERENCES users(id),
    claimed_by INTEGER REFERENCES people(id),
    claimed_at TEXT,
    fulfilled_at TEXT,
    fulfil_note TEXT,
    confirmed_at TEXT,
    confirm_note TEXT,
    cancel_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX wishes_public_code ON wishes(public_code);
CREATE INDEX wishes_org_status ON wishes(org_id, status, created_at);
CREATE INDEX wishes_claimed_by ON wishes(claimed_by);
