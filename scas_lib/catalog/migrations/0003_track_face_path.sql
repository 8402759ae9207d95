-- A track's face path gets its own columns instead of riding in the best_box document:
-- path holds one sample per sampled frame, [offset_s, x1, y1, x2, y2, detector_score,
-- quality], offset_s in seconds from the segment's first frame (segments.start_time), the
-- box in the original frame's pixels; frame_width and frame_height are that frame's size.
ALTER TABLE tracks
    ADD COLUMN path         jsonb NOT NULL DEFAULT '[]'::jsonb
                            CHECK (jsonb_typeof(path) = 'array'),
    ADD COLUMN frame_width  integer CHECK (frame_width IS NULL OR frame_width >= 0),
    ADD COLUMN frame_height integer CHECK (frame_height IS NULL OR frame_height >= 0);

-- Rows written before kept only the centre of each sample ([seconds from the track's start,
-- x, y]) and the best face's box: each sample becomes a box of the best face's size around
-- its centre, with the track's quality as its scores. A row without a path gets two samples,
-- at its start and its end, with its best face's box (or an empty one).
UPDATE tracks t SET
    frame_width = (t.best_box -> 'frame' ->> 0)::integer,
    frame_height = (t.best_box -> 'frame' ->> 1)::integer,
    path = coalesce(
        (SELECT jsonb_agg(jsonb_build_array(
                    extract(epoch FROM t.start_time - s.start_time) + (p ->> 0)::float8,
                    (p ->> 1)::float8 - (t.best_box ->> 'w')::float8 / 2,
                    (p ->> 2)::float8 - (t.best_box ->> 'h')::float8 / 2,
                    (p ->> 1)::float8 + (t.best_box ->> 'w')::float8 / 2,
                    (p ->> 2)::float8 + (t.best_box ->> 'h')::float8 / 2,
                    t.quality, t.quality) ORDER BY ordinality)
         FROM jsonb_array_elements(t.best_box -> 'path') WITH ORDINALITY AS e(p, ordinality)),
        (SELECT jsonb_agg(jsonb_build_array(
                    extract(epoch FROM moment - s.start_time),
                    coalesce((t.best_box ->> 'x')::float8, 0),
                    coalesce((t.best_box ->> 'y')::float8, 0),
                    coalesce((t.best_box ->> 'x')::float8 + (t.best_box ->> 'w')::float8, 0),
                    coalesce((t.best_box ->> 'y')::float8 + (t.best_box ->> 'h')::float8, 0),
                    t.quality, t.quality) ORDER BY moment)
         FROM unnest(ARRAY[t.start_time, t.end_time]) AS moment))
FROM segments s
WHERE s.id = t.segment_id;

ALTER TABLE tracks DROP COLUMN best_box;
