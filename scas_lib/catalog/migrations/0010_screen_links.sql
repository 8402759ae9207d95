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
