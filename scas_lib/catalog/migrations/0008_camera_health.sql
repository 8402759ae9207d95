-- Ingest (issue 14): each camera's health as `scas ingest` last reported it, the gaps in its
-- recording, the segments it pushed (for the lag between pushed and recognized), and an
-- operator's request to end the event (`scas event end`), which ingest answers by finishing
-- its segments before the end marker is written.
CREATE TABLE camera_health (
    event_id    text NOT NULL,
    camera_id   text NOT NULL,
    state       text NOT NULL
                CHECK (state IN ('starting', 'recording', 'reconnecting', 'offline', 'stopped')),
    -- The camera's URL with its credentials masked; never the URL itself.
    source      text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    reconnects  integer NOT NULL DEFAULT 0 CHECK (reconnects >= 0),
    spooled     integer NOT NULL DEFAULT 0 CHECK (spooled >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, camera_id),
    FOREIGN KEY (event_id, camera_id) REFERENCES cameras (event_id, id) ON DELETE CASCADE
);

CREATE TABLE camera_gaps (
    event_id    text NOT NULL,
    camera_id   text NOT NULL,
    start_time  timestamptz NOT NULL,
    end_time    timestamptz NOT NULL CHECK (end_time > start_time),
    PRIMARY KEY (event_id, camera_id, start_time),
    FOREIGN KEY (event_id, camera_id) REFERENCES cameras (event_id, id) ON DELETE CASCADE
);

-- One row per segment object ingest (or `scas upload`) put in the recordings bucket.
CREATE TABLE pushed_segments (
    object_key  text PRIMARY KEY,
    event_id    text NOT NULL,
    camera_id   text NOT NULL,
    start_time  timestamptz NOT NULL,
    duration_s  double precision NOT NULL CHECK (duration_s >= 0),
    pushed_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (event_id, camera_id) REFERENCES cameras (event_id, id) ON DELETE CASCADE
);
CREATE INDEX pushed_segments_camera ON pushed_segments (event_id, camera_id, start_time);

ALTER TABLE events ADD COLUMN end_requested_at timestamptz;
