#!/usr/bin/env bash
# make demo: contact_list_fdw doing its main job, on a throw-away cluster.
# Against the mock WeCom endpoint by default; with WECOM_CORP_ID and
# WECOM_CORP_SECRET set, against the real API (the database host's egress IP
# must be a trusted IP of the app; WECOM_PROXY=http://host:port sets the
# proxy option).
set -euo pipefail
cd "$(dirname "$0")/.."

test/deps.sh
# shellcheck source=test/lib.sh
source test/lib.sh
build_and_install
echo "== installed contact_list_fdw into PostgreSQL $("$PG_CONFIG" --version | cut -d' ' -f2):"
echo "   $("$PG_CONFIG" --pkglibdir)/contact_list_fdw.so"
echo "   $("$PG_CONFIG" --sharedir)/extension/contact_list_fdw.control and its SQL scripts"
echo "   (a throw-away cluster in $CLF_WORK runs the demo and is removed at the end)"
start_cluster

if [ -n "${WECOM_CORP_ID:-}" ] && [ -n "${WECOM_CORP_SECRET:-}" ]; then
  echo "== querying the real WeCom API as corp $WECOM_CORP_ID"
  server_options=""
  [ -n "${WECOM_PROXY:-}" ] && server_options="OPTIONS (proxy '$WECOM_PROXY')"
  corp_id=$WECOM_CORP_ID
  shown_corp_id=...
  corp_secret=$WECOM_CORP_SECRET
else
  echo "== querying the mock WeCom endpoint on 127.0.0.1:$CLF_MOCK_PORT"
  echo "   (set WECOM_CORP_ID and WECOM_CORP_SECRET to query the real API)"
  start_mock
  server_options="OPTIONS (api_url 'http://127.0.0.1:$CLF_MOCK_PORT/cgi-bin', page_size '10')"
  corp_id=corp-basic
  shown_corp_id=corp-basic
  corp_secret=secret-ok
fi

# The secret goes through a psql variable, so it is not echoed below.
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -v corp_id="$corp_id" -v corp_secret="$corp_secret" <<SQL
\set ECHO queries
CREATE EXTENSION contact_list_fdw;
CREATE SERVER wecom FOREIGN DATA WRAPPER contact_list_fdw $server_options;
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER wecom
  OPTIONS (corp_id :'corp_id', corp_secret :'corp_secret');
\echo 'CREATE USER MAPPING FOR CURRENT_USER SERVER wecom OPTIONS (corp_id ''$shown_corp_id'', corp_secret ''(not shown)'');'
\set ECHO queries
-- the table with WeCom's columns (is_customer, tmp_openid, external_userid,
-- name, follow_userid, chat_id, chat_name, add_time)
IMPORT FOREIGN SCHEMA wecom FROM SERVER wecom INTO public;
ALTER FOREIGN TABLE contact_list RENAME TO wecom_contacts;
\d wecom_contacts
SET timezone = 'Asia/Shanghai';

-- every (contact, relationship) row the company's staff and groups served
SELECT * FROM wecom_contacts LIMIT 10;
SELECT is_customer, count(*) AS relationships, count(DISTINCT tmp_openid) AS contacts
  FROM wecom_contacts GROUP BY is_customer ORDER BY is_customer;

-- joined with a CRM table on external_userid (stable across traversals)
CREATE TABLE crm_customer (external_userid text PRIMARY KEY, company text, tier text);
INSERT INTO crm_customer
  SELECT DISTINCT external_userid, 'Company ' || row_number() OVER (), 'gold'
  FROM (SELECT DISTINCT external_userid FROM wecom_contacts
        WHERE external_userid IS NOT NULL ORDER BY 1 LIMIT 4) s;
EXPLAIN (COSTS OFF)
SELECT c.company, w.follow_userid, w.add_time
  FROM crm_customer c JOIN wecom_contacts w USING (external_userid);
SELECT c.company, c.external_userid, w.follow_userid, w.chat_id, w.add_time
  FROM crm_customer c JOIN wecom_contacts w USING (external_userid)
 ORDER BY c.external_userid, w.add_time;

-- a materialized view, refreshed without blocking readers
CREATE MATERIALIZED VIEW customers AS
  SELECT external_userid, follow_userid, chat_id, min(add_time) AS first_added
    FROM wecom_contacts WHERE is_customer
   GROUP BY external_userid, follow_userid, chat_id;
CREATE UNIQUE INDEX ON customers (external_userid, follow_userid, chat_id) NULLS NOT DISTINCT;
REFRESH MATERIALIZED VIEW CONCURRENTLY customers;
SELECT count(*) AS customer_relationships FROM customers;

-- what the scans did
SELECT foreign_table, pages, requests, token_fetches, rows, outcome
  FROM contact_list_fdw_scans();
SQL
echo "== demo finished"
