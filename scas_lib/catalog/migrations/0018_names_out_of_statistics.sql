-- Visitors' names are never copied into the planner's statistics (issue 44, item 6).
-- ANALYZE (autovacuum runs it) keeps a sample of each column's common values and bounds in
-- pg_statistic: a forgotten visitor's name would stay there, in another table's file, after
-- forget has rewritten the visitors table (catalog/scrub.py). No query filters on the name,
-- so the planner loses nothing. Statistics gathered before are dropped where the user may
-- (a superuser, as on the embedded server); elsewhere the next ANALYZE leaves them stale.
ALTER TABLE visitors ALTER COLUMN display_name SET STATISTICS 0;
DO $$
BEGIN
    DELETE FROM pg_statistic
    WHERE starelid = 'visitors'::regclass
      AND staattnum = (SELECT attnum FROM pg_attribute
                       WHERE attrelid = 'visitors'::regclass AND attname = 'display_name');
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END $$;
