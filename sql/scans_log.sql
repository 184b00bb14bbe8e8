--
-- scans_log: contact_list_fdw_scans() lists this session's recent scans,
-- with their counters and how they ended.
--
\c
SELECT count(*) FROM contact_list_fdw_scans();   -- a new session has none

SELECT count(*) FROM wecom_contacts;                         -- complete
SELECT count(*) FROM (SELECT * FROM wecom_contacts LIMIT 1) s;  -- stopped early
-- stopped early too: a LIMIT met within the last page (the qual keeps the
-- limit from WeCom, so the one page holds every row)
SELECT count(*) FROM (SELECT * FROM wecom_contacts WHERE name IS NOT NULL LIMIT 1) s;

CREATE SERVER wecom_log_err FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
CREATE USER MAPPING FOR CURRENT_USER SERVER wecom_log_err
  OPTIONS (access_token 'fixed-e48002');
CREATE FOREIGN TABLE wecom_log_err_contacts (name text) SERVER wecom_log_err;
SELECT * FROM wecom_log_err_contacts;                        -- error
-- an error after the page arrived (here a conversion) is recorded too
-- with its own message: a domain's constraint, an input function's syntax
CREATE FOREIGN TABLE wecom_log_bad_type (is_customer date) SERVER wecom;
SELECT * FROM wecom_log_bad_type;
CREATE DOMAIN log_nn_text AS text NOT NULL;
CREATE FOREIGN TABLE wecom_log_bad_domain (name log_nn_text) SERVER wecom;
SELECT * FROM wecom_log_bad_domain;
-- redacted as a fetch's error is, for other roles read the log: a value
-- that happens to be the proxy_password is not kept (the query's own error
-- is the user's)
CREATE SERVER wecom_log_conv FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
CREATE USER MAPPING FOR CURRENT_USER SERVER wecom_log_conv
  OPTIONS (access_token 'fixed-basic', proxy_user 'squid', proxy_password 'zhangwei');
CREATE FOREIGN TABLE wecom_log_conv_contacts (follow_userid date) SERVER wecom_log_conv;
SELECT * FROM wecom_log_conv_contacts;
-- ANALYZE records its own error the same way: a fetch's, a conversion's
-- (redacted too)
ANALYZE wecom_log_err_contacts;
ANALYZE wecom_log_bad_type;
ANALYZE wecom_log_conv_contacts;

SELECT foreign_table, pages, requests, retries, token_fetches, rows,
       bytes > 0 AS got_bytes, outcome, error,
       duration_ms >= network_ms AS network_within_duration
  FROM contact_list_fdw_scans() ORDER BY scan_id;

-- the log keeps the last 100 scans
DO $$ BEGIN FOR i IN 1..120 LOOP PERFORM * FROM wecom_contacts LIMIT 1; END LOOP; END $$;
SELECT count(*), min(scan_id) > 3 AS oldest_dropped FROM contact_list_fdw_scans();

DROP SERVER wecom_log_err CASCADE;
DROP FOREIGN TABLE wecom_log_bad_type, wecom_log_bad_domain;
DROP DOMAIN log_nn_text;
DROP SERVER wecom_log_conv CASCADE;

-- the planner expects at most 100 rows (the ring's size), and the function
-- runs in the leader of a parallel query, whose log it is (SQL version 1.1)
SELECT prorows, proparallel FROM pg_proc WHERE oid = 'contact_list_fdw_scans'::regproc;

-- a scan the executor never ended: an open cursor left idle when its
-- transaction or savepoint rolls back only stopped early (complete once it
-- has returned every row), even after another statement's error; a query
-- that fails while the scan runs, in a node of its own or in a FETCH of a
-- cursor declared before the savepoint, is an error
SELECT clf_scenario_table('sl_rb', 'basic', 'page_size ''5''');
SELECT max(scan_id) AS scans_before FROM contact_list_fdw_scans() \gset
BEGIN; DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_rb; MOVE 2 c; COMMIT;
BEGIN; DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_rb; MOVE 2 c; ROLLBACK;
BEGIN; SAVEPOINT s; DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_rb; MOVE 2 c;
ROLLBACK TO s; COMMIT;
BEGIN; DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_rb; MOVE ALL c; ROLLBACK;
-- complete once it has handed out the last row, before an empty FETCH
BEGIN; DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_rb; MOVE 25 c; ROLLBACK;
BEGIN; DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_rb; MOVE 2 c;
SELECT 1 / 0; ROLLBACK;
SELECT n / (n - 7) FROM (SELECT row_number() OVER () AS n FROM sl_rb) s;
BEGIN;
DECLARE c CURSOR FOR SELECT n / (n - 7) FROM (SELECT row_number() OVER () AS n FROM sl_rb) s;
FETCH 2 c;
SAVEPOINT s; FETCH 10 c; ROLLBACK TO s;
CLOSE c;
COMMIT;
-- an error caught in a function: its query failed (its memory goes later)
DO $$ BEGIN
  BEGIN
    PERFORM n / (n - 7) FROM (SELECT row_number() OVER () AS n FROM sl_rb) s;
  EXCEPTION WHEN division_by_zero THEN NULL;
  END;
END $$;
-- a savepoint rolled back inside the query (a function's exception block)
-- fails none of it: the cursor's FETCH returned, the cursor stopped early
CREATE FUNCTION sl_caught() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  BEGIN PERFORM 1 / 0; EXCEPTION WHEN division_by_zero THEN NULL; END;
  RETURN 1;
END $$;
BEGIN; DECLARE c CURSOR FOR SELECT sl_caught() FROM sl_rb; MOVE 2 c; ROLLBACK;
-- a function's loop over a query fails with the statement that called it,
-- idle as its scan was; a cursor moved inside a statement that returned
-- does not, though a later statement fails (it may get the same address)
CREATE FUNCTION sl_loop() RETURNS int LANGUAGE plpgsql AS $$
DECLARE r record; n int := 0;
BEGIN
  FOR r IN SELECT tmp_openid FROM sl_rb LOOP
    n := n + 1;
    IF n = 2 THEN RAISE EXCEPTION 'stop at row %', n; END IF;
  END LOOP;
  RETURN n;
END $$;
SELECT sl_loop();
CREATE FUNCTION sl_move(c refcursor) RETURNS int LANGUAGE plpgsql AS $$
BEGIN MOVE FORWARD 2 IN c; RETURN 1; END $$;
BEGIN; DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_rb;
SELECT sl_move('c');
SELECT sl_move('x');
ROLLBACK;
DROP FUNCTION sl_loop(), sl_move(refcursor);
-- an AFTER trigger failing the query once every row was read
CREATE TABLE sl_rb_copy (tmp_openid text);
CREATE FUNCTION sl_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused'; END $$;
CREATE TRIGGER sl_refuse AFTER INSERT ON sl_rb_copy
  FOR EACH STATEMENT EXECUTE FUNCTION sl_refuse();
INSERT INTO sl_rb_copy SELECT tmp_openid FROM sl_rb;
DROP TABLE sl_rb_copy;
DROP FUNCTION sl_refuse(), sl_caught();
SELECT foreign_table, rows, outcome, error FROM contact_list_fdw_scans()
 WHERE scan_id > :scans_before ORDER BY scan_id;
SELECT scans_complete, scans_stopped_early, scans_failed
  FROM contact_list_fdw_stats WHERE server = 'sl_rb_srv';
SELECT clf_drop_scenario_table('sl_rb');

-- the current user changes within a session (SET ROLE, a SECURITY DEFINER
-- function): a scan run as another user is shown as
-- contact_list_fdw_recent_scans shows it, only to members of
-- pg_read_all_stats, and its error, which may quote a value it read, only
-- to roles that may SELECT the table
CREATE FOREIGN TABLE sl_quote (is_customer date) SERVER wecom;
SELECT clf_error_of('SELECT * FROM sl_quote');
SELECT max(scan_id) AS quote_scan FROM contact_list_fdw_scans() \gset
SELECT outcome, error FROM contact_list_fdw_scans() WHERE scan_id = :quote_scan;
CREATE ROLE clf_sl_watcher;
SET ROLE clf_sl_watcher;
SELECT count(*) AS seen FROM contact_list_fdw_scans() WHERE scan_id = :quote_scan;
RESET ROLE;
GRANT pg_read_all_stats TO clf_sl_watcher;
SET ROLE clf_sl_watcher;
SELECT outcome, error FROM contact_list_fdw_scans() WHERE scan_id = :quote_scan;
RESET ROLE;
GRANT SELECT ON sl_quote TO clf_sl_watcher;
SET ROLE clf_sl_watcher;
SELECT outcome, error FROM contact_list_fdw_scans() WHERE scan_id = :quote_scan;
RESET ROLE;
REVOKE SELECT ON sl_quote FROM clf_sl_watcher;
-- a function running as its owner, which catches its scan's error
CREATE FUNCTION sl_definer() RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  PERFORM * FROM sl_quote;
  RETURN 'read';
EXCEPTION WHEN OTHERS THEN
  RETURN 'failed';
END $$;
SET ROLE clf_sl_watcher;
SELECT sl_definer();
SELECT outcome, error FROM contact_list_fdw_scans() WHERE scan_id > :quote_scan;
RESET ROLE;
SELECT outcome, error FROM contact_list_fdw_scans() WHERE scan_id > :quote_scan;
-- a role's own scans it sees whole after SET ROLE; and in a session whose
-- user it is (SET SESSION AUTHORIZATION) the function's scan too, but not
-- its error: the function's owner read the value
REVOKE pg_read_all_stats FROM clf_sl_watcher;
GRANT SELECT ON sl_quote TO clf_sl_watcher;
CREATE USER MAPPING FOR clf_sl_watcher SERVER wecom
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
SELECT max(scan_id) AS own_scan FROM contact_list_fdw_scans() \gset
SET ROLE clf_sl_watcher;
SELECT clf_error_of('SELECT * FROM sl_quote');
SELECT scan_id > :own_scan AS own, outcome, error FROM contact_list_fdw_scans()
 WHERE scan_id > :quote_scan ORDER BY scan_id;
RESET ROLE;
REVOKE SELECT ON sl_quote FROM clf_sl_watcher;
SET SESSION AUTHORIZATION clf_sl_watcher;
SELECT sl_definer();
SELECT scan_id > :own_scan AS own, outcome, error FROM contact_list_fdw_scans()
 WHERE scan_id > :quote_scan ORDER BY scan_id;
RESET SESSION AUTHORIZATION;
DROP USER MAPPING FOR clf_sl_watcher SERVER wecom;
DROP FUNCTION sl_definer();
DROP FOREIGN TABLE sl_quote;
DROP ROLE clf_sl_watcher;

-- a running scan shows its counters as of its last page, not zeros until
-- it ends
SELECT clf_scenario_table('sl_live', 'basic', 'page_size ''5''');
BEGIN;
DECLARE c CURSOR FOR SELECT tmp_openid FROM sl_live;
MOVE 7 c;
SELECT outcome, pages, requests, rows FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT 1;
MOVE ALL c;
SELECT outcome, pages, requests, rows FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT 1;
ROLLBACK;
DROP SERVER sl_live_srv CASCADE;
