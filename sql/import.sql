--
-- import: IMPORT FOREIGN SCHEMA wecom creates contact_list with the canonical
-- columns; LIMIT TO / EXCEPT work; other remote schemas are an error.
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
DROP SCHEMA imported CASCADE;
