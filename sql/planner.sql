--
-- planner: costs and row estimates, LIMIT pushdown, only the needed columns
-- converted, EXPLAIN without network, EXPLAIN ANALYZE counters, rescans
-- replayed instead of refetched.  Uses server wecom and table wecom_contacts
-- from setup (25 rows on the mock).
--
SET timezone = 'UTC';

-- Plain EXPLAIN makes no API call and fetches no token.
SELECT mock_reset();
EXPLAIN SELECT * FROM wecom_contacts;
EXPLAIN VERBOSE SELECT external_userid FROM wecom_contacts WHERE is_customer;
SELECT mock_stats()->'gettoken' AS gettoken, mock_stats()->'contact_list' AS contact_list;

-- ... not even for a user who has no user mapping.
CREATE ROLE clf_planner_nomap;
GRANT SELECT ON wecom_contacts TO clf_planner_nomap;
SET ROLE clf_planner_nomap;
EXPLAIN (COSTS OFF) SELECT * FROM wecom_contacts;
SELECT count(*) FROM wecom_contacts;    -- but running it needs one
RESET ROLE;

-- Row estimate: a documented default of 10000 before ANALYZE ...
EXPLAIN SELECT * FROM wecom_contacts;
-- ... the table option rows_estimate when set ...
ALTER FOREIGN TABLE wecom_contacts OPTIONS (ADD rows_estimate '300');
EXPLAIN SELECT * FROM wecom_contacts;
-- ... and a page is a round trip: total cost grows with pages, startup is one
-- request.  300 rows at page_size 100 is three requests.
ALTER FOREIGN TABLE wecom_contacts OPTIONS (ADD page_size '100');
EXPLAIN SELECT * FROM wecom_contacts;
-- A pushed-down LIMIT costs what a LIMIT costs above any scan: the Limit
-- node prorates the scan's whole cost (606 for 3 pages of 300 rows) to the
-- rows it takes, half of them here, and the scan does not cut it first
-- (that made it 302.25)
EXPLAIN SELECT * FROM wecom_contacts LIMIT 150;
-- request_cost and row_cost tune them
ALTER SERVER wecom OPTIONS (ADD request_cost '1000', ADD row_cost '1');
EXPLAIN SELECT * FROM wecom_contacts;
ALTER SERVER wecom OPTIONS (DROP request_cost, DROP row_cost);
ALTER FOREIGN TABLE wecom_contacts OPTIONS (DROP rows_estimate, DROP page_size);

-- Only the columns the query needs are converted.
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM wecom_contacts;
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM wecom_contacts WHERE add_time > '2023-09-12';
EXPLAIN (VERBOSE, COSTS OFF) SELECT w FROM wecom_contacts w;

-- LIMIT: pushed down when nothing stands between the scan and the LIMIT ...
SELECT mock_reset();
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM wecom_contacts LIMIT 10;
SELECT count(*) FROM (SELECT * FROM wecom_contacts LIMIT 10) s;
-- one page of 10 rows was asked for
SELECT mock_stats()->'limits' AS limits;
SELECT mock_reset();
SELECT count(*) FROM (SELECT * FROM wecom_contacts LIMIT 3 OFFSET 4) s;
SELECT mock_stats()->'limits' AS limits;
-- A count a stable function gives is not pushed down: a plan used again
-- would keep the count it had when planned (a first page of 3 for the
-- second EXECUTE's 20 rows, and EXPLAIN would show a limit of 3)
SET clf.planner_limit = '3';
PREPARE pl_limit AS SELECT external_userid FROM wecom_contacts LIMIT current_setting('clf.planner_limit')::int;
SELECT count(*) FROM (SELECT 1 FROM wecom_contacts LIMIT current_setting('clf.planner_limit')::int) s;
EXECUTE pl_limit;
SET clf.planner_limit = '20';
SELECT mock_reset();
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                                        'EXECUTE pl_limit') AS line
 WHERE line ~ 'Pushed-down Limit|Pages Fetched|Rows Fetched';
SELECT mock_stats()->'limits' AS limits;
DEALLOCATE pl_limit;
RESET clf.planner_limit;

-- ... and not when a filter, a sort, an aggregate or a join is in the way:
-- the plan stays correct and every page is full size.
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM wecom_contacts WHERE is_customer LIMIT 10;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM wecom_contacts ORDER BY add_time LIMIT 10;
EXPLAIN (VERBOSE, COSTS OFF) SELECT is_customer, count(*) FROM wecom_contacts GROUP BY 1 LIMIT 1;
SELECT mock_reset();
SELECT external_userid, add_time FROM wecom_contacts WHERE is_customer ORDER BY add_time LIMIT 3;
SELECT mock_stats()->'limits' AS limits;
-- a pushed-down limit never loses rows: the scan follows the cursor chain as
-- long as the executor asks (here a LIMIT larger than the table)
SELECT count(*) FROM (SELECT * FROM wecom_contacts LIMIT 1000) s;
-- The limit holds too where the scan keeps its rows for a rescan (here
-- because the statement has a subquery): VERBOSE shows the limit the pages
-- really ask for.
SELECT mock_reset();
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                                        'SELECT name, (SELECT 1) FROM wecom_contacts LIMIT 3') AS line
 WHERE line ~ 'Pushed-down Limit|Pages Fetched|Rows Fetched';
SELECT mock_stats()->'limits' AS limits;
-- Rows Fetched, contact_list_fdw_scans() and contact_list_fdw_stats count
-- the rows of the pages received, also those the query did not take: a
-- LIMIT over a filter is not pushed down, and stops within the first page
SELECT rows AS rows_before FROM contact_list_fdw_stats WHERE server = 'wecom' \gset
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                                        'SELECT name FROM wecom_contacts WHERE name IS NOT NULL LIMIT 1') AS line
 WHERE line ~ 'Foreign Scan|Pushed-down Limit|Pages Fetched|Rows Fetched';
SELECT pages, rows, outcome FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT 1;
SELECT rows - :rows_before AS rows_counted FROM contact_list_fdw_stats WHERE server = 'wecom';
-- ... and a rescan that wants more rows than the first pass took replays
-- those, then goes on along the same traversal: each EXISTS below stops at
-- its first match (张三 is row 2, O'Brien row 12, ***开 row 14, past the
-- LIMIT), and the pages ask for 5, 5 and the 2 rows left of the limit.
ALTER FOREIGN TABLE wecom_contacts OPTIONS (ADD page_size '5');
CREATE TEMP TABLE pl_names (k int, n text);
INSERT INTO pl_names VALUES (1, '张三'), (2, 'O''Brien'), (3, '***开'), (4, '张三');
SELECT mock_reset();
SELECT k, n, EXISTS (SELECT 1 FROM (SELECT name FROM wecom_contacts LIMIT 12) s
                      WHERE s.name IS NOT DISTINCT FROM o.n) AS within_limit
  FROM pl_names o ORDER BY k;
SELECT mock_stats()->'limits' AS limits;
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT k, n, EXISTS (SELECT 1 FROM (SELECT name FROM wecom_contacts LIMIT 12) s
                      WHERE s.name IS NOT DISTINCT FROM o.n) AS within_limit
  FROM pl_names o ORDER BY k$$) AS line
 WHERE line ~ 'Foreign Scan|Pushed-down Limit|Pages Fetched|Rows Fetched|Rows Replayed|Traversals';
ALTER FOREIGN TABLE wecom_contacts OPTIONS (DROP page_size);

-- A LATERAL subquery whose LIMIT takes the outer row is rescanned with no
-- parameter of the scan's own, and the nested loop asks no REWIND: its rows
-- are kept all the same, so every loop reads one traversal (tmp_openid
-- names it: 12 contacts, not 24) and the pages are fetched once.
SELECT mock_reset();
SELECT count(*) AS rows, count(DISTINCT u.tmp_openid) AS tmp_openids
  FROM generate_series(1, 3) g, LATERAL (SELECT tmp_openid FROM wecom_contacts LIMIT 100 + g) u;
SELECT mock_stats()->'contact_list' AS contact_list;

-- A LATERAL UNION ALL of the table and a branch that uses the outer row:
-- the scan, a child of the UNION ALL, is parameterized by the outer rows
-- its parent references (no plan could be made otherwise), and every outer
-- row gets all 25 rows.  The scan is rescanned for the second outer row
-- and replays its one traversal: the nested loop's parameter made it keep
-- its rows ...
CREATE TEMP TABLE pl_wanted (n text);
INSERT INTO pl_wanted VALUES ('张三'), ('O''Brien');
SELECT mock_reset();
SELECT w.n, count(*) AS rows, count(*) FILTER (WHERE s.name = w.n) AS matching
  FROM pl_wanted w, LATERAL (SELECT name FROM wecom_contacts UNION ALL SELECT w.n) s
 GROUP BY w.n ORDER BY w.n;
SELECT mock_stats()->'contact_list' AS requests;
-- ... as it does here, where the plan needs nothing of w in the end (the
-- nested loop rewinds its inner side)
SELECT mock_reset();
SELECT count(*) FROM pl_wanted w, LATERAL (SELECT name FROM wecom_contacts UNION ALL SELECT w.n) s;
SELECT mock_stats()->'contact_list' AS requests;

-- EXPLAIN ANALYZE shows what the scan really did.
SELECT mock_reset();
ALTER FOREIGN TABLE wecom_contacts OPTIONS (ADD page_size '10');
SELECT clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                   'SELECT * FROM wecom_contacts');
SELECT clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                   'SELECT * FROM wecom_contacts LIMIT 2');

-- Rescans replay the rows already fetched: a nested loop over 1,000 outer
-- rows, with the foreign scan on the inner side (a LEFT JOIN keeps it
-- there), makes one traversal.
CREATE TEMP TABLE outer_rows AS SELECT g AS n FROM generate_series(1, 1000) g;
ANALYZE outer_rows;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT mock_reset();
EXPLAIN (COSTS OFF)
SELECT count(*) FROM outer_rows o LEFT JOIN wecom_contacts w ON w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 second';
SELECT count(*) FROM outer_rows o LEFT JOIN wecom_contacts w ON w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 second';
SELECT mock_stats()->'contact_list' AS requests;
-- a correlated subquery too: rescanned with a new parameter for each row
SELECT mock_reset();
SELECT clf_explain('COSTS OFF', $$
SELECT sum((SELECT count(*) FROM wecom_contacts w WHERE w.external_userid = 'wm_cust_00' || (o.n % 10)))
  FROM outer_rows o$$);
SELECT sum((SELECT count(*) FROM wecom_contacts w WHERE w.external_userid = 'wm_cust_00' || (o.n % 10)))
  FROM outer_rows o;
SELECT mock_stats()->'contact_list' AS requests;
-- a rescan after a LIMIT stopped the first pass early continues the same
-- traversal where it is needed instead of starting again
SELECT mock_reset();
SELECT o.n, (SELECT max(w.add_time) FROM (SELECT add_time FROM wecom_contacts LIMIT o.n * 6) w)
  FROM outer_rows o WHERE o.n <= 5 ORDER BY o.n;
SELECT mock_stats()->'cursors' AS cursors;
SELECT clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT count(*) FROM (SELECT * FROM outer_rows LIMIT 50) o LEFT JOIN wecom_contacts w ON w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 second'$$);
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
ALTER FOREIGN TABLE wecom_contacts OPTIONS (DROP page_size);

DROP OWNED BY clf_planner_nomap;
DROP ROLE clf_planner_nomap;

-- Rows are kept only where a rescan can happen: with a work_mem far below
-- 2,500 rows, a scan in a subquery run once per outer row keeps them in a
-- tuplestore that spills to a temporary file.  A plain scan streams and
-- writes none; so does a scan that no node reruns in a statement that
-- reruns other things: beside a subquery run once, or on the outer side of
-- a nested loop with parameters.
SELECT clf_scenario_table('pl_big', 'big', 'page_size ''1000''');
SET work_mem = '64kB';
CREATE FUNCTION pl_temp_files() RETURNS bigint LANGUAGE sql
  AS $$SELECT temp_files FROM pg_stat_database WHERE datname = current_database()$$;
SELECT pg_stat_force_next_flush();
SELECT pl_temp_files() AS before \gset
SELECT g, (SELECT count(name) FROM pl_big b WHERE b.name IS DISTINCT FROM g::text)
  FROM generate_series(1, 2) g;
SELECT pg_stat_force_next_flush();
SELECT pl_temp_files() > :before AS rerun_subquery_spilled;
SELECT pl_temp_files() AS before \gset
SELECT count(name) FROM pl_big;
SELECT pg_stat_force_next_flush();
SELECT pl_temp_files() - :before AS plain_scan_temp_files;
SELECT pl_temp_files() AS before \gset
SELECT count(name) FROM pl_big WHERE name IS DISTINCT FROM (SELECT 'x');
SELECT pg_stat_force_next_flush();
SELECT pl_temp_files() - :before AS beside_subquery_run_once_temp_files;
SELECT line FROM clf_explain('COSTS OFF', $$
SELECT count(*) FROM pl_big b, LATERAL (SELECT g FROM generate_series(1, 2) g WHERE g > length(b.name) % 2) x$$)
  AS line WHERE line ~ 'Nested Loop|Foreign Scan|Function Scan';
SELECT pl_temp_files() AS before \gset
SELECT count(*) FROM pl_big b, LATERAL (SELECT g FROM generate_series(1, 2) g WHERE g > length(b.name) % 2) x;
SELECT pg_stat_force_next_flush();
SELECT pl_temp_files() - :before AS nested_loop_outer_temp_files;
-- nor under an Append or a subquery in FROM (EXPLAIN ANALYZE says Rows Kept
-- where a scan keeps its rows)
SELECT line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT count(*) FROM (SELECT name FROM pl_big OFFSET 0) s WHERE s.name <> 'x'$$)
  AS line WHERE line ~ 'Subquery Scan|Foreign Scan|Rows Kept';
SELECT line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT count(*) FROM (SELECT name FROM pl_big UNION ALL SELECT name FROM pl_big) u$$)
  AS line WHERE line ~ 'Append|Foreign Scan|Rows Kept';
-- nor under a Merge Append, which reads each child once (a local index
-- beside the foreign table makes merging cheaper than sorting the whole)
CREATE TABLE pl_local AS SELECT g::text AS name FROM generate_series(1, 20000) g;
CREATE INDEX ON pl_local (name);
ANALYZE pl_local;
SELECT line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT name FROM (SELECT name FROM pl_big UNION ALL SELECT name FROM pl_local) u
 ORDER BY name LIMIT 3$$)
  AS line WHERE line ~ 'Merge Append|Foreign Scan|Rows Kept';
DROP TABLE pl_local;
-- nor under a Materialize that a nested loop without parameters rewinds:
-- it keeps the rows itself, and its rescans read them there
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT count(b.name) FROM generate_series(1, 3) g LEFT JOIN pl_big b ON length(b.name) > g$$)
  AS line WHERE line ~ 'Nested Loop|Materialize|Foreign Scan|Rows Kept|Traversals';
-- unless the scan under it takes a parameter from above: the Materialize
-- then runs it again when that changes, and the scan keeps its rows for
-- that, one traversal serving every run
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT g, (SELECT count(b.name) FROM generate_series(1, 2) h
             LEFT JOIN pl_big b ON length(b.name) > h AND length(b.name) > g)
  FROM generate_series(1, 2) g$$)
  AS line WHERE line ~ 'Nested Loop|Materialize|Foreign Scan|Rows Kept|Traversals';
RESET enable_hashjoin;
RESET enable_mergejoin;
-- A subplan that takes no parameter from outside runs once: a CTE of the
-- statement's own level (read twice here) and an initPlan stream
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
WITH c AS MATERIALIZED (SELECT name FROM pl_big)
SELECT count(*) FROM c JOIN c AS d USING (name)$$)
  AS line WHERE line ~ 'Foreign Scan|Rows Kept|Traversals';
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT count(*) FROM generate_series(1, 3) g WHERE g < (SELECT count(*) FROM pl_big)$$)
  AS line WHERE line ~ 'Foreign Scan|Rows Kept|Traversals';
-- a correlated subquery runs once per outer row: its scan keeps its rows,
-- and one traversal serves both
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT g, (SELECT count(*) FROM pl_big b WHERE length(b.name) > g) FROM generate_series(1, 2) g$$)
  AS line WHERE line ~ 'Foreign Scan|Rows Kept|Traversals';
-- The recursive part of WITH RECURSIVE runs once per iteration: its scan
-- keeps its rows, and one traversal serves every iteration; the scan of
-- the part that runs once streams
SET enable_nestloop = off;
SET enable_mergejoin = off;
SELECT btrim(line) AS line FROM clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
WITH RECURSIVE r(n, t) AS (
  SELECT 1, min(add_time) FROM pl_big
  UNION ALL
  SELECT r.n + 1, b.add_time FROM pl_big b JOIN r ON b.add_time = r.t + interval '1 hour'
   WHERE r.n < 3)
SELECT count(*) FROM r$$)
  AS line WHERE line ~ 'Foreign Scan|Rows Kept|Traversals';
WITH RECURSIVE r(n, t) AS (
  SELECT 1, min(add_time) FROM pl_big
  UNION ALL
  SELECT r.n + 1, b.add_time FROM pl_big b JOIN r ON b.add_time = r.t + interval '1 hour'
   WHERE r.n < 3)
SELECT n, t FROM r ORDER BY n;
RESET enable_nestloop;
RESET enable_mergejoin;
-- Rescans replay those spilled rows intact: each replayed row is read back
-- from the file, and stays valid until it is copied out (a nested loop with
-- the scan inside, and a correlated subquery).  tmp_openid names the
-- traversal, so the rows are compared without it.
SET enable_material = off;
SELECT md5(string_agg(concat_ws(',', is_customer, external_userid, name, follow_userid,
                                chat_id, chat_name, add_time), '|' ORDER BY add_time)) AS whole
  FROM pl_big \gset
SELECT a.add_time, count(*) AS rows,
       md5(string_agg(concat_ws(',', b.is_customer, b.external_userid, b.name, b.follow_userid,
                                b.chat_id, b.chat_name, b.add_time), '|' ORDER BY b.add_time))
         = :'whole' AS same_rows
  FROM (SELECT * FROM pl_big ORDER BY add_time LIMIT 3) a JOIN pl_big b ON true
 GROUP BY a.add_time ORDER BY a.add_time;
SELECT a.add_time, (SELECT count(*) FROM pl_big b WHERE b.add_time > a.add_time) AS later,
       (SELECT max(b.add_time) FROM pl_big b WHERE b.add_time > a.add_time) AS last
  FROM pl_big a LIMIT 3;
RESET enable_material;
RESET work_mem;
DROP FUNCTION pl_temp_files();
SELECT clf_drop_scenario_table('pl_big');
