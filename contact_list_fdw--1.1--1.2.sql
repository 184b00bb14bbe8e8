/* contact_list_fdw--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION contact_list_fdw UPDATE TO '1.2'" to load this file. \quit

-- 1.2: the last scans of the whole cluster, finished or failed, whichever
-- session or background worker (a pg_cron job) ran them

CREATE FUNCTION contact_list_fdw_get_recent_scans(
    OUT pid integer,
    OUT backend_type text,
    OUT datname name,
    OUT usename name,
    OUT foreign_table text,
    OUT foreign_table_oid oid,
    OUT server text,
    OUT started_at timestamptz,
    OUT ended_at timestamptz,
    OUT outcome text,
    OUT pages bigint,
    OUT rows bigint,
    OUT requests bigint,
    OUT retries bigint,
    OUT token_fetches bigint,
    OUT bytes bigint,
    OUT network_ms float8,
    OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW contact_list_fdw_recent_scans AS
  SELECT * FROM contact_list_fdw_get_recent_scans();

COMMENT ON VIEW contact_list_fdw_recent_scans IS
  'the last 256 contact_list_fdw scans that ended anywhere in the cluster, oldest first';

-- as contact_list_fdw_progress: other users' scans only for pg_read_all_stats
GRANT SELECT ON contact_list_fdw_recent_scans TO PUBLIC;
