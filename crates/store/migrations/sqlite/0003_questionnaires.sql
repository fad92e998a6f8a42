-- Questionnaires (调查问卷, R-TOP-1): built as drafts, published to one community for a period,
-- answered without an account (one response per device and per phone). Kept in lockstep with
-- migrations/postgres/0003_questionnaires.sql.

CREATE TABLE questionnaires (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    -- The code in the public link /q/{code}: not guessable from the id.
    public_code TEXT NOT NULL,
    title TEXT NOT NULL,
    intro TEXT,
    -- R-TOP-2 category given to topics made from its text answers.
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    opens_on TEXT,
    closes_on TEXT,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX questionnaires_public_code ON questionnaires(public_code);
CREATE INDEX questionnaires_org ON questionnaires(org_id, created_at);

CREATE TABLE questionnaire_questions (
    id INTEGER PRIMARY KEY,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    -- Options one per line (an option never holds a line break).
    options TEXT NOT NULL
);
CREATE UNIQUE INDEX questionnaire_questions_position ON questionnaire_questions(questionnaire_id, position);

CREATE TABLE questionnaire_responses (
    id INTEGER PRIMARY KEY,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires(id),
    -- SHA-256 of the device's cookie (or of the API client's device id): one response each.
    device_key TEXT NOT NULL,
    -- Personal data: optional, one response per number.
    phone TEXT,
    submitted_at TEXT NOT NULL
);
CREATE UNIQUE INDEX questionnaire_responses_device ON questionnaire_responses(questionnaire_id, device_key);
CREATE UNIQUE INDEX questionnaire_responses_phone ON questionnaire_responses(questionnaire_id, phone) WHERE phone IS NOT NULL;

-- One row per chosen option, per rating, per text; a text answer may become a topic.
CREATE TABLE questionnaire_answers (
    id INTEGER PRIMARY KEY,
    response_id INTEGER NOT NULL REFERENCES questionnaire_responses(id),
    question_id INTEGER NOT NULL REFERENCES questionnaire_questions(id),
    choice INTEGER,
    rating INTEGER,
    text TEXT,
    topic_id INTEGER REFERENCES topics(id)
);
CREATE INDEX questionnaire_answers_response ON questionnaire_answers(response_id);
CREATE INDEX questionnaire_answers_question ON questionnaire_answers(question_id);
