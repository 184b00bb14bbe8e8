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
-- 7: "not a time" is no timestamp, but fine as text
SELECT * FROM conv_t7;
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

DROP FOREIGN TABLE conv_all, conv_extra2;
SELECT count(clf_drop_scenario_table(t)::text) AS dropped
  FROM unnest(ARRAY['conv_extra', 'conv_fit'] ||
              ARRAY(SELECT 'conv_t' || n FROM generate_series(1, 13) n)) t;
SELECT count(*) AS left_over FROM pg_class WHERE relname LIKE 'conv\_%';
