--
-- convert: JSON values to column types (issue 2, item 5).  A key that is
-- absent or JSON null is NULL; a value that does not fit the column is an
-- error whose CONTEXT names the column, the JSON key and the value.
--
SET timezone = 'UTC';
SET extra_float_digits = 0;

-- one table reading the basic rows as many types at once
CREATE FOREIGN TABLE conv_all (
  tmp_openid   text,
  name         varchar(20),
  follow_fixed char(10) OPTIONS (field 'follow_userid'),
  is_customer  boolean,
  add_time     timestamptz,
  add_ts       timestamp OPTIONS (field 'add_time'),
  add_bigint   bigint OPTIONS (field 'add_time'),
  add_int      integer OPTIONS (field 'add_time'),
  add_numeric  numeric(14,2) OPTIONS (field 'add_time'),
  add_float    float8 OPTIONS (field 'add_time'),
  add_text     text OPTIONS (field 'add_time'),
  customer_txt text OPTIONS (field 'is_customer'),
  unionid      text,                               -- no such key: NULL
  chat_id      jsonb,                              -- a key: its value
  item         jsonb,                              -- no such key: the whole item
  raw          json OPTIONS (field '*')            -- '*': the whole item
) SERVER wecom;

SELECT mock_reset();
\x on
SELECT * FROM conv_all ORDER BY add_time LIMIT 3;
\x off
-- timestamp (without time zone) is the session's wall clock, timestamptz
-- the instant: in Shanghai (UTC+8) row 1's 07:51:39Z reads 15:51:39 in both
SET timezone = 'Asia/Shanghai';
SELECT add_ts, add_time, add_ts = add_time::timestamp AS same_wall_clock
  FROM conv_all ORDER BY add_time LIMIT 2;
SET timezone = 'UTC';
-- types of what came back, and the NULLs of absent keys
SELECT pg_typeof(add_ts) AS ts_type, count(*) AS rows, count(unionid) AS unionids,
       count(name) AS names, count(chat_id) AS chat_ids, count(item) AS items
  FROM conv_all GROUP BY 1;
-- char(n) pads, varchar(n) keeps the text
SELECT DISTINCT follow_fixed || '|' AS padded, octet_length(follow_fixed::text) AS len
  FROM conv_all WHERE follow_fixed IS NOT NULL ORDER BY 1;
-- jsonb of a key holds a JSON string; the whole-item columns hold every key
SELECT DISTINCT jsonb_typeof(chat_id) AS chat_id_type, chat_id FROM conv_all
 WHERE chat_id IS NOT NULL ORDER BY 2;
SELECT DISTINCT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(item) k) AS item_keys
  FROM conv_all ORDER BY 1;
SELECT count(*) FILTER (WHERE raw::jsonb = item) AS raw_equals_item FROM conv_all;
-- field '*' is the whole item on a column of any type: a text column gets
-- its JSON text; a type that takes no object refuses it, naming the item
CREATE FOREIGN TABLE conv_star (t text OPTIONS (field '*'), j jsonb OPTIONS (field '*'),
  n integer OPTIONS (field '*')) SERVER wecom;
SELECT count(*) AS rows, count(t) FILTER (WHERE t::jsonb = j) AS texts_are_items FROM conv_star;
SELECT n FROM conv_star;
DROP FOREIGN TABLE conv_star;

-- the whole item keeps keys WeCom adds later (extra has no key of its own);
-- with field, a column reads an undocumented key's value
SELECT clf_scenario_table('conv_extra', 'extrakeys');
CREATE FOREIGN TABLE conv_extra2 (
  add_time timestamptz,
  extra    jsonb,
  tags     jsonb OPTIONS (field 'tags'),
  unionid  text,
  union2   jsonb OPTIONS (field 'unionid')
) SERVER conv_extra_srv;
SELECT mock_reset();
SELECT extra FROM conv_extra2 ORDER BY add_time LIMIT 1;
SELECT count(*) AS rows FROM conv_extra;
SELECT extra ? 'unionid' AS extra_is_item, extra -> 'tags' AS item_tags, tags, unionid, union2
  FROM conv_extra2 ORDER BY add_time LIMIT 2;
-- an array for an array column is its JSON text, which the array input
-- function refuses with its own error (22P02; its detail differs between
-- PostgreSQL releases)
ALTER FOREIGN TABLE conv_extra2 ADD COLUMN tag_ints int[] OPTIONS (field 'tags');
SELECT line FROM clf_error_of('SELECT tag_ints FROM conv_extra2') line
 WHERE line NOT LIKE 'detail:%';
ALTER FOREIGN TABLE conv_extra2 DROP COLUMN tag_ints;

-- the conversion cases of the mock's "types" scenario, one table each
SELECT count(clf_scenario_table('conv_t' || n, 'types' || n)::text) AS tables
  FROM generate_series(1, 13) n;
SELECT mock_reset();
-- 1: a plain customer row
SELECT is_customer, tmp_openid, external_userid, follow_userid, add_time FROM conv_t1;
-- 2: epoch seconds sent as a string
SELECT tmp_openid, add_time FROM conv_t2;
-- 3, 4: booleans sent as 1 and 0
SELECT is_customer, tmp_openid FROM conv_t3;
SELECT is_customer, tmp_openid, name FROM conv_t4;
-- 5: "maybe" is no boolean
SELECT * FROM conv_t5;
SELECT tmp_openid, name FROM conv_t5;	-- the bad column is not read
-- 6: 1.5 epoch seconds is a timestamp, but no bigint
SELECT tmp_openid, add_time FROM conv_t6;
-- a column's precision rounds the epoch, as the type's input would
ALTER FOREIGN TABLE conv_t6 ALTER COLUMN add_time TYPE timestamptz(0);
SELECT tmp_openid, add_time FROM conv_t6;
ALTER FOREIGN TABLE conv_t6 ALTER COLUMN add_time TYPE timestamp(0);
SELECT tmp_openid, add_time FROM conv_t6;
ALTER FOREIGN TABLE conv_t6 ALTER COLUMN add_time TYPE bigint;
SELECT tmp_openid, add_time FROM conv_t6;
-- 7: "not a time" is no timestamp (timestamptz's input's error, 22007), but
-- fine as text
SELECT * FROM conv_t7;
SELECT clf_error_of('SELECT add_time FROM conv_t7');
ALTER FOREIGN TABLE conv_t7 ALTER COLUMN add_time TYPE text;
SELECT name, add_time FROM conv_t7;
-- 8: a number for a text column is its JSON text
SELECT name, pg_typeof(name) FROM conv_t8;
-- 9: an object for a text column is its JSON text; jsonb keeps the object;
-- a number column cannot take it
SELECT name FROM conv_t9;
ALTER FOREIGN TABLE conv_t9 ALTER COLUMN name TYPE jsonb;
SELECT name, name ->> 'first' AS first FROM conv_t9;
ALTER FOREIGN TABLE conv_t9 ALTER COLUMN name TYPE integer;
SELECT name FROM conv_t9;
-- 10, 11: JSON null is NULL
SELECT tmp_openid, name IS NULL AS name_null, follow_userid FROM conv_t10;
SELECT tmp_openid, external_userid, add_time IS NULL AS add_time_null FROM conv_t11;
-- 12, 13: integers beyond 64 bits: the page is refused whole, whatever the
-- column (json-c would clamp them to the 64-bit ends)
ALTER FOREIGN TABLE conv_t12 ALTER COLUMN add_time TYPE bigint;
SELECT add_time FROM conv_t12;
ALTER FOREIGN TABLE conv_t13 ALTER COLUMN add_time TYPE bigint;
SELECT add_time FROM conv_t13;
-- 14: a whole number written with a fraction (1694418699.0) is an integer,
-- and so is a string of digits (row 2)
SELECT clf_scenario_table('conv_t14', 'types14');
ALTER FOREIGN TABLE conv_t14 ALTER COLUMN add_time TYPE bigint;
SELECT add_time FROM conv_t14;
ALTER FOREIGN TABLE conv_t2 ALTER COLUMN add_time TYPE bigint;
SELECT add_time FROM conv_t2;
SELECT clf_drop_scenario_table('conv_t14');
-- 15-19: a timestamp column (or a domain over timestamp) reads a string as
-- the session's wall clock at the instant the string names, as the
-- timestamptz column's value ::timestamp: the zone of 15 (+08) and 16 (Z)
-- counts, 17 has none and reads as written, 18 is infinity
CREATE DOMAIN conv_lts_d AS timestamp;
SELECT count(clf_scenario_table('conv_z' || n, 'types' || n)::text) AS tables
  FROM generate_series(15, 19) n;
DO $$
BEGIN
  FOR n IN 15..19 LOOP
    EXECUTE format('ALTER FOREIGN TABLE %I ADD COLUMN ts timestamp OPTIONS (field %L), '
                   'ADD COLUMN ts_d conv_lts_d OPTIONS (field %L), '
                   'ADD COLUMN ts0 timestamp(0) OPTIONS (field %L)',
                   'conv_z' || n, 'add_time', 'add_time', 'add_time');
  END LOOP;
END $$;
CREATE TEMP VIEW conv_zones AS
  SELECT 15 AS n, * FROM conv_z15 UNION ALL SELECT 16, * FROM conv_z16 UNION ALL
  SELECT 17, * FROM conv_z17 UNION ALL SELECT 18, * FROM conv_z18 UNION ALL
  SELECT 19, * FROM conv_z19;
SET timezone = 'Asia/Shanghai';
SELECT n, ts, add_time, ts = add_time::timestamp AS same_instant,
       ts_d = ts AS domain_same, ts0 = ts AS ts0_same
  FROM conv_zones ORDER BY n;
SET timezone = 'America/New_York';
SELECT n, ts, add_time, ts = add_time::timestamp AS same_instant,
       ts_d = ts AS domain_same, ts0 = ts AS ts0_same
  FROM conv_zones ORDER BY n;
-- 19: a wall time without a zone that the session's TimeZone skips (a DST
-- change) is kept as written, where timestamptz moves it to 03:30 local
SET timezone = 'Europe/Berlin';
SELECT n, ts, ts_d, add_time::timestamp AS via_timestamptz FROM conv_zones WHERE n IN (17, 19) ORDER BY n;
-- 26 and 27: a wall time the DST change skips, written with the offset
-- from before the change ("02:30+01" in Berlin, "01:30Z" in London), still
-- names an instant: 03:30 in Berlin, 02:30 in London, as via timestamptz
SELECT count(clf_scenario_table('conv_z' || n, 'types' || n)::text) AS tables
  FROM generate_series(26, 27) n;
ALTER FOREIGN TABLE conv_z26 ADD COLUMN ts timestamp OPTIONS (field 'add_time');
ALTER FOREIGN TABLE conv_z27 ADD COLUMN ts timestamp OPTIONS (field 'add_time');
SELECT ts, add_time::timestamp AS via_timestamptz FROM conv_z26;
SET timezone = 'Europe/London';
SELECT ts, add_time::timestamp AS via_timestamptz FROM conv_z27;
SELECT count(clf_drop_scenario_table('conv_z' || n)::text) AS dropped
  FROM generate_series(26, 27) n;
SET timezone = 'UTC';
DROP VIEW conv_zones;
SELECT count(clf_drop_scenario_table('conv_z' || n)::text) AS dropped
  FROM generate_series(15, 19) n;
DROP DOMAIN conv_lts_d;
-- 21-25: a timestamp column parses a string once.  A string without a zone
-- at the ends of timestamp's range (21 and 22) reads as timestamp's input
-- reads it, also where its instant in the session's TimeZone lies beyond
-- the range, which timestamptz's input refuses (21 in New York, west of
-- UTC; 22 in Shanghai, east of it); 23's "+08:00" is the instant it names;
-- a zone PostgreSQL does not know (24), a day that does not exist (25) and
-- no time at all (7) fail with the errors of timestamp's input
SELECT count(clf_scenario_table('conv_e' || n, 'types' || n)::text) AS tables
  FROM unnest(ARRAY[7, 21, 22, 23, 24, 25]) n;
DO $$
DECLARE
  n int;
BEGIN
  FOREACH n IN ARRAY ARRAY[7, 21, 22, 23, 24, 25] LOOP
    EXECUTE format('ALTER FOREIGN TABLE %I ADD COLUMN ts timestamp OPTIONS (field %L), '
                   'ADD COLUMN ts0 timestamp(0) OPTIONS (field %L)',
                   'conv_e' || n, 'add_time', 'add_time');
  END LOOP;
END $$;
CREATE TEMP VIEW conv_edges AS
  SELECT 21 AS n, ts, ts0, '294276-12-31 23:59:59'::timestamp AS timestamp_in FROM conv_e21
  UNION ALL SELECT 22, ts, ts0, '4714-11-24 00:00:00 BC'::timestamp FROM conv_e22;
SET timezone = 'America/New_York';
SELECT n, ts, ts = timestamp_in AS as_timestamp_in, ts0 = ts AS ts0_same FROM conv_edges ORDER BY n;
-- the same string in a timestamptz column lies beyond the range there
SELECT clf_error_of('SELECT add_time FROM conv_e21');
SELECT clf_error_of($q$SELECT '294276-12-31 23:59:59'::timestamptz$q$);
SELECT ts, ts0 FROM conv_e23;
SET timezone = 'Asia/Shanghai';
SELECT n, ts, ts = timestamp_in AS as_timestamp_in, ts0 = ts AS ts0_same FROM conv_edges ORDER BY n;
SELECT clf_error_of($q$SELECT '4714-11-24 00:00:00 BC'::timestamptz$q$);
SELECT ts, ts0 FROM conv_e23;
SET timezone = 'UTC';
SELECT ts FROM conv_e24;
SELECT array(SELECT clf_error_of('SELECT ts FROM conv_e24')) =
       array(SELECT clf_error_of($q$SELECT '2023-09-11 07:51:39 Nowhere/Zone'::timestamp$q$)) AS as_timestamp_in;
SELECT ts FROM conv_e25;
SELECT array(SELECT clf_error_of('SELECT ts FROM conv_e25')) =
       array(SELECT clf_error_of($q$SELECT '2023-02-30 07:51:39'::timestamp$q$)) AS as_timestamp_in;
SELECT ts FROM conv_e7;
SELECT array(SELECT clf_error_of('SELECT ts FROM conv_e7')) =
       array(SELECT clf_error_of($q$SELECT 'not a time'::timestamp$q$)) AS as_timestamp_in;
DROP VIEW conv_edges;
SELECT count(clf_drop_scenario_table('conv_e' || n)::text) AS dropped
  FROM unnest(ARRAY[7, 21, 22, 23, 24, 25]) n;
-- 20: a key beyond ASCII, by field and by the column's name
SELECT clf_scenario_table('conv_t20', 'types20');
ALTER FOREIGN TABLE conv_t20 ADD COLUMN first_name text OPTIONS (field 'prénom'),
  ADD COLUMN "prénom" text;
SELECT external_userid, first_name, "prénom" FROM conv_t20;
SELECT clf_drop_scenario_table('conv_t20');

-- a number with a fraction or an exponent is read from its text: exact
-- beyond 2^53 (as PostgreSQL's own cast of the same text), a fraction
-- refused even where a double would lose it, and 22003 beyond the type;
-- the ends of bigint are the numbers sent (the mock's scenario "numbers")
SELECT clf_scenario_table('conv_num', 'numbers');
CREATE FOREIGN TABLE conv_num2 (
  big      bigint,
  p53      bigint,
  exp      integer,
  exp2     smallint OPTIONS (field 'exp'),
  min      bigint,
  max      bigint,
  frac     bigint,
  near     bigint,
  over     bigint,
  int_over integer,
  uint_over bigint,
  big_int  integer OPTIONS (field 'big'),
  big_num  numeric OPTIONS (field 'big'),
  t_max    timestamptz OPTIONS (field 'max'),
  uint_over_int integer OPTIONS (field 'uint_over'),
  t_uint_over timestamptz OPTIONS (field 'uint_over'),
  lt_uint_over timestamp OPTIONS (field 'uint_over')
) SERVER conv_num_srv;
SELECT big, p53, exp, exp2, min, max FROM conv_num2;
SELECT big = '12345678901234567.0'::numeric::bigint AS big_exact,
       p53 = '9007199254740993.0'::numeric::bigint AS p53_exact,
       big_num = big AS numeric_agrees
  FROM conv_num2;
SELECT frac FROM conv_num2;
SELECT near FROM conv_num2;
SELECT clf_error_of('SELECT near FROM conv_num2');
SELECT over FROM conv_num2;
SELECT clf_error_of('SELECT over FROM conv_num2');
SELECT int_over FROM conv_num2;
-- one past the end of bigint, written as an integer
SELECT clf_error_of('SELECT uint_over FROM conv_num2');
SELECT big_int FROM conv_num2;
-- epoch seconds beyond timestamp's range (here bigint's maximum): 22008
SELECT t_max FROM conv_num2;
SELECT clf_error_of('SELECT t_max FROM conv_num2');
-- one past the end of bigint: the error names the column's type, and a
-- timestamp column's is the same 22008 as for bigint's maximum
SELECT clf_error_of('SELECT uint_over_int FROM conv_num2');
SELECT t_uint_over FROM conv_num2;
SELECT clf_error_of('SELECT t_uint_over FROM conv_num2');
SELECT clf_error_of('SELECT lt_uint_over FROM conv_num2');
DROP FOREIGN TABLE conv_num2;
SELECT clf_drop_scenario_table('conv_num');

-- values that do not fit the declared type
SELECT clf_scenario_table('conv_fit', 'basic');
ALTER FOREIGN TABLE conv_fit ALTER COLUMN name TYPE varchar(5);
SELECT name FROM conv_fit WHERE name IS NOT NULL;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN name TYPE char(3);
SELECT name FROM conv_fit WHERE name IS NOT NULL;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN name TYPE text;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN add_time TYPE smallint;
SELECT add_time FROM conv_fit;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN add_time TYPE date;
-- (date's own hint names the DateStyle setting in a case that differs
-- between PostgreSQL releases)
SELECT line FROM clf_error_of('SELECT add_time FROM conv_fit') line
 WHERE line NOT LIKE 'hint:%';
-- an integer other than 0 or 1 is no boolean (never true)
ALTER FOREIGN TABLE conv_fit ALTER COLUMN add_time TYPE boolean;
SELECT add_time FROM conv_fit;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN add_time TYPE timestamptz;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN is_customer TYPE integer;
SELECT is_customer FROM conv_fit;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN is_customer TYPE boolean;
ALTER FOREIGN TABLE conv_fit ALTER COLUMN tmp_openid TYPE boolean;
SELECT tmp_openid FROM conv_fit;
-- the error has the FDW's SQLSTATE class or the type's own
SELECT clf_error_of('SELECT * FROM conv_t5');
SELECT clf_error_of('SELECT name FROM conv_t9');

-- A domain column is converted as its base type (the epoch for a domain
-- over timestamptz, a JSON value for one over jsonb, 1.0 for one over
-- integer, the base's length for one over varchar(n)), then the domain's
-- constraints hold, NULLs included (a missing key and JSON null alike).
CREATE DOMAIN conv_ts_d AS timestamptz;
CREATE DOMAIN conv_ts_dd AS conv_ts_d CHECK (VALUE < '2023-09-11 12:00Z');
CREATE DOMAIN conv_jb_d AS jsonb;
CREATE DOMAIN conv_int_d AS integer CHECK (VALUE > 0);
CREATE DOMAIN conv_vc_d AS varchar(5);
CREATE DOMAIN conv_nn_text AS text NOT NULL;
CREATE DOMAIN conv_some_text AS text CHECK (VALUE IS NOT NULL);
CREATE DOMAIN conv_cust_text AS text CHECK (VALUE LIKE 'wm\_cust\_%');
SELECT clf_scenario_table('conv_dom', 'basic');
CREATE FOREIGN TABLE conv_dom2 (
  add_time     conv_ts_d,
  add_plain    timestamptz OPTIONS (field 'add_time'),
  early        conv_ts_dd OPTIONS (field 'add_time'),
  name         conv_jb_d,
  name_plain   jsonb OPTIONS (field 'name'),
  item         conv_jb_d,
  ext_checked  conv_cust_text OPTIONS (field 'external_userid'),
  ext_nn       conv_nn_text OPTIONS (field 'external_userid'),
  chat_some    conv_some_text OPTIONS (field 'chat_id'),
  follow_short conv_vc_d OPTIONS (field 'follow_userid')
) SERVER conv_dom_srv;
SELECT count(*) AS rows, count(add_time) FILTER (WHERE add_time = add_plain) AS same_time,
       count(name) FILTER (WHERE name = name_plain AND jsonb_typeof(name) = 'string') AS same_name,
       count(*) FILTER (WHERE jsonb_typeof(item) = 'object' AND item ? 'tmp_openid') AS items,
       count(ext_checked) AS ext_checked
  FROM conv_dom2;
SELECT add_time, pg_typeof(add_time) AS type, name, pg_typeof(name) AS name_type
  FROM conv_dom2 WHERE name IS NOT NULL ORDER BY add_time LIMIT 2;
-- a domain over a domain: its own CHECK and its base domain's conversion
-- (the first five rows are early enough, the sixth is not)
SELECT early FROM conv_dom2 LIMIT 5;
SELECT early FROM conv_dom2;
-- NOT NULL refuses a missing key (23502), a CHECK refuses NULL (23514) and
-- a value (23514), the base's typmod a long value (22001)
SELECT ext_nn FROM conv_dom2;
SELECT clf_error_of('SELECT ext_nn FROM conv_dom2');
SELECT chat_some FROM conv_dom2;
SELECT clf_error_of('SELECT chat_some FROM conv_dom2');
SELECT follow_short FROM conv_dom2;
-- a column's own NOT NULL: PostgreSQL checks none on a foreign table but
-- plans with it (from 17 on it drops "col IS NOT NULL" as always true), so
-- a missing key fails the scan (23502) as a domain's would, also in a query
-- that does not read the column
CREATE FOREIGN TABLE conv_nn (
  tmp_openid      text NOT NULL,
  name            text,
  external_userid text NOT NULL
) SERVER conv_dom_srv;
SELECT external_userid FROM conv_nn;
SELECT clf_error_of('SELECT count(*) FROM conv_nn WHERE external_userid IS NOT NULL');
SELECT clf_error_of('SELECT count(*) FROM conv_nn');
SELECT clf_error_of('SELECT name FROM conv_nn');
-- a NOT NULL every item honours (tmp_openid) stops nothing; from 18 on, a
-- NOT VALID one is not trusted by the planner, and not checked either
ALTER FOREIGN TABLE conv_nn ALTER COLUMN external_userid DROP NOT NULL;
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 180000 THEN
    EXECUTE 'ALTER FOREIGN TABLE conv_nn ADD CONSTRAINT conv_nn_unchecked NOT NULL external_userid NOT VALID';
  END IF;
END $$;
SELECT count(*) AS rows, count(name) AS names, count(external_userid) AS customers FROM conv_nn;
DROP FOREIGN TABLE conv_nn;
-- JSON null is NULL to a domain too: row 10 of types has "name": null
SELECT clf_scenario_table('conv_dom10', 'types10');
ALTER FOREIGN TABLE conv_dom10 ALTER COLUMN name TYPE conv_nn_text;
SELECT name FROM conv_dom10;
-- and to a column's NOT NULL
ALTER FOREIGN TABLE conv_dom10 ALTER COLUMN name TYPE text, ALTER COLUMN name SET NOT NULL;
SELECT name FROM conv_dom10;
ALTER FOREIGN TABLE conv_dom10 ALTER COLUMN name TYPE conv_nn_text, ALTER COLUMN name DROP NOT NULL;
-- a whole number written as 1.0 fits a domain over integer, as integer;
-- its CHECK holds after the conversion
SELECT clf_scenario_table('conv_dom14', 'types14');
ALTER FOREIGN TABLE conv_dom14 ALTER COLUMN add_time TYPE conv_int_d;
SELECT add_time, pg_typeof(add_time) FROM conv_dom14;
CREATE DOMAIN conv_neg_d AS bigint CHECK (VALUE < 0);
ALTER FOREIGN TABLE conv_dom14 ALTER COLUMN add_time TYPE conv_neg_d;
SELECT add_time FROM conv_dom14;
-- a source column of a domain type holds the domain too
ALTER FOREIGN TABLE conv_dom10 ALTER COLUMN follow_userid TYPE conv_cust_text;
ALTER FOREIGN TABLE conv_dom10 ALTER COLUMN follow_userid OPTIONS (ADD source 'server');
SELECT follow_userid FROM conv_dom10;
DROP FOREIGN TABLE conv_dom2;
SELECT clf_drop_scenario_table(t) FROM unnest(ARRAY['conv_dom', 'conv_dom10', 'conv_dom14']) t;
DROP DOMAIN conv_ts_dd, conv_ts_d, conv_jb_d, conv_int_d, conv_neg_d, conv_vc_d,
  conv_nn_text, conv_some_text, conv_cust_text;

DROP FOREIGN TABLE conv_all, conv_extra2;
SELECT count(clf_drop_scenario_table(t)::text) AS dropped
  FROM unnest(ARRAY['conv_extra', 'conv_fit'] ||
              ARRAY(SELECT 'conv_t' || n FROM generate_series(1, 13) n)) t;
SELECT count(*) AS left_over FROM pg_class WHERE relname LIKE 'conv\_%';
