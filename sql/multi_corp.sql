--
-- multi_corp: one foreign table per corp under a partitioned table, each
-- row saying whose it is (column option source 'server').
--
SET timezone = 'UTC';

-- the README's recipe as it is written (role crm here clf_crm, the mock's
-- corps for the ids), up to the pg_cron job (sql/recipes_cron.sql
-- schedules one): the role its user mappings are for creates everything,
-- so the view, which is filled and refreshed with its owner's mappings,
-- finds them.  The wrapper's api_url sends the servers to the mock.
ALTER FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (ADD api_url 'http://127.0.0.1:18642/cgi-bin');
CREATE ROLE clf_crm;
GRANT USAGE ON FOREIGN DATA WRAPPER contact_list_fdw TO clf_crm;
GRANT CREATE ON SCHEMA public TO clf_crm;
SET ROLE clf_crm;

CREATE SERVER corp_a FOREIGN DATA WRAPPER contact_list_fdw;
CREATE SERVER corp_b FOREIGN DATA WRAPPER contact_list_fdw;
CREATE USER MAPPING FOR clf_crm SERVER corp_a OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
CREATE USER MAPPING FOR clf_crm SERVER corp_b OPTIONS (corp_id 'corp-extrakeys', corp_secret 'secret-ok2');

CREATE TABLE contacts (corp text, external_userid text, name text,
                       follow_userid text, chat_id text, is_customer boolean)
  PARTITION BY LIST (corp);
CREATE FOREIGN TABLE contacts_a PARTITION OF contacts FOR VALUES IN ('corp_a') SERVER corp_a;
CREATE FOREIGN TABLE contacts_b PARTITION OF contacts FOR VALUES IN ('corp_b') SERVER corp_b;
ALTER FOREIGN TABLE contacts_a ALTER COLUMN corp OPTIONS (ADD source 'server');
ALTER FOREIGN TABLE contacts_b ALTER COLUMN corp OPTIONS (ADD source 'server');

CREATE MATERIALIZED VIEW all_customers AS
  SELECT DISTINCT corp, external_userid, coalesce(follow_userid, '') AS follow_userid,
         coalesce(chat_id, '') AS chat_id
    FROM contacts WHERE is_customer;
CREATE UNIQUE INDEX ON all_customers (corp, external_userid, follow_userid, chat_id);
-- refreshed without blocking readers, by its owner (as its pg_cron job)
REFRESH MATERIALIZED VIEW CONCURRENTLY all_customers;
SELECT corp, count(*) FROM all_customers GROUP BY corp ORDER BY corp;
RESET ROLE;

-- the rest of this file reads as the superuser, with mappings of its own
CREATE USER MAPPING FOR CURRENT_USER SERVER corp_a
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
CREATE USER MAPPING FOR CURRENT_USER SERVER corp_b
  OPTIONS (corp_id 'corp-extrakeys', corp_secret 'secret-ok2');

-- every row says which server it came from
SELECT corp, count(*) AS rows, count(DISTINCT external_userid) AS contacts
  FROM contacts GROUP BY corp ORDER BY corp;
-- the partition key is a plain column: the source fills it however the
-- query reads it (whole row, only that column, a join)
SELECT corp FROM contacts_b LIMIT 1;
SELECT c.corp, c.name FROM contacts c WHERE c.corp = 'corp_a' ORDER BY c.name LIMIT 3;
SELECT (c).corp FROM contacts_a c LIMIT 1;

-- WHERE corp = '...' prunes to one partition: the other corp is not asked
EXPLAIN (COSTS OFF) SELECT * FROM contacts WHERE corp = 'corp_a';
SELECT mock_reset();
SELECT count(*) FROM contacts WHERE corp = 'corp_a';
SELECT mock_stats()->'contact_list' AS pruned_requests \gset
SELECT mock_reset();
SELECT count(*) FROM contacts_a;
SELECT mock_stats()->'contact_list' = :'pruned_requests'::jsonb AS only_corp_a_was_asked;

-- the source goes through the column type's input function
CREATE FOREIGN TABLE source_short (corp varchar(3) OPTIONS (source 'server'))
  SERVER corp_a;
SELECT clf_error_of('SELECT * FROM source_short LIMIT 1');
-- and the context names the column and its option
SELECT * FROM source_short LIMIT 1;
CREATE FOREIGN TABLE source_name (corp name OPTIONS (source 'server'), name text)
  SERVER corp_a;
SELECT corp, pg_typeof(corp) FROM source_name LIMIT 1;

-- bad column options
SELECT clf_error_of($$CREATE FOREIGN TABLE source_bad (corp text OPTIONS (source 'corp_id')) SERVER corp_a$$);
SELECT clf_error_of($$CREATE FOREIGN TABLE source_bad (corp text OPTIONS (source 'server', field 'corp')) SERVER corp_a$$);
SELECT clf_error_of($$ALTER FOREIGN TABLE contacts_a ALTER COLUMN name OPTIONS (ADD source 'table')$$);
-- without the option, corp is read as a JSON key, which no item has
ALTER FOREIGN TABLE contacts_a ALTER COLUMN corp OPTIONS (DROP source);
SELECT count(*) FILTER (WHERE corp IS NULL) AS without_source FROM contacts_a;

DROP FOREIGN TABLE source_short, source_name;
DROP USER MAPPING FOR CURRENT_USER SERVER corp_a;
DROP USER MAPPING FOR CURRENT_USER SERVER corp_b;
-- clf_crm's servers, mappings, tables and view, and what it was granted
DROP OWNED BY clf_crm;
DROP ROLE clf_crm;
ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (DROP api_url);
