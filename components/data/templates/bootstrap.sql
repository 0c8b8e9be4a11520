-- Converges the application database: its role, database, schema and extensions. Every statement
-- checks before it creates, so running it again changes nothing that is already right.
-- psql variables: app_user, app_database, connection_limit, app_password_file, monitor_user,
-- monitor_password_file.
\set ON_ERROR_STOP on
\set app_password `cat :'app_password_file'`
\set monitor_password `cat :'monitor_password_file'`

-- The application role may log in and nothing more: created NOSUPERUSER NOCREATEDB NOCREATEROLE
-- NOREPLICATION NOBYPASSRLS, never the database owner, never a member of another role.
SELECT set_config('bootstrap.app_user', :'app_user', false) \g /dev/null
SELECT set_config('bootstrap.connection_limit', :'connection_limit', false) \g /dev/null
DO $$
DECLARE
  app text := current_setting('bootstrap.app_user');
  conn_limit int := current_setting('bootstrap.connection_limit')::int;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = app) THEN
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                   app);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN CONNECTION LIMIT %s', app, conn_limit);
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = app
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role % holds privileges beyond LOGIN; the bootstrap never grants them, revoke them', app;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
             WHERE r.rolname = app) THEN
    RAISE EXCEPTION 'role % is a member of another role; it may hold only its own grants', app;
  END IF;
END
$$;
-- The password is the application secret's current value (the rotation function keeps them in step).
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'app_user', :'app_password') \gexec

-- The metrics exporter's own login: LOGIN and membership of pg_monitor (read statistics and settings), nothing
-- else, so the application's password rotation never cuts the exporter off.
SELECT set_config('bootstrap.monitor_user', :'monitor_user', false) \g /dev/null
DO $$
DECLARE
  mon text := current_setting('bootstrap.monitor_user');
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = mon) THEN
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                   mon);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN CONNECTION LIMIT 5', mon);
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = mon
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role % holds privileges beyond LOGIN; the bootstrap never grants them, revoke them', mon;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
             WHERE r.rolname = mon AND g.rolname <> 'pg_monitor') THEN
    RAISE EXCEPTION 'role % is a member of a role other than pg_monitor; revoke it', mon;
  END IF;
END
$$;
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'monitor_user', :'monitor_password') \gexec
SELECT format('GRANT pg_monitor TO %I', :'monitor_user') \gexec

-- The database belongs to the master user; the application may only connect and use temp tables.
SELECT format('CREATE DATABASE %I', :'app_database')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = :'app_database') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'app_database') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'app_database', :'app_user') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'app_database', :'monitor_user') \gexec

\connect :app_database
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- public holds the extensions and stays read-only; the application writes to its own schema, which
-- PostgreSQL's default search_path ("$user", public) finds first.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('CREATE SCHEMA IF NOT EXISTS %I', :'app_user') \gexec
SELECT format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', :'app_user', :'app_user') \gexec
