/* contact_list_fdw--1.1.sql */

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
