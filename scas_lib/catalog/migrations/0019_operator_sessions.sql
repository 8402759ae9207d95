-- Operators' sessions under `scas serve` (issue 44, item 8). Signing in with
-- SCAS_OPERATOR_TOKEN opens a session of its own: its random token goes into the browser's
-- cookie (only its SHA-256 is kept here), it expires (SCAS_OPERATOR_SESSION_HOURS, 12 by
-- default) and signing out deletes it. Before, the cookie held the operator token itself,
-- for a year.
CREATE TABLE operator_sessions (
    token_sha256    text PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX operator_sessions_expires_at ON operator_sessions (expires_at);
