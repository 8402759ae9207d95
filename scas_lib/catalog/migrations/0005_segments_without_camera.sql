-- A segment whose camera id is not a valid id (a key like <event>/Cam 2/<time>.mp4, or such
-- `camera` metadata) cannot belong to a camera. It is still recorded, with no camera, as
-- failed with the reason, so that the event finishes without it and the reason is kept.
-- Its event is then referenced directly (before, only through its camera).
ALTER TABLE segments ALTER COLUMN camera_id DROP NOT NULL;
ALTER TABLE segments ADD CONSTRAINT segments_camera_or_failed
    CHECK (camera_id IS NOT NULL OR (status = 'failed' AND error IS NOT NULL));
ALTER TABLE segments ADD CONSTRAINT segments_event
    FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE;
