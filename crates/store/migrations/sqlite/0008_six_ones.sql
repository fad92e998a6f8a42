-- R-MEM-1: each of an in-service party member's "six ones" (六个一), recorded by the member or
-- by the community for them, with the day it was done and a short note. The obligation check
-- reads these; nobody types a count.
CREATE TABLE six_one_records (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    item TEXT NOT NULL,
    done_on TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX six_one_records_person ON six_one_records(person_id, done_on);
CREATE INDEX six_one_records_done ON six_one_records(done_on);

-- A person's meetings (a leader's attendance, R-LEAD-1; their calendar).
CREATE INDEX meeting_participants_by_person ON meeting_participants(person_id);
