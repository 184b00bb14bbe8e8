#!/usr/bin/python3
"""Mock WeCom endpoint for the contact_list_fdw tests (standard library only).

The contract is test/MOCK_PROTOCOL.md; where that doc left room, these are the
choices made (the doc states them too, the tests are written against the doc):
- Order of checks on contact_list: token form (41001/40014), then the request
  checks (40058, counted in bad_requests), then the scenario.  A rejected
  request therefore never uses up a "once" scenario's failure.
- Tokens are checked by value, as WeCom does: a tok-... token passes only if
  this process issued it (fixed-SCENARIO: with a known scenario).  The set of
  issued tokens survives /_reset, so a token cached by a backend still works
  after it.  Token texts are unique per issue and per secret across resets
  and mock restarts: tok-SCENARIO-SERIAL-SECRETTAG-UNIQUE, SECRETTAG a digest
  of the secret, UNIQUE a per-process nonce and a never-reset counter.
  `shortlived` only changes expires_in.
- A corp id or token naming an unknown scenario is 40013 / 40014.
- The traversal number grows when a first page (empty cursor) is actually
  served, so a retried first request after an injected failure still gets
  traversal 1.  `bench` always uses traversal 1: its pages are cached bytes.
- Cursors are deterministic (expected outputs may print them) but carry a
  checksum, so only cursors minted by this mock, for the same scenario, pass.
- Every response body (also errors, also /_stats) is gzip-encoded when the
  request accepts gzip; `gzip` always encodes; `huge` gzips on the fly.
- `connections` leaves out connections whose first request is a control
  request (/_stats, /_reset, /_warm), so polling stats does not disturb it.
- `limits`/`cursors`/`tokens` in /_stats hold the raw values sent (null when
  absent or when the body is not a JSON object).
- `/evil` (the redirect target) answers a one-row page and is counted in
  stats.evil, so a test can prove the redirect was not followed.
- `/_warm?limit=N[&gzip=1]` pre-builds the bench cache so a benchmark does not
  time the mock's row generation.
- Cursors carry the page number: `drop3` drops page 3 of a traversal even if
  the client changed limit; `loopcursor` page 1 points at offset=limit and
  every later page hands back the cursor it was called with.
- `nocursorkey`/`nullcursor` serve one page of basic rows 1..min(limit, 25);
  `itemnotobject` breaks only page 1; `typesN` serves row N of `types` alone so
  each conversion case can be tested without the others aborting the scan.
- `huge` is complete valid JSON; `--delay-ms` only affects `delay` and
  `benchdelay*` (whose gettoken waits it too: a token costs a round trip).
- `hangpage2` hangs on every page 2 (the client's kept-alive connection, when
  it keeps one); `closecut`/`closecut2` answer without a length, ended by
  closing the connection, and never gzip, so a cut is in the JSON itself;
  `closeempty`/`closeempty2` the same, with no body at all; `badgzip`/
  `badgzip2` say gzip but send plain JSON.
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit

BASE_TIME = 1694418699
HOUR = 3600

# ---------------------------------------------------------------- data set

# Contacts 1..6 are customers (external_userid wm_cust_NNN), 7..12 are not
# (they only have a masked name).  Generated data sets renumber contacts per
# repetition of the 25-row pattern, so ids stay unique.
N_CONTACTS = 12
NAMES = {7: "张三", 8: "🐼熊猫", 9: 'Tom "T" Lee', 10: "back\\slash",
         11: "O'Brien", 12: "***开"}

# (shape, contact, follow_userid or chat_id[, chat_name]); shapes are the four
# rows of the spec's sample: A customer+follower, B customer in a customer
# group, C non-customer+follower, D non-customer in a non-customer group.
BASIC = [
    ("A", 1, "zhangwei"), ("C", 7, "zhangwei"), ("B", 2, "wr_chat_01"),
    ("D", 8, "lisi", "外联群1"), ("A", 2, "lisi"), ("C", 9, "wangwu"),
    ("A", 3, "wangwu"), ("D", 7, "lisi", "外联群1"), ("B", 1, "wr_chat_01"),
    ("C", 10, "zhaoliu"), ("A", 4, "zhaoliu"),
    ("D", 11, "wangwu", "Night 'owls' 群"), ("B", 5, "wr_chat_02"),
    ("C", 12, "zhangwei"), ("A", 1, "lisi"),
    ("D", 9, "zhangwei", '外联群2 "VIP" \\ 🐼'), ("A", 6, "zhangwei"),
    ("C", 8, "wangwu"), ("B", 3, "wr_chat_02"), ("D", 12, "lisi", "外联群1"),
    ("A", 5, "wangwu"), ("C", 11, "zhangwei"), ("B", 6, "wr_chat_01"),
    ("D", 10, "zhaoliu", "Night 'owls' 群"), ("A", 4, "lisi"),
]


def make_row(i, trav):
    """Row i of the (possibly repeated) basic pattern, key order as the spec."""
    shape, c, arg, *chat = BASIC[i % len(BASIC)]
    c += (i // len(BASIC)) * N_CONTACTS
    tmp = "tmp-%d-%d" % (trav, c)
    at = BASE_TIME + i * HOUR
    if shape == "A":
        return {"is_customer": True, "tmp_openid": tmp,
                "external_userid": "wm_cust_%03d" % c, "follow_userid": arg, "add_time": at}
    if shape == "B":
        return {"is_customer": True, "tmp_openid": tmp,
                "external_userid": "wm_cust_%03d" % c, "chat_id": arg, "add_time": at}
    name = NAMES[(c - 1) % N_CONTACTS + 1]
    if shape == "C":
        return {"is_customer": False, "tmp_openid": tmp, "name": name,
                "follow_userid": arg, "add_time": at}
    return {"is_customer": False, "name": name, "tmp_openid": tmp,
            "follow_userid": arg, "chat_name": chat[0], "add_time": at}


# customergroups: the basic rows, then customer 1 in two non-customer group
# chats that zhangwei, who added them, owns: a customer's row with a
# chat_name (no chat_id), so (external_userid, follow_userid, chat_id)
# repeats across rows, as WeCom's own data may.
GROUP_CHATS = ["外联群3", "外联群4"]


def grouped_row(i, trav):
    if i < len(BASIC):
        return make_row(i, trav)
    return {"is_customer": True, "tmp_openid": "tmp-%d-1" % trav,
            "external_userid": "wm_cust_001", "follow_userid": "zhangwei",
            "chat_name": GROUP_CHATS[i - len(BASIC)], "add_time": BASE_TIME + i * HOUR}


# One row per conversion case; "T" is replaced by tmp-<traversal>-<contact>.
TYPES = [
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_001", "follow_userid": "zhangwei", "add_time": BASE_TIME},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_002", "follow_userid": "lisi", "add_time": str(BASE_TIME)},
    {"is_customer": 1, "tmp_openid": "T", "external_userid": "wm_cust_003", "follow_userid": "wangwu", "add_time": BASE_TIME + 2 * HOUR},
    {"is_customer": 0, "tmp_openid": "T", "name": "张三", "follow_userid": "zhaoliu", "add_time": BASE_TIME + 3 * HOUR},
    {"is_customer": "maybe", "tmp_openid": "T", "name": "maybe", "follow_userid": "zhangwei", "add_time": BASE_TIME + 4 * HOUR},
    {"is_customer": False, "tmp_openid": "T", "name": "half", "follow_userid": "lisi", "add_time": 1.5},
    {"is_customer": False, "tmp_openid": "T", "name": "bad time", "follow_userid": "wangwu", "add_time": "not a time"},
    {"is_customer": False, "tmp_openid": "T", "name": 12345, "follow_userid": "zhaoliu", "add_time": BASE_TIME + 7 * HOUR},
    {"is_customer": False, "tmp_openid": "T", "name": {"first": "张", "last": "三"}, "follow_userid": "zhangwei",
     "add_time": BASE_TIME + 8 * HOUR},
    {"is_customer": False, "tmp_openid": "T", "name": None, "follow_userid": "lisi", "add_time": BASE_TIME + 9 * HOUR},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_011", "follow_userid": "wangwu", "add_time": None},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_012", "follow_userid": "lisi",
     "add_time": -99999999999999999999},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_013", "follow_userid": "lisi",
     "add_time": 99999999999999999999},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_014", "follow_userid": "lisi",
     "add_time": float(BASE_TIME)},
    # timestamp strings: with an offset, in UTC, without a zone, infinity, and
    # a wall time Europe/Berlin skips (2023-03-26 02:00 to 03:00)
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_015", "follow_userid": "lisi",
     "add_time": "2023-09-11 07:51:39+08"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_016", "follow_userid": "lisi",
     "add_time": "2023-09-11T07:51:39Z"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_017", "follow_userid": "lisi",
     "add_time": "2023-09-11 07:51:39"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_018", "follow_userid": "lisi",
     "add_time": "infinity"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_019", "follow_userid": "lisi",
     "add_time": "2023-03-26 02:30:00"},
    # a key beyond ASCII that LATIN1 can hold
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_020", "follow_userid": "lisi",
     "add_time": BASE_TIME, "pr\u00e9nom": "Zo\u00e9"},
    # timestamp strings without a zone at the ends of timestamp's range (their
    # instant in a zone west, or east, of UTC lies beyond it), one with a
    # "+08:00" offset, one naming no zone PostgreSQL knows, and a 30 February
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_021", "follow_userid": "lisi",
     "add_time": "294276-12-31 23:59:59"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_022", "follow_userid": "lisi",
     "add_time": "4714-11-24 00:00:00 BC"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_023", "follow_userid": "lisi",
     "add_time": "2023-09-11T07:51:39+08:00"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_024", "follow_userid": "lisi",
     "add_time": "2023-09-11 07:51:39 Nowhere/Zone"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_025", "follow_userid": "lisi",
     "add_time": "2023-02-30 07:51:39"},
    # a wall time the DST change skips, written with the offset from before
    # it: an instant all the same (03:30 in Berlin, 02:30 in London)
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_026", "follow_userid": "lisi",
     "add_time": "2023-03-26 02:30:00+01"},
    {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_027", "follow_userid": "lisi",
     "add_time": "2023-03-26T01:30:00Z"},
]


RAW_MARK = "\u2063raw:"  # (an invisible separator) no row holds it but a RawNumber's


def RawNumber(text):
    """A JSON number sent exactly as written (Python's json module would
    print a float its own way: 12345678901234567.0 as 1.2345678901234568e+16);
    dumps() writes it unquoted."""
    return RAW_MARK + text


# The one row of scenario "numbers": numbers an integer column must read
# exactly (beyond 2**53, the ends of bigint) or refuse (a fraction, out of range).
NUMBERS = {"is_customer": True, "tmp_openid": "T", "external_userid": "wm_cust_001",
           "follow_userid": "zhangwei", "add_time": BASE_TIME,
           "big": RawNumber("12345678901234567.0"), "p53": RawNumber("9007199254740993.0"),
           "exp": RawNumber("1.5e3"), "min": -9223372036854775808, "max": 9223372036854775807,
           "frac": RawNumber("12345678901234567.5"), "near": RawNumber("4503599627370496.7"),
           "over": RawNumber("1e19"), "int_over": RawNumber("3000000000.0"),
           "uint_over": RawNumber("9223372036854775808")}


def numbers_row(i, trav):
    return {k: ("tmp-%d-1" % trav if k == "tmp_openid" else v) for k, v in NUMBERS.items()}


def types_row(i, trav):
    return {k: ("tmp-%d-%d" % (trav, i + 1) if k == "tmp_openid" else v)
            for k, v in TYPES[i].items()}


def special_row(name):
    return lambda i, trav: {"is_customer": False, "tmp_openid": "tmp-%d-7" % trav,
                            "name": name, "follow_userid": "zhangwei", "add_time": BASE_TIME}


# Scenarios that serve the 25 basic rows (possibly with a twist).
BASIC_LIKE = {"basic", "shortlived", "expire", "invalidtoken", "http502once", "http502close", "busy2",
              "concurrency1", "ratelimit", "http429once", "slow", "slowtail", "gzip", "delay",
              "slowbusy", "hangonce", "hangafter5", "shared",
              "drop3", "loopcursor", "extrakeys", "itemnotobject", "truncated",
              "nocursorkey", "nullcursor", "bigtoken", "slowrefresh", "slowtoken", "hangtoken",
              "failrefresh", "hangpage2", "closecut2", "closecut", "closeempty2", "closeempty",
              "closehold", "badgzip2", "badgzip", "nullerrcode", "noerrcode", "token502once", "limitwait",
              "limitwaitbig", "longcursor"}
ROWLESS = {"slowfail", "slowratelimit", "empty", "hang", "huge", "redirect", "http500", "http404", "http404gz", "nonjson", "echourl", "echourlcut",
           "echoconn", "echoconncut", "echoproxy",
           "notobject", "noinfolist", "infolistnotarray", "ratelimitforever",
           "dupkeys", "dupitemkey", "nulkey", "nulcursor", "bigtokenbody", "notoken",
           "nothttp", "badstatus", "badheader", "http502big", "http502bigchunked",
           "bigtokenplain", "token502big", "token502bigchunked", "longerrmsg", "genecho", "emptyobjects"}
BENCH_ROWS = 1000000  # replaced by --bench-rows
CLOSE_HOLD = 10  # seconds closehold keeps an answered connection open


def dataset(scen):
    """(row count, row function) of a scenario, or None if it serves no rows."""
    if scen in BASIC_LIKE or RETRY_AFTER.fullmatch(scen):
        return len(BASIC), make_row
    if scen in ("big", "bigplain"):
        return 2500, make_row
    if scen == "customergroups":
        return len(BASIC) + len(GROUP_CHATS), grouped_row
    if scen == "bench" or BENCH_DELAY.fullmatch(scen):
        return BENCH_ROWS, make_row
    if scen == "types":
        return len(TYPES), types_row
    if scen == "numbers":
        return 1, numbers_row
    m = re.fullmatch(r"types(\d+)", scen)
    if m:
        n = int(m.group(1)) - 1
        return 1, lambda i, trav: types_row(n, trav)
    if scen == "nul":
        return 1, special_row("nul\u0000byte")
    if scen == "longvalue":
        return 1, special_row("\\" * LONG_VALUE)
    if scen == "badutf8":
        # Lone surrogates become the raw bytes \xff\xfe under surrogateescape.
        return 1, special_row("bad\udcff\udcfebytes")
    return None


# http429afterN: the first call is HTTP 429 with Retry-After: N (seconds)
RETRY_AFTER = re.compile(r"http429after(\d+)")
# benchdelay, benchdelay1, benchdelay2, ...: bench's rows behind a round trip
# of --delay-ms, one corp (its own tokens) per suffix.  They share one
# family of cursors, so their pages are built and cached once, however many
# corps a benchmark invents to keep its tokens cold.
BENCH_DELAY = re.compile(r"benchdelay\d*")


def cursor_family(scen):
    return "benchdelay" if BENCH_DELAY.fullmatch(scen) else scen
BIG_TOKEN_PAD = 20000
BIG_TOKEN_BODY = 70000  # bytes of padding in bigtokenbody's (and bigtokenplain's) gettoken answer
BIG_ERROR_PAGE = 100000  # bytes of padding in http502big's error page
LONG_VALUE = 8000000  # backslashes in longvalue's name
LONG_CURSOR = 1000000  # bytes of padding after "~" in each of longcursor's cursors
# the good corp secrets; the third has characters a query string escapes
GOOD_SECRETS = ("secret-ok", "secret-ok2", "secret-ok/+=3", "secret-ok%25", "secret-ok%26", "secret-ok-agent")


def known(scen):
    if RETRY_AFTER.fullmatch(scen) or BENCH_DELAY.fullmatch(scen):
        return True
    if scen in BASIC_LIKE or scen in ROWLESS or scen in ("big", "bigplain", "bench", "types", "numbers", "nul",
                                                           "badutf8", "customergroups", "longvalue"):
        return True
    m = re.fullmatch(r"types(\d+)", scen)
    if m:
        return 1 <= int(m.group(1)) <= len(TYPES)
    return re.fullmatch(r"e\d+", scen) is not None


def dumps(obj, **kw):
    """json.dumps, with each RawNumber written as its own text (a RawNumber
    is a string that starts with RAW_MARK: found in the text, not by a
    walk of every object, so other pages cost nothing more)."""
    text = json.dumps(obj, **kw)
    if RAW_MARK not in text:
        return text
    return re.sub('"%s([^"]*)"' % RAW_MARK, lambda m: m.group(1), text)


def lower_hex(text):
    """text with the hex digits of its percent-escapes in lowercase."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def mixed_hex(text):
    """text with the hex digits of every other percent-escape in lowercase:
    one credential escaped in both cases at once."""
    n = [0]

    def one(m):
        n[0] += 1
        return m.group(0).lower() if n[0] % 2 else m.group(0)
    return re.sub(r"%[0-9A-F]{2}", one, text)


def quote_all(text):
    """text percent-encoded every byte, letters and digits too."""
    return "".join("%%%02X" % b for b in text.encode())


def json_u(text, every):
    """text as a JSON encoder that escapes every EVERY-th character as \\uXXXX
    writes it (ordinary letters too; one beyond the BMP as a surrogate
    pair), the hex digits of one escape in lowercase and of the next in
    uppercase."""
    out = []
    for i, ch in enumerate(text):
        if i % every:
            out.append(ch)
            continue
        units = ch.encode("utf-16-be")
        for j in range(0, len(units), 2):
            out.append(("\\u%04x" if (i // every) % 2 else "\\u%04X") % int.from_bytes(units[j:j + 2], "big"))
    return "".join(out)


def html_named(text, apos):
    """text as an HTML escaper writes it into a page: "&", "<", ">" and '"'
    as named character references, "'" as APOS ("&apos;" or "&#39;")."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", apos))


def html_numeric(text):
    """text as an HTML escaper that writes every character as a numeric
    character reference writes it: decimal, hex and hex by turns, the "x"
    and the hex digits in either case ("&#115;", "&#x65;", "&#X63;", "&#x2F;",
    "&#X2f;")."""
    forms = ("&#%d;", "&#x%X;", "&#X%x;")
    return "".join(forms[i % 3] % ord(ch) for i, ch in enumerate(text))


def enc(obj):
    return dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- cursors

CURSOR_SALT = b"contact_list_fdw mock cursor v1"


def make_cursor(scen, trav, offset, page):
    p = "%s.%d.%d.%d" % (scen, trav, offset, page)
    c = "c1.%s.%s" % (p, hashlib.sha256(CURSOR_SALT + p.encode()).hexdigest()[:8])
    return c + "~" + "z" * LONG_CURSOR if scen == "longcursor" else c


def parse_cursor(s):
    s, tilde, pad = s.partition("~")
    if tilde and (pad != "z" * LONG_CURSOR or not s.startswith("c1.longcursor.")):
        return None
    parts = s.split(".")
    if len(parts) != 6 or parts[0] != "c1":
        return None
    p = ".".join(parts[1:5])
    if hashlib.sha256(CURSOR_SALT + p.encode()).hexdigest()[:8] != parts[5]:
        return None
    return parts[1], int(parts[2]), int(parts[3]), int(parts[4])


# ---------------------------------------------------------------- state

class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.gen = 0
        self.ever_issued = set()  # every token this process issued: never reset
        self.issues = 0           # tokens issued by this process: never reset
        self._clear()

    def _clear(self):
        self.stats = {"gettoken": 0, "contact_list": 0, "bad_requests": 0, "connections": 0,
                      "evil": 0, "limits": [], "cursors": [], "tokens": [], "max_in_flight": 0,
                      "gzip_accepted": 0, "gzipped": 0}
        self.in_flight = 0
        self.in_flight_by_token = {}
        self.max_in_flight_by_token = {}  # apart from stats: it names secrets
        self.issued = set()  # tokens gettoken issued since the reset (for /_expire_tokens)
        self.expired = set()  # tokens /_expire_tokens made answer 42001
        self.serial = 0
        self.trav = {}       # scenario -> traversals started
        self.calls = {}      # scenario -> contact_list calls that passed the checks
        self.dropped = set()
        self.closecut = set()
        self.used_tokens = set()
        self.gettokens = {}  # scenario -> gettoken calls with a known corp id
        self.echo_text = ""  # the errmsg of secret-gen and genecho (/_echo)
        self.user_agents = set()  # of gettoken and contact_list requests (/_user_agents)
        self.connects = {}   # CONNECT target -> CONNECTs refused (/_connects)
        self.gen += 1        # connections accepted before a reset must not be uncounted after it

    def reset(self):
        with self.lock:
            self._clear()

    def bump(self, key, gen=None):
        """Count key; with gen, only if no reset came since gen (an answer
        sent late, after its client left and a reset, is not counted)."""
        with self.lock:
            if gen is None or gen == self.gen:
                self.stats[key] += 1

    def accepted(self):
        with self.lock:
            self.stats["connections"] += 1
            return self.gen

    def unaccept(self, gen):
        with self.lock:
            if gen == self.gen:
                self.stats["connections"] -= 1

    def next_serial(self):
        with self.lock:
            self.stats["gettoken"] += 1
            self.serial += 1
            return self.serial

    def issue(self, scen, serial, secret):
        with self.lock:
            self.issues += 1
            token = "tok-%s-%d-%s-%s%s" % (scen, serial, secret_tag(secret), NONCE,
                                           base36(self.issues))
            if scen in ("bigtoken", "limitwaitbig"):
                token += "-" + "x" * BIG_TOKEN_PAD
            self.issued.add(token)
            self.ever_issued.add(token)
            return token

    def was_issued(self, token):
        with self.lock:
            return token in self.ever_issued

    def expire_all(self):
        with self.lock:
            self.expired |= self.issued
            return len(self.expired)

    def is_expired(self, token):
        with self.lock:
            return token in self.expired

    def enter(self, token):
        with self.lock:
            self.in_flight += 1
            self.stats["max_in_flight"] = max(self.stats["max_in_flight"], self.in_flight)
            n = self.in_flight_by_token[token] = self.in_flight_by_token.get(token, 0) + 1
            by = self.max_in_flight_by_token
            by[token] = max(by.get(token, 0), n)

    def leave(self, token):
        with self.lock:
            self.in_flight -= 1
            # a request that spans a /_reset finds its token's count gone
            if self.in_flight_by_token.get(token, 0) > 0:
                self.in_flight_by_token[token] -= 1

    def record_call(self, limit, cursor, token):
        with self.lock:
            s = self.stats
            s["contact_list"] += 1
            s["limits"].append(limit)
            s["cursors"].append(cursor)
            s["tokens"].append(token)

    def incr(self, table, scen):
        with self.lock:
            t = getattr(self, table)
            t[scen] = t.get(scen, 0) + 1
            return t[scen]

    def first_time(self, setname, key):
        """True only for the first caller with this key since the reset."""
        with self.lock:
            s = getattr(self, setname)
            if key in s:
                return False
            s.add(key)
            return True

    def snapshot(self):
        with self.lock:
            return enc(self.stats)

    def in_flight_snapshot(self):
        with self.lock:
            return enc(self.max_in_flight_by_token)


# A per-process nonce in every token: a restarted mock never issues a
# token text an earlier one issued.
NONCE = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(5))


def base36(n):
    digits = ""
    while True:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
        if n == 0:
            return digits


def secret_tag(secret):
    """4 hex digits of the secret's digest: tokens of two secrets always differ,
    and a test can see which secret a token was issued for."""
    return hashlib.sha256(secret.encode()).hexdigest()[:4]


STATE = State()

# ---------------------------------------------------------------- bench cache

# (cursor family, limit, offset, page) -> [json bytes, gzip bytes or None].
# Pages are built on first use (or by /_warm) and then served as a plain
# write; the family (bench or benchdelay) is in the key because it is in the
# cursors.
BENCH_CACHE = {}
BENCH_LOCK = threading.Lock()


def bench_page(limit, offset, page, scen="bench"):
    key = (scen, limit, offset, page)
    entry = BENCH_CACHE.get(key)
    if entry is None:
        end = min(offset + limit, BENCH_ROWS)
        body = enc({"errcode": 0, "errmsg": "ok",
                    "info_list": [make_row(i, 1) for i in range(offset, end)],
                    "next_cursor": make_cursor(scen, 1, end, page + 1) if end < BENCH_ROWS else ""})
        with BENCH_LOCK:  # two racing builders produce equal bytes; keep one
            entry = BENCH_CACHE.setdefault(key, [body, None])
    return entry


def bench_gzip(entry):
    if entry[1] is None:
        entry[1] = gzip.compress(entry[0], 1, mtime=0)
    return entry[1]


# ---------------------------------------------------------------- huge

HUGE_BYTES = 200 * 1024 * 1024


def huge_pieces():
    """About 200 MiB of valid JSON, built from one reused ~64 KB block."""
    head = b'{"errcode":0,"errmsg":"ok","info_list":['
    tail = b'],"next_cursor":""}'
    block = b",".join(enc(make_row(i, 1)) for i in range(480))
    sep_block = b"," + block
    yield head + block
    for _ in range((HUGE_BYTES - len(head) - len(tail) - len(block)) // len(sep_block)):
        yield sep_block
    yield tail


# ---------------------------------------------------------------- HTTP

ERRMSG = {-1: "system busy", 40001: "invalid secret", 40013: "invalid corpid",
          40014: "invalid access_token", 40058: "invalid parameter",
          41001: "access_token missing", 42001: "access_token expired",
          45009: "api freq out of limit", 45033: "api concurrent out of limit",
          48002: "api forbidden", 60020: "not allow to access from your ip"}
# scenario -> (how many first calls fail, "err" errcode or "http" status, code)
ONCE = {"invalidtoken": (1, "err", 40014), "http502once": (1, "http", 502),
        "busy2": (2, "err", -1), "concurrency1": (1, "err", 45033),
        "ratelimit": (1, "err", 45009), "http429once": (1, "http", 429)}
# One row of the basic data set, as raw JSON text, with KEY for its name key
# and CURSOR for the page's next_cursor: bodies json.dumps cannot write.
_RAW_PAGE = (b'{"errcode":0,"errmsg":"ok","info_list":[{"is_customer":false,"tmp_openid":"tmp-1-7",'
             b'KEY,"follow_userid":"zhangwei","add_time":1694418699}],"next_cursor":"CURSOR"}')


# What a server that does not speak HTTP answers: an SSH banner (no status
# line: HTTP/0.9 to libcurl, CURLE_UNSUPPORTED_PROTOCOL), a status line
# whose code is not a number (the same), a header line without a colon
# (CURLE_WEIRD_SERVER_REPLY).
NOT_HTTP = {"nothttp": b"SSH-2.0-OpenSSH_9.2\r\n",
            "badstatus": b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
            "badheader": b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n"}


def raw_page(key, cursor=b""):
    return _RAW_PAGE.replace(b"KEY", key).replace(b"CURSOR", cursor)


FIXED_BODIES = {"notobject": b"[1,2,3]", "noinfolist": b'{"errcode":0,"errmsg":"ok"}',
                "infolistnotarray": b'{"errcode":0,"errmsg":"ok","info_list":"not a list","next_cursor":""}',
                "dupkeys": b'{"errcode":60020,"errmsg":"not allow to access from your ip",'
                           b'"errcode":0,"info_list":[]}',
                "dupitemkey": raw_page(b'"name":"row1","n\\u0061me":"row2"'),
                "nulkey": raw_page(b'"name\\u0000evil":"injected"'),
                "nulcursor": raw_page(b'"name":"row1"', b"\\u0000"),
                # 3 MB of JSON that a parser builds into some 800 MB
                "emptyobjects": b'{"errcode":0,"errmsg":"ok","info_list":[' + b",".join([b"{}"] * 1000000) +
                                b'],"next_cursor":""}'}
CONTROL = ("/_stats", "/_reset", "/_warm", "/_expire_tokens", "/_echo", "/_user_agents", "/_connects")
JSON_TYPE = "application/json; charset=UTF-8"


def html_page(status):
    title = "%d %s" % (status, HTTPStatus(status).phrase)
    return ("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n" % (title, title)).encode()


def accepts_gzip(value):
    for item in (value or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    ssl_ctx = None
    mitm_ctx = None
    log_file = None
    log_lock = threading.Lock()
    delay_ms = None

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup, which can stall startup in a sandbox.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        gen = STATE.accepted()
        if self.ssl_ctx:
            # The handshake runs in the handler thread: a slow client must not stall accept().
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        # The accept generation rides along so the handler can uncount control connections.
        return sock, (addr[0], addr[1], gen)

    def handle_error(self, request, client_address):
        if self.log_file:
            import traceback
            self.log("error from %s:\n%s" % (client_address[0], traceback.format_exc()))

    def log(self, text):
        if self.log_file:
            with self.log_lock:
                self.log_file.write(text if text.endswith("\n") else text + "\n")
                self.log_file.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    first_request = True

    def version_string(self):
        return "mock-wecom/1.0"

    def log_message(self, fmt, *args):
        self.server.log("%s - - [%s] %s" % (self.client_address[0], self.log_date_time_string(), fmt % args))

    def handle(self):
        try:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()
            super().handle()
        except OSError:  # the client went away (broken pipe, reset, TLS alert): nothing to say
            self.close_connection = True

    def do_GET(self):
        self.dispatch()
    do_POST = do_PUT = do_DELETE = do_GET

    # what the CONNECT of this TLS tunnel sent (--mitm-cert), for echoproxy
    tunnel_auth = None

    def do_CONNECT(self):
        """With --mitm-cert, act as a TLS-inspecting proxy: accept the tunnel,
        answer TLS with that certificate and serve the requests inside it
        like any other, remembering the CONNECT's Proxy-Authorization."""
        ctx = self.server.mitm_ctx
        self.close_connection = True
        if ctx is None:
            # a proxy refusing the tunnel: to statusNNN.invalid with NNN
            with STATE.lock:
                STATE.connects[self.path] = STATE.connects.get(self.path, 0) + 1
            m = re.match(r"status([1-5][0-9][0-9])\.invalid:[0-9]+$", self.path)
            status = int(m.group(1)) if m else 405
            return self.send(status, html_page(status), "text/html", gz=False)
        auth = self.headers.get("Proxy-Authorization", "")
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = ctx.wrap_socket(self.connection, server_side=True)
        except (OSError, ValueError):
            return
        inner = Handler.__new__(Handler)
        inner.tunnel_auth = auth
        Handler.__init__(inner, tls, self.client_address, self.server)

    # ---- plumbing

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype=JSON_TYPE, headers=(), gz=None, encoded=False, cut=False,
             tail_after=None):
        """Send a response; encoded: body is already gzip; cut: send only half of it;
        tail_after: send its second half so many seconds after its first."""
        if gz is None:
            gz = self.gz
        if gz and not encoded:
            body = gzip.compress(body, 1, mtime=0)
        if gz and self.api_request:
            STATE.bump("gzipped", self.api_gen)
        self.answered()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if gz:
            self.send_header("Content-Encoding", "gzip")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if tail_after is not None:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            time.sleep(tail_after)
            try:
                self.wfile.write(body[len(body) // 2:])
            except OSError:  # the client went away meanwhile: it may
                self.close_connection = True
            return
        self.wfile.write(body[:len(body) // 2] if cut else body)

    api_request = False  # a gettoken or contact_list request (for the gzip counts)

    def send_json(self, obj, **kw):
        self.send(200, enc(obj), **kw)

    def send_err(self, code):
        self.send_json({"errcode": code, "errmsg": ERRMSG.get(code, "mock error %d" % code)})

    def send_html(self, status):
        self.send(status, html_page(status), "text/html")

    # ---- routing

    def dispatch(self):
        url = urlsplit(self.path)
        self.query = parse_qs(url.query, keep_blank_values=True)
        self.gz = accepts_gzip(self.headers.get("Accept-Encoding"))
        if self.first_request:
            self.first_request = False
            if url.path in CONTROL:
                STATE.unaccept(self.client_address[2])
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.send(413, html_page(413), "text/html", [("Connection", "close")])
            return
        self.api_request = url.path in ("/cgi-bin/gettoken", "/cgi-bin/externalcontact/contact_list")
        self.api_gen = STATE.gen
        if self.api_request and self.gz:
            STATE.bump("gzip_accepted")
        if self.api_request:
            with STATE.lock:
                STATE.user_agents.add(self.headers.get("User-Agent"))
        # what this connection asked, for the echoconn scenario
        self.seen = getattr(self, "seen", []) + ["%s %s (decoded: %s)" % (self.command, self.path,
                                                                           unquote(self.path))]
        if url.path == "/cgi-bin/gettoken":
            self.in_flight()
            try:
                self.gettoken()
            finally:
                self.answered()
        elif url.path == "/cgi-bin/externalcontact/contact_list":
            self.in_flight()
            try:
                self.contact_list(body)
            finally:
                self.answered()
        elif url.path == "/_expire_tokens":
            self.send_json({"ok": True, "expired": STATE.expire_all()})
        elif url.path == "/_stats":
            self.send(200, STATE.snapshot())
        elif url.path == "/_connects":
            with STATE.lock:
                connects = dict(STATE.connects)
            self.send_json(connects)
        elif url.path == "/_user_agents":
            with STATE.lock:
                agents = sorted(STATE.user_agents, key=lambda a: (a is None, a or ""))
            self.send_json(agents)
        elif url.path == "/_in_flight_by_token":
            self.send(200, STATE.in_flight_snapshot())
        elif url.path == "/_echo":
            STATE.echo_text = body.decode("utf-8")
            self.send_json({"ok": True})
        elif url.path == "/_reset":
            STATE.reset()
            self.send_json({"ok": True})
        elif url.path == "/_warm":
            self.warm()
        elif url.path == "/evil":
            STATE.bump("evil")
            self.send_json({"errcode": 0, "errmsg": "ok", "next_cursor": "", "info_list": [
                {"is_customer": False, "tmp_openid": "tmp-evil", "name": "evil",
                 "follow_userid": "evil", "add_time": BASE_TIME}]})
        else:
            self.send_html(404)

    # A request is in flight from its arrival until its answer starts to go
    # out: the client may send its next request as soon as it has the answer.
    counted = False

    def in_flight(self):
        # by token too (corpsecret for a gettoken): the requests of one
        # mapping, while another's may still be in flight unnoticed (a hang
        # whose client went away is seen leaving only on its next read)
        self.counted = self.arg("access_token") or self.arg("corpsecret") or ""
        STATE.enter(self.counted)

    def answered(self):
        if self.counted is not False:
            STATE.leave(self.counted)
            self.counted = False

    def arg(self, name):
        v = self.query.get(name)
        return v[0] if v else None

    def echo_url(self, cut):
        """A proxy's error page that quotes the request URL, credentials and
        all; with cut, padded so the credential straddles byte 200."""
        head = "<html><body>403 Forbidden: "
        if cut:
            head += "x" * max(0, 190 - len(head) - self.path.index("=") - 1)
        self.send(403, (head + self.path + "</body></html>").encode(), "text/html")

    def gettoken(self):
        corpid, secret = self.arg("corpid") or "", self.arg("corpsecret")
        scen = corpid[5:]
        if scen == "echourl":
            return self.echo_url(False)
        if (secret or "").startswith("secret-gen"):
            # the text a test made of the secret (/_echo), whatever the corp id
            STATE.bump("gettoken")
            return self.send_json({"errcode": 40058, "errmsg": STATE.echo_text})
        if (secret or "").startswith("secret-echo-more"):
            # a gateway quoting the secret in what escaping further gives:
            # percent-encoded three and four times, in mixed-case hex (once
            # and twice), and as JSON whose encoder escapes ordinary
            # characters as \\uXXXX (every other one, and all), in mixed
            # case, also the escaped secret so (its escapes' "%" and digits)
            STATE.bump("gettoken")
            thrice = quote(quote(quote(secret, safe=""), safe=""), safe="")
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter, escaped thrice: %s, four times: "
                                   "%s, mixed case: %s, mixed case twice: %s, JSON: %s, JSON all: %s, JSON all, "
                                   "escaped: %s"
                                   % (thrice, quote(thrice, safe=""), mixed_hex(quote(secret, safe="")),
                                      quote(mixed_hex(quote(secret, safe="")), safe=""),
                                      json_u(secret, 2), json_u(secret, 1), json_u(quote(secret, safe=""), 1))})
        if (secret or "").startswith("secret-echo-html"):
            # a proxy's or gateway's HTML error page, quoting the secret as
            # form encoding writes it ("+" for a space, "%2B" for a "+"),
            # once and twice; decoded (its "+" as it is); HTML-escaped with
            # named references ("&apos;", or "&#39;"), and twice ("&amp;lt;");
            # as numeric references; percent-encoded, its "%" as "&#37;";
            # the numeric references put into a URL; the request's path and
            # query percent-encoded, then its "%" so (the corp id after
            # "&#37;3D")
            STATE.bump("gettoken")
            escaped = quote(secret, safe="")
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter, form: %s, form twice: %s, "
                                   "decoded: %s, named: %s, named, #39: %s, numeric: %s, escaped, in a page: %s, "
                                   "named twice: %s, numeric in a URL: %s, request in a page: %s"
                                   % (quote_plus(secret, safe=""), quote_plus(quote_plus(secret, safe=""), safe=""),
                                      secret, html_named(secret, "&apos;"), html_named(secret, "&#39;"),
                                      html_numeric(secret), escaped.replace("%", "&#37;"),
                                      html_named(html_named(secret, "&apos;"), "&apos;"),
                                      quote(html_numeric(secret), safe=""),
                                      quote(self.path, safe="").replace("%", "&#37;"))})
        if (secret or "").startswith("secret-echo-json"):
            # a gateway quoting the request as JSON (the PHP way, "/" as
            # "\\/") put into a URL: once, twice, as JSON in JSON; a JSON
            # text whose encoder escapes every character put into a URL
            # that escapes every byte (the "u" and hex digits of its "\\u"
            # escapes too); the secret percent-encoded, put so into a URL
            # ("%25%32%46"); the request's URL escaped three times; the
            # corp id after a JSON "\\n" and after "=" as "\\u003D", in a URL
            STATE.bump("gettoken")
            asked = dumps({"corpid": corpid, "corpsecret": secret}, separators=(",", ":")).replace("/", "\\/")
            thrice = quote(quote(quote(self.path, safe=""), safe=""), safe="")
            logged = dumps({"line": "corp:\n" + corpid}, separators=(",", ":"))
            equals = dumps("corpid=" + corpid).replace("=", "\\u003D")
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter, JSON in a URL: %s, twice: %s, in "
                                   "JSON: %s, JSON all, every byte: %s, escaped, every byte: %s, request thrice: "
                                   "%s, logged: %s, equals: %s"
                                   % (quote(asked, safe=""), quote(quote(asked, safe=""), safe=""),
                                      quote(dumps({"q": asked}), safe=""), quote_all(json_u(secret, 1)),
                                      quote_all(quote(secret, safe="")), thrice, quote(logged, safe=""),
                                      quote(equals, safe=""))})
        if (secret or "").startswith("secret-echo"):
            # a gateway's diagnostics quoting the request, whatever the corp
            # id: its URL as sent, and in lowercase hex as another server
            # writes it back; decoded; escaped (as a login page's return_to
            # would carry it), and the lowercase URL escaped in lowercase;
            # escaped twice (a URL in a URL in a URL); its parameters as
            # JSON, and as JSON whose encoder escapes "/"; the corp id on a
            # line of its own in a JSON log line (a "\n" just before it)
            STATE.bump("gettoken")
            asked = dumps({"corpid": corpid, "corpsecret": secret}, separators=(",", ":"))
            logged = dumps({"line": "corp:\n" + corpid}, separators=(",", ":"))
            escaped = quote(self.path, safe="")
            escaped_lower = lower_hex(quote(lower_hex(self.path), safe=""))
            twice = quote(quote(unquote(self.path), safe=""), safe="")
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter, request: %s (lowercase: %s, "
                                   "decoded: %s, escaped: %s, lowercase: %s, twice: %s), as JSON: %s (slashes "
                                   "escaped: %s), logged: %s"
                                   % (self.path, lower_hex(self.path), unquote(self.path), escaped,
                                      escaped_lower, twice, asked, asked.replace("/", "\\/"), logged)})
        bad_corp = not corpid.startswith("corp-") or not known(scen)
        n = 0 if bad_corp else STATE.incr("gettokens", scen)
        if scen == "slowfail" or (scen == "failrefresh" and n > 1):
            # an app whose gettoken fails slowly, whatever the secret
            time.sleep(1)
            STATE.bump("gettoken")
            return self.send_err(40001)
        if scen == "slowratelimit":
            time.sleep(1)
            STATE.bump("gettoken")
            return self.send_err(45009)
        if bad_corp or secret not in GOOD_SECRETS:
            STATE.bump("gettoken")
            return self.send_err(40013 if bad_corp else 40001)
        if scen in ("bigtokenbody", "bigtokenplain"):
            # a gateway's page where gettoken's few hundred bytes belong;
            # bigtokenplain's Content-Length says so before its body
            STATE.bump("gettoken")
            return self.send_json({"errcode": 0, "errmsg": "ok", "padding": "x" * BIG_TOKEN_BODY},
                                  gz=False if scen == "bigtokenplain" else None)
        if scen in ("token502big", "token502bigchunked"):
            # a gateway's error page, larger than any gettoken answer may be
            STATE.bump("gettoken")
            return self.send_big_error(502, scen == "token502bigchunked")
        if scen == "token502once" and n == 1:
            # a gateway error on the scenario's first gettoken: retried
            STATE.bump("gettoken")
            return self.send_html(502)
        if scen == "notoken":
            STATE.bump("gettoken")
            return self.send_json({"errcode": 0, "errmsg": "ok"})
        if scen == "hangtoken":
            # counted when it arrives: a client killed while it waits asked it
            STATE.bump("gettoken")
            return self.hang()
        if scen == "slowtoken" or (scen == "slowrefresh" and n > 1):
            time.sleep(3)
        if BENCH_DELAY.fullmatch(scen):
            time.sleep(self.delay_s())
        serial = STATE.next_serial()
        token = STATE.issue(scen, serial, secret)
        answer = {"errcode": 0, "errmsg": "ok", "access_token": token,
                  "expires_in": {"shortlived": 1, "slowrefresh": 20, "failrefresh": 20}.get(scen, 7200)}
        if scen == "nullerrcode":
            answer.update(errcode=None, errmsg="invalid credential")
        elif scen == "noerrcode":
            del answer["errcode"]
        self.send_json(answer)

    def warm(self):
        try:
            limit = int(self.arg("limit") or 1000)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            return self.send(400, enc({"ok": False}))
        page = 1
        for off in range(0, BENCH_ROWS, limit):
            entry = bench_page(limit, off, page)
            if self.arg("gzip") == "1":
                bench_gzip(entry)
            page += 1
        self.send_json({"ok": True, "pages": page - 1})

    # ---- contact_list

    def contact_list(self, body):
        token = self.arg("access_token")
        try:
            req = json.loads(body)
        except ValueError:
            req = None
        raw = req if isinstance(req, dict) else {}
        STATE.record_call(raw.get("limit"), raw.get("cursor"), token)

        if not token:
            return self.send_err(41001)
        # fixed-SCENARIO~anything: a token with characters a URL must escape
        m = re.fullmatch(r"tok-([a-z0-9]+)-\d+-[0-9a-f]{4}-[0-9a-z]+(?:-x+)?|fixed-([a-z0-9]+)(?:~.*)?",
                         token, re.S)
        scen = m and (m.group(1) or m.group(2))
        if not scen or not known(scen) or (m.group(1) and not STATE.was_issued(token)):
            return self.send_err(40014)

        checked = self.check_request(req, scen)
        if checked is None:
            STATE.bump("bad_requests")
            return self.send_err(40058)
        limit, cursor = checked
        n = STATE.incr("calls", scen)
        if scen in ("limitwait", "limitwaitbig"):
            # the answer, refusal or page, comes after as many ms as the
            # limit: scans of one corp with different page sizes are
            # answered in a known order
            time.sleep(limit / 1000)

        ra = RETRY_AFTER.fullmatch(scen)
        if ra and n == 1:
            return self.send(429, html_page(429), "text/html", [("Retry-After", ra.group(1))])
        if scen == "http502close" and n == 1:
            # as nginx closes after an error page: told, then done a moment
            # later, while the client already waits to retry (half a
            # second: a loaded machine may take a tenth of one before the
            # client even begins to close its side)
            self.close_connection = True
            self.send(502, html_page(502), "text/html", [("Connection", "close")])
            self.wfile.flush()
            time.sleep(0.5)
            return None
        if scen in ONCE and n <= ONCE[scen][0]:
            _, kind, code = ONCE[scen]
            return self.send_err(code) if kind == "err" else self.send_html(code)
        if scen.startswith("e") and scen[1:].isdigit():
            return self.send_err(int(scen[1:]))
        if scen == "ratelimitforever":
            return self.send_err(45009)
        if scen == "genecho":
            return self.send_json({"errcode": 40058, "errmsg": STATE.echo_text})
        if scen == "longerrmsg" and token.endswith("~cjk"):
            # 300 kB of CJK: byte 2000 is inside a character
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter " + "汉" * 100000})
        if scen == "longerrmsg":
            # an errmsg of 300 kB, with the request's token where the client
            # cuts it (byte 2000 of the errmsg): 18 + 3 * 657 + 1 bytes before
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter " + "汉" * 657 + " " + token
                                   + " " + "x" * 300000})
        if scen == "expire" and not STATE.first_time("used_tokens", token):
            return self.send_err(42001)
        if STATE.is_expired(token):
            return self.send_err(42001)
        if scen == "slowbusy":
            time.sleep(0.15)
            if n == 4:
                return self.send_err(-1)
        if scen == "hangonce" and n == 1:
            return self.hang()
        if scen == "hangafter5" and n > 5:
            return self.hang()
        if scen in ("http500", "http404"):
            return self.send_html(int(scen[4:]))
        if scen == "http404gz":
            # said to be gzip-encoded, but plain HTML: not decodable
            return self.send(404, html_page(404), "text/html", gz=True, encoded=True)
        if scen in ("http502big", "http502bigchunked"):
            return self.send_big_error(502, scen == "http502bigchunked")
        if scen in ("echourl", "echourlcut"):
            return self.echo_url(scen == "echourlcut")
        if scen == "echoproxy":
            # a TLS-inspecting proxy's diagnostics, quoting the CONNECT's
            # credentials as sent and decoded, and the decoded ones
            # form-encoded ("+" for a space), as a login form would carry them
            auth = self.tunnel_auth or ""
            try:
                plain = base64.b64decode(auth.split()[-1]).decode("utf-8", "replace") if auth else ""
            except ValueError:
                plain = ""
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter, tunnel: "
                                   "Proxy-Authorization: %s (%s), form: %s" % (auth, plain, quote_plus(plain, safe=""))})
        if scen == "echoconncut":
            # a proxy's error page quoting the connection's first request
            # (gettoken's, when the client reuses the connection), padded so
            # that the corp id starts just before byte 200 and an excerpt of
            # the first 200 bytes cuts it
            first = self.seen[0]
            at = first.find("corpid=")
            head = "<html><body>403 Forbidden: "
            if at >= 0:
                head += "x" * max(0, 194 - len(head) - at - len("corpid="))
            return self.send(403, (head + first + "</body></html>").encode(), "text/html")
        if scen == "echoconn":
            # an errmsg that quotes every request of this connection, as a
            # gateway's diagnostics might: the gettoken URL's secret too
            return self.send_json({"errcode": 40058, "errmsg": "invalid parameter, requests: %s"
                                   % " | ".join(self.seen)})
        if scen == "redirect":
            port = self.server.server_address[1]
            return self.send(302, html_page(302), "text/html",
                             [("Location", "http://127.0.0.1:%d/evil" % port)])
        if scen == "nonjson":
            return self.send(200, b"<html><body>gateway error</body></html>", "text/html")
        if scen in NOT_HTTP:
            return self.send_raw(NOT_HTTP[scen])
        if scen in FIXED_BODIES:
            return self.send(200, FIXED_BODIES[scen])
        if scen == "hang":
            return self.hang()
        if scen == "huge":
            return self.stream_huge()
        if scen == "slow":
            time.sleep(3)
        if scen == "delay":
            time.sleep(self.delay_s())
        if BENCH_DELAY.fullmatch(scen):
            time.sleep(self.delay_s())
            return self.serve_bench(limit, cursor, "benchdelay")
        if scen == "bench":
            return self.serve_bench(limit, cursor)
        self.serve_page(scen, limit, cursor)

    def delay_s(self):
        return (self.server.delay_ms if self.server.delay_ms is not None else 20) / 1000

    def check_request(self, req, scen):
        """(limit, parsed cursor or None) if the request is well formed, else None."""
        if self.command != "POST":
            return None
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json" or not isinstance(req, dict):
            return None
        cursor = req.get("cursor", "")
        limit = req.get("limit", 1000)
        if not isinstance(cursor, str):
            return None
        if type(limit) is not int or not 1 <= limit <= 1000:  # bool is an int subclass
            return None
        if not cursor:
            return limit, None
        parsed = parse_cursor(cursor)
        if parsed is None or parsed[0] != cursor_family(scen):
            return None
        return limit, (cursor,) + parsed[1:]

    def serve_page(self, scen, limit, cursor):
        if cursor:
            cursor_str, trav, offset, page = cursor
        else:
            cursor_str, trav, offset, page = "", STATE.incr("trav", scen), 0, 1
        if scen == "hangpage2" and page == 2:
            return self.hang()
        total, rowfn = dataset(scen) or (0, None)
        end = min(offset + limit, total)
        rows = [rowfn(i, trav) for i in range(offset, end)]
        nxt = make_cursor(scen, trav, end, page + 1) if end < total else ""
        if scen == "loopcursor":  # never ends: page 2 on hands back its own cursor
            nxt = cursor_str or make_cursor(scen, trav, limit, 2)
        if scen == "extrakeys":
            rows = [dict({"unionid": "u1"}, **r, tags=["a", "b"]) for r in rows]
        if scen == "itemnotobject" and page == 1 and len(rows) > 1:
            rows[1] = 42
        obj = {"errcode": 0, "errmsg": "ok", "info_list": rows, "next_cursor": nxt}
        if scen == "extrakeys":
            obj = dict({"extra": {"x": 1}}, **obj)
        elif scen == "nullerrcode":
            obj.update(errcode=None, errmsg="system error")
        elif scen == "noerrcode":
            del obj["errcode"]
        elif scen == "nocursorkey":
            del obj["next_cursor"]
        elif scen == "nullcursor":
            obj["next_cursor"] = None
        body = enc(obj)
        if scen == "truncated":
            body = body[:len(body) // 2]
        if scen == "slowtail":
            return self.send(200, body, tail_after=3)
        if scen == "drop3" and page == 3 and STATE.first_time("dropped", "drop3"):
            return self.drop(body)
        if scen == "closecut" or scen == "closecut2":
            return self.send_unframed(body, scen == "closecut" or (
                page == 2 and STATE.first_time("closecut", "closecut2")))
        if scen == "closeempty" or scen == "closeempty2":
            empty = scen == "closeempty" or (page == 2 and STATE.first_time("closecut", "closeempty2"))
            return self.send_unframed(b"" if empty else body, False)
        if scen == "closehold":
            return self.send_and_hold(body)
        if scen == "badgzip" or (scen == "badgzip2" and page == 2 and STATE.first_time("closecut", "badgzip2")):
            # said to be gzip-encoded, but plain JSON: it cannot be decoded
            return self.send(200, body, gz=True, encoded=True)
        self.send(200, body, gz=True if scen == "gzip" else False if scen == "bigplain" else None)

    def serve_bench(self, limit, cursor, scen="bench"):
        offset, page = (cursor[2], cursor[3]) if cursor else (0, 1)
        entry = bench_page(limit, offset, page, scen)
        if self.gz:
            self.send(200, bench_gzip(entry), encoded=True)
        else:
            self.send(200, entry[0])

    # ---- faults

    def drop(self, body):
        """Promise the whole body, deliver half, then cut the TCP connection."""
        self.close_connection = True  # the handler must not read another request from it
        self.send(200, body, cut=True)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_raw(self, data):
        """Bytes that are no HTTP response, then the connection's close."""
        self.close_connection = True
        self.answered()
        self.wfile.write(data)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_unframed(self, body, cut):
        """A 200 with neither Content-Length nor chunks, whose end is the
        connection's close (never gzip); cut: close after half the body."""
        self.close_connection = True
        self.answered()
        self.send_response(200)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[:len(body) // 2] if cut else body)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_and_hold(self, body):
        """A whole answer that says Connection: close, then the connection
        left open, TLS and TCP alike (no close_notify, no FIN), for
        CLOSE_HOLD seconds, as a gateway slow to let go; then closed, TCP
        only."""
        self.close_connection = True
        self.send(200, body, headers=[("Connection", "close")])
        self.wfile.flush()
        time.sleep(CLOSE_HOLD)

    def send_big_error(self, status, chunked):
        """A gateway's error page of BIG_ERROR_PAGE bytes and more, never gzip:
        with Content-Length (curl knows its size from the headers), or
        chunked (its size shows only as it arrives)."""
        body = html_page(status) + b"<!--" + b" padding" * (BIG_ERROR_PAGE // 8) + b" -->\r\n"
        self.answered()
        try:
            if not chunked:
                return self.send(status, body, "text/html", gz=False)
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 16384):
                piece = body[i:i + 16384]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client stopped reading: it may
            self.close_connection = True

    def hang(self):
        """Never answer; give the thread back when the client goes away (or after 600 s)."""
        self.close_connection = True
        sock = self.connection
        deadline = time.monotonic() + 600
        sock.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                if not sock.recv(65536):
                    return
            except TimeoutError:
                continue
            except (OSError, ValueError):
                return

    def stream_huge(self):
        self.answered()
        self.send_response(200)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Transfer-Encoding", "chunked")
        if self.gz:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        comp = zlib.compressobj(1, zlib.DEFLATED, 31) if self.gz else None
        try:
            for piece in huge_pieces():
                if comp:
                    piece = comp.compress(piece)
                    if not piece:
                        continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if comp:
                piece = comp.flush()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, ValueError):
            self.close_connection = True


# ---------------------------------------------------------------- main

def dump(scen):
    if not known(scen):
        sys.exit("unknown scenario: %s" % scen)
    ds = dataset(scen)
    if ds is None:
        return  # serves no rows
    total, rowfn = ds
    out = sys.stdout.buffer
    for i in range(total):
        out.write(dumps(rowfn(i, 1), ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n")
    out.flush()


# The scenarios a person trying the wrapper by hand is most likely to want
# (test/MOCK_PROTOCOL.md lists every one, with the exact answers).
SCENARIO_HELP = [
    ("basic", "25 rows (12 contacts, customers and not), paged by the request's limit"),
    ("empty", "no rows at all"),
    ("big", "2,500 rows: a longer cursor chain"),
    ("slow", "every page answers after 3 s: cancel it, or watch contact_list_fdw_progress (PostgreSQL 17+, or "
              "15/16 with shared_preload_libraries)"),
    ("delay", "every page waits --delay-ms (20 ms when not given)"),
    ("hang", "never answers: timeout_ms, statement_timeout and cancel"),
    ("busy2", "WeCom busy (errcode -1) twice, then the rows: retries"),
    ("concurrency1", "the concurrency limit (errcode 45033) once, then the rows"),
    ("ratelimit", "the call frequency limit (errcode 45009) once: a longer wait, then the rows"),
    ("ratelimitforever", "always 45009: how a rate limit fails (SQLSTATE 53000)"),
    ("http502once", "a gateway error once, then the rows"),
    ("http429once", "HTTP 429 once, then the rows"),
    ("e48002", "the app may not call the API (SQLSTATE 42501)"),
    ("e60020", "the caller's IP is not trusted (SQLSTATE 42501)"),
    ("eNNN", "any errcode NNN on every page, e.g. e40058, e12345"),
    ("expire", "each token works for one page, then 42001: the wrapper fetches another"),
    ("shortlived", "gettoken says the token lives 1 s: refreshed on every scan"),
    ("nonjson", "an HTML page instead of JSON (SQLSTATE HV00A)"),
    ("emptyobjects", "one page of a million empty objects, 3 MB (SQLSTATE 54000)"),
    ("truncated", "a body cut in half (SQLSTATE HV00A)"),
    ("closecut2", "page 2 cut short once on a response without a length: retried"),
    ("badgzip2", "page 2 once said to be gzip but plain JSON: retried"),
    ("hangpage2", "page 2 never answers, on the connection page 1 came on: timeout_ms"),
    ("redirect", "HTTP 302 to elsewhere, never followed"),
    ("types", "27 rows of awkward values, for column type conversions (rows 12 and 13"),
    ("", "hold integers beyond 64 bits, which refuse the page: typesN serves row N alone)"),
    ("numbers", "1 row of numbers beyond 2**53 and at the ends of bigint, for integer columns"),
    ("customergroups", "the basic rows and 2 more: a customer in two non-customer groups of"),
    ("", "the member who added them, so (external_userid, follow_userid, chat_id) repeats"),
]


def scenario_epilog():
    lines = ["The corp id picks the scenario: corp_id 'corp-SCENARIO' with corp_secret",
             "'secret-ok' (a wrong secret gets errcode 40001), or access_token",
             "'fixed-SCENARIO' in the user mapping. api_url is",
             "'http://HOST:PORT/cgi-bin'. Scenarios:", ""]
    for name, text in SCENARIO_HELP:
        lines.append("  %-18s %s" % (name, text))
    lines += ["", "test/MOCK_PROTOCOL.md describes every scenario and control path",
              "(/_stats, /_reset, ...); make mock prints the SQL to paste."]
    return "\n".join(lines)


def main():
    global BENCH_ROWS
    ap = argparse.ArgumentParser(
        description="A mock of WeCom's gettoken and externalcontact/contact_list API, "
                    "for trying contact_list_fdw by hand and for its tests.",
        epilog=scenario_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=18642, help="port to listen on (0: any free one)")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's key (PEM)")
    ap.add_argument("--mitm-cert", help="also act as a TLS-inspecting proxy: answer CONNECT, "
                                        "then TLS with this certificate (PEM)")
    ap.add_argument("--mitm-key", help="that certificate's key (PEM)")
    ap.add_argument("--delay-ms", type=int, help="how long scenarios 'delay' and 'benchdelay*' wait before each answer")
    ap.add_argument("--bench-rows", type=int, default=1000000, help="rows of scenario 'bench'")
    ap.add_argument("--pidfile", help="write the process id here")
    ap.add_argument("--log", help="append one line per request to this file")
    ap.add_argument("--dump", metavar="SCENARIO",
                    help="print the rows a full scan of SCENARIO returns, as JSON lines, and exit")
    args = ap.parse_args()
    BENCH_ROWS = args.bench_rows
    if args.dump:
        return dump(args.dump)

    server = MockServer((args.host, args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        server.ssl_ctx = ctx
    if args.mitm_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.mitm_cert, args.mitm_key)
        ctx.set_alpn_protocols(["http/1.1"])
        server.mitm_ctx = ctx
    server.delay_ms = args.delay_ms
    if args.log:
        server.log_file = open(args.log, "a", encoding="utf-8")
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    # SIGTERM must unwind through the finally below so the pidfile goes away.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("mock listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass


if __name__ == "__main__":
    main()
