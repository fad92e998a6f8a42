-- The second factor (issue 6 point 4): an account's TOTP secret, sealed under the data key
-- like personal data (store::pii), the one being enrolled until its first code confirms it,
-- and the time step of the last code accepted (a code works once).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMPTZ;
