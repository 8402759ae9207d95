-- When the event's videos were last published (its status became 'done'): the retention
-- policy counts from here. Events already done count from their last update.
ALTER TABLE events ADD COLUMN done_at timestamptz;
UPDATE events SET done_at = updated_at WHERE status = 'done';
