--
-- transport: the proxy option, https only (but for loopback), no redirects,
-- options that only superusers may set, and one user's secret and token
-- kept from another's (issue 3, "Secrets and transport").  TLS itself
-- (certificate verification, ca_file) is in test/fault_suite.py, which
-- starts an HTTPS mock with a certificate of its own.
--
SET contact_list_fdw.retry_delay_ms = 20;

--
-- proxy: every request goes through it.  Plain http:// never does (see
-- sql/security.sql), so the path through a working proxy, tinyproxy to an
-- HTTPS mock, is in test/fault_suite.py.  Here the proxy is on a closed
-- port: the API itself is reachable, so this error shows every request
-- goes through the proxy.
--
SELECT clf_scenario_table('tr_proxy', 'basic', 'page_size ''10''');
ALTER SERVER tr_proxy_srv OPTIONS (SET api_url 'https://127.0.0.1:18642/cgi-bin',
                                   ADD proxy 'http://127.0.0.1:1', ADD max_retries '1');
SELECT mock_reset();
SELECT clf_error_of('SELECT count(*) FROM tr_proxy') AS error;
SELECT s -> 'contact_list' AS contact_list FROM mock_stats() s;
-- socks5h:// is accepted too (the proxy resolves the API's host name)
ALTER SERVER tr_proxy_srv OPTIONS (SET proxy 'socks5h://127.0.0.1:1');
SELECT clf_error_of('SELECT count(*) FROM tr_proxy') AS error;
-- a proxy must be given with its scheme
ALTER SERVER tr_proxy_srv OPTIONS (SET proxy '127.0.0.1:18643');
ALTER SERVER tr_proxy_srv OPTIONS (SET proxy 'ftp://127.0.0.1:18643');
SELECT clf_drop_scenario_table('tr_proxy');

--
-- every request asks for gzip (WeCom serves it), and the answers come gzip'd
--
SELECT clf_scenario_table('tr_gzip', 'basic', 'page_size ''10''', 'corp');
SELECT mock_reset();
SELECT count(*) FROM tr_gzip;
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list,
       s -> 'gzip_accepted' AS asked_for_gzip, s -> 'gzipped' AS gzipped
  FROM mock_stats() s;
SELECT clf_drop_scenario_table('tr_gzip');

--
-- https is required, except plain http to a loopback address
--
CREATE SERVER tr_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://qyapi.weixin.qq.com/cgi-bin');
CREATE SERVER tr_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://10.1.2.3:18642/cgi-bin');
-- names that only look like loopback
CREATE SERVER tr_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1.example.com/cgi-bin');
CREATE SERVER tr_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://localhost.example.com/cgi-bin');
CREATE SERVER tr_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1@example.com/cgi-bin');
CREATE SERVER tr_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'ftp://127.0.0.1/cgi-bin');
-- accepted: https anywhere, http to 127.0.0.0/8, ::1 and localhost
CREATE SERVER tr_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://qyapi.weixin.qq.com/cgi-bin');
ALTER SERVER tr_url OPTIONS (SET api_url 'http://127.0.0.2:18642/cgi-bin');
ALTER SERVER tr_url OPTIONS (SET api_url 'http://[::1]:18642/cgi-bin');
ALTER SERVER tr_url OPTIONS (SET api_url 'http://LOCALHOST:18642/cgi-bin');
ALTER SERVER tr_url OPTIONS (SET api_url 'HTTPS://qyapi.weixin.qq.com/cgi-bin/');
DROP SERVER tr_url;

--
-- a redirect is never followed: it could carry the token to another host
-- (the mock's redirect points at its /evil page, which counts its visitors)
--
SELECT clf_scenario_table('tr_redirect', 'redirect', '', 'corp');
SELECT mock_reset();
SELECT clf_error_of('SELECT count(*) FROM tr_redirect');
-- not retried, and nobody went to /evil
SELECT s -> 'contact_list' AS contact_list, s -> 'evil' AS evil FROM mock_stats() s;
SELECT clf_drop_scenario_table('tr_redirect');

--
-- api_url, proxy and ca_file decide where the database server connects:
-- superusers only, as file_fdw does with filename
--
CREATE ROLE regress_clf_tr_plain NOLOGIN;
GRANT USAGE ON FOREIGN DATA WRAPPER contact_list_fdw TO regress_clf_tr_plain;
SET ROLE regress_clf_tr_plain;
CREATE SERVER tr_plain FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://intranet.example.com/cgi-bin');
CREATE SERVER tr_plain FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (proxy 'http://127.0.0.1:18643');
CREATE SERVER tr_plain FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (ca_file '/etc/ssl/certs/ca-certificates.crt');
-- the other server options are anyone's
CREATE SERVER tr_plain FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (timeout_ms '5000', max_retries '1', page_size '100');
ALTER SERVER tr_plain OPTIONS (ADD api_url 'http://127.0.0.1:18642/cgi-bin');
ALTER SERVER tr_plain OPTIONS (ADD proxy 'socks5h://127.0.0.1:1080');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'tr_plain';
RESET ROLE;
-- a superuser may set them on that server
ALTER SERVER tr_plain OPTIONS (ADD api_url 'http://127.0.0.1:18642/cgi-bin');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'tr_plain';

--
-- a user without a user mapping: an error that names the server
--
CREATE FOREIGN TABLE tr_plain_contacts (name text, external_userid text) SERVER tr_plain;
GRANT SELECT ON tr_plain_contacts TO regress_clf_tr_plain;
SET ROLE regress_clf_tr_plain;
SELECT clf_error_of('SELECT * FROM tr_plain_contacts');
-- with a mapping of its own, the user reads rows
CREATE USER MAPPING FOR CURRENT_USER SERVER tr_plain
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
SELECT count(*) FROM tr_plain_contacts;
-- and may not read anyone else's mapping options
SELECT count(*) AS visible_mappings FROM pg_user_mappings
 WHERE srvname = 'tr_plain' AND umoptions IS NOT NULL;
RESET ROLE;

--
-- two users, two WeCom apps (two secrets) on one server, in one backend:
-- each gets a token of its own, and each token is reused for its user only
-- (the token cache is keyed by the secret too)
--
CREATE ROLE regress_clf_tr_other NOLOGIN;
GRANT USAGE ON FOREIGN SERVER tr_plain TO regress_clf_tr_other;
GRANT SELECT ON tr_plain_contacts TO regress_clf_tr_other;
CREATE USER MAPPING FOR regress_clf_tr_other SERVER tr_plain
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok2');
-- each secret's token in the cluster's cache first (earlier test files may
-- have fetched them already: this file does not count on it)
SET ROLE regress_clf_tr_plain;
SELECT count(*) FROM tr_plain_contacts;
SET ROLE regress_clf_tr_other;
SELECT count(*) FROM tr_plain_contacts;
RESET ROLE;
SELECT mock_reset();
SET ROLE regress_clf_tr_plain;
SELECT count(*) FROM tr_plain_contacts;
SET ROLE regress_clf_tr_other;
SELECT count(*) FROM tr_plain_contacts;
SET ROLE regress_clf_tr_plain;
SELECT count(*) FROM tr_plain_contacts;
SET ROLE regress_clf_tr_other;
SELECT count(*) FROM tr_plain_contacts;
RESET ROLE;
-- no gettoken: the cluster's cache holds a token for each secret already;
-- each user's token is found by its own secret (the mock's tokens end in a
-- digest of the secret they were issued for), 25 rows at page_size 100 is
-- one page per query
SELECT s -> 'gettoken' AS gettoken, s -> 'contact_list' AS contact_list,
       ARRAY(SELECT regexp_replace(t, '^tok-basic-[0-9]+-', '')
               FROM jsonb_array_elements_text(s -> 'tokens') t) AS secret_of_token
  FROM mock_stats() s;

-- a user whose secret is wrong gets an error, not the other user's token
ALTER USER MAPPING FOR regress_clf_tr_other SERVER tr_plain
  OPTIONS (SET corp_secret 'secret-wrong');
SET ROLE regress_clf_tr_other;
SELECT clf_error_of('SELECT count(*) FROM tr_plain_contacts');
RESET ROLE;

DROP SERVER tr_plain CASCADE;
DROP OWNED BY regress_clf_tr_plain, regress_clf_tr_other;
DROP ROLE regress_clf_tr_plain, regress_clf_tr_other;
RESET contact_list_fdw.retry_delay_ms;
