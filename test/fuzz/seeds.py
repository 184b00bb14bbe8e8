"""Write a seed corpus for fuzz_page_parser: real response bodies of the mock.

Usage: /usr/bin/python3 test/fuzz/seeds.py OUTDIR

Starts test/mock_wecom.py on a free loopback port (port 0, so it cannot
collide with a mock already running), fetches pages of every scenario whose
body the page parser sees (good pages, hostile ones, API errors, gettoken
answers) without gzip, and writes each body to OUTDIR as one file.
"""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(HERE, "..", "mock_wecom.py")

# scenarios whose contact_list body reaches the parser (hang, slow, huge,
# drop3 and redirect do not: they test the transport)
SCENARIOS = [
    "basic", "empty", "big", "shortlived", "invalidtoken", "e48002", "e60020",
    "e40058", "e12345", "e45009", "e45033", "e-1", "nonjson", "truncated",
    "notobject", "noinfolist", "infolistnotarray", "itemnotobject",
    "nocursorkey", "nullcursor", "nul", "badutf8", "loopcursor", "extrakeys",
    "types", "types5", "types9", "busy2", "http500", "http404",
    "dupkeys", "dupitemkey", "nulkey", "nulcursor", "types12",
]


def fetch(url, body=None):
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        return e.read()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    mock = subprocess.Popen([sys.executable, MOCK, "--host", "127.0.0.1", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = mock.stdout.readline()
        port = int(line.split()[-1])
        base = "http://127.0.0.1:%d/cgi-bin" % port
        n = 0

        def save(name, data):
            nonlocal n
            with open(os.path.join(out, "mock-%s" % name), "wb") as f:
                f.write(data)
            n += 1

        save("gettoken-ok", fetch(base + "/gettoken?corpid=corp-basic&corpsecret=secret-ok"))
        save("gettoken-short", fetch(base + "/gettoken?corpid=corp-shortlived&corpsecret=secret-ok"))
        save("gettoken-40001", fetch(base + "/gettoken?corpid=corp-basic&corpsecret=wrong"))
        save("gettoken-40013", fetch(base + "/gettoken?corpid=nope&corpsecret=secret-ok"))
        for scen in SCENARIOS:
            for limit in (1, 7, 1000):
                url = base + "/externalcontact/contact_list?access_token=fixed-" + scen
                body = json.dumps({"cursor": "", "limit": limit}).encode()
                page = fetch(url, body)
                save("%s-l%d-p1" % (scen, limit), page)
                # a later page too, where there is one
                try:
                    cursor = json.loads(page).get("next_cursor")
                except (ValueError, AttributeError):
                    cursor = None
                if cursor:
                    body = json.dumps({"cursor": cursor, "limit": limit}).encode()
                    save("%s-l%d-p2" % (scen, limit), fetch(url, body))
        print("%d seed bodies from the mock" % n)
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    main()
