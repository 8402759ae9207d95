-- Progressive delivery (issue 17): a visitor who has left gets their video while the event
-- runs, and is rendered again only if what their video would show changed (seen again,
-- a re-recognized segment, a correction, another template). plan_digest is the SHA-256 of
-- the edit plan and template the latest render of the visitor was for; NULL for rows from
-- before, which are rendered again at the end as they always were.
ALTER TABLE outputs ADD COLUMN plan_digest text;
