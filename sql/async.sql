--
-- async: with async_capable, an Append over several of our foreign tables
-- (partitioned table, inheritance, UNION ALL) runs them as Async Foreign
-- Scans.  Whatever the order pages arrive in, a query returns the same rows
-- as without it; the fault suite's async_* cases cover faults, cancel and
-- concurrency.
--
SET timezone = 'UTC';

-- four servers: two on the same corp (basic), one with extra keys, one big
SELECT clf_scenario_table('as_a', 'basic', 'page_size ''10''');
SELECT clf_scenario_table('as_b', 'extrakeys', 'page_size ''10''');
SELECT clf_scenario_table('as_c', 'big', 'page_size ''1000''');
SELECT clf_scenario_table('as_d', 'basic', 'page_size ''7''');

--
-- The option: server and table, a Boolean, the table's wins.
--
SELECT clf_error_of($$ALTER SERVER as_a_srv OPTIONS (ADD async_capable 'maybe')$$);
SELECT clf_error_of($$ALTER FOREIGN TABLE as_a OPTIONS (ADD async_capable '2')$$);
SELECT clf_error_of($$ALTER FOREIGN TABLE as_a OPTIONS (ADD async_capable '')$$);
-- not an option of a user mapping, a column or the wrapper
SELECT clf_error_of($$ALTER USER MAPPING FOR CURRENT_USER SERVER as_a_srv OPTIONS (ADD async_capable 'on')$$);
SELECT clf_error_of($$ALTER FOREIGN TABLE as_a ALTER COLUMN name OPTIONS (ADD async_capable 'on')$$);
SELECT clf_error_of($$ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD async_capable 'on')$$);
-- every spelling parse_bool takes
SELECT clf_error_of($$ALTER SERVER as_a_srv OPTIONS (ADD async_capable 'on')$$);
SELECT clf_error_of($$ALTER SERVER as_a_srv OPTIONS (SET async_capable 'FALSE')$$);
SELECT clf_error_of($$ALTER SERVER as_a_srv OPTIONS (SET async_capable 'yes')$$);
SELECT clf_error_of($$ALTER FOREIGN TABLE as_a OPTIONS (ADD async_capable '0')$$);
ALTER SERVER as_a_srv OPTIONS (DROP async_capable);
ALTER FOREIGN TABLE as_a OPTIONS (DROP async_capable);

CREATE VIEW as_all AS
  SELECT 'a' AS t, * FROM as_a UNION ALL SELECT 'b', * FROM as_b
  UNION ALL SELECT 'c', * FROM as_c UNION ALL SELECT 'd', * FROM as_d;

-- off by default: plain Foreign Scans, one after another
EXPLAIN (COSTS OFF) SELECT * FROM as_all;
-- on for each server: every child is asynchronous
ALTER SERVER as_a_srv OPTIONS (ADD async_capable 'true');
ALTER SERVER as_b_srv OPTIONS (ADD async_capable 'true');
ALTER SERVER as_c_srv OPTIONS (ADD async_capable 'true');
ALTER SERVER as_d_srv OPTIONS (ADD async_capable 'true');
EXPLAIN (COSTS OFF) SELECT * FROM as_all;
-- the table's option wins over its server's, either way
ALTER FOREIGN TABLE as_b OPTIONS (ADD async_capable 'false');
ALTER SERVER as_c_srv OPTIONS (SET async_capable 'false');
ALTER FOREIGN TABLE as_c OPTIONS (ADD async_capable 'true');
EXPLAIN (COSTS OFF) SELECT * FROM as_all;
ALTER FOREIGN TABLE as_b OPTIONS (DROP async_capable);
-- PostgreSQL's own switch turns it off
SET enable_async_append = off;
EXPLAIN (COSTS OFF) SELECT * FROM as_all;
RESET enable_async_append;
-- a scan alone, not under an Append, is a plain one
EXPLAIN (COSTS OFF) SELECT * FROM as_a;

-- a partitioned table, one foreign partition per server
CREATE TABLE as_parted (
  corp            text,
  external_userid text,
  name            text,
  follow_userid   text,
  chat_id         text,
  chat_name       text,
  add_time        timestamptz,
  is_customer     boolean
) PARTITION BY LIST (corp);
CREATE FOREIGN TABLE as_parted_a PARTITION OF as_parted FOR VALUES IN ('as_a_srv') SERVER as_a_srv
  OPTIONS (page_size '10');
CREATE FOREIGN TABLE as_parted_b PARTITION OF as_parted FOR VALUES IN ('as_b_srv') SERVER as_b_srv
  OPTIONS (page_size '10');
CREATE FOREIGN TABLE as_parted_c PARTITION OF as_parted FOR VALUES IN ('as_c_srv') SERVER as_c_srv
  OPTIONS (page_size '1000', async_capable 'on');
CREATE FOREIGN TABLE as_parted_d PARTITION OF as_parted FOR VALUES IN ('as_d_srv') SERVER as_d_srv
  OPTIONS (page_size '7');
ALTER FOREIGN TABLE as_parted_a ALTER COLUMN corp OPTIONS (ADD source 'server');
ALTER FOREIGN TABLE as_parted_b ALTER COLUMN corp OPTIONS (ADD source 'server');
ALTER FOREIGN TABLE as_parted_c ALTER COLUMN corp OPTIONS (ADD source 'server');
ALTER FOREIGN TABLE as_parted_d ALTER COLUMN corp OPTIONS (ADD source 'server');
EXPLAIN (COSTS OFF) SELECT * FROM as_parted;
-- pruned to one partition: no Append, a plain scan
EXPLAIN (COSTS OFF) SELECT * FROM as_parted WHERE corp = 'as_b_srv';

-- inheritance: a local parent (a Seq Scan among the children) and two
-- foreign children
CREATE TABLE as_inh (
  external_userid text,
  name            text,
  add_time        timestamptz
);
CREATE FOREIGN TABLE as_inh_a () INHERITS (as_inh) SERVER as_a_srv;
CREATE FOREIGN TABLE as_inh_d () INHERITS (as_inh) SERVER as_d_srv;
INSERT INTO as_inh VALUES ('local', 'local row', '2000-01-01');
EXPLAIN (COSTS OFF) SELECT * FROM as_inh;
SELECT count(*), count(*) FILTER (WHERE name = 'local row') AS local FROM as_inh;

-- an async child returns its rows as its plan node does: projected (the
-- constant of the UNION ALL branch) and filtered by the quals it runs
SELECT t, count(*) FROM as_all WHERE name LIKE 'O%' OR external_userid = 'wm_cust_013'
 GROUP BY t ORDER BY t;
SELECT corp, count(*) FROM as_parted WHERE is_customer AND add_time < '2023-09-12'
 GROUP BY corp ORDER BY corp;

--
-- The same rows with async on and off: counts and a checksum per child
-- (tmp_openid differs from traversal to traversal, so it is left out).
--
CREATE FUNCTION as_digest(q text) RETURNS TABLE (t text, rows bigint, customers bigint, digest text)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format($f$
    SELECT t, count(*), count(*) FILTER (WHERE is_customer),
           md5(string_agg(concat_ws('|', external_userid, name, follow_userid, chat_id,
                                    chat_name, add_time, is_customer), ',' ORDER BY add_time))
      FROM (%s) s GROUP BY t ORDER BY t$f$, q);
END $$;
SELECT * FROM as_digest('SELECT * FROM as_all');
CREATE TEMP TABLE as_async_on AS SELECT * FROM as_digest('SELECT * FROM as_all');
CREATE TEMP TABLE as_async_parted AS SELECT * FROM as_digest('SELECT corp AS t, * FROM as_parted');
SET enable_async_append = off;
CREATE TEMP TABLE as_async_off AS SELECT * FROM as_digest('SELECT * FROM as_all');
RESET enable_async_append;
-- nothing in one and not in the other
SELECT count(*) AS differences
  FROM ((TABLE as_async_on EXCEPT TABLE as_async_off)
        UNION ALL (TABLE as_async_off EXCEPT TABLE as_async_on)) d;
-- the partitioned table: the same children, named by their server
SELECT p.t, p.rows, p.digest = o.digest AS same_rows
  FROM as_async_parted p JOIN as_async_off o ON p.t = 'as_' || o.t || '_srv' ORDER BY p.t;
-- same corp, same rows: the two basic servers agree
SELECT count(DISTINCT digest) AS digests_of_basic FROM as_async_on WHERE t IN ('a', 'd');

-- Each child makes exactly its own traversal: pages of 10, 10, 1000 and 7
SELECT mock_reset();
SELECT count(*) FROM as_all;
SELECT (SELECT count(*) FROM jsonb_array_elements_text(mock_stats()->'limits') l WHERE l = v) AS requests, v AS page_size
  FROM (VALUES ('10'), ('1000'), ('7')) p(v) ORDER BY v::int;
SELECT mock_stats()->'contact_list' AS requests, mock_stats()->'bad_requests' AS bad_requests;
-- and every child's traversal starts from an empty cursor once
SELECT count(*) FILTER (WHERE c IS NULL OR c = '') AS first_pages
  FROM jsonb_array_elements_text(mock_stats()->'cursors') c;

--
-- LIMIT over the Append: each child asks only for the pages the rows it
-- gives need.  With page_size 5, LIMIT 10 needs at most 2 pages of any
-- child (the rows taken from it and the one it is asked for ahead); a whole
-- traversal would be 5 + 5 + 500 + 5 pages.
--
ALTER FOREIGN TABLE as_a OPTIONS (SET page_size '5');
ALTER FOREIGN TABLE as_b OPTIONS (SET page_size '5');
ALTER FOREIGN TABLE as_c OPTIONS (SET page_size '5');
ALTER FOREIGN TABLE as_d OPTIONS (SET page_size '5');
EXPLAIN (COSTS OFF) SELECT * FROM as_all LIMIT 10;
SELECT mock_reset();
SELECT count(*) FROM (SELECT * FROM as_all LIMIT 10) s;
SELECT (mock_stats()->>'contact_list')::int BETWEEN 1 AND 8 AS at_most_two_pages_per_child;
ALTER FOREIGN TABLE as_a OPTIONS (SET page_size '10');
ALTER FOREIGN TABLE as_b OPTIONS (SET page_size '10');
ALTER FOREIGN TABLE as_c OPTIONS (SET page_size '1000');
ALTER FOREIGN TABLE as_d OPTIONS (SET page_size '7');

--
-- Rescans: a nested loop with the Append on its inner side replays each
-- child's rows, one traversal per child however many outer rows.
--
CREATE TEMP TABLE as_outer AS SELECT g AS n FROM generate_series(1, 200) g;
ANALYZE as_outer;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
CREATE VIEW as_small AS
  SELECT 'a' AS t, * FROM as_a UNION ALL SELECT 'b', * FROM as_b UNION ALL SELECT 'd', * FROM as_d;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM as_outer o LEFT JOIN as_small w
    ON w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 minute';
SELECT mock_reset();
SELECT count(*), count(w.t) AS matched FROM as_outer o LEFT JOIN as_small w
    ON w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 minute';
-- 3 + 3 + 4 pages: one traversal of each child
SELECT mock_stats()->'contact_list' AS requests;
-- and the same with async off
SET enable_async_append = off;
SELECT count(*), count(w.t) AS matched FROM as_outer o LEFT JOIN as_small w
    ON w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 minute';
RESET enable_async_append;
-- rescans with a new parameter each time (a correlated subquery) and an
-- inner side that stops at its first match (EXISTS): the same answers with
-- async on and off, and no progress row left of the children stopped early
CREATE TEMP VIEW as_rescan_query AS
SELECT o.n,
       (SELECT count(*) FROM (SELECT * FROM as_small w
                               WHERE w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 hour'
                               LIMIT 3) x) AS limited,
       EXISTS (SELECT 1 FROM as_small w
                WHERE w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 hour') AS found
  FROM as_outer o WHERE o.n <= 40;
SELECT count(*) AS async_children
  FROM clf_explain('COSTS OFF', 'SELECT * FROM as_rescan_query') l
 WHERE l ~ 'Async Foreign Scan';
CREATE TEMP TABLE as_rescans AS SELECT * FROM as_rescan_query;
SET enable_async_append = off;
SELECT count(*) AS differences
  FROM as_rescan_query off
  FULL JOIN as_rescans r USING (n)
 WHERE r.limited IS DISTINCT FROM off.limited OR r.found IS DISTINCT FROM off.found;
RESET enable_async_append;
SELECT sum(limited) AS limited, count(*) FILTER (WHERE found) AS found FROM as_rescans;
SELECT count(*) AS progress_rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid();
-- each child's counters over the rescans: one traversal, the rest replayed
SELECT mock_reset();
SELECT clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF', $$
SELECT count(*) FROM (SELECT * FROM as_outer LIMIT 20) o LEFT JOIN as_small w
    ON w.add_time > '2023-09-11'::timestamptz + o.n * interval '1 minute'$$);
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

--
-- EXPLAIN ANALYZE: each child's own counters (fixed tokens: no token
-- fetches; the rows of a whole traversal of each).
--
SELECT mock_reset();
SELECT clf_explain('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF',
                   'SELECT * FROM as_all');

DROP VIEW as_rescan_query, as_all, as_small;
DROP TABLE as_parted, as_inh CASCADE;
DROP FUNCTION as_digest(text);
SELECT clf_drop_scenario_table('as_a'), clf_drop_scenario_table('as_b'),
       clf_drop_scenario_table('as_c'), clf_drop_scenario_table('as_d');
