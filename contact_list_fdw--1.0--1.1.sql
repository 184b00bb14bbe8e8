/* contact_list_fdw--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION contact_list_fdw UPDATE TO '1.1'" to load this file. \quit

COMMENT ON FOREIGN DATA WRAPPER contact_list_fdw IS
  'WeCom externalcontact/contact_list as a read-only table';

-- 1.0 left both at their defaults: an estimate of 1000 rows, and PARALLEL
-- UNSAFE, which keeps a whole query that calls the function from running
-- in parallel.
ALTER FUNCTION contact_list_fdw_scans() ROWS 100 PARALLEL RESTRICTED;
