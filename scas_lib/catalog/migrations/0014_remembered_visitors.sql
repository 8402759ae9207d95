-- Returning visitors (issue 27, item 4). A second, separate consent, off by default:
-- "remember me for future events". Only a visitor who gave it is ever searched for, or
-- offered, in another event's enrollments.
--
-- person_id links the visitors of different events who are one person: it is set only
-- when both visitors consented to be remembered and the newer one accepted the match the
-- kiosk offered. Without it nothing links two events.
ALTER TABLE visitors
    ADD COLUMN remember  boolean NOT NULL DEFAULT false,
    ADD COLUMN person_id text CHECK (person_id IS NULL OR person_id ~ '^p-[a-z0-9]{4,32}$'),
    -- A link without the consent is never written.
    ADD CONSTRAINT visitors_person_needs_remember CHECK (person_id IS NULL OR remember);
CREATE INDEX visitors_person ON visitors (person_id) WHERE person_id IS NOT NULL;
