--
-- readonly: the API cannot be written to, and the wrapper says so.
--
INSERT INTO wecom_contacts (name) VALUES ('x');
UPDATE wecom_contacts SET name = 'x';
DELETE FROM wecom_contacts;
TRUNCATE wecom_contacts;
COPY wecom_contacts FROM STDIN;
