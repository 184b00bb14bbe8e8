--
-- recent_scans: contact_list_fdw_recent_scans, the last scans that ended
-- anywhere in the cluster, with their outcome and error (recipes_cron shows
-- a pg_cron job's scan there).
--
SELECT clf_scenario_table('rs_ok', 'basic', 'page_size ''10''');
SELECT clf_scenario_table('rs_fail', 'e48002');
SELECT count(*) FROM rs_ok;
SELECT * FROM rs_ok LIMIT 1;
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
RESET ROLE;
DROP ROLE clf_rs_watcher;
SELECT clf_drop_scenario_table(t) FROM unnest(ARRAY['rs_ok', 'rs_fail']) t;
