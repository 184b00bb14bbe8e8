--
-- security (issue 9): only a superuser decides where the database host
-- connects, by any path; no plain http:// through a proxy; no credentials
-- in server options or settings; proxy credentials in user mappings.
-- Objects made here are named sec_* and dropped at the end.
--
CREATE ROLE regress_clf_sec_alice NOLOGIN;
CREATE ROLE regress_clf_sec_bob NOLOGIN;
GRANT regress_clf_sec_bob TO regress_clf_sec_alice;
GRANT USAGE ON FOREIGN DATA WRAPPER contact_list_fdw TO regress_clf_sec_alice, regress_clf_sec_bob;

--
-- 1. A superuser's api_url, proxy or ca_file stays on a server given away:
-- its new owner can neither remove nor change it
--
CREATE SERVER sec_proxy FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (proxy 'http://127.0.0.1:18643', page_size '10');
CREATE SERVER sec_url FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://wecom-relay.example.com/cgi-bin');
CREATE SERVER sec_ca FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (ca_file '/etc/ssl/certs/ca-certificates.crt');
ALTER SERVER sec_proxy OWNER TO regress_clf_sec_alice;
ALTER SERVER sec_url OWNER TO regress_clf_sec_alice;
ALTER SERVER sec_ca OWNER TO regress_clf_sec_alice;
SET ROLE regress_clf_sec_alice;
ALTER SERVER sec_proxy OPTIONS (DROP proxy);
ALTER SERVER sec_url OPTIONS (DROP api_url);
ALTER SERVER sec_ca OPTIONS (DROP ca_file);
ALTER SERVER sec_proxy OPTIONS (SET proxy 'http://127.0.0.1:3128');
ALTER SERVER sec_proxy OPTIONS (DROP proxy, ADD api_url 'https://wecom-relay.example.com/cgi-bin');
ALTER SERVER sec_proxy OPTIONS (SET page_size '20');
-- passing the server on changes nothing
ALTER SERVER sec_proxy OWNER TO regress_clf_sec_bob;
SET ROLE regress_clf_sec_bob;
ALTER SERVER sec_proxy OPTIONS (DROP proxy);
RESET ROLE;
SELECT srvname, srvoptions, pg_get_userbyid(srvowner) AS owner
  FROM pg_foreign_server WHERE srvname LIKE 'sec\_%' ORDER BY 1;
-- a superuser may; then the other options are the owner's again
ALTER SERVER sec_proxy OPTIONS (DROP proxy);
SET ROLE regress_clf_sec_bob;
ALTER SERVER sec_proxy OPTIONS (SET page_size '20', ADD max_retries '2');
ALTER SERVER sec_proxy OPTIONS (DROP max_retries);
RESET ROLE;
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname = 'sec_proxy';

--
-- 2. A new server takes the superuser's settings contact_list_fdw.api_url,
-- .proxy and .ca_file, which nobody else can change
--
CREATE SCHEMA sec_alice AUTHORIZATION regress_clf_sec_alice;
SET contact_list_fdw.api_url = 'https://wecom-relay.example.com/cgi-bin/';
SET contact_list_fdw.proxy = 'http://127.0.0.1:1';
SET ROLE regress_clf_sec_alice;
CREATE SERVER sec_new FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_new
  OPTIONS (access_token 'fixed-basic');
CREATE FOREIGN TABLE sec_alice.contacts (external_userid text) SERVER sec_new;
SET contact_list_fdw.proxy = '';
RESET contact_list_fdw.proxy;
SET contact_list_fdw.api_url = 'http://127.0.0.1:18642/cgi-bin';
SET contact_list_fdw.ca_file = '/tmp/mine.pem';
ALTER ROLE regress_clf_sec_alice SET contact_list_fdw.proxy = '';
SHOW contact_list_fdw.proxy;
-- the endpoint is the setting's, and the request goes to the setting's proxy
EXPLAIN (COSTS OFF) SELECT * FROM sec_alice.contacts;
SELECT clf_error_of('SELECT * FROM sec_alice.contacts');
RESET ROLE;
RESET contact_list_fdw.api_url;
RESET contact_list_fdw.proxy;
SHOW contact_list_fdw.api_url;
-- the settings are checked as the options are
SET contact_list_fdw.api_url = 'http://wecom.example.com/cgi-bin';
SET contact_list_fdw.proxy = 'proxy.example.com:3128';
-- a user name or password is refused without quoting it (the statement's
-- own text is still logged by log_min_error_statement)
SELECT clf_error_of($$SET contact_list_fdw.proxy = 'http://squid:guc-typo@proxy.example.com:3128'$$);
SET contact_list_fdw.api_url = 'https://user:guc-typo@qyapi.weixin.qq.com/cgi-bin';

--
-- 3. Plain http:// never goes through a proxy: the proxy (or anyone
-- between) would read the corp_secret and the tokens
--
CREATE SERVER sec_plain FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin', proxy 'http://127.0.0.1:18643');
CREATE SERVER sec_plain FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
ALTER SERVER sec_plain OPTIONS (ADD proxy 'socks5h://127.0.0.1:1080');
-- nor when the proxy is the setting's
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_plain OPTIONS (access_token 'fixed-basic');
CREATE FOREIGN TABLE sec_plain_contacts (external_userid text) SERVER sec_plain;
SET contact_list_fdw.proxy = 'http://127.0.0.1:18643';
SELECT mock_reset();
SELECT clf_error_of('SELECT count(*) FROM sec_plain_contacts');
SELECT s -> 'contact_list' AS contact_list FROM mock_stats() s;
RESET contact_list_fdw.proxy;
SELECT count(*) FROM sec_plain_contacts;

--
-- 4. No user name or password in api_url or proxy: server options and
-- settings are readable by every user.  The messages do not repeat them.
-- (PostgreSQL logs a failing statement's text: not here)
--
SET log_min_error_statement = panic;
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://user:pw-hunter2@qyapi.weixin.qq.com/cgi-bin');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://user@qyapi.weixin.qq.com/cgi-bin');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (proxy 'http://squid:pw-hunter2@proxy.example.com:3128');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (proxy 'socks5h://squid:pw-hunter2@proxy.example.com:1080');
-- an @ anywhere: a password holding / ? or # makes userinfo look like a path
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://user:pw/hunter2@qyapi.weixin.qq.com/cgi-bin');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://user:pw?hunter2@qyapi.weixin.qq.com/cgi-bin');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (proxy 'http://squid:pw#hunter2@proxy.example.com:3128');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'https://qyapi.weixin.qq.com/cgi-bin/@x');
-- proxy credentials belong in user mappings, both or neither
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (proxy_user 'squid');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (proxy_password 'pw-hunter2');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_proxy
  OPTIONS (access_token 'fixed-basic', proxy_user 'squid');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_proxy
  OPTIONS (access_token 'fixed-basic', proxy_password 'pw-hunter2');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_proxy
  OPTIONS (access_token 'fixed-basic', proxy_user 'squid', proxy_password 'pw-hunter2');
ALTER USER MAPPING FOR CURRENT_USER SERVER sec_proxy OPTIONS (DROP proxy_password);
RESET log_min_error_statement;
-- and, like corp_secret in a role's own mapping, are visible to their user
-- and superusers only
GRANT USAGE ON FOREIGN SERVER sec_proxy TO regress_clf_sec_alice;
SET ROLE regress_clf_sec_alice;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'sec_proxy';
RESET ROLE;
-- ... except a PUBLIC mapping's: PostgreSQL shows its options to the
-- server's owner and the members of the owner's role as well
-- (pg_user_mappings, information_schema.user_mapping_options), and nothing
-- of ours can change that.  A server given to alice shows her the secret
-- of a superuser's PUBLIC mapping, and one given to bob shows it to alice,
-- a member of bob.  The README says so, and not to give such a server to a
-- role that must not read the secret
CREATE SERVER sec_given FOREIGN DATA WRAPPER contact_list_fdw;
CREATE USER MAPPING FOR PUBLIC SERVER sec_given
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
SET ROLE regress_clf_sec_alice;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'sec_given';
RESET ROLE;
ALTER SERVER sec_given OWNER TO regress_clf_sec_alice;
SET ROLE regress_clf_sec_alice;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'sec_given';
SELECT option_name, option_value FROM information_schema.user_mapping_options
  WHERE foreign_server_name = 'sec_given' ORDER BY option_name;
RESET ROLE;
ALTER SERVER sec_given OWNER TO regress_clf_sec_bob;
SET ROLE regress_clf_sec_alice;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'sec_given';
RESET ROLE;

--
-- 5. A host name, not only numeric addresses: localhost (libcurl answers
-- it without a resolver; names that need one are in test/fault_suite.py)
--
CREATE SERVER sec_localhost FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://localhost:18642/cgi-bin');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_localhost OPTIONS (access_token 'fixed-basic');
CREATE FOREIGN TABLE sec_localhost_contacts (external_userid text) SERVER sec_localhost;
SELECT count(*) FROM sec_localhost_contacts;

--
-- 6. The wrapper's own api_url, proxy and ca_file: defaults of every server
-- that only a superuser can write (ALTER FOREIGN DATA WRAPPER), ahead of the
-- settings, behind a server's own options
--
SET ROLE regress_clf_sec_alice;
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD proxy 'http://127.0.0.1:1');
RESET ROLE;
-- checked as the server options are
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD proxy 'proxy.example.com:3128');
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD api_url 'http://wecom.example.com/cgi-bin');
SET log_min_error_statement = panic;
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD proxy 'http://squid:pw-hunter2@proxy.example.com:3128');
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD corp_secret 'pw-hunter2');
RESET log_min_error_statement;
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD ca_file '');
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD page_size '10');
ALTER FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (ADD api_url 'http://127.0.0.1:18642/cgi-bin', ADD proxy 'http://127.0.0.1:18643');
-- the wrapper's win over the settings, for alice's server too
ALTER FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (ADD api_url 'https://wecom-relay.example.com/cgi-bin', ADD proxy 'http://127.0.0.1:1');
SET contact_list_fdw.api_url = 'http://127.0.0.1:18642/cgi-bin';
SET contact_list_fdw.proxy = '';
SET ROLE regress_clf_sec_alice;
EXPLAIN (COSTS OFF) SELECT * FROM sec_alice.contacts;
SELECT clf_error_of('SELECT * FROM sec_alice.contacts');
RESET ROLE;
RESET contact_list_fdw.api_url;
RESET contact_list_fdw.proxy;
-- a server's own options win over the wrapper's
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (DROP proxy);
SELECT count(*) FROM sec_localhost_contacts;
-- a plain http:// server under the wrapper's proxy is refused at scan
ALTER FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (DROP api_url, ADD proxy 'http://127.0.0.1:18643');
SELECT mock_reset();
SELECT clf_error_of('SELECT count(*) FROM sec_plain_contacts');
SELECT s -> 'contact_list' AS contact_list FROM mock_stats() s;
-- unless the server goes direct: its proxy '' (a superuser's, as any proxy)
SET ROLE regress_clf_sec_alice;
CREATE SERVER sec_direct FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (proxy '');
RESET ROLE;
ALTER SERVER sec_plain OPTIONS (ADD proxy '');
SET contact_list_fdw.proxy = 'http://127.0.0.1:1';
SELECT count(*) FROM sec_plain_contacts;
RESET contact_list_fdw.proxy;
ALTER SERVER sec_plain OPTIONS (DROP proxy);
-- and the wrapper's proxy '' is none, whatever the setting says
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (SET proxy '');
SET contact_list_fdw.proxy = 'http://127.0.0.1:1';
SELECT count(*) FROM sec_plain_contacts;
RESET contact_list_fdw.proxy;
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (DROP proxy);
SELECT count(*) FROM sec_plain_contacts;
SELECT fdwoptions FROM pg_foreign_data_wrapper WHERE fdwname = 'contact_list_fdw';
-- a wrapper with our handler but not our validator checks nobody's options:
-- a scan through it is refused before any request
CREATE FOREIGN DATA WRAPPER sec_novalid HANDLER contact_list_fdw_handler;
GRANT USAGE ON FOREIGN DATA WRAPPER sec_novalid TO regress_clf_sec_alice;
SELECT mock_reset();
SET ROLE regress_clf_sec_alice;
CREATE SERVER sec_unchecked FOREIGN DATA WRAPPER sec_novalid
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
CREATE USER MAPPING FOR regress_clf_sec_alice SERVER sec_unchecked
  OPTIONS (access_token 'fixed-basic');
CREATE FOREIGN TABLE sec_alice.unchecked_contacts (external_userid text)
  SERVER sec_unchecked;
SELECT clf_error_of('SELECT count(*) FROM sec_alice.unchecked_contacts');
RESET ROLE;
SELECT s -> 'contact_list' AS contact_list FROM mock_stats() s;
DROP FOREIGN DATA WRAPPER sec_novalid CASCADE;

--
-- 7. A view reads with its owner's user mapping (as PostgreSQL checks the
-- owner's privileges), a security_invoker view with the reader's: alice's
-- mapping serves basic (25 rows), bob's, once he has one, empty
--
CREATE SERVER sec_view FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
GRANT USAGE ON FOREIGN SERVER sec_view TO regress_clf_sec_alice;
CREATE USER MAPPING FOR regress_clf_sec_alice SERVER sec_view OPTIONS (access_token 'fixed-basic');
CREATE FOREIGN TABLE sec_alice.view_contacts (external_userid text) SERVER sec_view;
ALTER FOREIGN TABLE sec_alice.view_contacts OWNER TO regress_clf_sec_alice;
SET ROLE regress_clf_sec_alice;
CREATE VIEW sec_alice.owner_view AS SELECT * FROM sec_alice.view_contacts;
CREATE VIEW sec_alice.invoker_view WITH (security_invoker = true)
  AS SELECT * FROM sec_alice.view_contacts;
GRANT USAGE ON SCHEMA sec_alice TO regress_clf_sec_bob;
GRANT SELECT ON sec_alice.owner_view, sec_alice.invoker_view, sec_alice.view_contacts
  TO regress_clf_sec_bob;
RESET ROLE;
-- bob has no user mapping: the owner's view works, the invoker's does not
SET ROLE regress_clf_sec_bob;
SELECT count(*) AS via_owner_view FROM sec_alice.owner_view;
SELECT count(*) AS via_invoker_view FROM sec_alice.invoker_view;
RESET ROLE;
CREATE USER MAPPING FOR regress_clf_sec_bob SERVER sec_view OPTIONS (access_token 'fixed-empty');
SET ROLE regress_clf_sec_bob;
SELECT count(*) AS via_owner_view FROM sec_alice.owner_view;
SELECT count(*) AS via_invoker_view FROM sec_alice.invoker_view;
SELECT count(*) AS direct FROM sec_alice.view_contacts;
RESET ROLE;

-- clean up
DROP SERVER sec_view CASCADE;
DROP SERVER sec_proxy, sec_url, sec_ca, sec_new, sec_plain, sec_localhost, sec_given CASCADE;
DROP SCHEMA sec_alice CASCADE;
DROP OWNED BY regress_clf_sec_alice, regress_clf_sec_bob;
DROP ROLE regress_clf_sec_alice, regress_clf_sec_bob;
SELECT srvname FROM pg_foreign_server ORDER BY 1;
