-- PIPL (issue 6 point 3): the version of the notice a submitter agreed to when they allowed
-- being contacted (core::privacy::CONSENT_VERSION at the time).
ALTER TABLE topics ADD COLUMN consent_version TEXT;
