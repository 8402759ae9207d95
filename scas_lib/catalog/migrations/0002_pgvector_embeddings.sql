-- Use pgvector for embeddings when the server offers it and the operator has not turned
-- it off (SCAS_PGVECTOR=false sets scas.pgvector = 'off' for this session). Without it the
-- columns stay real[]; the repository reads and writes both through real[] casts, so the
-- same code serves both.
DO $$
BEGIN
    IF coalesce(current_setting('scas.pgvector', true), 'on') <> 'off'
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS vector;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'pgvector is installed but this role may not create it; '
                         'embeddings stay real[]';
            RETURN;
        END;
        ALTER TABLE enrollments ALTER COLUMN embedding TYPE vector USING embedding::vector;
        ALTER TABLE tracks ALTER COLUMN centroid TYPE vector USING centroid::vector;
    END IF;
END
$$;
