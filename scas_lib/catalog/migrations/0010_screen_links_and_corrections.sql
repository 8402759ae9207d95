-- The big screen's links to visitors' pages (issue 16). The screen shows the QR code of
-- each visitor's page again on every loop, so it needs the token itself, not only its hash:
-- the token is kept here (it is shown in public, on the screen, anyway) with its SHA-256
-- for the lookup. It opens the same page as the kiosk's token, which stays as it was.
-- Deleting the visitor deletes the link.
CREATE TABLE screen_links (
    event_id        text NOT NULL,
    visitor_id      text NOT NULL,
    token           text NOT NULL,
    token_sha256    text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, visitor_id),
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE
);

-- "Not this person" (issue 16): an operator said that a visitor's moment on a camera is
-- someone else. Kept by camera and time, not by track: recognizing the segment again makes
-- new track rows, and the correction still applies to them. Deleting the visitor deletes it.
CREATE TABLE moment_corrections (
    id              bigserial PRIMARY KEY,
    event_id        text NOT NULL,
    visitor_id      text NOT NULL,
    camera_id       text NOT NULL,
    start_time      timestamptz NOT NULL,
    end_time        timestamptz NOT NULL CHECK (end_time >= start_time),
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE
);
CREATE INDEX moment_corrections_event ON moment_corrections (event_id, visitor_id);
