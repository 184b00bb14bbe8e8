--
-- recent_scans: contact_list_fdw_recent_scans, the last scans that ended
-- anywhere in the cluster, with their outcome and error (recipes_cron shows
-- a pg_cron job's scan there).
--
SELECT clf_scenario_table('rs_ok', 'basic', 'page_size ''10''');
SELECT clf_scenario_table('rs_fail', 'e48002');
SELECT count(*) FROM rs_ok;
-- (not tmp_openid: its traversal number depends on the files run before)
SELECT is_customer, external_userid, follow_userid, add_time FROM rs_ok LIMIT 1;
SELECT clf_error_of('SELECT * FROM rs_fail');
SELECT foreign_table, server, outcome, pages, rows, requests, error,
       backend_type, usename = current_user AS mine, datname = current_database() AS here,
       foreign_table_oid = foreign_table::regclass AS oid_matches, ended_at >= started_at AS ordered
  FROM contact_list_fdw_recent_scans WHERE pid = pg_backend_pid()
 ORDER BY ended_at DESC LIMIT 3;

-- other users' scans only for members of pg_read_all_stats
CREATE ROLE clf_rs_watcher;
SET ROLE clf_rs_watcher;
SELECT count(*) AS seen FROM contact_list_fdw_recent_scans WHERE pid = pg_backend_pid();
RESET ROLE;
GRANT pg_read_all_stats TO clf_rs_watcher;
SET ROLE clf_rs_watcher;
SELECT count(*) >= 3 AS seen FROM contact_list_fdw_recent_scans WHERE pid = pg_backend_pid();
-- ... but their errors, which may quote a value read, only to those who may
-- read the table
SELECT foreign_table, outcome, error FROM contact_list_fdw_recent_scans
 WHERE pid = pg_backend_pid() AND foreign_table_oid = 'rs_fail'::regclass;
RESET ROLE;
GRANT SELECT ON rs_fail TO clf_rs_watcher;
SET ROLE clf_rs_watcher;
SELECT foreign_table, outcome, error FROM contact_list_fdw_recent_scans
 WHERE pid = pg_backend_pid() AND foreign_table_oid = 'rs_fail'::regclass;
RESET ROLE;
REVOKE SELECT ON rs_fail FROM clf_rs_watcher;
-- the error of a scan in a SECURITY DEFINER function is the owner's read:
-- shown to the session's user only if it may read the table too
CREATE FOREIGN TABLE rs_quote (is_customer date) SERVER wecom;
CREATE FUNCTION rs_definer() RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  PERFORM * FROM rs_quote;
  RETURN 'read';
EXCEPTION WHEN OTHERS THEN
  RETURN 'failed';
END $$;
REVOKE pg_read_all_stats FROM clf_rs_watcher;
SET SESSION AUTHORIZATION clf_rs_watcher;
SELECT rs_definer();
SELECT usename = current_user AS mine, outcome, error FROM contact_list_fdw_recent_scans
 WHERE pid = pg_backend_pid() AND foreign_table_oid = 'rs_quote'::regclass;
RESET SESSION AUTHORIZATION;
SELECT outcome, error FROM contact_list_fdw_recent_scans
 WHERE pid = pg_backend_pid() AND foreign_table_oid = 'rs_quote'::regclass;
DROP FUNCTION rs_definer();
DROP FOREIGN TABLE rs_quote;
DROP ROLE clf_rs_watcher;

-- an error is kept to its first 255 bytes: a long api_url (the mock
-- answers 404 to a path it does not know) makes a longer message
SELECT clf_scenario_table('rs_long', 'basic');
DO $$
BEGIN
  EXECUTE format('ALTER SERVER rs_long_srv OPTIONS (SET api_url %L)',
                 'http://127.0.0.1:18642/' || repeat('a-long-path/', 25) || 'cgi-bin');
END $$;
CREATE TEMP TABLE rs_long_error AS
  SELECT substr(l, 10) AS message
    FROM clf_error_of('SELECT * FROM rs_long') l WHERE l LIKE 'message: %';
SELECT octet_length(e.message) > 255 AS long_message, octet_length(r.error) AS kept_bytes,
       r.error = left(e.message, 255) AS its_start
  FROM rs_long_error e, contact_list_fdw_recent_scans r
 WHERE r.foreign_table_oid = 'rs_long'::regclass AND r.pid = pg_backend_pid();

-- the ring holds the last 256 scans that ended: 256 more push out rs_first
SELECT clf_scenario_table('rs_first', 'basic');
SELECT count(*) FROM (SELECT * FROM rs_first LIMIT 1) s;
SELECT count(*) AS first_listed FROM contact_list_fdw_recent_scans WHERE foreign_table_oid = 'rs_first'::regclass;
DO $$
BEGIN
  FOR i IN 1..256 LOOP
    PERFORM * FROM rs_ok LIMIT 1;
  END LOOP;
END $$;
SELECT count(*) AS listed,
       count(*) FILTER (WHERE foreign_table_oid = 'rs_first'::regclass) AS first_listed
  FROM contact_list_fdw_recent_scans;

-- a cursor's scan still open while 100 more start in the session (they
-- take its entry in the session's ring of 100) still counts when it ends,
-- in contact_list_fdw_stats and here
SELECT clf_scenario_table('rs_cursor', 'basic', 'page_size ''10''');
SELECT contact_list_fdw_stats_reset();
BEGIN;
DECLARE rs_c CURSOR FOR SELECT external_userid FROM rs_cursor;
FETCH 1 FROM rs_c;
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    PERFORM count(*) FROM rs_cursor;
  END LOOP;
END $$;
MOVE ALL IN rs_c;
CLOSE rs_c;
COMMIT;
SELECT scans_complete, scans_stopped_early, scans_failed
  FROM contact_list_fdw_stats WHERE server = 'rs_cursor_srv';
-- the cursor's scan: the first to start, the last to end
SELECT count(*) AS listed,
       count(*) FILTER (WHERE started_at = first_start AND ended_at = last_end
                          AND outcome = 'complete' AND rows = 25) AS cursor_listed
  FROM (SELECT *, min(started_at) OVER () AS first_start, max(ended_at) OVER () AS last_end
          FROM contact_list_fdw_recent_scans
         WHERE foreign_table_oid = 'rs_cursor'::regclass AND pid = pg_backend_pid()) r;
SELECT count(*) > 0 AS failed FROM clf_error_of('SELECT * FROM rs_fail');
SELECT 'rs_fail'::regclass::oid AS rs_fail_oid \gset
SELECT clf_drop_scenario_table(t) FROM unnest(ARRAY['rs_ok', 'rs_fail', 'rs_long', 'rs_first', 'rs_cursor']) t;
-- a scan of a table dropped since: its error is nobody's to read but its
-- user's, and reading the view is no error
CREATE ROLE clf_rs_watcher IN ROLE pg_read_all_stats;
SET ROLE clf_rs_watcher;
SELECT outcome, error IS NULL AS error_hidden FROM contact_list_fdw_recent_scans
 WHERE pid = pg_backend_pid() AND foreign_table_oid = :rs_fail_oid;
RESET ROLE;
DROP ROLE clf_rs_watcher;
