--
-- tokens: gettoken once per (api_url, corp_id, corp_secret), cached and
-- reused; a rejected token replaced once; credential errors that do not show
-- the secret; fixed access tokens; ALTER takes effect at the next query
-- (issue 2, items 6 and 9).
--

-- one token for every query, shared by every server with the same api_url,
-- corp_id and corp_secret, and by every session of the cluster: the token of
-- corp-basic/secret-ok was fetched by an earlier test file, so no gettoken
-- here; another secret (another WeCom app) gets its own token
SELECT clf_scenario_table('tok_same', 'basic', '', 'corp'),
       clf_scenario_table('tok_other', 'basic', '', 'corp');
ALTER USER MAPPING FOR CURRENT_USER SERVER tok_other_srv OPTIONS (SET corp_secret 'secret-ok2');
SELECT mock_reset();
SELECT count(*) FROM wecom_contacts;
SELECT count(*) FROM wecom_contacts WHERE is_customer;
SELECT count(*) FROM tok_same;
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list, s -> 'tokens' AS tokens
  FROM mock_stats() s;
SELECT count(*) FROM tok_other;
SELECT count(*) FROM wecom_contacts;
SELECT s -> 'gettoken' AS gettoken, s -> 'tokens' AS tokens FROM mock_stats() s;

-- 42001 in the middle of a traversal: each token of "expire" works for one
-- call, so every page after the first gets one new token and is asked again
-- with the same cursor; every row comes back once
SELECT clf_scenario_table('tok_expire', 'expire', 'page_size ''10''', 'corp');
SELECT mock_reset();
SELECT count(*) AS rows, count(DISTINCT add_time) AS distinct_rows,
       count(DISTINCT split_part(tmp_openid, '-', 2)) AS traversals
  FROM tok_expire;
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list FROM mock_stats() s;
SELECT t AS token, c AS cursor
  FROM mock_stats() s,
       jsonb_array_elements_text(s -> 'tokens') WITH ORDINALITY AS t(t, n)
       JOIN jsonb_array_elements_text(s -> 'cursors') WITH ORDINALITY AS c(c, n) USING (n)
 ORDER BY n;
-- the next query starts with the cached token, tok-expire-3, which the mock
-- has seen once already: it is replaced for page 1 too
SELECT count(*) FROM tok_expire;
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list,
       jsonb_path_query_array(s -> 'tokens', '$[5 to last]') AS tokens
  FROM mock_stats() s;

-- 40014 on the first call: a new token, the page again, all rows
SELECT clf_scenario_table('tok_invalid', 'invalidtoken', '', 'corp');
SELECT mock_reset();
SELECT count(*) FROM tok_invalid;
SELECT s -> 'gettoken' AS gettoken, s -> 'tokens' AS tokens FROM mock_stats() s;
-- a fixed token that WeCom rejects is not replaced: an error with a hint
SELECT clf_scenario_table('tok_fixed_invalid', 'invalidtoken');
SELECT mock_reset();
SELECT clf_error_of('SELECT * FROM tok_fixed_invalid');
SELECT count(*) FROM tok_fixed_invalid;		-- the mock's next calls succeed
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list FROM mock_stats() s;
-- a fixed token that expires mid-traversal: page 2 fails, no gettoken
SELECT clf_scenario_table('tok_fixed_expire', 'expire', 'page_size ''10''');
SELECT mock_reset();
SELECT clf_error_of('SELECT * FROM tok_fixed_expire');
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list FROM mock_stats() s;

-- fixed access_token mode never calls gettoken
SELECT clf_scenario_table('tok_fixed', 'basic');
SELECT mock_reset();
SELECT count(*) FROM tok_fixed;
SELECT count(*) FROM tok_fixed;
SELECT s -> 'gettoken' AS gettoken, s -> 'tokens' AS tokens FROM mock_stats() s;

-- gettoken errors say which credential is wrong, never the secret
SELECT clf_scenario_table('tok_badsecret', 'basic', '', 'corp');
ALTER USER MAPPING FOR CURRENT_USER SERVER tok_badsecret_srv
  OPTIONS (SET corp_secret 'Wr0ng-S3cret-Value');
SELECT mock_reset();
SELECT clf_error_of('SELECT * FROM tok_badsecret');
SELECT bool_or(line LIKE '%Wr0ng-S3cret-Value%') AS secret_shown
  FROM clf_error_of('SELECT * FROM tok_badsecret') line;
ALTER USER MAPPING FOR CURRENT_USER SERVER tok_badsecret_srv
  OPTIONS (SET corp_id 'corp-nosuchscenario', SET corp_secret 'secret-ok');
SELECT clf_error_of('SELECT * FROM tok_badsecret');
-- a failed gettoken caches no token: none reaches contact_list.  Each
-- credential asked once at least; the second query with the wrong secret
-- may have been given the first one's failure, shared during its backoff
-- (the fault suite tests that)
SELECT (s ->> 'gettoken')::int BETWEEN 2 AND 3 AS gettoken_per_credential,
       s -> 'contact_list' AS contact_list FROM mock_stats() s;

-- ALTER USER MAPPING takes effect at the next query (item 9): each secret
-- finds only the token fetched with it.  Both secrets' tokens are in the
-- cluster's cache by now (above), so no gettoken; without the shared cache
-- (PostgreSQL 15/16 without shared_preload_libraries) the ALTER drops the
-- backend's tokens and each query here fetches one
SELECT clf_scenario_table('tok_alter', 'basic', '', 'corp');
SELECT mock_reset();
SELECT count(*) FROM tok_alter;
SELECT count(*) FROM tok_alter;
SELECT s -> 'gettoken' AS gettoken FROM mock_stats() s;
ALTER USER MAPPING FOR CURRENT_USER SERVER tok_alter_srv OPTIONS (SET corp_secret 'secret-ok2');
SELECT count(*) FROM tok_alter;
SELECT s -> 'gettoken' AS gettoken FROM mock_stats() s;
ALTER USER MAPPING FOR CURRENT_USER SERVER tok_alter_srv OPTIONS (SET corp_secret 'secret-ok');
SELECT count(*) FROM tok_alter;
SELECT s -> 'gettoken' AS gettoken FROM mock_stats() s;
-- switching to a fixed token and back
ALTER USER MAPPING FOR CURRENT_USER SERVER tok_alter_srv
  OPTIONS (DROP corp_id, DROP corp_secret, ADD access_token 'fixed-basic');
SELECT count(*) FROM tok_alter;
ALTER USER MAPPING FOR CURRENT_USER SERVER tok_alter_srv
  OPTIONS (DROP access_token, ADD corp_id 'corp-basic', ADD corp_secret 'secret-ok');
SELECT count(*) FROM tok_alter;
SELECT s -> 'gettoken' AS gettoken, s -> 'tokens' AS tokens FROM mock_stats() s;

-- ALTER SERVER takes effect at the next query: a new api_url means a new
-- token from that URL; without an ALTER the keep-alive connection is reused,
-- after one a new connection is made
SELECT mock_reset();
SELECT count(*) FROM tok_alter;
SELECT count(*) FROM tok_alter;
SELECT s -> 'gettoken' AS gettoken, s -> 'connections' AS connections FROM mock_stats() s;
ALTER SERVER tok_alter_srv OPTIONS (ADD timeout_ms '20000');
SELECT count(*) FROM tok_alter;
SELECT s -> 'gettoken' AS gettoken, s -> 'connections' AS connections FROM mock_stats() s;
ALTER SERVER tok_alter_srv OPTIONS (SET api_url 'http://localhost:18642/cgi-bin');
SELECT count(*) FROM tok_alter;
SELECT s -> 'gettoken' AS gettoken, s -> 'connections' AS connections FROM mock_stats() s;
-- and a server pointing nowhere fails at once, not with the old connection
ALTER SERVER tok_alter_srv OPTIONS (SET api_url 'http://127.0.0.1:1/cgi-bin');
SET contact_list_fdw.retry_delay_ms = 1;
SELECT clf_error_of('SELECT * FROM tok_alter') AS error;
RESET contact_list_fdw.retry_delay_ms;

-- a token is refreshed once WeCom's expires_in (1 s for "shortlived") is over
SELECT clf_scenario_table('tok_short', 'shortlived', '', 'corp');
SELECT mock_reset();
SELECT count(*) FROM tok_short;
SELECT pg_sleep(1.2);
SELECT count(*) FROM tok_short;
SELECT s -> 'gettoken' AS gettoken, s -> 'tokens' AS tokens FROM mock_stats() s;

-- token_fetches counts gettoken requests, a retry too (as requests does),
-- the same in every view: "token502once" answers the first gettoken with a
-- 502, so the scan asks twice for its token, then once for its page
SELECT clf_scenario_table('tok_retry', 'token502once', '', 'corp');
SELECT mock_reset();
SELECT contact_list_fdw_stats_reset();
SET contact_list_fdw.retry_delay_ms = 1;
SELECT btrim(line) AS line
  FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                   'SELECT * FROM tok_retry') line
 WHERE line ~ 'API Requests|Retries|Token Fetches';
RESET contact_list_fdw.retry_delay_ms;
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list FROM mock_stats() s;
SELECT requests, token_fetches FROM contact_list_fdw_stats WHERE server = 'tok_retry_srv';
SELECT requests, retries, token_fetches, outcome FROM contact_list_fdw_recent_scans
 WHERE foreign_table_oid = 'tok_retry'::regclass AND pid = pg_backend_pid();

SELECT count(clf_drop_scenario_table(t)::text) AS dropped
  FROM unnest(ARRAY['tok_same', 'tok_other', 'tok_expire', 'tok_invalid', 'tok_fixed_invalid', 'tok_fixed_expire',
                    'tok_fixed', 'tok_badsecret', 'tok_alter', 'tok_short', 'tok_retry']) t;
SELECT count(*) AS left_over FROM pg_foreign_server WHERE srvname LIKE 'tok\_%';
