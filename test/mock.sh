#!/usr/bin/env bash
# make mock: the mock WeCom endpoint in the foreground, for trying the
# wrapper by hand, with the SQL that points a server at it.  Ctrl-C stops it.
#
#   make mock [CLF_MOCK_PORT=18642]
#
# The extension must be installed in the PostgreSQL you connect to (make
# install, make demo or a package).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${CLF_MOCK_PORT:-18642}
api_url=http://127.0.0.1:$port/cgi-bin

cat <<SQL
The mock WeCom endpoint: $api_url (Ctrl-C stops it).
Paste this into psql, as a superuser (only a superuser sets api_url):

CREATE EXTENSION IF NOT EXISTS contact_list_fdw;
CREATE SERVER wecom_mock FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url '$api_url', page_size '10');
CREATE USER MAPPING FOR CURRENT_USER SERVER wecom_mock
  OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok');
CREATE FOREIGN TABLE wecom_mock_contacts (
  is_customer boolean, tmp_openid text, external_userid text, name text,
  follow_userid text, chat_id text, chat_name text, add_time timestamptz
) SERVER wecom_mock;
SELECT * FROM wecom_mock_contacts;

Another scenario is another corp id, for example a rate limit that never lifts:
ALTER USER MAPPING FOR CURRENT_USER SERVER wecom_mock OPTIONS (SET corp_id 'corp-ratelimitforever');

SQL
/usr/bin/python3 test/mock_wecom.py --help | sed -n '/^The corp id picks/,$p'
echo
exec /usr/bin/python3 test/mock_wecom.py --host 127.0.0.1 --port "$port"
