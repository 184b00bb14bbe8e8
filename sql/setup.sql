--
-- setup: the extension, a server on the mock endpoint, a user mapping and the
-- canonical foreign table.  Later test files rely on these objects (server
-- wecom, its user mapping, table wecom_contacts and the mock helpers), so
-- this file drops none of them.
--
CREATE EXTENSION contact_list_fdw;

-- the extension made a handler, a validator and the wrapper using both (item 2)
SELECT w.fdwname, h.proname AS handler, pg_get_function_result(h.oid) AS handler_returns,
       v.proname AS validator, pg_get_function_arguments(v.oid) AS validator_args
  FROM pg_foreign_data_wrapper w
  JOIN pg_proc h ON h.oid = w.fdwhandler
  JOIN pg_proc v ON v.oid = w.fdwvalidator
 WHERE w.fdwname = 'contact_list_fdw';

-- both functions belong to the extension
SELECT pg_describe_object(classid, objid, objsubid) AS member
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   -- 17+ also lists a view's row types
   AND classid <> 'pg_type'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'contact_list_fdw')
 ORDER BY 1;

-- the mock WeCom endpoint listens on 127.0.0.1:18642 (plain http to loopback)
CREATE SERVER wecom FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
CREATE USER MAPPING FOR CURRENT_USER SERVER wecom
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
CREATE FOREIGN TABLE wecom_contacts (
  is_customer     boolean,
  tmp_openid      text,
  external_userid text,
  name            text,
  follow_userid   text,
  chat_id         text,
  chat_name       text,
  add_time        timestamptz
) SERVER wecom;

SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'wecom';
SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 'wecom_contacts'::regclass;

--
-- Helpers for the tests, kept for the later files.
-- mock_reset() zeroes the mock's counters; mock_stats() returns them as jsonb
-- (gettoken, contact_list, bad_requests, evil, limits, cursors, tokens, ...).
--
CREATE FUNCTION mock_get(path text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  result jsonb;
BEGIN
  IF to_regclass('pg_temp.mock_buf') IS NULL THEN
    CREATE TEMP TABLE mock_buf (line text);
  END IF;
  TRUNCATE mock_buf;
  -- csv with quote and delimiter characters that JSON never holds raw
  EXECUTE format($c$COPY mock_buf FROM PROGRAM %L WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')$c$,
                 'curl -sf http://127.0.0.1:18642' || path);
  SELECT string_agg(line, E'\n')::jsonb INTO result FROM mock_buf;
  RETURN result;
END $$;
CREATE FUNCTION mock_reset() RETURNS void LANGUAGE sql
  AS $$ SELECT mock_get('/_reset') $$;
-- The mock's tokens are unique (tok-SCENARIO-SERIAL-SECRETTAG-UNIQUE):
-- mock_stats() shows them without UNIQUE, so the outputs stay the same from
-- run to run and still tell which secret each token was issued for.
CREATE FUNCTION mock_stats() RETURNS jsonb LANGUAGE sql
  AS $$ SELECT jsonb_set(s, '{tokens}', coalesce(
          (SELECT jsonb_agg(CASE WHEN jsonb_typeof(t) = 'string'
                                 THEN to_jsonb(regexp_replace(t #>> '{}',
                                        '^(tok-[a-z0-9]+-[0-9]+-[0-9a-f]{4})-[0-9a-z]+', '\1'))
                                 ELSE t END ORDER BY n)
             FROM jsonb_array_elements(s -> 'tokens') WITH ORDINALITY e(t, n)), '[]'))
        FROM mock_get('/_stats') s $$;

--
-- clf_error_of(query) runs query to its end and returns what error it
-- raised, one line per field, starting with the SQLSTATE (psql does not
-- show it without file and line numbers).  A last line "LEAK" appears if any
-- field holds a corp_secret or an access token of the mock.  What libcurl
-- itself reported (its wording changes between releases) is masked.
--
CREATE FUNCTION clf_error_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; det text; hnt text; leak boolean;
BEGIN
  EXECUTE query;
  RETURN NEXT 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  leak := concat(msg, det, hnt) ~ '(secret[-]ok|tok[-][a-z0-9]+-[0-9]+|fixed[-][a-z0-9]+)';
  -- libcurl words its reports differently from release to release: only
  -- that the detail quotes one is ours to test
  det := regexp_replace(det, 'libcurl reported: .+$', 'libcurl reported: (its text).');
  RETURN NEXT 'sqlstate: ' || st;
  RETURN NEXT 'message: ' || msg;
  IF det <> '' THEN RETURN NEXT 'detail: ' || det; END IF;
  IF hnt <> '' THEN RETURN NEXT 'hint: ' || hnt; END IF;
  IF leak THEN RETURN NEXT 'LEAK'; END IF;
END $$;

--
-- clf_explain(options, query): the lines of EXPLAIN (options) query, with
-- what PostgreSQL releases print differently normalised: 18 shows actual
-- row counts with two decimals, 19 names subplans "expr_N".  Callers that
-- ANALYZE also say BUFFERS OFF (on by default from 18).
--
CREATE FUNCTION clf_explain(options text, query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE format('EXPLAIN (%s) %s', options, query) LOOP
    line := regexp_replace(line, '(rows=\d+)\.\d\d ', '\1 ', 'g');
    RETURN NEXT regexp_replace(line, 'SubPlan expr_(\d+)', 'SubPlan \1', 'g');
  END LOOP;
END $$;

--
-- clf_scenario_table(tbl, scenario, table_options, auth) makes a server
-- tbl_srv on the mock, a user mapping for the current user that selects the
-- mock's scenario (auth 'token': access_token 'fixed-SCENARIO'; auth 'corp':
-- corp_id 'corp-SCENARIO' and corp_secret 'secret-ok') and a foreign table tbl
-- with the canonical columns.  clf_drop_scenario_table(tbl) drops them.
--
CREATE FUNCTION clf_scenario_table(tbl text, scenario text,
                                   table_options text DEFAULT '',
                                   auth text DEFAULT 'token') RETURNS void
LANGUAGE plpgsql
-- the server log is at DEBUG1 in the suite, and DEBUG lines of these
-- statements would quote them, credentials included (test/check_secrets.sh)
SET log_min_messages = warning
AS $$
BEGIN
  EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %L)',
                 tbl || '_srv', 'http://127.0.0.1:18642/cgi-bin');
  IF auth = 'token' THEN
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (access_token %L)',
                   tbl || '_srv', 'fixed-' || scenario);
  ELSE
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (corp_id %L, corp_secret %L)',
                   tbl || '_srv', 'corp-' || scenario, 'secret-ok');
  END IF;
  EXECUTE format('CREATE FOREIGN TABLE %I (is_customer boolean, tmp_openid text, '
                 'external_userid text, name text, follow_userid text, chat_id text, '
                 'chat_name text, add_time timestamptz) SERVER %I %s',
                 tbl, tbl || '_srv',
                 CASE WHEN table_options = '' THEN '' ELSE 'OPTIONS (' || table_options || ')' END);
END $$;
CREATE FUNCTION clf_drop_scenario_table(tbl text) RETURNS void
LANGUAGE plpgsql SET client_min_messages = warning AS $$
BEGIN
  EXECUTE format('DROP SERVER %I CASCADE', tbl || '_srv');
END $$;

SELECT mock_reset();
SELECT mock_stats() - 'connections' AS stats;

-- the first query works end to end (item 4): 25 rows, customers and not
SELECT count(*), count(*) FILTER (WHERE is_customer) AS customers FROM wecom_contacts;
SELECT mock_stats() - 'connections' - 'tokens' AS stats;

-- the helper reports an error with its SQLSTATE, and no error
SELECT clf_error_of('SELECT 1/0');
SELECT clf_error_of('SELECT 1');

-- the scenario helper: fixed token and corp credentials, then gone again
SELECT clf_scenario_table('setup_t1', 'basic', 'page_size ''5''');
SELECT clf_scenario_table('setup_t2', 'basic', auth => 'corp');
SELECT umoptions FROM pg_user_mappings WHERE srvname LIKE 'setup\_%' ORDER BY srvname;
SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 'setup_t1'::regclass;
SELECT (SELECT count(*) FROM setup_t1) AS t1, (SELECT count(*) FROM setup_t2) AS t2;
SELECT clf_drop_scenario_table('setup_t1'), clf_drop_scenario_table('setup_t2');
SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'setup\_%';

