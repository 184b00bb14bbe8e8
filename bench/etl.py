#!/usr/bin/python3
"""The ETL script a user would write instead of the FDW: the baseline of `make bench`.

Pages through externalcontact/contact_list with requests (one Session, so one
keep-alive connection, gzip accepted), and loads each page into a PostgreSQL
table with psycopg2's COPY from an in-memory CSV buffer, all in one
transaction, like CREATE TABLE AS.  The table has the same columns and types
as the bench's foreign table (add_time timestamptz from epoch seconds).

usage: etl.py API_URL ACCESS_TOKEN TABLE [LIMIT]
The PostgreSQL connection comes from the usual PG* environment variables.
Prints: rows=<n> pages=<n> seconds=<s> (from the first request to the commit).
"""
import csv
import io
import sys
import time
from datetime import datetime, timezone

import psycopg2
import requests

COLUMNS = ("is_customer", "tmp_openid", "external_userid", "name",
           "follow_userid", "chat_id", "chat_name", "add_time")


def main():
    api_url, token, table = sys.argv[1:4]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    url = api_url.rstrip("/") + "/externalcontact/contact_list"

    start = time.monotonic()
    conn = psycopg2.connect("")
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("DROP TABLE IF EXISTS %s" % table)
    cur.execute("CREATE TABLE %s (is_customer boolean, tmp_openid text, external_userid text,"
                " name text, follow_userid text, chat_id text, chat_name text,"
                " add_time timestamptz)" % table)
    copy_sql = "COPY %s (%s) FROM STDIN WITH (FORMAT csv)" % (table, ", ".join(COLUMNS))

    session = requests.Session()
    cursor, rows, pages = "", 0, 0
    while True:
        r = session.post(url, params={"access_token": token},
                         json={"cursor": cursor, "limit": limit}, timeout=30)
        r.raise_for_status()
        page = r.json()
        if page.get("errcode", 0) != 0:
            sys.exit("WeCom error %s: %s" % (page.get("errcode"), page.get("errmsg")))

        buf = io.StringIO()
        out = csv.writer(buf)
        for item in page["info_list"]:
            at = item.get("add_time")
            out.writerow((
                item.get("is_customer"), item.get("tmp_openid"), item.get("external_userid"),
                item.get("name"), item.get("follow_userid"), item.get("chat_id"),
                item.get("chat_name"),
                None if at is None else datetime.fromtimestamp(at, timezone.utc).isoformat(),
            ))
        buf.seek(0)
        cur.copy_expert(copy_sql, buf)
        rows += len(page["info_list"])
        pages += 1

        cursor = page.get("next_cursor") or ""
        if not cursor:
            break
    conn.commit()
    elapsed = time.monotonic() - start
    conn.close()
    print("rows=%d pages=%d seconds=%.6f" % (rows, pages, elapsed))


if __name__ == "__main__":
    main()
