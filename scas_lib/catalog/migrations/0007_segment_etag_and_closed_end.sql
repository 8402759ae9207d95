-- A segment is its object key and its content: the ETag of the object last recognized
-- (NULL for rows from before: taken as unchanged). A re-upload under the same key with
-- new content is recognized again.
ALTER TABLE segments ADD COLUMN etag text;
-- The end marker the event's videos were last published after, on the object store's
-- clock: a later run of the event is not fooled by it (scas_lib/run/waves.py, look).
ALTER TABLE events ADD COLUMN closed_end_at timestamptz;
