-- Where and when each visitor was recognized, per camera, kept up to date as tracks come
-- and go, so the console's visitor list (TrackRepository.sightings) reads a row per visitor
-- and camera instead of joining a day's identified tracks to their segments on every poll
-- (1,000,000 faces: 66 ms a poll, benchmarks/catalog_scale.py; docs/benchmarks.md).
-- Tracks are only ever inserted and deleted (a retry replaces a segment's tracks; forget
-- and retention cascade); a track's times are its segment's start, as before.
CREATE TABLE visitor_sightings (
    event_id    text NOT NULL,
    visitor_id  text NOT NULL,
    camera_id   text NOT NULL,
    tracks      integer NOT NULL,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (event_id, visitor_id, camera_id),
    FOREIGN KEY (event_id, visitor_id) REFERENCES visitors (event_id, id) ON DELETE CASCADE
);

CREATE FUNCTION visitor_sightings_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO visitor_sightings AS v (event_id, visitor_id, camera_id, tracks, first_seen,
                                        last_seen)
    SELECT t.event_id, t.visitor_id, s.camera_id, count(*), min(s.start_time),
           max(s.start_time)
    FROM added t JOIN segments s ON s.id = t.segment_id
    WHERE t.visitor_id IS NOT NULL AND s.camera_id IS NOT NULL
    GROUP BY t.event_id, t.visitor_id, s.camera_id
    ORDER BY t.event_id, t.visitor_id, s.camera_id
    ON CONFLICT (event_id, visitor_id, camera_id) DO UPDATE SET
        tracks = v.tracks + excluded.tracks,
        first_seen = least(v.first_seen, excluded.first_seen),
        last_seen = greatest(v.last_seen, excluded.last_seen);
    RETURN NULL;
END;
$$;

-- A first or last sighting cannot be taken back: the visitors whose tracks went are
-- counted afresh (those still enrolled: a forgotten visitor's rows went with them).
CREATE FUNCTION visitor_sightings_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM visitor_sightings v USING (SELECT DISTINCT event_id, visitor_id FROM removed) r
    WHERE v.event_id = r.event_id AND v.visitor_id = r.visitor_id;
    INSERT INTO visitor_sightings (event_id, visitor_id, camera_id, tracks, first_seen,
                                   last_seen)
    SELECT t.event_id, t.visitor_id, s.camera_id, count(*), min(s.start_time),
           max(s.start_time)
    FROM (SELECT DISTINCT event_id, visitor_id FROM removed WHERE visitor_id IS NOT NULL) r
    JOIN visitors ON visitors.event_id = r.event_id AND visitors.id = r.visitor_id
    JOIN tracks t ON t.event_id = r.event_id AND t.visitor_id = r.visitor_id
    JOIN segments s ON s.id = t.segment_id
    WHERE s.camera_id IS NOT NULL
    GROUP BY t.event_id, t.visitor_id, s.camera_id
    ON CONFLICT (event_id, visitor_id, camera_id) DO UPDATE SET
        tracks = excluded.tracks, first_seen = excluded.first_seen,
        last_seen = excluded.last_seen;
    RETURN NULL;
END;
$$;

CREATE TRIGGER visitor_sightings_added AFTER INSERT ON tracks
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION visitor_sightings_on_insert();
CREATE TRIGGER visitor_sightings_removed AFTER DELETE ON tracks
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION visitor_sightings_on_delete();

INSERT INTO visitor_sightings (event_id, visitor_id, camera_id, tracks, first_seen, last_seen)
SELECT t.event_id, t.visitor_id, s.camera_id, count(*), min(s.start_time), max(s.start_time)
FROM tracks t JOIN segments s ON s.id = t.segment_id
WHERE t.visitor_id IS NOT NULL AND s.camera_id IS NOT NULL
GROUP BY t.event_id, t.visitor_id, s.camera_id;
