-- Consent is explicit: each visitor row says which consent text they agreed to (its
-- version, and the language they read it in) and when. Rows written before this migration
-- had consent implied by enrolling; they say so.
ALTER TABLE visitors
    ADD COLUMN consent_version  text NOT NULL DEFAULT 'implied-before-0004',
    ADD COLUMN consent_language text NOT NULL DEFAULT 'und';
ALTER TABLE visitors
    ALTER COLUMN consent_version DROP DEFAULT,
    ALTER COLUMN consent_language DROP DEFAULT;
