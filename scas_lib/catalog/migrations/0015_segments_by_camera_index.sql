-- A camera's newest segment for the console's camera table (scas_lib/ingest/health.py):
-- without this index, each camera's newest segment was found by reading every segment of
-- the event (24 cameras x a day of 10 s segments: 0.2 s of every console poll,
-- benchmarks/catalog_scale.py).
CREATE INDEX segments_event_camera_start ON segments (event_id, camera_id, start_time);
