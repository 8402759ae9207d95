-- The web app's credentials. Only the SHA-256 of each token is stored: a copy of the
-- catalog opens no kiosk and no visitor's page.
--
-- A kiosk is paired to one event; revoking it (revoked_at) stops its token at once.
-- Enrollment is rate-limited per kiosk with a token bucket kept in the row (allowance,
-- refilled_at), so every API server process shares one limit.
CREATE TABLE kiosks (
    id              text PRIMARY KEY CHECK (id ~ '^k-[a-z0-9]{4,32}$'),
    event_id        text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    label           text NOT NULL DEFAULT '',
    token_sha256    text NOT NULL UNIQUE,
    per_minute      real NOT NULL CHECK (per_minute > 0),
    burst           integer NOT NULL CHECK (burst >= 1),
    allowance       real NOT NULL,
    refilled_at     timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX kiosks_event ON kiosks (event_id);

-- A visitor's page: a long random token (the QR code) and a short code to type, both as
-- hashes. Deleting the visitor (scas forget, "delete my data") deletes the page.
CREATE TABLE visitor_pages (
    event_id        text NOT NULL,
    visitor_id      text NOT NULL,
    token_sha256    text NOT NULL UNIQUE,
    code_sha256     text NOT NULL UNIQUE,
    kiosk_id        text REFERENCES kiosks (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, visitor_id),
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE
);
