--
-- recipes_cron: the README's scheduled refresh, run for real by pg_cron's
-- worker, over recipes' customer_relationships.  Only where pg_cron is
-- packaged for this PostgreSQL (the Makefile leaves this file out otherwise,
-- and make test says so).
--
-- A scheduled refresh with pg_cron (its worker runs the job within a
--    minute; we wait for the first successful run, at most 75 seconds).
CREATE EXTENSION pg_cron;
SELECT cron.schedule('refresh-customers', '* * * * *',
  'REFRESH MATERIALIZED VIEW CONCURRENTLY customer_relationships') > 0 AS scheduled;
SELECT jobname, schedule, command FROM cron.job;
DO $$
BEGIN
  FOR i IN 1..150 LOOP
    PERFORM 1 FROM cron.job_run_details WHERE status IN ('succeeded', 'failed');
    EXIT WHEN FOUND;
    PERFORM pg_sleep(0.5);
  END LOOP;
END $$;
SELECT status, return_message FROM cron.job_run_details ORDER BY runid LIMIT 1;
SELECT cron.unschedule('refresh-customers');
DROP EXTENSION pg_cron;

DROP MATERIALIZED VIEW customer_relationships;
