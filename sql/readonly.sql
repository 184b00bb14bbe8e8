--
-- readonly: the API cannot be written to, and the wrapper says so
-- (PostgreSQL's own errors, as the wrapper offers no write callbacks).
--
SELECT clf_error_of($$INSERT INTO wecom_contacts (name) VALUES ('x')$$);
SELECT clf_error_of($$UPDATE wecom_contacts SET name = 'x'$$);
SELECT clf_error_of($$DELETE FROM wecom_contacts$$);
SELECT clf_error_of($$TRUNCATE wecom_contacts$$);
COPY wecom_contacts FROM STDIN;
