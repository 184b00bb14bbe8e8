--
-- shared: the state every session shares (issue 11) -- the views
-- contact_list_fdw_progress and contact_list_fdw_stats, the reset function,
-- the option max_concurrent_requests and who may see what.  Concurrency
-- itself is tested by the fault suite (test/fault_suite.py).
--

-- where the state lives depends on the PostgreSQL (17+: a named DSM
-- segment; 15/16: shared_preload_libraries, as this suite runs them)
SELECT mode IN ('named DSM segment', 'shared_preload_libraries') AS shared,
       token_entries, server_entries, progress_slots > 0 AS has_progress_slots
  FROM contact_list_fdw_shared_info();

-- (setup lists every member of the extension)
SELECT extversion FROM pg_extension WHERE extname = 'contact_list_fdw';

-- max_concurrent_requests: a server option, 1..10000
SELECT clf_scenario_table('sh_t', 'basic', 'page_size ''5''');
ALTER SERVER sh_t_srv OPTIONS (ADD max_concurrent_requests '0');
ALTER SERVER sh_t_srv OPTIONS (ADD max_concurrent_requests 'two');
ALTER FOREIGN TABLE sh_t OPTIONS (ADD max_concurrent_requests '2');
ALTER SERVER sh_t_srv OPTIONS (ADD max_concurrent_requests '2');

-- the counters of a server: one scan of 5 pages, one stopped early, one failed
SELECT contact_list_fdw_stats_reset();
SELECT mock_reset();
SELECT count(*) FROM sh_t;
SELECT * FROM sh_t LIMIT 2;
SELECT clf_scenario_table('sh_fail', 'e48002');
SELECT clf_error_of('SELECT * FROM sh_fail');
SELECT server, scans_complete, scans_stopped_early, scans_failed, pages, rows, requests,
       requests_in_flight, retries, retry_causes, token_fetches, bytes > 0 AS bytes,
       datname = current_database() AS this_database, stats_reset <= now() AS reset_before
  FROM contact_list_fdw_stats WHERE server IN ('sh_t_srv', 'sh_fail_srv') ORDER BY server;
SELECT s -> 'contact_list' AS contact_list, s -> 'gettoken' AS gettoken FROM mock_stats() s;
-- a retried request counts by its cause
SELECT clf_scenario_table('sh_busy', 'busy2');
SET contact_list_fdw.retry_delay_ms = 1;
SELECT count(*) FROM sh_busy;
RESET contact_list_fdw.retry_delay_ms;
SELECT server, retries, retries_errcode, retries_http, retries_transport, retry_causes
  FROM contact_list_fdw_stats WHERE server = 'sh_busy_srv';
SELECT contact_list_fdw_stats_reset();
SELECT server, scans_complete, pages, rows, requests, retries, retry_causes
  FROM contact_list_fdw_stats WHERE server IN ('sh_t_srv', 'sh_busy_srv') ORDER BY server;

-- a running scan shows in contact_list_fdw_progress: here, read from inside
-- the scan itself, after its first page
SELECT p.foreign_table, p.server, p.state, p.pages, p.rows, p.requests, p.retries,
       p.token_fetches, p.usename = current_user AS mine, p.datname = current_database() AS here,
       p.foreign_table_oid = 'sh_t'::regclass AS oid_matches, p.waiting_until, p.wait_reason, p.last_error
  FROM (SELECT * FROM sh_t LIMIT 1) t,
       LATERAL (SELECT * FROM contact_list_fdw_progress WHERE pid = pg_backend_pid()) p;
-- its rows are the rows of the pages received, not those returned yet: a
-- cursor that took one row of a page of 5
BEGIN;
DECLARE sh_c CURSOR FOR SELECT external_userid FROM sh_t;
FETCH 1 FROM sh_c;
SELECT pages, rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
ROLLBACK;
-- a cursor that has fetched its last page is returning rows while some
-- are left; once it has handed out its last row it requests nothing more,
-- and says so until it is closed
BEGIN;
DECLARE sh_c CURSOR FOR SELECT external_userid FROM sh_t;
MOVE 21 FROM sh_c;
SELECT state, pages, rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
MOVE 4 FROM sh_c;
SELECT state, pages, rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
FETCH ALL FROM sh_c;
SELECT state, pages, rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
ROLLBACK;
-- and is gone when it ends
SELECT count(*) AS my_rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();

-- a cursor whose FETCH failed inside a savepoint can never return another
-- row, though its portal stays until the transaction ends: its row is gone
-- at ROLLBACK TO, whether the scan failed itself (an API error) or the
-- query around it (another node's error, a statement_timeout)
SELECT clf_scenario_table('sh_loop', 'loopcursor', 'page_size ''5''');
\set VERBOSITY terse
BEGIN;
DECLARE sh_c1 CURSOR FOR SELECT external_userid FROM sh_loop;
SAVEPOINT s;
FETCH 10 FROM sh_c1;
ROLLBACK TO s;
SELECT count(*) AS failed_scan_rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
DECLARE sh_c2 CURSOR FOR SELECT 1 / (length(external_userid) * 0) FROM sh_t;
SAVEPOINT s;
FETCH 1 FROM sh_c2;
ROLLBACK TO s;
SELECT count(*) AS failed_query_rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
DECLARE sh_c3 CURSOR FOR SELECT external_userid, pg_sleep(60) FROM sh_t;
SAVEPOINT s;
SET LOCAL statement_timeout = '200ms';
FETCH 1 FROM sh_c3;
ROLLBACK TO s;
SELECT count(*) AS cancelled_query_rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
-- a cursor whose first FETCH ran in a savepoint rolled back without an
-- error goes on, and keeps its row
DECLARE sh_c4 CURSOR FOR SELECT external_userid FROM sh_t;
SAVEPOINT s;
FETCH 1 FROM sh_c4;
ROLLBACK TO s;
FETCH 1 FROM sh_c4;
SELECT foreign_table, rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
CLOSE sh_c4;
-- 16 failed cursors of each kind (a session's number of rows) leave the
-- rows to the scans after them: one started now has its own
DO $$
DECLARE
  c refcursor;
BEGIN
  FOR i IN 1..16 LOOP
    c := 'sh_own_' || i;
    OPEN c FOR SELECT external_userid FROM sh_loop;
    BEGIN
      MOVE FORWARD 10 IN c;
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    c := 'sh_other_' || i;
    OPEN c FOR SELECT 1 / (length(external_userid) * 0) FROM sh_t;
    BEGIN
      MOVE FORWARD 1 IN c;
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
  END LOOP;
END $$;
SELECT count(*) AS open_cursors FROM pg_cursors WHERE name ~ '^sh_(own|other)_';
SELECT count(*) AS failed_rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
SELECT p.foreign_table, p.state
  FROM (SELECT * FROM sh_t LIMIT 1) t,
       LATERAL (SELECT * FROM contact_list_fdw_progress WHERE pid = pg_backend_pid()) p;
COMMIT;
\set VERBOSITY default

-- other users' scans only for pg_read_all_stats: a function running as a
-- plain role looks at this session's scan
CREATE ROLE clf_watcher;
CREATE FUNCTION clf_watch() RETURNS bigint LANGUAGE sql SECURITY DEFINER
  AS $$ SELECT count(*) FROM contact_list_fdw_progress WHERE pid = pg_backend_pid() $$;
ALTER FUNCTION clf_watch() OWNER TO clf_watcher;
SELECT w.seen FROM (SELECT * FROM sh_t LIMIT 1) t, LATERAL (SELECT clf_watch() AS seen) w;
GRANT pg_read_all_stats TO clf_watcher;
SELECT w.seen FROM (SELECT * FROM sh_t LIMIT 1) t, LATERAL (SELECT clf_watch() AS seen) w;

-- the counters are anyone's to read; resetting them is for superusers and
-- whom they grant it to
SET ROLE clf_watcher;
SELECT count(*) > 0 AS can_read FROM contact_list_fdw_stats;
SELECT contact_list_fdw_stats_reset();
RESET ROLE;
GRANT EXECUTE ON FUNCTION contact_list_fdw_stats_reset() TO clf_watcher;
SET ROLE clf_watcher;
SELECT contact_list_fdw_stats_reset();
RESET ROLE;

REVOKE EXECUTE ON FUNCTION contact_list_fdw_stats_reset() FROM clf_watcher;
DROP FUNCTION clf_watch();
DROP ROLE clf_watcher;
SELECT count(clf_drop_scenario_table(t)::text) AS dropped
  FROM unnest(ARRAY['sh_t', 'sh_fail', 'sh_busy', 'sh_loop']) t;
