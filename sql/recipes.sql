--
-- recipes: the README's recipes, each run for real.
--
SET timezone = 'UTC';

-- 1. Join with a CRM table on external_userid, the id that is stable across
--    traversals (customers only).
CREATE TABLE crm_customer (external_userid text PRIMARY KEY, company text);
INSERT INTO crm_customer VALUES
  ('wm_cust_001', 'Acme'), ('wm_cust_003', 'Globex'), ('wm_cust_999', 'Initech');
ANALYZE crm_customer;
EXPLAIN (COSTS OFF)
SELECT c.company, w.follow_userid, w.chat_id, w.add_time
  FROM crm_customer c JOIN wecom_contacts w USING (external_userid);
SELECT c.company, w.follow_userid, w.chat_id, w.add_time
  FROM crm_customer c JOIN wecom_contacts w USING (external_userid)
 ORDER BY c.company, w.add_time;
-- CRM customers nobody in WeCom serves any more
SELECT c.* FROM crm_customer c
 WHERE NOT EXISTS (SELECT 1 FROM wecom_contacts w WHERE w.external_userid = c.external_userid);

-- 2. A materialized view of customer relationships, with a unique index on a
--    key that is stable across traversals (not tmp_openid, which changes),
--    refreshed without blocking readers.
CREATE MATERIALIZED VIEW customer_relationships AS
  SELECT external_userid,
         coalesce(follow_userid, '') AS follow_userid,
         coalesce(chat_id, '') AS chat_id,
         min(add_time) AS add_time
    FROM wecom_contacts
   WHERE is_customer
   GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX customer_relationships_key
  ON customer_relationships (external_userid, follow_userid, chat_id);
SELECT count(*) FROM customer_relationships;
SELECT mock_reset();
REFRESH MATERIALIZED VIEW CONCURRENTLY customer_relationships;
SELECT mock_stats()->'contact_list' AS requests;
SELECT count(*) FROM customer_relationships;

-- The key repeats in WeCom's rows: a customer in non-customer group chats
-- of the member who added them has rows with a chat_name and no chat_id
-- (scenario customergroups).  The recipe's view, its GROUP BY, refreshes
-- over such rows; a view without it would fail to.
ALTER USER MAPPING FOR CURRENT_USER SERVER wecom
  OPTIONS (SET corp_id 'corp-customergroups');
SELECT external_userid, coalesce(follow_userid, '') AS follow_userid,
       coalesce(chat_id, '') AS chat_id, count(*) AS rows
  FROM wecom_contacts WHERE is_customer
 GROUP BY 1, 2, 3 HAVING count(*) > 1;
REFRESH MATERIALIZED VIEW CONCURRENTLY customer_relationships;
SELECT * FROM customer_relationships WHERE external_userid = 'wm_cust_001'
 ORDER BY add_time;
ALTER USER MAPPING FOR CURRENT_USER SERVER wecom
  OPTIONS (SET corp_id 'corp-basic');
REFRESH MATERIALIZED VIEW CONCURRENTLY customer_relationships;

-- 3. De-duplicate contacts within one scan: tmp_openid identifies a contact
--    within one traversal (one scan), so group on it in the same query.
SELECT count(*) AS relationships,
       count(DISTINCT tmp_openid) AS contacts,
       count(DISTINCT tmp_openid) FILTER (WHERE is_customer) AS customers
  FROM wecom_contacts;
SELECT DISTINCT ON (tmp_openid)
       is_customer, external_userid, name, add_time
  FROM wecom_contacts
 ORDER BY tmp_openid, add_time;

-- (customer_relationships stays for recipes_cron)
DROP TABLE crm_customer;
