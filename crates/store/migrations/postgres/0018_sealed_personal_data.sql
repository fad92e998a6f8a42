-- Personal data at rest (issue 6 point 3, PIPL): phone numbers and addresses are stored
-- SM4-GCM-encrypted by the application (store::pii); where a record is looked up by its phone
-- number, the *_idx column beside it holds the keyed index (HMAC-SM3 of the number) and the
-- lookups and uniqueness move there. Rows written before this migration are sealed at the next
-- start. data_key_check holds one value sealed under the current data key, so a server started
-- with another key stops instead of serving what it cannot decrypt.
ALTER TABLE people ADD COLUMN phone_idx TEXT;
DROP INDEX people_phone;
CREATE UNIQUE INDEX people_phone_idx ON people(phone_idx);
ALTER TABLE units ADD COLUMN contact_phone_idx TEXT;
CREATE INDEX units_contact_phone_idx ON units(contact_phone_idx);
ALTER TABLE topics ADD COLUMN submitter_phone_idx TEXT;
DROP INDEX topics_submitter_phone;
CREATE INDEX topics_submitter_phone_idx ON topics(submitter_phone_idx);
ALTER TABLE objections ADD COLUMN submitter_phone_idx TEXT;
CREATE INDEX objections_submitter_phone_idx ON objections(submitter_phone_idx);
ALTER TABLE wishes ADD COLUMN household_phone_idx TEXT;
CREATE INDEX wishes_household_phone_idx ON wishes(household_phone_idx);
ALTER TABLE questionnaire_responses ADD COLUMN phone_idx TEXT;
DROP INDEX questionnaire_responses_phone;
CREATE UNIQUE INDEX questionnaire_responses_phone_idx ON questionnaire_responses(questionnaire_id, phone_idx) WHERE phone_idx IS NOT NULL;
CREATE TABLE data_key_check (
    id INTEGER PRIMARY KEY,
    key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
