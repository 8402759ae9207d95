-- What arrived from each camera and how much of it is recognized, kept up to date as rows
-- come and go, so the console's camera table (scas_lib/ingest/health.py) and every waiting
-- visitor's progress (SegmentRepository.recognition_progress) read one row per camera
-- instead of counting a day of segments on every poll (103,680 segments: 87-97 ms a poll,
-- benchmarks/catalog_scale.py; docs/benchmarks.md).
--
-- The counting rule, in one place (the two *_share functions): a segment arrived once,
-- whether ingest pushed it (pushed_segments) or it reached the catalog another way
-- (segments only: scas upload, scas replay); it counts under its own camera, or its push
-- record's when it has none (a refused camera id); it is recognized once done or failed.
-- Its end is the push record's start + duration where there is one, else its own.
CREATE TABLE camera_arrivals (
    event_id        text NOT NULL,
    camera_id       text NOT NULL,
    arrived         integer NOT NULL DEFAULT 0,
    first_start     timestamptz,
    arrived_end     timestamptz,
    recognized      integer NOT NULL DEFAULT 0,
    recognized_end  timestamptz,
    PRIMARY KEY (event_id, camera_id),
    FOREIGN KEY (event_id, camera_id) REFERENCES cameras (event_id, id) ON DELETE CASCADE
);

-- What one push record adds to its camera's row (``sign`` -1: what it takes away).
CREATE FUNCTION camera_arrivals_push_share(p pushed_segments, sign integer)
RETURNS camera_arrivals
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(p.event_id, p.camera_id, sign, p.start_time,
               p.start_time + p.duration_s * interval '1 second', 0, NULL)::camera_arrivals
$$;

-- What one segment adds to its camera's row, given its push record (NULL if none); no
-- camera (a refused camera id, never pushed): counted nowhere. The times are kept for a
-- negative sign too: a minimum or a maximum cannot be taken back, so a failed segment sent
-- back to be tried again leaves its end as the camera's latest recognized (moves and
-- deletes count their cameras afresh).
CREATE FUNCTION camera_arrivals_segment_share(s segments, p pushed_segments, sign integer)
RETURNS camera_arrivals
LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(s.event_id, coalesce(s.camera_id, p.camera_id),
           CASE WHEN p.object_key IS NULL THEN sign ELSE 0 END,
           s.start_time,
           CASE WHEN p.object_key IS NULL
                THEN s.start_time + coalesce(s.duration_s, 0) * interval '1 second' END,
           CASE WHEN s.status IN ('done', 'failed') THEN sign ELSE 0 END,
           CASE WHEN s.status IN ('done', 'failed')
                THEN coalesce(p.start_time + p.duration_s * interval '1 second',
                              s.start_time + coalesce(s.duration_s, 0) * interval '1 second')
           END)::camera_arrivals
$$;

-- Lock the rows of these cameras, in one order: a second statement touching one of them
-- waits for this transaction's commit, and then sees what it wrote (READ COMMITTED: each
-- statement of a function takes a new snapshot). This is what makes ingest's push record
-- and the sensor's registration of the same segment, committing at once, count it once.
CREATE FUNCTION camera_arrivals_lock(cameras camera_arrivals[]) RETURNS void
LANGUAGE sql AS $$
    SELECT 1 FROM camera_arrivals a
    WHERE (a.event_id, a.camera_id) IN (SELECT c.event_id, c.camera_id FROM unnest(cameras) c
                                        WHERE c.camera_id IS NOT NULL)
    ORDER BY a.event_id, a.camera_id
    FOR UPDATE OF a;
$$;

-- Add shares to their cameras' rows (summed per camera; LEAST and GREATEST skip NULLs).
CREATE FUNCTION camera_arrivals_add(shares camera_arrivals[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO camera_arrivals AS a (event_id, camera_id, arrived, first_start, arrived_end,
                                      recognized, recognized_end)
    SELECT s.event_id, s.camera_id, sum(s.arrived), min(s.first_start), max(s.arrived_end),
           sum(s.recognized), max(s.recognized_end)
    FROM unnest(shares) s WHERE s.camera_id IS NOT NULL GROUP BY s.event_id, s.camera_id
    ON CONFLICT (event_id, camera_id) DO UPDATE SET
        arrived = a.arrived + excluded.arrived,
        first_start = least(a.first_start, excluded.first_start),
        arrived_end = greatest(a.arrived_end, excluded.arrived_end),
        recognized = a.recognized + excluded.recognized,
        recognized_end = greatest(a.recognized_end, excluded.recognized_end);
$$;

-- The rows of these cameras (all of the event's when p_cameras is NULL) counted from
-- scratch: the backfill, and what a delete falls back to.
CREATE FUNCTION camera_arrivals_recount(p_event text, p_cameras text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM camera_arrivals_lock(array_agg(ROW(p_event, c.id, 0, NULL, NULL, 0, NULL)
                                           ::camera_arrivals))
    FROM cameras c
    WHERE c.event_id = p_event AND (p_cameras IS NULL OR c.id = ANY (p_cameras));
    UPDATE camera_arrivals
    SET arrived = 0, first_start = NULL, arrived_end = NULL, recognized = 0,
        recognized_end = NULL
    WHERE event_id = p_event AND (p_cameras IS NULL OR camera_id = ANY (p_cameras));
    PERFORM camera_arrivals_add(array_agg(share))
    FROM (
        SELECT camera_arrivals_push_share(p, 1) AS share
        FROM pushed_segments p WHERE p.event_id = p_event
        UNION ALL
        SELECT camera_arrivals_segment_share(s, p, 1)
        FROM segments s LEFT JOIN pushed_segments p ON p.object_key = s.object_key
        WHERE s.event_id = p_event
    ) shares
    WHERE p_cameras IS NULL OR (share).camera_id = ANY (p_cameras)
    HAVING count(*) > 0;
END;
$$;

-- Segments registered: their shares, in one statement's worth (a replay registers many).
CREATE FUNCTION camera_arrivals_on_register() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    shares camera_arrivals[];
BEGIN
    SELECT array_agg(camera_arrivals_segment_share(s, p, 1)) INTO shares
    FROM added s LEFT JOIN pushed_segments p ON p.object_key = s.object_key;
    PERFORM camera_arrivals_lock(shares);
    -- Again after the lock: a push record committed meanwhile changes the shares.
    SELECT array_agg(camera_arrivals_segment_share(s, p, 1)) INTO shares
    FROM added s LEFT JOIN pushed_segments p ON p.object_key = s.object_key;
    PERFORM camera_arrivals_add(shares);
    RETURN NULL;
END;
$$;

-- Segments changed (status, duration, a re-upload's camera or start): the new rows' shares
-- less the old ones'.
CREATE FUNCTION camera_arrivals_on_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    shares camera_arrivals[];
    moved record;
BEGIN
    -- Most updates (a lease taken, an error noted) change nothing counted: skipped.
    SELECT array_agg(share) INTO shares
    FROM changed n JOIN unchanged o ON o.id = n.id
    LEFT JOIN pushed_segments p ON p.object_key = n.object_key
    CROSS JOIN LATERAL (VALUES (camera_arrivals_segment_share(n, p, 1)),
                               (camera_arrivals_segment_share(o, p, -1))) AS shares (share)
    WHERE o.status IN ('done', 'failed') IS DISTINCT FROM n.status IN ('done', 'failed')
       OR (o.duration_s, o.camera_id, o.start_time)
          IS DISTINCT FROM (n.duration_s, n.camera_id, n.start_time);
    IF shares IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM camera_arrivals_lock(shares);
    PERFORM camera_arrivals_add(shares);
    -- A re-upload that moved a segment (rare) leaves its times on the camera it left: count
    -- the cameras it moved between afresh.
    FOR moved IN
        SELECT n.event_id, array_agg(DISTINCT c.camera_id) AS cameras
        FROM changed n JOIN unchanged o ON o.id = n.id
        LEFT JOIN pushed_segments p ON p.object_key = n.object_key
        CROSS JOIN LATERAL (VALUES (o.camera_id), (n.camera_id), (p.camera_id)) AS c (camera_id)
        WHERE (o.camera_id, o.start_time) IS DISTINCT FROM (n.camera_id, n.start_time)
          AND c.camera_id IS NOT NULL
        GROUP BY n.event_id
    LOOP
        PERFORM camera_arrivals_recount(moved.event_id, moved.cameras);
    END LOOP;
    RETURN NULL;
END;
$$;

-- Push records: their own shares, and for a segment registered before its push record,
-- its share as pushed in place of its share as not.
CREATE FUNCTION camera_arrivals_on_push() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    shares camera_arrivals[];
BEGIN
    SELECT array_agg(camera_arrivals_push_share(p, 1)) INTO shares FROM added p;
    PERFORM camera_arrivals_lock(shares);
    -- After the lock: a registration committed meanwhile is seen.
    SELECT array_agg(share) INTO shares FROM (
        SELECT camera_arrivals_push_share(p, 1) AS share FROM added p
        UNION ALL
        SELECT camera_arrivals_segment_share(s, p, 1)
        FROM added p JOIN segments s ON s.object_key = p.object_key
        UNION ALL
        SELECT camera_arrivals_segment_share(s, NULL::pushed_segments, -1)
        FROM added p JOIN segments s ON s.object_key = p.object_key
    ) AS all_shares;
    PERFORM camera_arrivals_lock(shares);
    PERFORM camera_arrivals_add(shares);
    RETURN NULL;
END;
$$;

-- Deletes (retention, a forgotten event, cascades from cameras) count the cameras they
-- touched afresh: a maximum cannot be taken back. Touched: the removed rows' cameras and
-- those of the other table's rows of the same keys.
CREATE FUNCTION camera_arrivals_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched record;
BEGIN
    FOR touched IN
        SELECT r.event_id, array_agg(DISTINCT c.camera_id) AS cameras
        FROM removed r
        CROSS JOIN LATERAL (VALUES
            (r.camera_id),
            ((SELECT s.camera_id FROM segments s WHERE s.object_key = r.object_key)),
            ((SELECT p.camera_id FROM pushed_segments p WHERE p.object_key = r.object_key))
        ) AS c (camera_id)
        WHERE c.camera_id IS NOT NULL
        GROUP BY r.event_id
    LOOP
        PERFORM camera_arrivals_recount(touched.event_id, touched.cameras);
    END LOOP;
    RETURN NULL;
END;
$$;

-- Every camera has its row from the start, so that the lock above always has a row.
CREATE FUNCTION camera_arrivals_on_camera() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO camera_arrivals (event_id, camera_id) VALUES (NEW.event_id, NEW.id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER camera_arrivals_camera AFTER INSERT ON cameras
    FOR EACH ROW EXECUTE FUNCTION camera_arrivals_on_camera();
CREATE TRIGGER camera_arrivals_register AFTER INSERT ON segments
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION camera_arrivals_on_register();
CREATE TRIGGER camera_arrivals_change AFTER UPDATE ON segments
    REFERENCING OLD TABLE AS unchanged NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION camera_arrivals_on_change();
CREATE TRIGGER camera_arrivals_push AFTER INSERT ON pushed_segments
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION camera_arrivals_on_push();
CREATE TRIGGER camera_arrivals_segment_removed AFTER DELETE ON segments
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION camera_arrivals_on_delete();
CREATE TRIGGER camera_arrivals_push_removed AFTER DELETE ON pushed_segments
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION camera_arrivals_on_delete();

INSERT INTO camera_arrivals (event_id, camera_id) SELECT event_id, id FROM cameras;
SELECT camera_arrivals_recount(id, NULL) FROM events;
