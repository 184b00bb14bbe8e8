--
-- scan: a traversal follows the cursor chain from an empty cursor to the end,
-- one page at a time and only when rows are needed (issue 2, items 4 and 5).
--
SET timezone = 'UTC';

SELECT clf_scenario_table('scan_p1', 'basic', 'page_size ''1'''),
       clf_scenario_table('scan_p7', 'basic', 'page_size ''7'''),
       clf_scenario_table('scan_p10', 'basic', 'page_size ''10'''),
       clf_scenario_table('scan_p1000', 'basic', 'page_size ''1000''');

-- the reference: one page of 1000; tmp_openid's traversal number is cut off,
-- since each traversal gets new ids
CREATE TEMP TABLE scan_ref AS
  SELECT is_customer, regexp_replace(tmp_openid, '^tmp-\d+-', 'tmp-') AS tmp,
         external_userid, name, follow_userid, chat_id, chat_name, add_time
    FROM scan_p1000;
SELECT count(*), count(DISTINCT add_time) FROM scan_ref;

-- every page size returns the same 25 rows, each once, from one traversal
CREATE FUNCTION scan_check(tbl regclass) RETURNS TABLE (rows bigint, distinct_rows bigint,
    traversals bigint, missing bigint, extra bigint)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($q$CREATE TEMP TABLE scan_got AS
    SELECT is_customer, tmp_openid, regexp_replace(tmp_openid, '^tmp-\d+-', 'tmp-') AS tmp,
           external_userid, name, follow_userid, chat_id, chat_name, add_time FROM %s$q$, tbl);
  RETURN QUERY SELECT
    (SELECT count(*) FROM scan_got),
    (SELECT count(DISTINCT add_time) FROM scan_got),
    (SELECT count(DISTINCT split_part(tmp_openid, '-', 2)) FROM scan_got),
    (SELECT count(*) FROM (SELECT * FROM scan_ref EXCEPT
       SELECT is_customer, tmp, external_userid, name, follow_userid, chat_id, chat_name, add_time FROM scan_got) m),
    (SELECT count(*) FROM (SELECT is_customer, tmp, external_userid, name, follow_userid, chat_id, chat_name, add_time FROM scan_got
       EXCEPT SELECT * FROM scan_ref) e);
  DROP TABLE scan_got;
END $$;

SELECT mock_reset();
SELECT * FROM scan_check('scan_p1');
SELECT jsonb_array_length(s -> 'limits') AS requests,
       (SELECT count(*) FROM jsonb_array_elements(s -> 'limits') l WHERE l <> '1') AS other_limits
  FROM mock_stats() s;
SELECT mock_reset();
SELECT * FROM scan_check('scan_p7');
SELECT s -> 'limits' AS limits FROM mock_stats() s;
SELECT mock_reset();
SELECT * FROM scan_check('scan_p10');
-- the first request sends an empty cursor, the next ones the cursor the
-- previous page returned (c1.SCENARIO.TRAVERSAL.OFFSET.PAGE.CHECKSUM)
SELECT s -> 'limits' AS limits, s -> 'cursors' AS cursors FROM mock_stats() s;
SELECT mock_reset();
SELECT * FROM scan_check('scan_p1000');
SELECT s -> 'limits' AS limits, s -> 'cursors' AS cursors FROM mock_stats() s;

-- the rows themselves, in the API's order
SELECT * FROM scan_p1000 ORDER BY add_time;

-- WHERE is checked locally: the customers only
SELECT external_userid, follow_userid, chat_id, add_time
  FROM wecom_contacts WHERE is_customer ORDER BY add_time;
SELECT count(*) FROM wecom_contacts WHERE NOT is_customer;

-- LIMIT 5: one request for 5 rows, no second page
SELECT mock_reset();
SELECT external_userid, name FROM scan_p10 LIMIT 5;
SELECT s -> 'contact_list' AS requests, s -> 'limits' AS limits FROM mock_stats() s;
-- with a filter the limit cannot be passed down, but pages are still
-- fetched only as rows are needed: 5 customers per page of 10
SELECT mock_reset();
SELECT count(*) FROM (SELECT * FROM scan_p10 WHERE is_customer LIMIT 3) s;
SELECT s -> 'contact_list' AS requests, s -> 'limits' AS limits FROM mock_stats() s;
SELECT mock_reset();
SELECT count(*) FROM (SELECT * FROM scan_p10 WHERE is_customer LIMIT 7) s;
SELECT s -> 'contact_list' AS requests, s -> 'limits' AS limits FROM mock_stats() s;
-- a cursor that stays open mid-chain is never followed further
SELECT mock_reset();
BEGIN;
DECLARE c CURSOR FOR SELECT add_time FROM scan_p10;
FETCH 3 FROM c;
SELECT s -> 'contact_list' AS requests FROM mock_stats() s;
FETCH 10 FROM c;
SELECT s -> 'contact_list' AS requests FROM mock_stats() s;
COMMIT;

-- the end of the chain: an empty list; no next_cursor key; a null next_cursor
SELECT clf_scenario_table('scan_empty', 'empty'),
       clf_scenario_table('scan_nokey', 'nocursorkey', 'page_size ''10'''),
       clf_scenario_table('scan_nullcursor', 'nullcursor', 'page_size ''10'''),
       clf_scenario_table('scan_extra', 'extrakeys', 'page_size ''10''');
SELECT mock_reset();
SELECT * FROM scan_empty;
SELECT count(*), min(add_time), max(add_time) FROM scan_nokey;
SELECT count(*), min(add_time), max(add_time) FROM scan_nullcursor;
-- unknown keys, in the item or around info_list, are ignored
SELECT * FROM scan_check('scan_extra');
SELECT s -> 'contact_list' AS requests FROM mock_stats() s;

-- every request was a well-formed POST with Content-Type application/json,
-- a string cursor and an integer limit: the mock counted no bad request
SELECT s -> 'bad_requests' AS bad_requests FROM mock_stats() s;

-- texts come back byte for byte: CJK, emoji, quotes, backslashes
SELECT DISTINCT name, octet_length(name) AS bytes, encode(convert_to(name, 'UTF8'), 'hex') AS utf8
  FROM wecom_contacts WHERE name IS NOT NULL ORDER BY 3;
SELECT DISTINCT chat_name, octet_length(chat_name) AS bytes
  FROM wecom_contacts WHERE chat_name IS NOT NULL ORDER BY 1;
SELECT count(*) FILTER (WHERE name = '张三') AS zhangsan,
       count(*) FILTER (WHERE name = U&'\+01F43C\718A\732B') AS panda,
       count(*) FILTER (WHERE name = 'Tom "T" Lee') AS tom,
       count(*) FILTER (WHERE name = E'back\\slash') AS backslash,
       count(*) FILTER (WHERE name = 'O''Brien') AS obrien,
       count(*) FILTER (WHERE name = '***开') AS masked,
       count(*) FILTER (WHERE chat_name = E'外联群2 "VIP" \\ 🐼') AS vip_group,
       count(*) FILTER (WHERE chat_name = 'Night ''owls'' 群') AS owls
  FROM wecom_contacts;

SELECT count(*) AS dropped FROM (
  SELECT clf_drop_scenario_table(t)
    FROM unnest(ARRAY['scan_p1', 'scan_p7', 'scan_p10', 'scan_p1000', 'scan_empty',
                      'scan_nokey', 'scan_nullcursor', 'scan_extra']) t) d;
DROP FUNCTION scan_check(regclass);
SELECT count(*) AS left_over FROM pg_foreign_server WHERE srvname LIKE 'scan\_%';
