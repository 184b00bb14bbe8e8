--
-- cancel: a query blocked on the network, or sleeping before a retry, ends
-- at statement_timeout or pg_cancel_backend with PostgreSQL's own error
-- (SQLSTATE 57014), and the backend works right after (issue 2, item 8).
-- Elapsed times are compared with a bound, never printed.
--
SELECT clf_scenario_table('cancel_hang', 'hang'),
       clf_scenario_table('cancel_slow', 'slow'),
       clf_scenario_table('cancel_ratelimit', 'ratelimitforever');

-- runs query, returns the SQLSTATE it failed with and whether that came
-- before max_seconds
CREATE FUNCTION cancel_timed(query text, max_seconds float8,
                             OUT state text, OUT message text, OUT in_time boolean)
LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  EXECUTE query;
  state := 'no error';
  in_time := clock_timestamp() - started < make_interval(secs => max_seconds);
EXCEPTION WHEN OTHERS OR query_canceled THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
  in_time := clock_timestamp() - started < make_interval(secs => max_seconds);
END $$;

-- the mock never answers: without a cancellable wait this would take
-- timeout_ms (30 s by default)
SET statement_timeout = '500ms';
SELECT * FROM cancel_hang;
SELECT * FROM cancel_timed('SELECT * FROM cancel_hang', 5);
RESET statement_timeout;
SELECT count(*) FROM wecom_contacts;

-- the mock answers after 3 s: the query ends long before
SET statement_timeout = '500ms';
SELECT * FROM cancel_timed('SELECT * FROM cancel_slow', 2.5);
RESET statement_timeout;
SELECT count(*) FROM wecom_contacts;

-- the wait before a retry is cancellable too: 45009 forever, first retry in
-- 30 to 60 s
SET contact_list_fdw.rate_limit_delay_ms = 60000;
SET statement_timeout = '500ms';
SELECT * FROM cancel_timed('SELECT * FROM cancel_ratelimit', 5);
RESET statement_timeout;
RESET contact_list_fdw.rate_limit_delay_ms;

-- each of those scans was stopped by the cancel while it waited on WeCom,
-- and its row in the session's scan log says so
SELECT foreign_table, outcome, error FROM contact_list_fdw_scans()
 WHERE foreign_table IN ('cancel_hang'::regclass, 'cancel_slow'::regclass,
                         'cancel_ratelimit'::regclass)
 ORDER BY scan_id;

-- the same connection cache serves the next query of the cancelled server
ALTER USER MAPPING FOR CURRENT_USER SERVER cancel_hang_srv OPTIONS (SET access_token 'fixed-basic');
SELECT count(*) FROM cancel_hang;
-- nothing of the cancelled scans is left in memory
SELECT name, count(*) FROM pg_backend_memory_contexts
 WHERE name LIKE 'contact_list_fdw%' GROUP BY 1 ORDER BY 1;

-- pg_cancel_backend from another session: a psql started in the background
-- scans "hang"; while it waits it shows the wait event type Extension, and
-- a cancel ends it at once with 57014
ALTER USER MAPPING FOR CURRENT_USER SERVER cancel_hang_srv OPTIONS (SET access_token 'fixed-hang');
CREATE TEMP TABLE cancel_out (line text);
COPY cancel_out FROM PROGRAM 'psql -X -q -v VERBOSITY=sqlstate -d contrib_regression -c "SELECT count(*) FROM cancel_hang /* clf probe */" >clf_cancel_probe.out 2>&1 &';
CREATE FUNCTION cancel_probe_waits() RETURNS TABLE (wait_event_type text, waits bigint)
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..200 LOOP
    RETURN QUERY SELECT a.wait_event_type, count(*) FROM pg_stat_activity a
                  WHERE a.query LIKE '%/* clf probe */' AND a.state = 'active'
                    AND a.pid <> pg_backend_pid() AND a.wait_event_type = 'Extension'
                  GROUP BY 1;
    IF FOUND THEN RETURN; END IF;
    PERFORM pg_sleep(0.05);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
END $$;
SELECT * FROM cancel_probe_waits();
SELECT bool_and(pg_cancel_backend(pid)) AS cancelled FROM pg_stat_activity
 WHERE query LIKE '%/* clf probe */' AND state = 'active' AND pid <> pg_backend_pid();
CREATE FUNCTION cancel_probe_ended(max_seconds float8) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  LOOP
    PERFORM 1 FROM pg_stat_activity
      WHERE query LIKE '%/* clf probe */' AND pid <> pg_backend_pid();
    IF NOT FOUND THEN
      RETURN clock_timestamp() - started < make_interval(secs => max_seconds);
    END IF;
    IF clock_timestamp() - started > interval '30 s' THEN RETURN false; END IF;
    PERFORM pg_sleep(0.05);
    PERFORM pg_stat_clear_snapshot();
  END LOOP;
END $$;
SELECT cancel_probe_ended(2) AS ended_in_time;
-- what the other session printed
SELECT rtrim(pg_read_file('clf_cancel_probe.out'), E'\n') AS psql_output;
COPY cancel_out FROM PROGRAM 'rm -f clf_cancel_probe.out';

DROP FUNCTION cancel_timed(text, float8), cancel_probe_waits(), cancel_probe_ended(float8);
SELECT count(clf_drop_scenario_table(t)::text) AS dropped
  FROM unnest(ARRAY['cancel_hang', 'cancel_slow', 'cancel_ratelimit']) t;
