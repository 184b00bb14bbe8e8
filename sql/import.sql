--
-- import: IMPORT FOREIGN SCHEMA wecom creates contact_list with the canonical
-- columns; LIMIT TO / EXCEPT work; other remote schemas are an error; the
-- statement's OPTIONS are the table's (never ignored).
--
CREATE SCHEMA imported;
IMPORT FOREIGN SCHEMA wecom FROM SERVER wecom INTO imported;
\d imported.contact_list
SELECT count(*), count(DISTINCT external_userid) FROM imported.contact_list;
DROP FOREIGN TABLE imported.contact_list;

IMPORT FOREIGN SCHEMA wecom LIMIT TO (contact_list) FROM SERVER wecom INTO imported;
SELECT relname FROM pg_class WHERE relnamespace = 'imported'::regnamespace;
DROP FOREIGN TABLE imported.contact_list;
IMPORT FOREIGN SCHEMA wecom LIMIT TO (something_else) FROM SERVER wecom INTO imported;
IMPORT FOREIGN SCHEMA wecom EXCEPT (contact_list) FROM SERVER wecom INTO imported;
SELECT relname FROM pg_class WHERE relnamespace = 'imported'::regnamespace;
IMPORT FOREIGN SCHEMA wecom EXCEPT (something_else) FROM SERVER wecom INTO imported;
SELECT relname FROM pg_class WHERE relnamespace = 'imported'::regnamespace;

IMPORT FOREIGN SCHEMA public FROM SERVER wecom INTO imported;

-- the statement's options become the table's, checked as table options
DROP FOREIGN TABLE imported.contact_list;
IMPORT FOREIGN SCHEMA wecom FROM SERVER wecom INTO imported
  OPTIONS (page_size '7', rows_estimate '500');
SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 'imported.contact_list'::regclass;
SELECT mock_reset();
SELECT count(*) FROM imported.contact_list;
SELECT mock_stats()->'limits' AS limits;
DROP FOREIGN TABLE imported.contact_list;
SELECT clf_error_of($$IMPORT FOREIGN SCHEMA wecom FROM SERVER wecom INTO imported OPTIONS (colour 'red')$$);
SELECT clf_error_of($$IMPORT FOREIGN SCHEMA wecom FROM SERVER wecom INTO imported OPTIONS (timeout_ms '5')$$);
SELECT relname FROM pg_class WHERE relnamespace = 'imported'::regnamespace;
DROP SCHEMA imported CASCADE;
