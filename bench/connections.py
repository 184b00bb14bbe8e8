#!/usr/bin/python3
"""200 short connections, each `SELECT * FROM t LIMIT 1` (bench/run.sh).

Prints "WALL_MS GETTOKEN CONTACT_LIST": the wall time of all connections
(4 client threads), and the gettoken and contact_list calls the mock saw.
Usage: connections.py MOCK_URL TABLE N
"""
import json
import sys
import threading
import time
import urllib.request

import psycopg2


def mock(url, path):
    req = urllib.request.Request(url + path, headers={"Accept-Encoding": "identity"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def main():
    url, table, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    threads = 4
    errors = []

    def worker(k):
        for _ in range(k):
            try:
                conn = psycopg2.connect("")
                with conn.cursor() as cur:
                    cur.execute("SELECT * FROM %s LIMIT 1" % table)
                    if len(cur.fetchall()) != 1:
                        errors.append("no row")
                conn.close()
            except Exception as e:
                errors.append(str(e))
    mock(url, "/_reset")
    t0 = time.monotonic()
    per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    ths = [threading.Thread(target=worker, args=(k,)) for k in per]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    ms = (time.monotonic() - t0) * 1000
    if errors:
        sys.exit("errors: %s" % errors[:3])
    st = mock(url, "/_stats")
    print("%.0f %d %d" % (ms, st["gettoken"], st["contact_list"]))


if __name__ == "__main__":
    main()
