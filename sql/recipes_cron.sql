--
-- recipes_cron: the README's scheduled refresh, run for real by pg_cron's
-- worker, over recipes' customer_relationships.  Only where pg_cron is
-- packaged for this PostgreSQL (the Makefile leaves this file out otherwise,
-- and make test says so).  The cluster is configured as the README's recipe
-- says (test/lib.sh: cron.database_name, cron.use_background_workers, both
-- libraries preloaded).
--
-- Nothing here depends on where in the minute the test starts:
--  * the job is scheduled only once pg_cron's launcher is connected to this
--    database (it starts with the server, and retries until
--    cron.database_name exists);
--  * pg_cron 1.5 and later take a seconds schedule, which runs within
--    seconds; 1.4 (Debian 12) only has minutes, so the wait covers two whole
--    minutes after the launcher is up (its first run comes at the next
--    minute's start).
--
-- The view must change: the mapping serves no rows when the view is
-- filled, and the corp's 13 customer rows by the time the job runs.
ALTER USER MAPPING FOR CURRENT_USER SERVER wecom
  OPTIONS (SET corp_id 'corp-empty');
REFRESH MATERIALIZED VIEW CONCURRENTLY customer_relationships;
SELECT count(*) AS before_the_job FROM customer_relationships;
ALTER USER MAPPING FOR CURRENT_USER SERVER wecom
  OPTIONS (SET corp_id 'corp-basic');

CREATE EXTENSION pg_cron;
DO $$
BEGIN
  FOR i IN 1..600 LOOP
    PERFORM 1 FROM pg_stat_activity
      WHERE backend_type = 'pg_cron launcher' AND datname = current_database();
    EXIT WHEN FOUND;
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT count(*) AS launcher_running FROM pg_stat_activity
 WHERE backend_type = 'pg_cron launcher' AND datname = current_database();

-- the README's command, on the tightest schedule this pg_cron has
CREATE TEMP TABLE cron_wait (seconds int);
DO $$
BEGIN
  BEGIN
    PERFORM cron.schedule('refresh-customers', '2 seconds',
      'REFRESH MATERIALIZED VIEW CONCURRENTLY customer_relationships');
    INSERT INTO cron_wait VALUES (60);
  EXCEPTION WHEN invalid_parameter_value THEN
    PERFORM cron.schedule('refresh-customers', '* * * * *',
      'REFRESH MATERIALIZED VIEW CONCURRENTLY customer_relationships');
    INSERT INTO cron_wait VALUES (150);
  END;
END $$;
SELECT jobname, command FROM cron.job;
DO $$
DECLARE
  deadline timestamptz := clock_timestamp() + make_interval(secs => (SELECT seconds FROM cron_wait));
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    PERFORM 1 FROM cron.job_run_details WHERE status IN ('succeeded', 'failed');
    EXIT WHEN FOUND;
    PERFORM pg_sleep(0.2);
  END LOOP;
END $$;
SELECT cron.unschedule('refresh-customers');
SELECT status, return_message FROM cron.job_run_details
 WHERE status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1;
-- the job's refresh is what filled the view
SELECT count(*) AS after_the_job FROM customer_relationships;
-- and the job's scan, in a background worker, left its trace for everyone
SELECT backend_type, foreign_table, outcome, rows, error
  FROM contact_list_fdw_recent_scans WHERE backend_type = 'pg_cron'
 ORDER BY ended_at LIMIT 1;
DROP EXTENSION pg_cron;

DROP MATERIALIZED VIEW customer_relationships;
