#!/bin/sh
# Run by the compose service db-init as the PostgreSQL superuser: one role and one database
# for SCAS (scas) and one for Airflow (airflow), neither a superuser; their passwords are
# set again on every run, so changing them in .env takes effect. Safe to run again.
set -eu
export PGPASSWORD="$POSTGRES_PASSWORD"
psql -v ON_ERROR_STOP=1 -h postgres -U postgres -d postgres \
     -v scas_pw="$CATALOG_DB_PASSWORD" -v airflow_pw="$AIRFLOW_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE scas LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scas')
\gexec
SELECT 'CREATE ROLE airflow LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'airflow')
\gexec
ALTER ROLE scas WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'scas_pw';
ALTER ROLE airflow WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'airflow_pw';
SELECT 'CREATE DATABASE scas OWNER scas'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'scas')
\gexec
SELECT 'CREATE DATABASE airflow OWNER airflow'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'airflow')
\gexec
REVOKE ALL ON DATABASE scas FROM PUBLIC;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
\c scas
-- pgvector needs a superuser to install; the scas migrations then find it.
CREATE EXTENSION IF NOT EXISTS vector;
SQL
