--
-- analyze: ANALYZE makes one traversal and fills pg_stats; the planner then
-- uses its row count.
--
SELECT mock_reset();
ANALYZE wecom_contacts;
SELECT mock_stats()->'contact_list' AS requests;
SELECT reltuples FROM pg_class WHERE oid = 'wecom_contacts'::regclass;
EXPLAIN SELECT * FROM wecom_contacts;
SELECT attname, null_frac, n_distinct
  FROM pg_stats WHERE tablename = 'wecom_contacts' AND attname <> 'tmp_openid'
 ORDER BY attname;
SELECT most_common_vals FROM pg_stats
 WHERE tablename = 'wecom_contacts' AND attname = 'follow_userid';
-- selectivity now comes from the statistics
EXPLAIN SELECT * FROM wecom_contacts WHERE is_customer;
EXPLAIN SELECT * FROM wecom_contacts WHERE follow_userid = 'zhangwei';
-- VERBOSE reports what was fetched.  From PostgreSQL 18 on, ANALYZE VERBOSE
-- also reports buffer, WAL and CPU figures that change from run to run, so
-- it runs in a second psql whose INFO lines are filtered down to the ones
-- that do not.
\setenv PGDATABASE :DBNAME
\! psql -X -c 'ANALYZE VERBOSE wecom_contacts' 2>&1 | grep '^INFO:' | grep -v 'finished analyzing'

-- ANALYZE of a partitioned table samples a foreign partition with the
-- mapping of the partition's owner, who has one, not of the parent's owner
-- (ANALYZE runs as the parent's owner), who has none.
SELECT clf_scenario_table('an_part', 'basic');
CREATE ROLE clf_analyze_owner;
CREATE TABLE an_parent (LIKE an_part) PARTITION BY LIST (is_customer);
ALTER TABLE an_parent ATTACH PARTITION an_part DEFAULT;
ALTER TABLE an_parent OWNER TO clf_analyze_owner;
SELECT mock_reset();
ANALYZE an_parent;
SELECT mock_stats()->'contact_list' AS requests;
SELECT count(*) > 0 AS inherited_stats FROM pg_stats
 WHERE tablename = 'an_parent' AND inherited;
DROP TABLE an_parent;
DROP ROLE clf_analyze_owner;
SELECT clf_drop_scenario_table('an_part');

-- ANALYZE of a parent samples each foreign child in proportion to its size.
-- Of a corp of 2500 rows and one of 25, the big one is nearly all of the
-- parent's sample of 300 rows (an equal share each made it 150 of 175
-- rows, a frequency of 0.86).  A child never analyzed is as big as its
-- rows_estimate says.
SELECT clf_scenario_table('an_big', 'big'), clf_scenario_table('an_small', 'basic');
ALTER FOREIGN TABLE an_big ADD COLUMN corp text OPTIONS (source 'server');
ALTER FOREIGN TABLE an_small ADD COLUMN corp text OPTIONS (source 'server');
ALTER FOREIGN TABLE an_big OPTIONS (ADD rows_estimate '2500');
ALTER FOREIGN TABLE an_small OPTIONS (ADD rows_estimate '25');
CREATE TABLE an_corps (LIKE an_big);
ALTER FOREIGN TABLE an_big INHERIT an_corps;
ALTER FOREIGN TABLE an_small INHERIT an_corps;
SET default_statistics_target = 1;
SELECT relname, reltuples FROM pg_class
 WHERE relname IN ('an_big', 'an_small') ORDER BY relname;
ANALYZE an_corps;
SELECT most_common_vals, most_common_freqs[1] > 0.95 AS in_proportion
  FROM pg_stats WHERE tablename = 'an_corps' AND attname = 'corp' AND inherited;
-- Once a child is analyzed, its own count wins over a rows_estimate that
-- says the opposite.
ALTER FOREIGN TABLE an_big OPTIONS (SET rows_estimate '25');
ALTER FOREIGN TABLE an_small OPTIONS (SET rows_estimate '2500');
ANALYZE an_big;
ANALYZE an_small;
ANALYZE an_corps;
RESET default_statistics_target;
SELECT most_common_vals, most_common_freqs[1] > 0.95 AS in_proportion
  FROM pg_stats WHERE tablename = 'an_corps' AND attname = 'corp' AND inherited;
DROP TABLE an_corps CASCADE;
SELECT clf_drop_scenario_table('an_big'), clf_drop_scenario_table('an_small');
