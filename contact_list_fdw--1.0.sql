/* contact_list_fdw--1.0.sql */

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
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION contact_list_fdw_scans() IS
  'this session''s last 100 scans of contact_list_fdw foreign tables';
