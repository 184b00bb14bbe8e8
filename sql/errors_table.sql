--
-- errors_table: the errors of the README's table "Errors and what to do"
-- that no other file raises through clf_error_of, each with its SQLSTATE.
-- test/check_readme.py holds every row of that table against what the
-- suite saw (the expected outputs, and the fault suite's errors), so the
-- README and the code cannot drift apart.
--
SET contact_list_fdw.retry_delay_ms = 1;
SET contact_list_fdw.rate_limit_delay_ms = 1;

-- options
SELECT clf_error_of($$CREATE SERVER et_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (colour 'red')$$);
SELECT clf_error_of($$CREATE SERVER et_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (corp_secret 'x')$$);
SELECT clf_error_of($$CREATE SERVER et_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (page_size '0')$$);
SELECT clf_error_of($$CREATE SERVER et_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ca_file '')$$);
SELECT clf_error_of($$CREATE SERVER et_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (proxy 'http://u:p@127.0.0.1:3128')$$);
CREATE SERVER et_nomap FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
SELECT clf_error_of($$CREATE USER MAPPING FOR CURRENT_USER SERVER et_nomap OPTIONS (access_token 'a', corp_id 'b', corp_secret 'c')$$);
SELECT clf_error_of($$IMPORT FOREIGN SCHEMA nothere FROM SERVER et_nomap INTO public$$);

-- what a role without privileges meets
CREATE ROLE clf_errors_user;
GRANT USAGE ON FOREIGN DATA WRAPPER contact_list_fdw TO clf_errors_user;
GRANT USAGE ON FOREIGN SERVER et_nomap TO clf_errors_user;
CREATE FOREIGN TABLE et_nomap_contacts (name text) SERVER et_nomap;
GRANT SELECT ON et_nomap_contacts TO clf_errors_user;
SET ROLE clf_errors_user;
SELECT clf_error_of($$CREATE SERVER et_mine FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'https://example.invalid/cgi-bin')$$);
SELECT clf_error_of($$SET contact_list_fdw.proxy = ''$$);
SELECT clf_error_of($$SELECT contact_list_fdw_stats_reset()$$);
SELECT clf_error_of($$SELECT * FROM et_nomap_contacts$$);
RESET ROLE;
CREATE USER MAPPING FOR clf_errors_user SERVER et_nomap;
SET ROLE clf_errors_user;
SELECT clf_error_of($$SELECT * FROM et_nomap_contacts$$);
RESET ROLE;

-- a corp_id WeCom rejects, in a PUBLIC mapping the role may use but not
-- read: the message names the server, not the value, and so do the scan
-- logs that keep it (the role's own scans, which it may read)
CREATE SERVER et_pub FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin', max_retries '0');
CREATE USER MAPPING FOR PUBLIC SERVER et_pub
  OPTIONS (corp_id 'ww-real-corp-id-typo', corp_secret 'secret-ok');
CREATE FOREIGN TABLE et_pub_contacts (name text) SERVER et_pub;
GRANT SELECT ON et_pub_contacts TO clf_errors_user;
SET ROLE clf_errors_user;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'et_pub';
SELECT line, line LIKE '%ww-real-corp-id-typo%' AS corp_id_shown
  FROM clf_error_of($$SELECT * FROM et_pub_contacts$$) line;
SELECT outcome, error LIKE '%ww-real-corp-id-typo%' AS corp_id_shown
  FROM contact_list_fdw_scans() WHERE foreign_table = 'et_pub_contacts'::regclass;
RESET ROLE;
-- (recent scans are the session user's, so the superuser's to read here)
SELECT outcome, error, error LIKE '%ww-real-corp-id-typo%' AS corp_id_shown
  FROM contact_list_fdw_recent_scans WHERE server = 'et_pub';
DROP SERVER et_pub CASCADE;

-- WeCom's answers
SELECT clf_scenario_table('et_secret', 'basic', '', 'corp');
ALTER USER MAPPING FOR CURRENT_USER SERVER et_secret_srv
  OPTIONS (SET corp_secret 'secret-wrong');
SELECT clf_error_of('SELECT * FROM et_secret');
SELECT clf_scenario_table('et_ratelimit', 'ratelimitforever');
SELECT clf_error_of('SELECT * FROM et_ratelimit');
SELECT clf_scenario_table('et_concurrency', 'e45033');
SELECT clf_error_of('SELECT * FROM et_concurrency');
SELECT clf_scenario_table('et_busy', 'busy2', 'max_retries ''1''');
SELECT clf_error_of('SELECT * FROM et_busy');
-- an errcode beyond 64 bits signed is no errcode of WeCom's, and is not
-- read as another number (json-c gives 2^63-1 for it)
SELECT clf_scenario_table('et_errcode_big', 'e18446744073709551615');
SELECT clf_error_of('SELECT * FROM et_errcode_big');
SELECT clf_scenario_table('et_big', 'basic');
ALTER SERVER et_big_srv OPTIONS (ADD max_response_bytes '1024');
SELECT clf_error_of('SELECT * FROM et_big');
-- a gettoken answer is a few hundred bytes: 70 kB is something else's
SELECT clf_scenario_table('et_bigtokenbody', 'bigtokenbody', '', 'corp');
-- (refused for the memory it would take: after how many bytes is libcurl's
-- to say, as it hands over the body in pieces of its choosing)
SELECT regexp_replace(clf_error_of('SELECT * FROM et_bigtokenbody'), 'After \d+ bytes', 'After N bytes') AS clf_error_of;
-- gettoken says ok without a token: an invalid response, worded as a page's
SELECT clf_scenario_table('et_notoken', 'notoken', '', 'corp');
SELECT clf_error_of('SELECT * FROM et_notoken');
SELECT clf_scenario_table('et_slow', 'slow');
SET statement_timeout = '300ms';
SELECT clf_error_of('SELECT * FROM et_slow');
RESET statement_timeout;

SELECT clf_drop_scenario_table(t)
  FROM unnest(ARRAY['et_secret', 'et_ratelimit', 'et_concurrency', 'et_busy', 'et_errcode_big', 'et_big',
                      'et_bigtokenbody', 'et_notoken', 'et_slow']) t;
DROP SERVER et_nomap CASCADE;
REVOKE USAGE ON FOREIGN DATA WRAPPER contact_list_fdw FROM clf_errors_user;
DROP ROLE clf_errors_user;
