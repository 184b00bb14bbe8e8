--
-- options: every option is checked by the validator at CREATE/ALTER time
-- (issue 2, item 3).  Objects made here are named opt_* and dropped at the end.
--

-- unknown options list the valid ones of that object
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (url 'https://x');
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD debug 'on');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (cursor 'x');
CREATE FOREIGN TABLE opt_t1 (a text OPTIONS (key 'name')) SERVER wecom;
-- a server option is not a table option, and the reverse
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (timeout_ms '5');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (rows_estimate '5');

-- numeric options: not a number, below the minimum, above the maximum
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (timeout_ms 'soon');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (timeout_ms '0');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (timeout_ms '3600001');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (timeout_ms '10s');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (connect_timeout_ms '0');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (connect_timeout_ms '3600001');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (page_size '0');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (page_size '1001');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (page_size '99999999999999999999');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (max_retries '-1');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (max_retries '21');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (max_response_bytes '1023');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (max_response_bytes '4294967297');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (request_cost '-1');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (request_cost 'Infinity');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (row_cost 'NaN');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (row_cost 'cheap');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (page_size '0');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (page_size '1001');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (max_retries '-1');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (max_retries '21');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (rows_estimate '-1');

-- the bounds themselves are valid
CREATE SERVER opt_lo FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (timeout_ms '1', connect_timeout_ms '1', page_size '1', max_retries '0',
           max_response_bytes '1024', request_cost '0', row_cost '0');
CREATE SERVER opt_hi FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (timeout_ms '3600000', connect_timeout_ms '3600000', page_size '1000',
           max_retries '20', max_response_bytes '4294967296', request_cost '1e6', row_cost '0.5');
-- ALTER is checked too
ALTER SERVER opt_lo OPTIONS (SET page_size '1001');
ALTER SERVER opt_lo OPTIONS (ADD bogus '1');
ALTER SERVER opt_lo OPTIONS (SET page_size '500');
SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname LIKE 'opt\_%' ORDER BY 1;

-- api_url: https, or plain http to a loopback address only
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://qyapi.weixin.qq.com/cgi-bin');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'ftp://127.0.0.1/cgi-bin');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'https://');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'qyapi.weixin.qq.com');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://localhost.example.com/');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://128.0.0.1/');
-- userinfo before a non-loopback host must not pass as loopback
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://127.0.0.1@example.com/');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://127.0.0.1:80@example.com/');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://[::1]:80@example.com/');
-- a URL libcurl cannot parse fails now, not at the first scan: a port
-- beyond 65535, an IPv6 address without its "]"
SELECT clf_error_of($$CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://127.0.0.1:99999/cgi-bin')$$);
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'https://[::1/cgi-bin');
-- the request's path and query are appended: none of its own, no fragment
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'https://relay.example.com/cgi-bin?key=1');
-- an api_url without WeCom's /cgi-bin is accepted, with a warning at once
CREATE SERVER opt_nopath FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'https://qyapi.weixin.qq.com');
ALTER SERVER opt_nopath OPTIONS (SET api_url 'https://qyapi.weixin.qq.com/cgi-bin/');
ALTER SERVER opt_nopath OPTIONS (SET api_url 'https://relay.example.com/wecom/api');
ALTER SERVER opt_nopath OPTIONS (SET api_url 'https://qyapi.weixin.qq.com/cgi-bin#top');
-- the path libcurl reads: here the host is "cgi-bin", and "/.." leaves it
ALTER SERVER opt_nopath OPTIONS (SET api_url 'https:///cgi-bin');
ALTER SERVER opt_nopath OPTIONS (SET api_url 'https://qyapi.weixin.qq.com/cgi-bin/..');
ALTER SERVER opt_nopath OPTIONS (SET api_url 'https://qyapi.weixin.qq.com/wecom/../cgi-bin');
DROP SERVER opt_nopath;
-- these are fine
ALTER SERVER opt_hi OPTIONS (ADD api_url 'https://qyapi.weixin.qq.com/cgi-bin');
ALTER SERVER opt_hi OPTIONS (SET api_url 'HTTPS://proxy.example.com:8443/wecom/cgi-bin/');
ALTER SERVER opt_hi OPTIONS (SET api_url 'http://localhost:18642/cgi-bin');
ALTER SERVER opt_hi OPTIONS (SET api_url 'http://127.3.4.5/cgi-bin');
ALTER SERVER opt_hi OPTIONS (SET api_url 'http://[::1]:18642/cgi-bin');
-- loopback is the host libcurl reads, the one a request goes to (userinfo
-- before it is refused above): "localhost" in any case, 127.0.0.0/8 as
-- libcurl normalises it (127.1 is 127.0.0.1), ::1 however written; not a
-- name that starts like one, nor another IPv6 address (::ffff:127.0.0.1)
ALTER SERVER opt_hi OPTIONS (SET api_url 'HTTP://LOCALHOST/cgi-bin');
ALTER SERVER opt_hi OPTIONS (SET api_url 'http://127.1/cgi-bin');
ALTER SERVER opt_hi OPTIONS (SET api_url 'http://[::1]:8080/cgi-bin');
ALTER SERVER opt_hi OPTIONS (SET api_url 'http://[0:0:0:0:0:0:0:1]/cgi-bin');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://localhost.evil.example/cgi-bin');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://127.0.0.1.evil.example/cgi-bin');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://[::2]/cgi-bin');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://[::ffff:127.0.0.1]/cgi-bin');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://[::1]evil.example/cgi-bin');
SET contact_list_fdw.api_url = 'http://localhost.evil.example/cgi-bin';
SET contact_list_fdw.api_url = 'http://127.1/cgi-bin';
SET contact_list_fdw.api_url = 'http://127.0.0.1/cgi-bin?';
RESET contact_list_fdw.api_url;
-- proxy: a scheme and a host (and an https:// api_url: sql/security.sql)
ALTER SERVER opt_hi OPTIONS (SET api_url 'https://qyapi.weixin.qq.com/cgi-bin');
ALTER SERVER opt_hi OPTIONS (ADD proxy '127.0.0.1:3128');
ALTER SERVER opt_hi OPTIONS (ADD proxy 'http://');
SELECT clf_error_of($$ALTER SERVER opt_hi OPTIONS (ADD proxy 'http://[bad')$$);
ALTER SERVER opt_hi OPTIONS (ADD proxy 'socks5://127.0.0.1:65536');
-- port 0 too: nothing can be connected to there (the settings' too)
ALTER SERVER opt_hi OPTIONS (ADD proxy 'http://127.0.0.1:0');
SET contact_list_fdw.proxy = 'socks5h://[::1]:0';
ALTER SERVER opt_hi OPTIONS (SET api_url 'https://qyapi.weixin.qq.com:00/cgi-bin');
-- the settings are held to the same rules
SET contact_list_fdw.api_url = 'https://127.0.0.1:99999/cgi-bin';
SET contact_list_fdw.proxy = 'http://[bad';
ALTER SERVER opt_hi OPTIONS (ADD proxy 'socks5h://127.0.0.1:1080');
ALTER SERVER opt_hi OPTIONS (ADD ca_file '');
ALTER SERVER opt_hi OPTIONS (ADD ca_file '/etc/ssl/certs/ca-certificates.crt');

-- secrets belong in user mappings only: an error with a hint to move them
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (corp_secret 's3cr3t');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (access_token 't0k3n');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (corp_id 'ww1');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (corp_secret 's3cr3t');
CREATE FOREIGN TABLE opt_t1 (a text) SERVER wecom OPTIONS (access_token 't0k3n');
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD corp_secret 's3cr3t');

-- user mappings: corp_id + corp_secret, or access_token, never both.
-- (PostgreSQL logs the text of a failing statement, credentials included,
-- which test/check_secrets.sh would flag: not here)
SET log_min_error_statement = panic;
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (user 'x');
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (access_token 'fixed-basic', corp_id 'corp-basic');
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (access_token 'fixed-basic', corp_secret 'secret-ok');
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (corp_id 'corp-basic');
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (corp_secret 'secret-ok');
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (corp_id '', corp_secret 'secret-ok');
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (access_token '');
CREATE USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
-- ALTER sees the resulting set of options
ALTER USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (ADD access_token 'fixed-basic');
ALTER USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (DROP corp_secret);
ALTER USER MAPPING FOR PUBLIC SERVER opt_lo OPTIONS (DROP corp_id, DROP corp_secret, ADD access_token 'fixed-basic');
-- a mapping without options is valid at CREATE; the scan reports it (errors)
CREATE USER MAPPING FOR PUBLIC SERVER opt_hi;
RESET log_min_error_statement;

-- api_url, proxy and ca_file decide where the database host connects:
-- superusers only.  Other options are fine for a server's owner.
CREATE ROLE regress_clf_opt_user NOLOGIN;
GRANT USAGE ON FOREIGN DATA WRAPPER contact_list_fdw TO regress_clf_opt_user;
SET ROLE regress_clf_opt_user;
CREATE SERVER opt_user FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'https://qyapi.weixin.qq.com/cgi-bin');
CREATE SERVER opt_user FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (proxy 'http://127.0.0.1:18643');
CREATE SERVER opt_user FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ca_file '/tmp/ca.pem');
CREATE SERVER opt_user FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (page_size '10', timeout_ms '5000');
ALTER SERVER opt_user OPTIONS (ADD api_url 'http://127.0.0.1:18642/cgi-bin');
ALTER SERVER opt_user OPTIONS (ADD proxy 'http://127.0.0.1:18643');
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_user OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
RESET ROLE;
SELECT srvname, srvoptions, pg_get_userbyid(srvowner) AS owner FROM pg_foreign_server WHERE srvname = 'opt_user';

-- the table's page_size wins over the server's; the server's over the default
CREATE SERVER opt_paged FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin', page_size '7');
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_paged
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
CREATE FOREIGN TABLE opt_server_pages (tmp_openid text) SERVER opt_paged;
CREATE FOREIGN TABLE opt_table_pages (tmp_openid text) SERVER opt_paged OPTIONS (page_size '10');
SELECT mock_reset();
SELECT count(*) FROM opt_server_pages;
SELECT mock_stats() -> 'limits' AS limits;
SELECT mock_reset();
SELECT count(*) FROM opt_table_pages;
SELECT mock_stats() -> 'limits' AS limits;
-- ALTER FOREIGN TABLE changes it for the next query
ALTER FOREIGN TABLE opt_table_pages OPTIONS (SET page_size '25');
SELECT mock_reset();
SELECT count(*) FROM opt_table_pages;
SELECT mock_stats() -> 'limits' AS limits;

-- column option field: the JSON key to read when the column's name differs
CREATE FOREIGN TABLE opt_fields (
  nickname text OPTIONS (field 'name'),
  owner    text OPTIONS (field 'follow_userid'),
  added    timestamptz OPTIONS (field 'add_time'),
  name     text OPTIONS (field 'external_userid')
) SERVER wecom;
SET timezone = 'UTC';
SELECT * FROM opt_fields ORDER BY added LIMIT 4;
ALTER FOREIGN TABLE opt_fields ALTER COLUMN nickname OPTIONS (SET field 'chat_name');
SELECT nickname FROM opt_fields WHERE nickname IS NOT NULL ORDER BY added;
ALTER FOREIGN TABLE opt_fields ALTER COLUMN nickname OPTIONS (SET field '');
ALTER FOREIGN TABLE opt_fields ALTER COLUMN nickname OPTIONS (ADD field2 'x');
RESET timezone;

-- clean up
DROP FOREIGN TABLE opt_server_pages, opt_table_pages, opt_fields;
DROP USER MAPPING FOR PUBLIC SERVER opt_lo;
DROP USER MAPPING FOR PUBLIC SERVER opt_hi;
DROP USER MAPPING FOR CURRENT_USER SERVER opt_paged;
DROP SERVER opt_lo, opt_hi, opt_paged;
DROP OWNED BY regress_clf_opt_user;
DROP ROLE regress_clf_opt_user;
SELECT srvname FROM pg_foreign_server ORDER BY 1;
