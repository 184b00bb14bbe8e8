/* contact_list_fdw--1.2.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION contact_list_fdw" to load this file. \quit

CREATE FUNCTION contact_list_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION contact_list_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER contact_list_fdw
  HANDLER contact_list_fdw_handler
  VALIDATOR contact_list_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER contact_list_fdw IS
  'WeCom externalcontact/contact_list as a read-only table';

CREATE FUNCTION contact_list_fdw_scans(
    OUT foreign_table regclass,
    OUT started_at timestamptz,
    OUT duration_ms float8,
    OUT pages bigint,
    OUT requests bigint,
    OUT retries bigint,
    OUT token_fetches bigint,
    OUT rows bigint,
    OUT bytes bigint,
    OUT network_ms float8,
    OUT outcome text,
    OUT error text,
    OUT scan_id bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE
-- at most 100 rows: the planner's default guess for a set-returning function is 1000
ROWS 100
-- the log is this backend's memory: a parallel worker would see an empty one
PARALLEL RESTRICTED;

COMMENT ON FUNCTION contact_list_fdw_scans() IS
  'this session''s last 100 scans of contact_list_fdw foreign tables';

CREATE FUNCTION contact_list_fdw_get_progress(
    OUT pid integer,
    OUT datname name,
    OUT usename name,
    OUT foreign_table text,
    OUT foreign_table_oid oid,
    OUT server text,
    OUT started_at timestamptz,
    OUT state text,
    OUT waiting_until timestamptz,
    OUT wait_reason text,
    OUT pages bigint,
    OUT rows bigint,
    OUT bytes bigint,
    OUT requests bigint,
    OUT retries bigint,
    OUT token_fetches bigint,
    OUT last_error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW contact_list_fdw_progress AS
  SELECT * FROM contact_list_fdw_get_progress();

COMMENT ON VIEW contact_list_fdw_progress IS
  'one row per contact_list_fdw scan running anywhere in the cluster';

CREATE FUNCTION contact_list_fdw_get_stats(
    OUT datname name,
    OUT server text,
    OUT server_oid oid,
    OUT scans_complete bigint,
    OUT scans_stopped_early bigint,
    OUT scans_failed bigint,
    OUT pages bigint,
    OUT rows bigint,
    OUT requests bigint,
    OUT requests_in_flight integer,
    OUT retries bigint,
    OUT retries_errcode bigint,
    OUT retries_http bigint,
    OUT retries_transport bigint,
    OUT retry_causes jsonb,
    OUT token_fetches bigint,
    OUT bytes bigint,
    OUT network_ms float8,
    OUT stats_reset timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW contact_list_fdw_stats AS
  SELECT * FROM contact_list_fdw_get_stats();

COMMENT ON VIEW contact_list_fdw_stats IS
  'cumulative counters per contact_list_fdw server since the last reset or restart';

CREATE FUNCTION contact_list_fdw_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- as pg_stat_reset(): superusers, and the roles they grant it to
REVOKE ALL ON FUNCTION contact_list_fdw_stats_reset() FROM PUBLIC;

CREATE FUNCTION contact_list_fdw_shared_info(
    OUT mode text,
    OUT token_entries integer,
    OUT tokens_cached integer,
    OUT tokens_unshared bigint,
    OUT progress_slots integer,
    OUT scans_running integer,
    OUT scans_untracked bigint,
    OUT server_entries integer,
    OUT servers_tracked integer,
    OUT servers_evicted bigint)
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION contact_list_fdw_shared_info() IS
  'where contact_list_fdw keeps the state shared by all sessions, and how full it is';

-- as pg_stat_activity: everyone may look (the function hides other users'
-- scans from those without pg_read_all_stats)
GRANT SELECT ON contact_list_fdw_progress, contact_list_fdw_stats TO PUBLIC;

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
