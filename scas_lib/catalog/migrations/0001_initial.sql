-- The SCAS catalog. Every timestamp is timestamptz on one clock: UTC wall-clock time of
-- the recording (a segment's start_time plus the offset of a frame from the segment's
-- first frame). Embeddings start as real[]; 0002 turns them into pgvector vectors when
-- the server has the extension.

CREATE TABLE events (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name        text NOT NULL,
    starts_at   timestamptz,
    ends_at     timestamptz,
    timezone    text NOT NULL DEFAULT 'UTC',
    status      text NOT NULL DEFAULT 'scheduled'
                CHECK (status IN ('scheduled', 'running', 'ended', 'done')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cameras (
    event_id    text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    id          text NOT NULL CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'fixed' CHECK (kind IN ('fixed', 'robot')),
    PRIMARY KEY (event_id, id)
);

CREATE TABLE visitors (
    event_id      text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    id            text NOT NULL CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    display_name  text NOT NULL,
    consent_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, id)
);

-- One row per kiosk photo; a visitor's template combines them (same model pack only).
CREATE TABLE enrollments (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL,
    visitor_id  text NOT NULL,
    photo_key   text NOT NULL,
    model_pack  text NOT NULL,
    embedding   real[] NOT NULL,
    quality     real NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE,
    UNIQUE (event_id, visitor_id, photo_key, model_pack)
);

CREATE TABLE segments (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL,
    camera_id   text NOT NULL,
    object_key  text NOT NULL UNIQUE,
    start_time  timestamptz NOT NULL,
    duration_s  double precision CHECK (duration_s IS NULL OR duration_s >= 0),
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    error       text,
    attempts    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (event_id, camera_id) REFERENCES cameras (event_id, id) ON DELETE CASCADE
);
CREATE INDEX segments_event_status ON segments (event_id, status);

-- A face track inside one segment. visitor_id NULL means "unknown"; deleting a visitor
-- deletes the tracks recognised as them (their detections are personal data).
CREATE TABLE tracks (
    id            bigserial PRIMARY KEY,
    segment_id    bigint NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    track_index   integer NOT NULL,
    event_id      text NOT NULL,
    visitor_id    text,
    start_time    timestamptz NOT NULL,
    end_time      timestamptz NOT NULL CHECK (end_time >= start_time),
    similarity    real,
    quality       real NOT NULL,
    model_pack    text NOT NULL,
    centroid      real[],
    best_box      jsonb,
    UNIQUE (segment_id, track_index),
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE
);
CREATE INDEX tracks_event_visitor ON tracks (event_id, visitor_id);

CREATE TABLE appearances (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL,
    visitor_id  text NOT NULL,
    camera_id   text NOT NULL,
    start_time  timestamptz NOT NULL,
    end_time    timestamptz NOT NULL CHECK (end_time >= start_time),
    score       real NOT NULL,
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE,
    FOREIGN KEY (event_id, camera_id) REFERENCES cameras (event_id, id) ON DELETE CASCADE
);
CREATE INDEX appearances_event_visitor ON appearances (event_id, visitor_id);

CREATE TABLE outputs (
    event_id    text NOT NULL,
    visitor_id  text NOT NULL,
    status      text NOT NULL
                CHECK (status IN ('rendering', 'done', 'failed', 'not_seen')),
    object_key  text,
    poster_key  text,
    duration_s  double precision,
    template    text,
    error       text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, visitor_id),
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE
);
