#!/usr/bin/python3
"""Fault suite for contact_list_fdw (issue 3): every way the network and the
API can fail, against the mock WeCom endpoint (test/MOCK_PROTOCOL.md).

For each fault mode the mock is reset, a scan runs, and the suite checks the
exact row count, that the rows equal a clean run's (as a multiset of every
column but tmp_openid, which changes per traversal), how many requests the
mock saw, and the error text where an error is the right answer.

Run by test/run.sh (make test) with the environment of test/lib.sh: PGHOST,
PGPORT, PGUSER, CLF_MOCK_PORT, CLF_WORK; the cluster, the mock and the proxy
are already running.  Uses its own database, fault_suite.  Prints one line
per case, "ok - NAME" or "not ok - NAME: WHY", then "N passed, M failed";
exits 1 if any case failed.
"""
import base64
import collections
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import threading
import time
import traceback
import urllib.request

import psycopg2
import psycopg2.extensions

MOCK_PORT = int(os.environ.get("CLF_MOCK_PORT", "18642"))
WORK = os.environ["CLF_WORK"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOCK = "http://127.0.0.1:%d" % MOCK_PORT
API = MOCK + "/cgi-bin"
# the log of the cluster under test (test/lib.sh's start_cluster names it)
_PGDATA = os.environ.get("CLF_PGDATA_NAME", "pgdata")
SERVER_LOG = os.path.join(WORK, "postgres.log" if _PGDATA == "pgdata" else _PGDATA + ".log")
DB = "fault_suite"
PAGE = 5                        # basic's 25 rows in 5 pages
PROXY_PASSWORD = "pw-hunter2"   # test/check_secrets.sh looks for it
# read from the header, so the two agree: progress rows each connection
# has, and the shared layout's version (the bumped build's is the next)
_SHARED_STATE_H = open(os.path.join(ROOT, "src", "shared_state.h")).read()
PROGRESS_PER_BACKEND = int(re.search(r"#define CLF_PROGRESS_PER_BACKEND\s+(\d+)", _SHARED_STATE_H).group(1))
SLOT_CLAIMS = int(re.search(r"#define CLF_SLOT_CLAIMS\s+(\d+)",
                            open(os.path.join(ROOT, "src", "stats.h")).read()).group(1))
LAYOUT = int(re.search(r"#else\s+#define CLF_SHARED_LAYOUT_VERSION\s+(\d+)", _SHARED_STATE_H).group(1))

# Compared between runs: everything but tmp_openid (new per traversal).
COLUMNS = "external_userid, name, follow_userid, chat_id, chat_name, add_time, is_customer"


class Fail(Exception):
    pass


class Skip(Exception):
    """A case that cannot run here: counted and said, never taken as a pass."""


def check(cond, why):
    if not cond:
        raise Fail(why)


def mock_get(path, port=MOCK_PORT):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return json.loads(r.read())


def reset():
    mock_get("/_reset")


def stats():
    return mock_get("/_stats")


def fresh_role(conn, role, options=""):
    """A role of a case's own; one a killed run left behind goes first."""
    if run(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)):
        run(conn, "DROP OWNED BY " + role)
        run(conn, "DROP ROLE " + role)
    run(conn, "CREATE ROLE %s %s" % (role, options))



def basic_server(c):
    """A fault-injection cluster's server s, on the mock's 25 basic contacts."""
    run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
    run(c, "CREATE USER MAPPING FOR public SERVER s OPTIONS (access_token 'fixed-basic')")


def secret_table(c, server="s", table="t"):
    """A fault-injection cluster's table on a server of its own: the mock's
    25 basic contacts, read with a token fetched by corp-basic's secret."""
    run(c, "CREATE SERVER %s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %%s)" % server, (API,))
    run(c, "CREATE USER MAPPING FOR public SERVER %s OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok')"
        % server)
    run(c, "CREATE FOREIGN TABLE %s (external_userid text) SERVER %s" % (table, server))


def ten_a_page_table(c):
    """A fault-injection cluster's table t: 25 contacts, 10 a page, 3 pages."""
    basic_server(c)
    run(c, "CREATE FOREIGN TABLE t (tmp_openid text, external_userid text) "
           "SERVER s OPTIONS (page_size '10')")

def connect(dbname=DB):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    with conn.cursor() as cur:
        # a safety net: no case may hang the suite
        cur.execute("SET statement_timeout = '60s'")
        cur.execute("SET contact_list_fdw.retry_delay_ms = 20")
    return conn


def run(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def scan(conn, table="fs_contacts"):
    return run(conn, "SELECT %s FROM %s" % (COLUMNS, table))


def scan_error(conn, sql="SELECT count(*) FROM fs_contacts"):
    """Run sql, which must fail; return the psycopg2 error."""
    try:
        run(conn, sql)
    except psycopg2.Error as e:
        # test/check_readme.py holds the README's errors table against these
        # (a message that quotes a value of megabytes: its start)
        print("# error %s: %s" % (e.pgcode, (e.diag.message_primary or "")[:1000].replace("\n", " ")), flush=True)
        return e
    raise Fail("no error from: %s" % sql)


def libcurl_version():
    """The libcurl the library is built against, as (major, minor, patch)."""
    out = subprocess.run(["pkg-config", "--modversion", "libcurl"], capture_output=True,
                         text=True, check=True).stdout.strip()
    return tuple(int(x) for x in re.findall(r"\d+", out)[:3])


def error_text(e):
    d = e.diag
    return "\n".join(x for x in (d.message_primary, d.message_detail, d.message_hint) if x)


def check_async_children(conn, sql, n=2):
    """The plan of sql runs n foreign scans as an Append's asynchronous
    children (else a case about async scans would test plain ones)."""
    plan = "\n".join(r[0] for r in run(conn, "EXPLAIN (COSTS OFF) " + sql))
    check(plan.count("Async Foreign Scan") == n, "not every child is async:\n" + plan)


def fault_error(conn, sql, point, what="SQLSTATE"):
    """Run sql with the fault point armed (a fault injection build): it must
    fail out of memory there.  The point is disarmed again; in a failed
    transaction block the caller's rollback (to a savepoint made before
    this) disarms it, and a connection gone has nothing to disarm."""
    ext = psycopg2.extensions
    run(conn, "SET clf_fault.point = %s", (point,))
    try:
        e = scan_error(conn, sql)
    finally:
        if conn.get_transaction_status() in (ext.TRANSACTION_STATUS_IDLE, ext.TRANSACTION_STATUS_INTRANS):
            run(conn, "RESET clf_fault.point")
    check(e.pgcode == "53200" and point in (e.diag.message_detail or ""),
          "%s %s: %s" % (what, e.pgcode, error_text(e)))
    return e


def hex_case(digits, rnd):
    """digits with each letter in either case, as an encoder may write them."""
    return "".join(c.lower() if rnd.random() < 0.5 else c.upper() for c in digits)


def percent_encode(text, rnd, p):
    """A URL encoder: what is not unreserved always, the rest with chance p."""
    out = []
    for b in text.encode():
        c = chr(b)
        if not (c.isascii() and (c.isalnum() or c in "-._~")) or rnd.random() < p:
            out.append("%" + hex_case("%02X" % b, rnd))
        else:
            out.append(c)
    return "".join(out)


def json_encode(text, rnd, p):
    """A JSON string encoder (inside the quotes): '"' and '\\' always, "/" as
    it is or as "\\/", any character as \\uXXXX with chance p (beyond the
    BMP, a surrogate pair)."""
    out = []
    for c in text:
        if c in "\"\\":
            out.append("\\" + c)
        elif rnd.random() < p:
            units = c.encode("utf-16-be")
            out.append("".join("\\u" + hex_case(units[i:i + 2].hex(), rnd) for i in range(0, len(units), 2)))
        elif c == "/" and rnd.random() < 0.5:
            out.append("\\/")
        else:
            out.append(c)
    return "".join(out)


# HTML5's names for ASCII punctuation, as an escaper of every character
# that has a name writes them (PHP's htmlentities with ENT_HTML5)
HTML5_NAMES = {"_": ["lowbar", "UnderBar"], "/": ["sol"], "\\": ["bsol"], "%": ["percnt"], "+": ["plus"],
               "=": ["equals"], "!": ["excl"], "#": ["num"], "$": ["dollar"], "(": ["lpar"], ")": ["rpar"],
               "*": ["ast", "midast"], ",": ["comma"], ".": ["period"], ":": ["colon"], ";": ["semi"],
               "?": ["quest"], "@": ["commat"], "[": ["lsqb", "lbrack"], "]": ["rsqb", "rbrack"], "^": ["Hat"],
               "`": ["grave"], "{": ["lcub", "lbrace"], "|": ["verbar", "vert"], "}": ["rcub", "rbrace"]}


def html_encode(text, rnd, p):
    """An HTML escaper: the five characters HTML escapes always, by name or
    number, any other with chance p, by number (decimal or hex, either case,
    leading zeros up to 8 digits) or, half the time, by its HTML5 name if it
    has one."""
    names = {"&": ["amp", "AMP"], "<": ["lt", "LT"], ">": ["gt", "GT"], '"': ["quot", "QUOT"], "'": ["apos"]}

    def number(c):
        hexa = rnd.random() < 0.5
        digits = ("%X" % ord(c)) if hexa else str(ord(c))
        digits = "0" * rnd.randint(0, 8 - len(digits)) + digits
        return "&#" + (rnd.choice("xX") + hex_case(digits, rnd) if hexa else digits) + ";"
    out = []
    for c in text:
        if c in names:
            out.append("&%s;" % rnd.choice(names[c]) if rnd.random() < 0.5 else number(c))
        elif rnd.random() < p:
            named = c in HTML5_NAMES and rnd.random() < 0.5
            out.append("&%s;" % rnd.choice(HTML5_NAMES[c]) if named else number(c))
        else:
            out.append(c)
    return "".join(out)


ENCODERS = {"percent": percent_encode, "json": json_encode, "html": html_encode}


def close_quietly(conn):
    """Close conn, which may be None or a connection the server ended."""
    if conn is not None:
        try:
            conn.close()
        except psycopg2.Error:
            pass


def connect_quietly(cluster):
    """A connection to a MiniCluster, or None while it does not take one."""
    try:
        return cluster.connect()
    except psycopg2.OperationalError:
        return None


def set_mapping(conn, server="fs", **options):
    """Replace postgres's user mapping for server with these options."""
    run(conn, "DROP USER MAPPING IF EXISTS FOR postgres SERVER %s" % server)
    opts = ", ".join("%s %s" % (k, psycopg2.extensions.QuotedString(v).getquoted().decode())
                     for k, v in options.items())
    run(conn, "CREATE USER MAPPING FOR postgres SERVER %s OPTIONS (%s)" % (server, opts))


def set_server_option(conn, name, value, server="fs"):
    """SET, ADD or (value None) DROP a server option."""
    have = run(conn, "SELECT coalesce(srvoptions, '{}') FROM pg_foreign_server WHERE srvname = %s",
               (server,))[0][0]
    present = any(o.startswith(name + "=") for o in have)
    if value is None:
        if present:
            run(conn, "ALTER SERVER %s OPTIONS (DROP %s)" % (server, name))
        return
    quoted = psycopg2.extensions.QuotedString(str(value)).getquoted().decode()
    run(conn, "ALTER SERVER %s OPTIONS (%s %s %s)" % (server, "SET" if present else "ADD", name, quoted))


def log_offset():
    try:
        return os.path.getsize(SERVER_LOG)
    except OSError:
        return 0


def log_since(offset):
    with open(SERVER_LOG, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def retry_lines(text, what=""):
    return [l for l in text.splitlines()
            if "contact_list_fdw:" in l and "; retry " in l and what in l]


def proc_status_kb(pid, field):
    """A memory figure (VmRSS, VmHWM) of a process, in kB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise Fail("no %s for pid %d" % (field, pid))


def cpu_seconds(pid):
    """The CPU time a process has used so far (user and system), in s."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_rss_kb(pid):
    return proc_status_kb(pid, "VmRSS")


def vm_hwm_kb(pid):
    return proc_status_kb(pid, "VmHWM")


_localhost_spellings = 0


def fresh_localhost():
    """A spelling of the mock's host name that no case of this run has used
    (its letters upper or lower case by the bits of a counter): a token key
    of its own, never cached before, as the cluster's token cache outlives
    cases.  Drawn at random, two cases' spellings could meet, and the later
    case find its token cached."""
    global _localhost_spellings
    while True:
        _localhost_spellings += 1
        host = "".join(c.upper() if _localhost_spellings >> i & 1 else c for i, c in enumerate("localhost"))
        if host != "LocalHost":  # token_refresh_margin's
            return host


def shared_state_conf():
    """The postgresql.conf lines of a MiniCluster whose sessions share state:
    the library preloaded on 15 and 16 (17 and later need nothing)."""
    return ["shared_preload_libraries = 'contact_list_fdw'"] if pg_major() < 17 else []


def fault_injection_cluster(name, preload=None):
    """A MiniCluster running the fault injection build
    (fault_injection_install), the library preloaded where 15 and 16 need it
    to share state (preload None) or never (False), with the extension
    created: (cluster, connection).  The caller stops the cluster.  Needs
    root."""
    if os.geteuid() != 0:
        raise Skip("needs root")
    conf = shared_state_conf() if preload is None else (
        ["shared_preload_libraries = 'contact_list_fdw'"] if preload else [])
    mc = MiniCluster(name, conf=conf, pg_config=fault_injection_install())
    try:
        c = mc.connect()
        run(c, "CREATE EXTENSION contact_list_fdw")
    except BaseException:
        mc.stop()
        raise
    return mc, c


def fault_injection_install():
    """A copy of the PostgreSQL installation (hard links where it can) whose
    contact_list_fdw.so is a test build with fault injection points (make
    CLF_FAULT_INJECT=1, built in a directory of its own): the pg_config of
    the copy.  PostgreSQL finds its library and share directories relative
    to its programs, so the copy runs as is."""
    pgc = os.environ.get("PG_CONFIG", "pg_config")

    def conf(flag):
        return subprocess.run([pgc, flag], check=True, capture_output=True, text=True).stdout.strip()
    root = os.path.join(WORK, "pg-fault")
    build = os.path.join(WORK, "fault-build")
    if not os.path.exists(os.path.join(root, "ready")):
        shutil.rmtree(root, ignore_errors=True)
        for d in (conf("--bindir"), conf("--pkglibdir"), conf("--sharedir")):
            dst = root + d
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if subprocess.run(["cp", "-al", d, dst], capture_output=True).returncode != 0:
                shutil.rmtree(dst, ignore_errors=True)
                subprocess.run(["cp", "-a", d, dst], check=True)
        # the sources alone: a VPATH build would take the objects already
        # built in ROOT as up to date
        shutil.rmtree(build, ignore_errors=True)
        shutil.copytree(os.path.join(ROOT, "src"), os.path.join(build, "src"),
                        ignore=shutil.ignore_patterns("*.o", "*.so", "*.bc"))
        for f in os.listdir(ROOT):
            if f == "Makefile" or f.endswith((".control", ".sql")):
                shutil.copy(os.path.join(ROOT, f), build)
        made = subprocess.run(["make", "-s", "CLF_FAULT_INJECT=1", "with_llvm=no", "PG_CONFIG=" + pgc],
                              cwd=build, capture_output=True, text=True)
        check(made.returncode == 0, "the fault injection build failed: %s" % made.stderr[-2000:])
        so = root + conf("--pkglibdir") + "/contact_list_fdw.so"
        os.unlink(so)       # a hard link to the installed one
        shutil.copy(os.path.join(build, "contact_list_fdw.so"), so)
        os.chmod(so, 0o755)
        open(os.path.join(root, "ready"), "w").close()
    return root + conf("--bindir") + "/pg_config"


def private_memory(pid):
    """The private writable memory of process pid, a mapping at a time: not
    the shared state, which keeps tokens for every session."""
    try:
        mem = open("/proc/%d/mem" % pid, "rb", 0)
    except PermissionError:
        raise Skip("this user may not read a backend's memory")
    with open("/proc/%d/maps" % pid) as maps, mem:
        for line in maps:
            fields = line.split()
            if fields[1][:2] != "rw" or fields[1][3] != "p":
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                yield mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue


def bare_copies(pid, needle):
    """How often needle is in process pid's private memory, and the copies
    among them that are a C string of needle alone: not after "=" (a URL's
    query string, libcurl's copy of it), and ending in a NUL."""
    seen = 0
    bare = []
    for data in private_memory(pid):
        i = data.find(needle)
        while i >= 0:
            seen += 1
            if data[i + len(needle):i + len(needle) + 1] == b"\0" and data[i - 1:i] != b"=":
                bare.append(data[max(0, i - 24):i + len(needle) + 8])
            i = data.find(needle, i + 1)
    return seen, bare


def pg_major():
    out = subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--version"], check=True,
                         capture_output=True, text=True).stdout
    # "15.18", "17.12", "19rc1": the leading number
    return int(re.match(r"\d+", out.split()[1]).group())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(name, san):
    """A self-signed certificate for san (e.g. "IP:127.0.0.1,DNS:localhost")."""
    cert = os.path.join(WORK, name + "-cert.pem")
    key = os.path.join(WORK, name + "-key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=clf-test", "-addext", "subjectAltName=" + san,
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        os.chmod(key, 0o644)
        os.chmod(cert, 0o644)
    return cert, key


def start_listening(what, script, *args):
    """test/SCRIPT with args, which prints "listening PORT" once ready:
    (process, port)."""
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "test", script)] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "listening" not in line:
        proc.kill()
        raise Fail("%s did not start: %r" % (what, line))
    return proc, int(line.split()[-1])


def start_tls_mock(cert, key):
    """An HTTPS mock on a port the OS picks: (process, port)."""
    return start_listening("the TLS mock", "mock_wecom.py", "--host", "127.0.0.1", "--port", "0",
                           "--tls-cert", cert, "--tls-key", key)


def start_tinyproxy(name, connect_port, log_level="Info", extra=""):
    """A tinyproxy on loopback that may CONNECT to connect_port only, in a
    directory of its own under WORK: (process, port, log file)."""
    pxport = free_port()
    pxdir = os.path.join(WORK, name)
    os.makedirs(pxdir, exist_ok=True)
    pxlog = os.path.join(pxdir, "tinyproxy.log")
    conf = os.path.join(pxdir, "tinyproxy.conf")
    with open(conf, "w") as f:
        f.write("Port %d\nListen 127.0.0.1\nTimeout 60\nLogFile \"%s\"\nLogLevel %s\n"
                "Allow 127.0.0.1\nConnectPort %d\n%s" % (pxport, pxlog, log_level, connect_port, extra))
        if os.geteuid() == 0:
            f.write("User postgres\nGroup postgres\n")
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres", pxdir], check=True)
    proxy = subprocess.Popen(["/usr/bin/tinyproxy", "-d", "-c", conf],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # (the probe leaves a "Connect" line in the log, but no request)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", pxport), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return proxy, pxport, pxlog


# tinyproxy's configuration line that makes it ask for squid / PROXY_PASSWORD
BASIC_AUTH = "BasicAuth squid %s\n" % PROXY_PASSWORD


def start_socks5(name, *args):
    """test/socks5_mock.py on a port the OS picks, logging to a file in a
    directory of its own under WORK: (process, port, log file)."""
    sxdir = os.path.join(WORK, name)
    os.makedirs(sxdir, exist_ok=True)
    sxlog = os.path.join(sxdir, "socks5.log")
    open(sxlog, "w").close()
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "test", "socks5_mock.py"),
                             "--host", "127.0.0.1", "--port", "0", "--log", sxlog] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "listening" not in line:
        proc.kill()
        raise Fail("the SOCKS5 mock did not start: %r" % line)
    return proc, int(line.split()[-1]), sxlog


def start_tls_mock_behind_socks5(name):
    """The HTTPS mock (start_tls_mock, its certificate for 127.0.0.1 and
    localhost) and a SOCKS5 relay to anywhere (start_socks5 name) that asks
    for squid / PROXY_PASSWORD: (cert, (mock, port), (relay, relay's port,
    relay's log)).  The caller stops both."""
    cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
    mock, port = start_tls_mock(cert, key)
    try:
        relay = start_socks5(name, "--mode", "relay", "--user", "squid", "--password", PROXY_PASSWORD)
    except BaseException:
        stop(mock)
        raise
    return cert, (mock, port), relay


def sockets_to(pid, port):
    """The socket inodes of pid's established TCP connections to port."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.match(r"socket:\[(\d+)\]$", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue        # closed meanwhile
        if m:
            inodes.add(m.group(1))
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                field = line.split()
                if field[3] == "01" and int(field[2].rsplit(":", 1)[1], 16) == port and field[9] in inodes:
                    found.add(field[9])
    return found


def socks5_events(sxlog, kind):
    """The lines of the SOCKS5 mock's log that start with kind."""
    with open(sxlog) as f:
        return [l.rstrip("\n") for l in f if l.startswith(kind + " ")]


def start_h2_front(cert, key, reset="none", goaway="none"):
    """The mock behind an HTTP/2-only TLS front (test/h2_front.py), which
    answers the contact_list requests reset picks ("all", "N": the Nth)
    with RST_STREAM, and those goaway picks with a broken answer and GOAWAY
    (libcurl's CURLE_HTTP2): (process, port, log of its requests)."""
    logf = os.path.join(WORK, "h2front-%d.log" % next(H2_FRONTS))
    if os.path.exists(logf):
        os.unlink(logf)     # an earlier run's (the per-backend suite runs after the shared one)
    front, port = start_listening("the HTTP/2 front", "h2_front.py", "--cert", cert, "--key", key,
                                  "--backend-port", str(MOCK_PORT), "--reset", reset, "--goaway", goaway,
                                  "--log", logf)
    return front, port, logf


H2_FRONTS = itertools.count()


def h2_requests(logf):
    """The contact_list requests an HTTP/2 front saw: (cursor sent, reset)."""
    seen = []
    if os.path.exists(logf):
        with open(logf, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if "externalcontact/contact_list" in r["path"]:
                    seen.append((json.loads(r["body"] or "{}").get("cursor", ""), r["reset"]))
    return seen


def tls_mock_get(port, cert, path):
    """mock_get for a mock serving HTTPS (start_tls_mock) with cert."""
    ctx = ssl.create_default_context(cafile=cert)
    with urllib.request.urlopen("https://127.0.0.1:%d%s" % (port, path), timeout=10, context=ctx) as r:
        return json.loads(r.read())


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def as_postgres():
    """runuser's prefix when root: the server and tinyproxy refuse root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def sig_blocked(pid, tid):
    """The set of signal numbers a thread of pid blocks."""
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("SigBlk:"):
                mask = int(line.split()[1], 16)
                return {n for n in range(1, 65) if mask & (1 << (n - 1))}
    raise Fail("no SigBlk for task %d of %d" % (tid, pid))


# Every signal a thread can block (SIGKILL and SIGSTOP cannot be).
BLOCKABLE = set(range(1, 32)) - {9, 19}

# The LD_PRELOAD shim of the MiniCluster cases: a failing
# curl_multi_add_handle, and one failed malloc of the size of a copy of
# mock_wecom.py's bigtoken (20,000-odd bytes) made by the server itself
# (not by json-c or libcurl), each armed by a file in CLF_SHIM_DIR and used
# up once it fires.
SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

extern void *__libc_malloc(size_t);

static int
armed(const char *name, int use_up)
{
	const char *dir = getenv("CLF_SHIM_DIR");
	char		path[4096];

	if (dir == NULL || strlen(dir) + strlen(name) + 2 > sizeof(path))
		return 0;
	strcpy(path, dir);
	strcat(path, "/");
	strcat(path, name);
	if (access(path, F_OK) != 0)
		return 0;
	if (use_up)
		unlink(path);
	return 1;
}

CURLMcode
curl_multi_add_handle(CURLM *multi, CURL *easy)
{
	static CURLMcode (*real) (CURLM *, CURL *);

	if (armed("fail_add_handle", 0))
		return CURLM_OUT_OF_MEMORY;
	if (real == NULL)
		real = (CURLMcode (*) (CURLM *, CURL *)) dlsym(RTLD_NEXT, "curl_multi_add_handle");
	return real(multi, easy);
}

void *
malloc(size_t size)
{
	if (size > 20000 && size < 20200 && (size & (size - 1)) != 0)
	{
		Dl_info		info;

		if (dladdr(__builtin_return_address(0), &info) && info.dli_fname &&
			strstr(info.dli_fname, ".so") == NULL && armed("fail_token_copy", 1))
			return NULL;
	}
	return __libc_malloc(size);
}
"""


# A DNS server for the resolver case: answers wecom-mock.test (A 127.0.0.1,
# no AAAA) and swallows every other query, so their resolve hangs.
DNS_PY = r"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
while True:
    data, peer = s.recvfrom(4096)
    i, labels = 12, []
    while i < len(data) and data[i]:
        labels.append(data[i + 1:i + 1 + data[i]].decode("ascii", "replace").lower())
        i += 1 + data[i]
    if ".".join(labels) != "wecom-mock.test":
        continue
    qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
    answer = b""
    if qtype == 1:
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    header = data[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if answer else 0, 0, 0)
    s.sendto(header + data[12:i + 5] + answer, peer)
"""


def nameservers():
    """The IPv4 name servers of /etc/resolv.conf (glibc's default without one)."""
    found = []
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver" and ":" not in parts[1]:
                    found.append(parts[1])
    except OSError:
        pass
    return found or ["127.0.0.1"]


class MiniCluster:
    """A PostgreSQL cluster of a case's own, for what the suite's cluster
    cannot show: a server with a library preloaded (preload), or one in a
    private network namespace (netns) where programs of the case also run
    (helpers: shell commands started in the background), such as a DNS
    server on the addresses resolv.conf names.  Needs root.  Clients reach
    it by its Unix socket, which no network namespace hides.  conf: more
    postgresql.conf lines."""

    def __init__(self, name, preload=None, env=None, netns=False, helpers=(), conf=(), pg_config=None):
        self.dir = os.path.join(WORK, "mini-" + name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.pgbin = subprocess.run([pg_config or os.environ.get("PG_CONFIG", "pg_config"), "--bindir"],
                                    check=True, capture_output=True, text=True).stdout.strip()
        self.data = os.path.join(self.dir, "data")
        self.holder = None
        env = dict(env or {})
        if preload:
            env["LD_PRELOAD"] = preload
        envs = " ".join("%s=%s" % (k, shq(v)) for k, v in env.items())
        script = ["set -e"]
        if netns:
            script.append("ip link set lo up")
            # the name servers' addresses are this namespace's own
            script += ["ip addr add %s/32 dev lo 2>/dev/null || true" % ns for ns in nameservers()]
        for i, cmd in enumerate(helpers):
            script.append("(%s) >%s/helper%d.log 2>&1 & echo $! >%s/helper%d.pid"
                          % (cmd, shq(self.dir), i, shq(self.dir), i))
        pg = " ".join(as_postgres())
        script += [
            "%s %s/initdb -D %s -U postgres --auth=trust >%s/initdb.log" % (pg, self.pgbin, self.data, self.dir),
            "printf \"listen_addresses = ''\\nunix_socket_directories = '%s'\\nlog_min_messages = debug1\\n\" >>%s/postgresql.conf"
            % (self.dir, self.data),
        ] + ["echo %s >>%s/postgresql.conf" % (shq(line), self.data) for line in conf] + [
            "%s env %s %s/pg_ctl -D %s -l %s/postgres.log -w start >/dev/null" % (pg, envs, self.pgbin, self.data, self.dir),
            "echo ready",
            # holds the namespace while the case runs; stdin closes at stop()
            "read -r _ || true",
        ]
        if os.geteuid() == 0:
            subprocess.run(["chown", "postgres", self.dir], check=True)
        argv = ["bash", "-c", "\n".join(script)]
        if netns:
            argv = ["unshare", "--net", "--fork"] + argv
        self.holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            err = self.holder.stderr.read() if self.holder.poll() is not None else ""
            self.stop()
            raise Fail("the mini cluster %s did not start: %r %s" % (name, line, err.strip()))

    def connect(self):
        conn = psycopg2.connect(dbname="postgres", host=self.dir, user="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = '60s'")
        return conn

    def restart(self):
        """Stop and start the server (not for a netns cluster: outside it)."""
        subprocess.run(as_postgres() + [os.path.join(self.pgbin, "pg_ctl"), "-D", self.data, "-l",
                                        os.path.join(self.dir, "postgres.log"), "-m", "fast", "-w",
                                        "restart"], check=True, capture_output=True)

    def log(self):
        with open(os.path.join(self.dir, "postgres.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(as_postgres() + [os.path.join(self.pgbin, "pg_ctl"), "-D", self.data,
                                            "-m", "immediate", "stop"], capture_output=True)
        for f in os.listdir(self.dir):
            if f.startswith("helper") and f.endswith(".pid"):
                with open(os.path.join(self.dir, f)) as pf:
                    try:
                        os.kill(int(pf.read()), 15)
                    except (ValueError, OSError):
                        pass
        if self.holder and self.holder.poll() is None:
            self.holder.stdin.close()
            try:
                self.holder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait()


def shq(text):
    return "'" + str(text).replace("'", "'\\''") + "'"


def reference_rows(scenario):
    """The rows of a full traversal, from the mock itself (--dump)."""
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "test", "mock_wecom.py"),
                          "--dump", scenario], check=True, capture_output=True).stdout
    rows = []
    for line in out.decode("utf-8").splitlines():
        o = json.loads(line)
        rows.append(o)
    return rows


# ---------------------------------------------------------------- the cases

class Suite:
    def __init__(self):
        self.per_backend = False
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.clean = None       # Counter of a clean basic scan
        self.clean_big = None

    def case(self, name, fn):
        # CLF_FAULT_CASES=a,b: only the cases whose name holds one of these
        # (a developer's shortcut; the clean run always runs, as the others need it)
        only = [w for w in os.environ.get("CLF_FAULT_CASES", "").split(",") if w]
        if only and not name.startswith("clean run") and not any(w in name for w in only):
            return
        try:
            fn()
        except Skip as e:
            self.skipped += 1
            print("ok - %s # SKIP %s" % (name, e), flush=True)
            return
        except Fail as e:
            self.failed += 1
            print("not ok - %s: %s" % (name, e), flush=True)
            return
        except Exception as e:  # a bug of the suite or an unexpected error
            self.failed += 1
            print("not ok - %s: %s: %s" % (name, type(e).__name__, str(e).strip().replace("\n", " | ")),
                  flush=True)
            traceback.print_exc(file=sys.stderr)
            return
        self.passed += 1
        print("ok - %s" % name, flush=True)

    # -- helpers shared by the cases

    def fault_scan(self, conn, scenario, requests, extra=None, via="token"):
        """Reset, scan scenario, check rows and the number of requests."""
        if via == "token":
            set_mapping(conn, access_token="fixed-" + scenario)
        else:
            set_mapping(conn, corp_id="corp-" + scenario,
                        corp_secret="secret-ok2" if via == "corp2" else "secret-ok")
        reset()
        rows = scan(conn)
        st = stats()
        check(len(rows) == 25, "%d rows, expected 25" % len(rows))
        check(collections.Counter(rows) == self.clean,
              "rows differ from a clean run: missing %s, extra %s" % (
                  list((self.clean - collections.Counter(rows)).elements())[:3],
                  list((collections.Counter(rows) - self.clean).elements())[:3]))
        check(st["contact_list"] == requests,
              "the mock saw %d contact_list requests, expected %d (cursors %s)" % (
                  st["contact_list"], requests, st["cursors"]))
        check(st["bad_requests"] == 0, "%d bad requests" % st["bad_requests"])
        if extra:
            extra(st)
        return st

    # -- setup

    def setup(self):
        admin = psycopg2.connect(dbname="postgres")
        admin.autocommit = True
        run(admin, "DROP DATABASE IF EXISTS %s" % DB)
        run(admin, "CREATE DATABASE %s" % DB)
        admin.close()
        conn = connect()
        run(conn, "CREATE EXTENSION contact_list_fdw")
        run(conn, "CREATE SERVER fs FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
        run(conn, """CREATE FOREIGN TABLE fs_contacts (
                       is_customer boolean, tmp_openid text, external_userid text, name text,
                       follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                     SERVER fs OPTIONS (page_size '%d')""" % PAGE)
        run(conn, """CREATE FOREIGN TABLE fs_big (
                       is_customer boolean, tmp_openid text, external_userid text, name text,
                       follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                     SERVER fs""")
        return conn

    # -- cases

    def clean_run(self, conn):
        set_mapping(conn, access_token="fixed-basic")
        reset()
        rows = scan(conn)
        st = stats()
        check(len(rows) == 25, "%d rows, expected 25" % len(rows))
        check(st["contact_list"] == 5, "%d requests for 5 pages" % st["contact_list"])
        check(st["limits"] == [PAGE] * 5, "limits sent: %s" % st["limits"])
        self.clean = collections.Counter(rows)
        check(len(self.clean) == 25, "a clean run has duplicate rows")
        # the same rows as the mock's own list
        ref = reference_rows("basic")
        names = sorted((r.get("external_userid") or "", r.get("name") or "") for r in ref)
        got = sorted((r[0] or "", r[1] or "") for r in rows)
        check(names == got, "rows differ from mock_wecom.py --dump basic")

    def user_agent(self, conn):
        # secret-ok-agent: a token key no other case fetches, so gettoken is made
        set_mapping(conn, corp_id="corp-basic", corp_secret="secret-ok-agent")
        reset()
        try:
            rows = scan(conn)
        finally:
            set_mapping(conn, access_token="fixed-basic")
        check(len(rows) == 25, "%d rows, expected 25" % len(rows))
        check(stats()["gettoken"] == 1, "no gettoken: %s" % stats())
        with open(os.path.join(ROOT, "META.json"), encoding="utf-8") as f:
            release = json.load(f)["version"]
        agents = mock_get("/_user_agents")
        check(agents == ["contact_list_fdw/" + release], "User-Agent sent: %s" % agents)

    def page_retried_once(self, conn, scenario, page, said=""):
        """scenario breaks page (1-based) once: 6 requests, that page asked
        again with its own cursor, every row once, one DEBUG1 retry line
        (saying said)."""
        off = log_offset()

        def extra(st):
            check(st["cursors"][page - 1] == st["cursors"][page] and st["cursors"][page - 1],
                  "page %d was not retried with its cursor: %s" % (page, st["cursors"]))
            check(len(set(st["cursors"])) == 5, "cursors: %s" % st["cursors"])
        self.fault_scan(conn, scenario, 6, extra)
        lines = retry_lines(log_since(off), "page %d " % page)
        check(len(lines) == 1, "expected one DEBUG1 retry line for page %d, got %d" % (page, len(lines)))
        check("retry 1 of 3" in lines[0] and said in lines[0], "retry line: %s" % lines[0])

    def drop3(self, conn):
        self.page_retried_once(conn, "drop3", 3)

    def long_cursors(self, conn):
        # cursors of 1 MB each, a page of one row each: the chain is followed
        # to its end, and the loop check keeps a digest of each cursor, not
        # the cursor (a cursor open after 24 pages held them all, 24 MB)
        set_mapping(conn, access_token="fixed-longcursor")
        run(conn, "CREATE FOREIGN TABLE fs_one (external_userid text) SERVER fs OPTIONS (page_size '1')")
        reset()
        try:
            run(conn, "BEGIN")
            run(conn, "DECLARE lc CURSOR FOR SELECT external_userid FROM fs_one")
            rows = run(conn, "FETCH 24 FROM lc")
            held = run(conn, "SELECT sum(total_bytes) FROM pg_backend_memory_contexts "
                             "WHERE 'contact_list_fdw cursors' IN (name, ident)")[0][0]
            rows += run(conn, "FETCH ALL FROM lc")
            run(conn, "COMMIT")
            st = stats()
            check(st["contact_list"] == 25 and all(len(c) > 1000000 for c in st["cursors"][1:]),
                  "%d requests, expected 25 with long cursors" % st["contact_list"])
            check(collections.Counter(r[0] for r in rows) == collections.Counter(r[0] for r in self.clean.elements()),
                  "rows differ from a clean run: %d rows" % len(rows))
            check(held is not None and held < 3 * 1024 * 1024,
                  "after 24 pages the scan keeps %s bytes of cursors" % held)
        finally:
            run(conn, "ROLLBACK")
            run(conn, "DROP FOREIGN TABLE fs_one")
            set_mapping(conn, access_token="fixed-basic")
            reset()

    def closecut2(self, conn):
        # A 200 without Content-Length or chunks ends where the connection
        # closes: cut after half its JSON, libcurl sees no error, yet it is
        # a body cut short and retried with the same cursor.
        self.page_retried_once(conn, "closecut2", 2, said="without a length")

    def every_answer_cut(self, conn, scenario, ended, detail_says):
        # every answer cut short (or garbled): retried, then the error of
        # such a body, saying how far it came (ended: the primary message's end)
        set_server_option(conn, "max_retries", 2)
        try:
            set_mapping(conn, access_token="fixed-" + scenario)
            reset()
            e = scan_error(conn)
            msg = error_text(e)
            check(e.pgcode == "HV00N", "SQLSTATE %s: %s" % (e.pgcode, msg))
            check(e.diag.message_primary == "could not fetch page 1 of %s/externalcontact/contact_list: %s"
                  % (API, ended), "message: %s" % msg)
            check((e.diag.message_detail or "").startswith("3 attempts were made."), "detail: %s" % msg)
            check(detail_says in (e.diag.message_detail or ""), "detail: %s" % msg)
            check(stats()["contact_list"] == 3, "%d requests, expected 3" % stats()["contact_list"])
        finally:
            set_server_option(conn, "max_retries", None)

    def closecut(self, conn):
        self.every_answer_cut(conn, "closecut", "the response ended early", "gave no length")

    def closeempty2(self, conn):
        # A 200 without a length and without a byte of body: WeCom always
        # answers JSON, so the connection closed before the body began, and
        # page 2 is asked again with its cursor.
        self.page_retried_once(conn, "closeempty2", 2, said="before any of the body")

    def closeempty(self, conn):
        # every answer empty: not an invalid response, but a body that
        # none of came
        self.every_answer_cut(conn, "closeempty", "the response ended before its body began",
                              "before any of the body arrived")

    def badgzip2(self, conn):
        # A body that says gzip but is not: libcurl cannot decode it, as
        # when a body was garbled on the way, and page 2 is asked again
        # with its cursor.
        self.page_retried_once(conn, "badgzip2", 2)

    def badgzip(self, conn):
        self.every_answer_cut(conn, "badgzip", "the response's compressed body could not be decoded",
                              "libcurl reported")

    def big_error_page(self, conn):
        # A gateway's 502 page larger than max_response_bytes is the server
        # error it says it is: retried, then reported with its status and
        # how it began, whether its size was given (Content-Length) or
        # showed only as it arrived (chunked).  A 200 that large is 54000.
        set_server_option(conn, "max_response_bytes", 20000)
        set_server_option(conn, "max_retries", 2)
        try:
            for scen in ("http502big", "http502bigchunked"):
                set_mapping(conn, access_token="fixed-" + scen)
                reset()
                e = scan_error(conn)
                msg = error_text(e)
                check(e.pgcode == "HV00N", "%s: SQLSTATE %s: %s" % (scen, e.pgcode, msg))
                check(e.diag.message_primary == "page 1 of %s/externalcontact/contact_list answered "
                      "with HTTP status 502" % API, "%s: message: %s" % (scen, msg))
                detail = e.diag.message_detail or ""
                check(detail.startswith("3 attempts were made.") and
                      'began with "<html>' in detail, "%s: detail: %s" % (scen, msg))
                check(stats()["contact_list"] == 3, "%s: %d requests, expected 3" % (
                    scen, stats()["contact_list"]))
            # a 200 that large is 54000, not retried: by what its first
            # 16 kB would take once parsed (big, gzip: no length given), or
            # before its body, by its Content-Length (bigplain: never gzip)
            for scen, body_read in (("big", True), ("bigplain", False)):
                set_mapping(conn, access_token="fixed-" + scen)
                reset()
                e = scan_error(conn, "SELECT count(*) FROM fs_big")
                check(e.pgcode == "54000" and "larger than max_response_bytes (20000 bytes)" in
                      e.diag.message_primary, "%s: a 200 too large: %s %s" % (scen, e.pgcode, error_text(e)))
                check(stats()["contact_list"] == 1, "%s: %d requests: a too large 200 was retried" %
                      (scen, stats()["contact_list"]))
                got = run(conn, "SELECT bytes FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT 1")[0][0]
                check((0 < got <= 20000) if body_read else got == 0, "%s: %d bytes of the body read" % (scen, got))
                check(("would take more memory" in (e.diag.message_detail or "")) == body_read,
                      "%s: detail: %s" % (scen, e.diag.message_detail))
        finally:
            set_server_option(conn, "max_response_bytes", None)
            set_server_option(conn, "max_retries", None)

    def big_token_answer(self, conn):
        # gettoken's answers are held to 64 kB (CLF_TOKEN_RESPONSE_MAX), a
        # 200's only, as a page's to max_response_bytes: a gateway's 502
        # page larger than that is the server error it says it is, retried
        # as a page's, then reported with its status (not how it began: a
        # gettoken body may hold a token), whether its size was given
        # (Content-Length) or showed only as it arrived (chunked); by a
        # plain scan's fetch and by an async child's.  A 200 that large is
        # 54000, not retried; one whose Content-Length says so
        # (bigtokenplain: never gzip) before a byte of its body.
        def check_502(scen, e, gettoken_url):
            msg = error_text(e)
            check(e.pgcode == "HV00N", "%s: SQLSTATE %s: %s" % (scen, e.pgcode, msg))
            check(e.diag.message_primary == "%s answered with HTTP status 502" % gettoken_url,
                  "%s: message: %s" % (scen, msg))
            check(e.diag.message_detail == "3 attempts were made.", "%s: detail: %s" % (scen, msg))
            check("try again later, or raise max_retries" in (e.diag.message_hint or ""),
                  "%s: hint: %s" % (scen, msg))
            st = stats()
            check(st["gettoken"] == 3, "%s: %d gettoken requests, expected 3" % (scen, st["gettoken"]))

        set_server_option(conn, "max_retries", 2)
        host = fresh_localhost()
        api = "http://%s:%d/cgi-bin" % (host, MOCK_PORT)
        try:
            for scen in ("token502big", "token502bigchunked"):
                set_mapping(conn, corp_id="corp-" + scen, corp_secret="secret-ok")
                reset()
                check_502(scen, scan_error(conn), API + "/gettoken")
                check(stats()["contact_list"] == 0, "%s: a page was asked for" % scen)
            # the same from an async Append's child, beside one on a fixed
            # token (a host spelling of its own: the failure above is shared
            # for a while under the plain scan's key)
            self.shared_table(conn, "fs_tkf", {"access_token": "fixed-basic"},
                              server_options="max_retries '2'",
                              table_options="page_size '5', async_capable 'on'")
            run(conn, "DROP SERVER IF EXISTS fs_tkb_srv CASCADE")
            run(conn, "CREATE SERVER fs_tkb_srv FOREIGN DATA WRAPPER contact_list_fdw "
                      "OPTIONS (api_url %s, max_retries '2')", (api,))
            run(conn, "CREATE FOREIGN TABLE fs_tkb (external_userid text) "
                      "SERVER fs_tkb_srv OPTIONS (page_size '5', async_capable 'on')")
            sql = "SELECT external_userid FROM fs_tkf UNION ALL SELECT external_userid FROM fs_tkb"
            check_async_children(conn, sql)
            for scen in ("token502big", "token502bigchunked"):
                set_mapping(conn, server="fs_tkb_srv", corp_id="corp-" + scen, corp_secret="secret-ok")
                reset()
                check_502(scen + ", async", scan_error(conn, sql), api + "/gettoken")
            # a 200 that large is 54000, not retried
            for scen, body_read in (("bigtokenbody", True), ("bigtokenplain", False)):
                set_mapping(conn, corp_id="corp-" + scen, corp_secret="secret-ok")
                reset()
                e = scan_error(conn)
                msg = error_text(e)
                check(e.pgcode == "54000" and e.diag.message_primary ==
                      "response for %s/gettoken is larger than 65536 bytes" % API,
                      "%s: a 200 too large: %s %s" % (scen, e.pgcode, msg))
                check(stats()["gettoken"] == 1, "%s: %d gettoken requests: a too large 200 was retried"
                      % (scen, stats()["gettoken"]))
                got = run(conn, "SELECT bytes FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT 1")[0][0]
                # read until it would take more than 64 kB, or not at all
                check((0 < got <= 65536) if body_read else got == 0, "%s: %d bytes of the body read" % (scen, got))
                check(("would take more memory" in (e.diag.message_detail or "")) == body_read,
                      "%s: detail: %s" % (scen, e.diag.message_detail))
        finally:
            set_server_option(conn, "max_retries", None)
            run(conn, "DROP SERVER IF EXISTS fs_tkf_srv CASCADE")
            run(conn, "DROP SERVER IF EXISTS fs_tkb_srv CASCADE")

    def http502once(self, conn):
        off = log_offset()
        self.fault_scan(conn, "http502once", 6)
        lines = retry_lines(log_since(off), "HTTP status 502")
        check(len(lines) == 1, "expected one DEBUG1 line about HTTP 502, got %d" % len(lines))

    def http429once(self, conn):
        self.fault_scan(conn, "http429once", 6)

    def busy2(self, conn):
        off = log_offset()
        self.fault_scan(conn, "busy2", 7)
        lines = retry_lines(log_since(off), "errcode -1 ")
        check(len(lines) == 2, "expected two DEBUG1 lines about errcode -1, got %d" % len(lines))
        check("retry 1 of 3" in lines[0] and "retry 2 of 3" in lines[1], "lines: %s" % lines)

    def concurrency1(self, conn):
        self.fault_scan(conn, "concurrency1", 6)

    def expire(self, conn):
        # each token works once: pages 2..5 each get 42001, a new token and a retry
        def extra(st):
            check(st["gettoken"] == 5, "%d gettoken calls, expected 5" % st["gettoken"])
            check(len(set(st["tokens"])) == 5, "tokens used: %s" % st["tokens"])
            for i in range(1, 5):
                c = st["cursors"][2 * i - 1: 2 * i + 1]
                check(c[0] == c[1], "page %d was not asked again with the same cursor: %s" % (i + 1, c))
        # a secret no other test uses, so no token is cached for it yet
        self.fault_scan(conn, "expire", 9, extra, via="corp2")

    def ratelimit(self, conn):
        # 45009 waits rate_limit_delay_ms (with jitter, at least half of it),
        # the other retries retry_delay_ms: show that the 45009 wait is the long one
        run(conn, "SET contact_list_fdw.rate_limit_delay_ms = 600")
        try:
            off = log_offset()
            t0 = time.monotonic()
            self.fault_scan(conn, "ratelimit", 6)
            slow = time.monotonic() - t0
            t0 = time.monotonic()
            self.fault_scan(conn, "concurrency1", 6)
            fast = time.monotonic() - t0
            check(slow >= 0.3, "45009 was retried after %.0f ms, before half of rate_limit_delay_ms" % (slow * 1000))
            check(fast < 0.3, "45033 was retried after %.0f ms, as if rate limited" % (fast * 1000))
            lines = retry_lines(log_since(off), "errcode 45009")
            check(len(lines) == 1, "expected one DEBUG1 line about 45009, got %d" % len(lines))
            delay = int(lines[0].rsplit(" in ", 1)[1].split()[0])
            check(300 <= delay <= 600, "45009 retry delay %d ms, expected 300..600" % delay)
        finally:
            run(conn, "RESET contact_list_fdw.rate_limit_delay_ms")

    def retries_exhausted(self, conn):
        run(conn, "SET contact_list_fdw.rate_limit_delay_ms = 10")
        run(conn, "ALTER FOREIGN TABLE fs_contacts OPTIONS (ADD max_retries '2')")
        try:
            set_mapping(conn, access_token="fixed-ratelimitforever")
            reset()
            e = scan_error(conn)
            msg = error_text(e)
            # a rate limit: retry later (class 53)
            check(e.pgcode == "53000", "SQLSTATE %s" % e.pgcode)
            check("failed after 3 attempts" in e.diag.message_primary, "message: %s" % msg)
            check("errcode 45009: api freq out of limit" in e.diag.message_primary, "message: %s" % msg)
            check("page 1 of " + API + "/externalcontact/contact_list" in msg, "message: %s" % msg)
            check(stats()["contact_list"] == 3, "%d requests, expected 3" % stats()["contact_list"])

            set_mapping(conn, access_token="fixed-http500")
            reset()
            e = scan_error(conn)
            msg = error_text(e)
            check("HTTP status 500" in e.diag.message_primary, "message: %s" % msg)
            check("3 attempts" in msg, "the attempts are not counted: %s" % msg)
            check(stats()["contact_list"] == 3, "%d requests, expected 3" % stats()["contact_list"])
        finally:
            run(conn, "ALTER FOREIGN TABLE fs_contacts OPTIONS (DROP max_retries)")
            run(conn, "RESET contact_list_fdw.rate_limit_delay_ms")

    def backoff_doubles(self, conn):
        # retry_delay_ms 100, 3 retries: the waits are drawn from 50..100,
        # 100..200 and 200..400 ms (delay/2..delay, the delay doubling per
        # retry); without the doubling all three would be 50..100
        run(conn, "SET contact_list_fdw.retry_delay_ms = 100")
        set_server_option(conn, "max_retries", 3)
        try:
            set_mapping(conn, access_token="fixed-http500")
            reset()
            off = log_offset()
            e = scan_error(conn)
            check("HTTP status 500" in e.diag.message_primary, "message: %s" % error_text(e))
            check(stats()["contact_list"] == 4, "%d requests, expected 4" % stats()["contact_list"])
            lines = retry_lines(log_since(off), "HTTP status 500")
            check(len(lines) == 3, "expected 3 DEBUG1 retry lines, got %d" % len(lines))
            delays = [int(l.rsplit(" in ", 1)[1].split()[0]) for l in lines]
            check(["retry %d of 3" % (i + 1) in l for i, l in enumerate(lines)] == [True] * 3,
                  "lines: %s" % lines)
            check(50 <= delays[0] <= 100, "first delay %d ms, expected 50..100" % delays[0])
            check(100 <= delays[1] <= 200, "second delay %d ms, expected 100..200" % delays[1])
            check(200 <= delays[2] <= 400, "third delay %d ms, expected 200..400 (doubling)" % delays[2])
        finally:
            set_server_option(conn, "max_retries", None)
            run(conn, "SET contact_list_fdw.retry_delay_ms = 20")

    def token_replaced_once(self, conn):
        # every contact_list call answers 40014: the token is replaced once
        # and the page asked again, then the scan fails (not a loop)
        set_mapping(conn, corp_id="corp-e40014", corp_secret="secret-ok")
        reset()
        run(conn, "SET statement_timeout = '10s'")   # a loop would take forever
        try:
            e = scan_error(conn)
        finally:
            run(conn, "SET statement_timeout = '60s'")
        st = stats()
        msg = error_text(e)
        check("rejected the access token" in e.diag.message_primary and "40014" in msg, "message: %s" % msg)
        check("fresh token was fetched and rejected as well" in (e.diag.message_hint or ""), "hint: %s" % msg)
        check(st["contact_list"] == 2, "%d contact_list requests, expected 2" % st["contact_list"])
        check(st["gettoken"] == 2, "%d gettoken requests, expected 2" % st["gettoken"])
        check(len(set(st["tokens"])) == 2, "tokens sent: %s" % st["tokens"])

    def no_retries(self, conn):
        set_server_option(conn, "max_retries", 0)
        try:
            for scen, expect in (("http502once", "HTTP status 502"),
                                 ("busy2", "errcode -1: system busy"),
                                 ("drop3", "page 3 of ")):
                set_mapping(conn, access_token="fixed-" + scen)
                reset()
                e = scan_error(conn)
                msg = error_text(e)
                check(expect in msg, "%s: message: %s" % (scen, msg))
                want = 3 if scen == "drop3" else 1
                check(stats()["contact_list"] == want,
                      "%s: %d requests, expected %d" % (scen, stats()["contact_list"], want))
                check("attempts" not in e.diag.message_primary, "%s: message: %s" % (scen, msg))
        finally:
            set_server_option(conn, "max_retries", None)

    def hang(self, conn):
        set_server_option(conn, "timeout_ms", 300)
        set_server_option(conn, "max_retries", 1)
        try:
            set_mapping(conn, access_token="fixed-hang")
            reset()
            t0 = time.monotonic()
            e = scan_error(conn)
            took = time.monotonic() - t0
            msg = error_text(e)
            check(e.pgcode == "HV00N", "SQLSTATE %s: %s" % (e.pgcode, msg))
            check("timed out" in e.diag.message_primary, "message: %s" % msg)
            check("2 attempts" in msg and "timeout_ms (300 ms)" in msg, "message: %s" % msg)
            check(took < 3, "took %.1f s" % took)
            check(stats()["contact_list"] == 2, "%d requests, expected 2" % stats()["contact_list"])
        finally:
            set_server_option(conn, "timeout_ms", None)
            set_server_option(conn, "max_retries", None)

    def hang_kept_alive(self, conn):
        # A request on a connection kept alive from the one before: libcurl
        # reports no connect time for it, yet what timed out is the request
        # (timeout_ms), not connecting.  max_retries 0, as a retry goes out
        # on a new connection.  The query before uses the same credentials:
        # a connection serves one user mapping's.
        set_server_option(conn, "timeout_ms", 300)
        set_server_option(conn, "max_retries", 0)
        try:
            for scen, first, page in (("hangpage2", False, 2), ("hangafter5", True, 1)):
                reset()
                set_mapping(conn, access_token="fixed-" + scen)
                if first:
                    # the query before keeps the connection the next one uses
                    check(len(scan(conn)) == 25, "the query before this one failed")
                e = scan_error(conn)
                msg = error_text(e)
                st = stats()
                check(st["connections"] == 1, "%s: %d connections, the request did not go out "
                      "on the kept-alive one" % (scen, st["connections"]))
                check(e.pgcode == "HV00N", "%s: SQLSTATE %s: %s" % (scen, e.pgcode, msg))
                check(e.diag.message_primary == "request for page %d of %s/externalcontact/contact_list "
                      "timed out" % (page, API), "%s: message: %s" % (scen, msg))
                check("1 attempt was made, limited by timeout_ms (300 ms)" in (e.diag.message_detail or ""),
                      "%s: detail: %s" % (scen, msg))
                check("raise the server option timeout_ms" in (e.diag.message_hint or ""),
                      "%s: hint: %s" % (scen, msg))
                check("connect_timeout_ms" not in msg, "%s: %s" % (scen, msg))
        finally:
            set_server_option(conn, "timeout_ms", None)
            set_server_option(conn, "max_retries", None)

    def handshake_stalls(self, conn):
        # A server that takes the TCP connection and never answers its TLS
        # handshake (a listener nobody accepts from): still connecting (also
        # on libcurl 8.23, which gives a connect time once TCP connects),
        # so connect_timeout_ms is the limit and is named; where
        # timeout_ms is the shorter, it is the one that ends the connecting
        # and is named
        stall = socket.socket()
        stall.bind(("127.0.0.1", 0))
        stall.listen(16)
        url = "https://127.0.0.1:%d/cgi-bin" % stall.getsockname()[1]
        run(conn, "CREATE SERVER fs_stall FOREIGN DATA WRAPPER contact_list_fdw "
                  "OPTIONS (api_url %s, max_retries '0')", (url,))
        run(conn, "CREATE FOREIGN TABLE fs_stall_contacts (external_userid text) SERVER fs_stall")
        run(conn, "CREATE USER MAPPING FOR postgres SERVER fs_stall OPTIONS (access_token 'fixed-basic')")
        try:
            for limits, named in ((("connect_timeout_ms", 300), ("timeout_ms", 5000)), "connect_timeout_ms"), \
                                 ((("connect_timeout_ms", 5000), ("timeout_ms", 300)), "timeout_ms"):
                for option, value in limits:
                    set_server_option(conn, option, value, server="fs_stall")
                t0 = time.monotonic()
                e = scan_error(conn, "SELECT count(*) FROM fs_stall_contacts")
                took = time.monotonic() - t0
                msg = error_text(e)
                check(e.pgcode == "HV00N", "%s: SQLSTATE %s: %s" % (named, e.pgcode, msg))
                check(e.diag.message_primary == "could not fetch page 1 of %s/externalcontact/contact_list: "
                      "connecting timed out" % url, "%s: message: %s" % (named, msg))
                check("1 attempt was made, limited by %s (300 ms)" % named in (e.diag.message_detail or ""),
                      "%s: detail: %s" % (named, msg))
                check("raise the server option %s." % named in (e.diag.message_hint or ""),
                      "%s: hint: %s" % (named, msg))
                check(took < 3, "%s of 300 ms: failed after %.1f s" % (named, took))
            # a proxy that takes the connection and never answers its
            # CONNECT: the tunnel is part of connecting (README's options
            # table), so connect_timeout_ms ends it and is named
            run(conn, "ALTER SERVER fs_stall OPTIONS (SET api_url 'https://127.0.0.1:9/cgi-bin', "
                      "ADD proxy %s)", ("http://127.0.0.1:%d" % stall.getsockname()[1],))
            set_server_option(conn, "connect_timeout_ms", 300, server="fs_stall")
            set_server_option(conn, "timeout_ms", 5000, server="fs_stall")
            t0 = time.monotonic()
            e = scan_error(conn, "SELECT count(*) FROM fs_stall_contacts")
            took = time.monotonic() - t0
            msg = error_text(e)
            check(e.pgcode == "HV00N", "proxy: SQLSTATE %s: %s" % (e.pgcode, msg))
            check(e.diag.message_primary.endswith(": connecting timed out"), "proxy: message: %s" % msg)
            check("1 attempt was made, limited by connect_timeout_ms (300 ms)" in (e.diag.message_detail or ""),
                  "proxy: detail: %s" % msg)
            check(took < 3, "proxy, connect_timeout_ms of 300 ms: failed after %.1f s" % took)
            # cancelled while the tunnel is not open: no request went out,
            # and none is counted
            set_server_option(conn, "connect_timeout_ms", 20000, server="fs_stall")
            run(conn, "SET statement_timeout = '1s'")
            try:
                e = scan_error(conn, "SELECT count(*) FROM fs_stall_contacts")
            finally:
                run(conn, "SET statement_timeout = '60s'")
            check(e.pgcode == "57014", "proxy, cancelled: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            got = run(conn, "SELECT requests, network_ms FROM contact_list_fdw_scans() "
                            "ORDER BY scan_id DESC LIMIT 1")
            check(got == [(0, 0.0)], "proxy, cancelled: requests and network_ms %r" % got)
        finally:
            run(conn, "DROP SERVER fs_stall CASCADE")
            stall.close()

    def statement_timeout(self, conn):
        set_mapping(conn, access_token="fixed-slow")
        reset()
        run(conn, "SET statement_timeout = '500ms'")
        t0 = time.monotonic()
        e = scan_error(conn)
        took = time.monotonic() - t0
        run(conn, "SET statement_timeout = '60s'")
        check(e.pgcode == "57014", "SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
        check("statement timeout" in e.diag.message_primary, "message: %s" % error_text(e))
        check(took < 1.5, "cancelled after %.1f s" % took)
        # the backend is usable at once, for this API too
        check(run(conn, "SELECT 1") == [(1,)], "SELECT 1 failed")
        set_mapping(conn, access_token="fixed-basic")
        reset()
        rows = scan(conn)
        check(collections.Counter(rows) == self.clean, "the next scan's rows differ")

    def cancel(self, conn):
        # pg_cancel_backend from another session, during a request to a hang
        set_mapping(conn, access_token="fixed-hang")
        reset()
        pid = run(conn, "SELECT pg_backend_pid()")[0][0]
        other = connect()
        try:
            def cancel_soon():
                time.sleep(0.5)
                run(other, "SELECT pg_cancel_backend(%s)", (pid,))
            th = threading.Thread(target=cancel_soon)
            th.start()
            t0 = time.monotonic()
            e = scan_error(conn)
            took = time.monotonic() - t0
            th.join()
            check(e.pgcode == "57014", "SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            check(took < 1.5, "cancelled after %.1f s" % took)
            # the request was waiting on the network, as a wait event of the extension
        finally:
            other.close()
        check(run(conn, "SELECT 1") == [(1,)], "SELECT 1 failed")

    def refused_in_fresh_backend(self, scenario, sql):
        """sql, reading the mock's scenario in a fresh backend (so VmHWM is
        its own; warmed by a normal scan), must fail as larger than the
        default max_response_bytes, after one request, the backend's peak
        memory growing by less than 100 MB and the backend usable after.
        Returns the error."""
        c = connect()
        try:
            set_mapping(c, access_token="fixed-basic")
            scan(c)
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            before = vm_hwm_kb(pid)
            set_mapping(c, access_token="fixed-" + scenario)
            reset()
            t0 = time.monotonic()
            e = scan_error(c, sql)
            took = time.monotonic() - t0
            after = vm_hwm_kb(pid)
            msg = error_text(e)
            check(e.pgcode == "54000", "SQLSTATE %s: %s" % (e.pgcode, msg))
            check("larger than max_response_bytes (67108864 bytes)" in e.diag.message_primary,
                  "message: %s" % msg)
            check("page 1 of " in msg, "message: %s" % msg)
            check(stats()["contact_list"] == 1, "%d requests: a too large body was retried" %
                  stats()["contact_list"])
            growth_mb = (after - before) / 1024.0
            check(growth_mb < 100, "the backend's peak memory grew by %.0f MB" % growth_mb)
            print("# %s: refused after %.1f s, peak memory +%.0f MB" % (scenario, took, growth_mb), flush=True)
            set_mapping(c, access_token="fixed-basic")
            check(collections.Counter(scan(c)) == self.clean, "the next scan's rows differ")
            return e
        finally:
            c.close()

    def huge(self, conn):
        self.refused_in_fresh_backend("huge", "SELECT count(*) FROM fs_big")

    def empty_objects(self, conn):
        # 3 MB of "{}" is some 800 MB of json-c's tree: the page is refused
        # by what it would take once built, reckoned before json-c sees the
        # bytes, within its first 300 kB (64 MB at some 800 bytes an object;
        # the body's size would have stopped it at 64 MB, a memory check of
        # the whole heap after 2 MB)
        e = self.refused_in_fresh_backend("emptyobjects", "SELECT count(*) FROM fs_contacts")
        seen = re.search(r"After (\d+) bytes of the body, the parsed response would take more memory",
                         e.diag.message_detail or "")
        check(seen and int(seen.group(1)) < 400000, "detail: %s" % e.diag.message_detail)

    def huge_small_cap(self, conn):
        set_server_option(conn, "max_response_bytes", 3000000)
        try:
            set_mapping(conn, access_token="fixed-huge")
            reset()
            e = scan_error(conn)
            check("larger than max_response_bytes (3000000 bytes)" in e.diag.message_primary,
                  "message: %s" % error_text(e))
            # json-c's tree of contacts is about 8 times the JSON, reckoned as
            # some 14 times: refused long before 3 MB of body
            seen = re.search(r"After (\d+) bytes of the body, the parsed response would take more memory",
                             e.diag.message_detail or "")
            check(seen and int(seen.group(1)) < 1000000, "detail: %s" % e.diag.message_detail)
            check(stats()["contact_list"] == 1, "%d requests: a too large body was retried" %
                  stats()["contact_list"])
            set_server_option(conn, "max_response_bytes", 100000)
            # the cap must not refuse normal pages
            set_mapping(conn, access_token="fixed-basic")
            check(collections.Counter(scan(conn)) == self.clean, "rows differ under a 100 kB cap")
        finally:
            set_server_option(conn, "max_response_bytes", None)

    def errors_leak_nothing(self, conn):
        # An error with a 1000-row page parsed (json-c's tree, malloc'd, some
        # MB) and one in the middle of parsing a body: repeated in one
        # backend, neither may leave memory behind.
        c = connect()
        try:
            run(c, "CREATE FOREIGN TABLE fs_bad_type (is_customer date) SERVER fs")
            pid = run(c, "SELECT pg_backend_pid()")[0][0]

            def round_of_errors():
                set_mapping(c, access_token="fixed-big")
                e = scan_error(c, "SELECT * FROM fs_bad_type")
                check(e.pgcode == "22007", "conversion error expected, got %s" % error_text(e))
                set_mapping(c, access_token="fixed-truncated")
                e = scan_error(c, "SELECT * FROM fs_big")
                check(e.pgcode == "HV00A", "invalid response expected, got %s" % error_text(e))

            for _ in range(3):      # let the allocator reach its working size
                round_of_errors()
            before = vm_rss_kb(pid)
            for _ in range(40):
                round_of_errors()
            growth_mb = (vm_rss_kb(pid) - before) / 1024.0
            print("# 80 failed scans: backend memory %+.1f MB" % growth_mb, flush=True)
            check(growth_mb < 8, "the backend grew by %.1f MB over 80 failed scans" % growth_mb)
            # the per-backend connection cache stays; nothing of a scan may
            left = run(c, "SELECT string_agg(name, ', ') FROM pg_backend_memory_contexts "
                          "WHERE name LIKE 'contact_list_fdw%%' "
                          "AND name <> 'contact_list_fdw connections'")[0][0]
            check(left is None, "memory contexts left after the errors: %s" % left)
        finally:
            run(c, "DROP FOREIGN TABLE IF EXISTS fs_bad_type")
            c.close()

    def concurrent(self, conn):
        n = 20
        set_mapping(conn, access_token="fixed-big")
        reset()
        ref = collections.Counter(scan(conn, "fs_big"))
        check(sum(ref.values()) == 2500, "%d rows in a single big scan" % sum(ref.values()))
        reset()
        conns = [connect() for _ in range(n)]
        results = [None] * n
        errors = [None] * n
        barrier = threading.Barrier(n)

        def worker(i):
            try:
                barrier.wait()
                results[i] = scan(conns[i], "fs_big")
            except Exception as e:
                errors[i] = e
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in conns:
            c.close()
        check(not any(errors), "errors: %s" % [str(e) for e in errors if e][:3])
        for i, rows in enumerate(results):
            check(len(rows) == 2500, "backend %d got %d rows" % (i, len(rows)))
            check(collections.Counter(rows) == ref, "backend %d got different rows" % i)
        st = stats()
        # 2500 rows at page_size 1000: 3 pages each
        check(st["contact_list"] == 3 * n, "%d requests, expected %d" % (st["contact_list"], 3 * n))
        check(st["bad_requests"] == 0, "%d bad requests" % st["bad_requests"])

    def https(self, conn):
        cert = os.path.join(WORK, "tls-cert.pem")
        key = os.path.join(WORK, "tls-key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        os.chmod(key, 0o644)
        os.chmod(cert, 0o644)
        # port 0: the OS picks a free one, and the mock says which
        mock = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "test", "mock_wecom.py"),
                                 "--host", "127.0.0.1", "--port", "0",
                                 "--tls-cert", cert, "--tls-key", key],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = mock.stdout.readline()
            check("listening" in line, "the TLS mock did not start: %r" % line)
            url = "https://127.0.0.1:%d/cgi-bin" % int(line.split()[-1])
            run(conn, "CREATE SERVER fs_tls FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s, max_retries '0')", (url,))
            run(conn, """CREATE FOREIGN TABLE fs_tls_contacts (
                           is_customer boolean, tmp_openid text, external_userid text, name text,
                           follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                         SERVER fs_tls OPTIONS (page_size '%d')""" % PAGE)
            run(conn, "CREATE USER MAPPING FOR postgres SERVER fs_tls OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok')")
            e = scan_error(conn, "SELECT count(*) FROM fs_tls_contacts")
            msg = error_text(e)
            check(e.pgcode == "HV00N", "SQLSTATE %s: %s" % (e.pgcode, msg))
            # the README's errors table quotes this message
            check("the server's TLS certificate could not be verified" in e.diag.message_primary,
                  "message: %s" % msg)
            check(e.diag.message_hint and "ca_file" in e.diag.message_hint, "hint: %s" % e.diag.message_hint)
            check("secret-ok" not in msg, "the secret is in the message")

            run(conn, "ALTER SERVER fs_tls OPTIONS (ADD ca_file %s)", (cert,))
            rows = scan(conn, "fs_tls_contacts")
            check(collections.Counter(rows) == self.clean, "rows over TLS differ (%d rows)" % len(rows))
            # a connection cut over TLS is retried as well
            run(conn, "ALTER SERVER fs_tls OPTIONS (SET max_retries '3')")
            set_mapping(conn, server="fs_tls", access_token="fixed-drop3")
            rows = scan(conn, "fs_tls_contacts")
            check(collections.Counter(rows) == self.clean, "rows over TLS with drop3 differ (%d rows)" % len(rows))
            # the host name is verified too: a certificate that ca_file
            # trusts, but made out to another name, is refused
            ocert, okey = make_cert("tls-otherhost", "DNS:wecom-elsewhere.test")
            other, oport = start_tls_mock(ocert, okey)
            try:
                run(conn, "ALTER SERVER fs_tls OPTIONS (SET api_url %s, SET ca_file %s, SET max_retries '0')",
                    ("https://127.0.0.1:%d/cgi-bin" % oport, ocert))
                set_mapping(conn, server="fs_tls", access_token="fixed-basic")
                e = scan_error(conn, "SELECT count(*) FROM fs_tls_contacts")
                msg = error_text(e)
                check(e.pgcode == "HV00N" and
                      "the server's TLS certificate could not be verified" in e.diag.message_primary,
                      "another name's certificate: %s %s" % (e.pgcode, msg))
            finally:
                stop(other)
        finally:
            mock.terminate()
            mock.wait()
            run(conn, "DROP SERVER IF EXISTS fs_tls CASCADE")

    def shutdown_sockets(self, conn):
        # a server (or its gateway) that answers every page with
        # "Connection: close" and is slow to let go of the connection: no
        # close_notify, no FIN.  libcurl 8.9 and later shut each such TLS
        # connection down properly, its socket still handed to us to watch
        # for about 2 s (until the server's side ends, or a later action of
        # libcurl's gives up on it), so a synchronous scan of many quick
        # pages has many sockets to watch at once: every one of them, not a
        # request failed for one socket too many
        cert, key = make_cert("tls-hold", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        try:
            run(conn, "DROP SERVER IF EXISTS fs_hold CASCADE")
            run(conn, "CREATE SERVER fs_hold FOREIGN DATA WRAPPER contact_list_fdw "
                      "OPTIONS (api_url %s, ca_file %s, max_retries '0')",
                ("https://127.0.0.1:%d/cgi-bin" % port, cert))
            set_mapping(conn, server="fs_hold", access_token="fixed-closehold")
            # 25 rows, 2 a page: 13 pages, each on a connection of its own
            run(conn, """CREATE FOREIGN TABLE fs_hold_contacts (
                           is_customer boolean, tmp_openid text, external_userid text, name text,
                           follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                         SERVER fs_hold OPTIONS (page_size '2')""")
            pid = run(conn, "SELECT pg_backend_pid()")[0][0]
            started = time.monotonic()
            rows = scan(conn, "fs_hold_contacts")
            took = time.monotonic() - started
            # the closing connections libcurl still holds (the mock keeps
            # its end open for 10 s; libcurl lets go only when it next runs)
            held = len(sockets_to(pid, port))
            st = tls_mock_get(port, cert, "/_stats")
            check(collections.Counter(rows) == self.clean, "rows differ from a clean run (%d rows)" % len(rows))
            check(st["contact_list"] == 13 and st["connections"] == 13,
                  "%d pages on %d connections, expected 13 on 13" % (st["contact_list"], st["connections"]))
        finally:
            stop(mock)
            run(conn, "DROP SERVER IF EXISTS fs_hold CASCADE")
        print("# shutdown_sockets: %d closing connections held after the scan of %.1f s" % (held, took),
              flush=True)
        if libcurl_version() < (8, 9):
            # libcurl before 8.9 closes a connection at once when the server
            # says so: nothing to watch, nothing this case can show
            raise Skip("libcurl before 8.9 closes every connection at once: the scan's rows are right, "
                       "but no closing socket is held")
        if held <= 4 and took > 2:
            # each closing connection is let go after about 2 s: a machine
            # too busy for 5 pages in that time cannot show more than 4
            raise Skip("the scan's rows are right, but its 13 pages took %.1f s: too slow to hold more "
                       "than 4 closing connections at once" % took)
        check(held > 4, "only %d closing connections held: the case no longer shows more sockets "
                        "than the old cap of 4" % held)

    def unreadable_ca_file(self, conn):
        # a ca_file that cannot be read is the configuration's fault: its own
        # hint (not "name a CA bundle in ca_file"), a SQLSTATE that does not
        # say "try again later", and no retry
        cert, key = make_cert("tls-cafile", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        missing = os.path.join(WORK, "no-such-dir", "ca.pem")
        try:
            run(conn, "CREATE SERVER fs_cafile FOREIGN DATA WRAPPER contact_list_fdw "
                      "OPTIONS (api_url %s, ca_file %s, max_retries '3')",
                ("https://127.0.0.1:%d/cgi-bin" % port, missing))
            run(conn, """CREATE FOREIGN TABLE fs_cafile_contacts (name text)
                         SERVER fs_cafile OPTIONS (page_size '%d')""" % PAGE)
            run(conn, "CREATE USER MAPPING FOR postgres SERVER fs_cafile OPTIONS (access_token 'fixed-basic')")
            e = scan_error(conn, "SELECT count(*) FROM fs_cafile_contacts")
            msg = error_text(e)
            check(e.pgcode == "F0000", "SQLSTATE %s: %s" % (e.pgcode, msg))
            # the README's errors table quotes this message
            check("could not read the CA certificates" in e.diag.message_primary, "message: %s" % msg)
            hint = e.diag.message_hint or ""
            check("exists and is readable" in hint and "PEM" in hint, "hint: %s" % hint)
            check("inspects TLS" not in hint, "the hint of a refused certificate: %s" % hint)
            check((e.diag.message_detail or "").startswith("1 attempt was made."),
                  "retried: %s" % e.diag.message_detail)
            # the same file made readable: the rows come
            run(conn, "ALTER SERVER fs_cafile OPTIONS (SET ca_file %s)", (cert,))
            check(run(conn, "SELECT count(*) FROM fs_cafile_contacts")[0][0] == 25, "no rows with ca_file fixed")
        finally:
            stop(mock)
            run(conn, "DROP SERVER IF EXISTS fs_cafile CASCADE")

    def http2(self, conn):
        # WeCom answers HTTPS, where libcurl offers HTTP/2: a scan over it
        # reads every row once; a stream the server resets is retried with
        # its cursor; one reset every time is HV00N, in our words
        cert, key = make_cert("tls-h2", "IP:127.0.0.1,DNS:localhost")
        run(conn, "CREATE SERVER fs_h2 FOREIGN DATA WRAPPER contact_list_fdw "
                  "OPTIONS (api_url 'https://127.0.0.1/cgi-bin', ca_file %s, max_retries '2')", (cert,))
        run(conn, """CREATE FOREIGN TABLE fs_h2_contacts (
                       is_customer boolean, tmp_openid text, external_userid text, name text,
                       follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                     SERVER fs_h2 OPTIONS (page_size '%d')""" % PAGE)
        run(conn, "CREATE USER MAPPING FOR postgres SERVER fs_h2 OPTIONS (access_token 'fixed-basic')")
        fronts = []

        def gave_up(port, logf, reason):
            # every attempt failed the same way: HV00N, in our words (reason,
            # or by libcurl's report: {its words: ours})
            e = scan_error(conn, "SELECT count(*) FROM fs_h2_contacts")
            msg = error_text(e)
            if isinstance(reason, dict):
                detail = e.diag.message_detail or ""
                said = [ours for theirs, ours in reason.items() if theirs and theirs in detail]
                reason = said[0] if said else reason[None]
            # a tuple: libcurl says either, for the same words
            reasons = reason if isinstance(reason, tuple) else (reason,)
            check(e.pgcode == "HV00N", "%s: SQLSTATE %s: %s" % (reason, e.pgcode, msg))
            check(e.diag.message_primary in ["could not fetch page 1 of https://127.0.0.1:%d/cgi-bin/"
                                             "externalcontact/contact_list: %s" % (port, r) for r in reasons],
                  "message: %s" % msg)
            check((e.diag.message_detail or "").startswith("3 attempts were made."), "detail: %s" % msg)
            check(len(h2_requests(logf)) == 3, "requests: %s" % h2_requests(logf))
            return e
        try:
            for mode, what in (("none", "a clean scan"), ("2", "page 2 reset once"), ("all", "every page reset")):
                front, port, logf = start_h2_front(cert, key, mode)
                fronts.append(front)
                run(conn, "ALTER SERVER fs_h2 OPTIONS (SET api_url %s)", ("https://127.0.0.1:%d/cgi-bin" % port,))
                reset()
                if mode != "all":
                    rows = scan(conn, "fs_h2_contacts")
                    check(len(rows) == 25 and len(set(rows)) == 25, "%s over HTTP/2: %d rows, %d distinct"
                          % (what, len(rows), len(set(rows))))
                    seen = h2_requests(logf)
                    cursors = [c for c, _ in seen]
                    if mode == "none":
                        check(len(seen) == 5 and not any(r for _, r in seen), "%s: requests %s" % (what, seen))
                    else:
                        check(len(seen) == 6 and seen[1][1] and cursors[1] == cursors[2] and cursors[1],
                              "%s: page 2 was not asked again with its cursor: %s" % (what, seen))
                    check(stats()["contact_list"] == 5, "%s: the mock answered %d pages"
                          % (what, stats()["contact_list"]))
                    continue
                gave_up(port, logf, "the HTTP/2 stream was reset")
            # the HTTP/2 session broken off is retried as a reset stream is,
            # and then the same failure of the path to the API, HV00N, in
            # the words of what libcurl saw: the session failing (CURLE_HTTP2,
            # "Error in the HTTP2 framing layer", libcurl 7) or, as libcurl
            # 8 reports it in words of its own, the stream (CURLE_HTTP2_STREAM);
            # libcurl 8.23 with nghttp2 1.70 names the short body in its words,
            # with either code, or now and then as a failure to send
            # (CURLE_SEND_ERROR): whichever it sees first of the two frames;
            # libcurl 8.14 with OpenSSL 3.5 may meet the closed socket before
            # either frame (SSL_read's "unexpected eof"), as a failed send
            # or receive.  Whatever libcurl saw, the words are ours, one of
            # those for a connection lost
            lost = ("the HTTP/2 stream was reset", "the HTTP/2 connection failed",
                    "could not send the request", "the connection failed while receiving the response")
            front, port, logf = start_h2_front(cert, key, goaway="all")
            fronts.append(front)
            run(conn, "ALTER SERVER fs_h2 OPTIONS (SET api_url %s)", ("https://127.0.0.1:%d/cgi-bin" % port,))
            reset()
            gave_up(port, logf, {"HTTP2 framing layer": "the HTTP/2 connection failed",
                                 "Violation in HTTP messaging rule": ("the HTTP/2 stream was reset",
                                                                      "could not send the request"),
                                 "unexpected eof": ("could not send the request",
                                                    "the connection failed while receiving the response"),
                                 None: lost})
        finally:
            for front in fronts:
                stop(front)
            run(conn, "DROP SERVER IF EXISTS fs_h2 CASCADE")

    def retry_after(self, conn):
        # a 429's Retry-After is waited for, not retry_delay_ms (20 ms here)
        run(conn, "SET contact_list_fdw.rate_limit_delay_ms = 5000")
        try:
            off = log_offset()
            t0 = time.monotonic()
            self.fault_scan(conn, "http429after1", 6)
            took = time.monotonic() - t0
            check(took >= 0.9, "retried %.0f ms after a Retry-After of 1 s" % (took * 1000))
            lines = retry_lines(log_since(off), "Retry-After: 1 s")
            check(len(lines) == 1, "expected one DEBUG1 line about Retry-After, got %d" % len(lines))
            check(lines[0].endswith("in 1000 ms"), "retry line: %s" % lines[0])
            # but no longer than the rate-limit wait of that retry
            run(conn, "SET contact_list_fdw.rate_limit_delay_ms = 300")
            off = log_offset()
            t0 = time.monotonic()
            self.fault_scan(conn, "http429after3600", 6)
            took = time.monotonic() - t0
            check(took < 5, "a Retry-After of an hour held the scan %.1f s" % took)
            lines = retry_lines(log_since(off), "Retry-After: 3600 s")
            check(len(lines) == 1 and lines[0].endswith("in 300 ms"), "retry lines: %s" % lines)
        finally:
            run(conn, "RESET contact_list_fdw.rate_limit_delay_ms")

    def proxy_auth(self, conn):
        # https through tinyproxy asking for a password (BasicAuth): the
        # credentials come from the user mapping, never from the proxy URL
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        proxy, pxport, pxlog = start_tinyproxy("tinyproxy-auth", port, extra=BASIC_AUTH)
        try:
            self.proxy_server(conn, "fs_px", "https://127.0.0.1:%d/cgi-bin" % port,
                              "http://127.0.0.1:%d" % pxport, cert, 0)
            set_mapping(conn, server="fs_px", corp_id="corp-basic", corp_secret="secret-ok")
            e = scan_error(conn, "SELECT count(*) FROM fs_px_contacts")
            check(e.pgcode == "28000" and "asks for a user name and password (HTTP status 407)"
                  in e.diag.message_primary,
                  "without credentials: %s %s" % (e.pgcode, error_text(e)))
            check("proxy_user" in (e.diag.message_hint or ""), "hint: %s" % e.diag.message_hint)
            set_mapping(conn, server="fs_px", corp_id="corp-basic", corp_secret="secret-ok",
                        proxy_user="squid", proxy_password="pw-hunter2-wrong")
            e = scan_error(conn, "SELECT count(*) FROM fs_px_contacts")
            check(e.pgcode == "28P01" and "did not accept" in e.diag.message_primary,
                  "wrong password: %s" % error_text(e))
            check("hunter2" not in error_text(e), "the password is in the message")
            set_mapping(conn, server="fs_px", corp_id="corp-basic", corp_secret="secret-ok",
                        proxy_user="squid", proxy_password=PROXY_PASSWORD)
            rows = scan(conn, "fs_px_contacts")
            check(collections.Counter(rows) == self.clean, "rows through the proxy differ (%d rows)" % len(rows))
            with open(pxlog, errors="replace") as f:
                seen = f.read()
            check("CONNECT 127.0.0.1:%d" % port in seen, "tinyproxy saw no CONNECT")
            # (not "contact_list": tinyproxy 1.11.2 logs its configuration's
            # path, which is in the suite's directory /tmp/contact_list_fdw.*)
            for secret in ("gettoken", "corpsecret", "secret-ok", "access_token", "tok-",
                           "externalcontact"):
                check(secret not in seen, "the proxy saw %r" % secret)
        finally:
            stop(proxy)
            stop(mock)
            run(conn, "DROP SERVER IF EXISTS fs_px CASCADE")

    def proxy_credentials_redacted(self, conn):
        # a TLS-inspecting proxy (the mock with --mitm-cert) whose answer
        # inside the tunnel quotes the CONNECT's Proxy-Authorization, as
        # sent (base64), decoded and that form-encoded: all are shown
        # redacted, the proxy_user too; a one-letter proxy_user only where
        # it stands alone, not in every word of the message; a proxy_user
        # or proxy_password with a space also where form encoding wrote it
        # "+" (and the password's own "+" as "%2B")
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "test", "mock_wecom.py"),
                                 "--host", "127.0.0.1", "--port", "0",
                                 "--mitm-cert", cert, "--mitm-key", key],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = mock.stdout.readline()
            check("listening" in line, "the mock did not start: %r" % line)
            port = int(line.split()[-1])
            run(conn, "CREATE SERVER fs_mitm FOREIGN DATA WRAPPER contact_list_fdw "
                      "OPTIONS (api_url %s, proxy %s, ca_file %s, max_retries '0')",
                ("https://127.0.0.1:%d/cgi-bin" % port, "http://127.0.0.1:%d" % port, cert))
            run(conn, "CREATE FOREIGN TABLE fs_mitm_contacts (external_userid text) SERVER fs_mitm")
            for user, password in (("squid", PROXY_PASSWORD), ("a", PROXY_PASSWORD),
                                   ("squid", PROXY_PASSWORD + " x+y"), ("a b", PROXY_PASSWORD)):
                set_mapping(conn, server="fs_mitm", access_token="fixed-echoproxy",
                            proxy_user=user, proxy_password=password)
                e = scan_error(conn, "SELECT count(*) FROM fs_mitm_contacts")
                msg = error_text(e)
                check("invalid parameter, tunnel: Proxy-Authorization: Basic [redacted] ([redacted]:[redacted]), "
                      "form: [redacted]%3A[redacted]" in msg, "proxy_user %r: message: %s" % (user, msg))
                check("hunter2" not in msg and "c3F1aWQ6" not in msg and "YTpw" not in msg
                      and "YSBi" not in msg and "squid" not in msg and "x%2By" not in msg
                      and "a+b%3A" not in msg, "the proxy credentials are in: %s" % msg)
        finally:
            stop(mock)
            run(conn, "DROP SERVER IF EXISTS fs_mitm CASCADE")

    def proxy_server(self, conn, name, api_url, proxy, cert, max_retries):
        run(conn, "DROP SERVER IF EXISTS %s CASCADE" % name)
        run(conn, "CREATE SERVER %s FOREIGN DATA WRAPPER contact_list_fdw "
                  "OPTIONS (api_url %%s, proxy %%s, ca_file %%s, max_retries %%s)" % name,
            (api_url, proxy, cert, str(max_retries)))
        run(conn, """CREATE FOREIGN TABLE %s_contacts (
                       is_customer boolean, tmp_openid text, external_userid text, name text,
                       follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                     SERVER %s OPTIONS (page_size '%d')""" % (name, name, PAGE))

    def socks5_proxy(self, conn):
        # a SOCKS5 proxy (test/socks5_mock.py) asking for proxy_user and
        # proxy_password: the rows through it, once; a password it rejects
        # is 28P01 and none at all 28000, as an HTTP proxy's 407, and
        # neither is retried (the same credentials fail again)
        cert, (mock, port), (relay, rport, rlog) = start_tls_mock_behind_socks5("socks5-relay")
        procs = [mock, relay]
        try:
            reject, jport, jlog = start_socks5("socks5-reject", "--mode", "reject-auth")
            procs.append(reject)
            # socks5h: the proxy is given the API's host name, and resolves it
            self.proxy_server(conn, "fs_sx", "https://localhost:%d/cgi-bin" % port,
                               "socks5h://127.0.0.1:%d" % rport, cert, 2)
            set_mapping(conn, server="fs_sx", corp_id="corp-basic", corp_secret="secret-ok",
                        proxy_user="squid", proxy_password=PROXY_PASSWORD)
            tls_mock_get(port, cert, "/_reset")
            rows = scan(conn, "fs_sx_contacts")
            st = tls_mock_get(port, cert, "/_stats")
            check(len(rows) == 25 and collections.Counter(rows) == self.clean,
                  "rows through the SOCKS5 proxy differ (%d rows)" % len(rows))
            check(st["contact_list"] == 5, "the mock saw %d contact_list requests for 5 pages" % st["contact_list"])
            check(socks5_events(rlog, "auth") and
                  all(l == "auth squid accepted" for l in socks5_events(rlog, "auth")),
                  "the proxy's log: %s" % socks5_events(rlog, "auth"))
            connects = socks5_events(rlog, "connect")
            check(connects and all(l == "connect localhost:%d 00" % port for l in connects),
                  "CONNECTs the proxy saw: %s" % connects)
            # offered: no authentication and user/password, never GSS-API
            # (the server host's own Kerberos credentials)
            greetings = socks5_events(rlog, "greeting")
            check(greetings and all(l == "greeting 00,02" for l in greetings),
                  "methods offered to the proxy: %s" % greetings)

            # a wrong password: the proxy answers 01 01
            set_mapping(conn, server="fs_sx", corp_id="corp-basic", corp_secret="secret-ok",
                        proxy_user="squid", proxy_password="pw-hunter2-wrong")
            before = len(socks5_events(rlog, "auth"))
            e = scan_error(conn, "SELECT count(*) FROM fs_sx_contacts")
            msg = error_text(e)
            check(e.pgcode == "28P01" and "the proxy did not accept proxy_user and proxy_password"
                  in e.diag.message_primary, "a wrong password: %s %s" % (e.pgcode, msg))
            check("proxy_password" in (e.diag.message_hint or ""), "hint: %s" % e.diag.message_hint)
            check("hunter2" not in msg, "the password is in the message: %s" % msg)
            tries = socks5_events(rlog, "auth")[before:]
            check(tries == ["auth squid rejected"], "a rejected password was tried %d times: %s"
                  % (len(tries), tries))

            # a proxy that rejects any password
            run(conn, "ALTER SERVER fs_sx OPTIONS (SET proxy %s)", ("socks5://127.0.0.1:%d" % jport,))
            set_mapping(conn, server="fs_sx", corp_id="corp-basic", corp_secret="secret-ok",
                        proxy_user="squid", proxy_password=PROXY_PASSWORD)
            e = scan_error(conn, "SELECT count(*) FROM fs_sx_contacts")
            msg = error_text(e)
            check(e.pgcode == "28P01" and "did not accept" in e.diag.message_primary,
                  "a proxy rejecting every password: %s %s" % (e.pgcode, msg))
            check("hunter2" not in msg, "the password is in the message: %s" % msg)
            check(len(socks5_events(jlog, "auth")) == 1, "tried %d times" % len(socks5_events(jlog, "auth")))

            # none given to a proxy that asks for them: it answers 05 FF
            set_mapping(conn, server="fs_sx", corp_id="corp-basic", corp_secret="secret-ok")
            before = len(socks5_events(jlog, "greeting"))
            e = scan_error(conn, "SELECT count(*) FROM fs_sx_contacts")
            check(e.pgcode == "28000" and "the proxy asks for a user name and password"
                  in e.diag.message_primary, "no credentials: %s %s" % (e.pgcode, error_text(e)))
            check("proxy_user" in (e.diag.message_hint or ""), "hint: %s" % e.diag.message_hint)
            check(len(socks5_events(jlog, "greeting")) - before == 1,
                  "tried %d times" % (len(socks5_events(jlog, "greeting")) - before))
        finally:
            for p in procs:
                stop(p)
            run(conn, "DROP SERVER IF EXISTS fs_sx CASCADE")

    def socks5_async(self, conn):
        # two tables of one server behind a SOCKS5 proxy that asks for
        # proxy_user and proxy_password, read by an async Append: each child
        # has a connection of its own, and each goes through the proxy
        # (socks5h: the proxy resolves the API's name), with the
        # credentials, once; every row once.  Then a rejected proxy_password fails the async query
        # with 28P01, not retried
        cert, (mock, port), (relay, rport, rlog) = start_tls_mock_behind_socks5("socks5-async")
        procs = [mock, relay]
        try:
            run(conn, "DROP SERVER IF EXISTS fs_sa CASCADE")
            run(conn, "CREATE SERVER fs_sa FOREIGN DATA WRAPPER contact_list_fdw "
                      "OPTIONS (api_url %s, proxy %s, ca_file %s, max_retries '2')",
                ("https://localhost:%d/cgi-bin" % port, "socks5h://127.0.0.1:%d" % rport, cert))
            set_mapping(conn, server="fs_sa", corp_id="corp-basic", corp_secret="secret-ok",
                        proxy_user="squid", proxy_password=PROXY_PASSWORD)
            for t in ("fs_sa1", "fs_sa2"):
                run(conn, """CREATE FOREIGN TABLE %s (
                               is_customer boolean, tmp_openid text, external_userid text, name text,
                               follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                             SERVER fs_sa OPTIONS (page_size '%d', async_capable 'on')""" % (t, PAGE))
            sql = " UNION ALL ".join("SELECT '%s' AS t, %s FROM %s" % (n, COLUMNS, n) for n in ("fs_sa1", "fs_sa2"))
            check_async_children(conn, sql)
            pid = run(conn, "SELECT pg_backend_pid()")[0][0]
            tls_mock_get(port, cert, "/_reset")
            per = self.async_rows(conn, sql)
            st = tls_mock_get(port, cert, "/_stats")
            for child in ("fs_sa1", "fs_sa2"):
                check(per[child] == self.clean, "%s: rows through the SOCKS5 proxy differ from a clean run "
                      "(%d rows)" % (child, sum(per[child].values())))
            check(st["contact_list"] == 10, "the mock saw %d contact_list requests for 2 x 5 pages"
                  % st["contact_list"])
            # each child's handle (http.c's ClfHttpAsync) keeps its one
            # connection alive from its gettoken to its last page: one
            # CONNECT per child, each with the credentials, and the mock saw
            # those two connections and no other (a child that went around
            # the proxy would have reached it on loopback directly)
            connects = socks5_events(rlog, "connect")
            check(connects == ["connect localhost:%d 00" % port] * 2,
                  "CONNECTs the proxy saw, expected one per child: %s" % connects)
            check(st["connections"] == 2, "the mock saw %d connections, expected the 2 through the proxy"
                  % st["connections"])
            auths = socks5_events(rlog, "auth")
            check(auths == ["auth squid accepted"] * 2, "the proxy's log: %s for 2 CONNECTs" % auths)
            greetings = socks5_events(rlog, "greeting")
            check(greetings == ["greeting 00,02"] * 2, "methods offered to the proxy: %s" % greetings)
            self.async_left_nothing(conn, pid, ["fs_sa"])
            # each child's transfer left no connection open to the proxy
            check(not sockets_to(pid, rport), "connections to the proxy left after the query: %s"
                  % sockets_to(pid, rport))

            # a wrong password: the async query fails with the proxy's
            # refusal, each child's attempt not retried
            set_mapping(conn, server="fs_sa", access_token="fixed-basic",
                        proxy_user="squid", proxy_password="pw-hunter2-wrong")
            before = len(socks5_events(rlog, "auth"))
            e = scan_error(conn, sql)
            msg = error_text(e)
            check(e.pgcode == "28P01" and "the proxy did not accept proxy_user and proxy_password"
                  in e.diag.message_primary, "a wrong password, async: %s %s" % (e.pgcode, msg))
            check("hunter2" not in msg, "the password is in the message: %s" % msg)
            tries = socks5_events(rlog, "auth")[before:]
            check(1 <= len(tries) <= 2 and all(l == "auth squid rejected" for l in tries),
                  "a rejected password, two children: %s" % tries)
            self.async_left_nothing(conn, pid, ["fs_sa"])
        finally:
            for p in procs:
                stop(p)
            run(conn, "DROP SERVER IF EXISTS fs_sa CASCADE")

    def proxy_credentials_per_mapping(self, conn):
        # One backend, two roles, one server through a proxy that asks for
        # squid / PROXY_PASSWORD (tinyproxy's BasicAuth, then the SOCKS5
        # mock).  A view of postgres's, read by fs_px_role, goes out with
        # postgres's mapping and leaves a connection to the proxy kept
        # alive; the role's own scan right after, with its own wrong
        # proxy_password (then none), must get the proxy's answer to those:
        # never ride on the connection postgres's credentials opened.
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        procs = [mock]
        try:
            proxy, pxport, _ = start_tinyproxy("tinyproxy-roles", port, extra=BASIC_AUTH)
            procs.append(proxy)
            relay, rport, rlog = start_socks5("socks5-roles", "--mode", "relay",
                                              "--user", "squid", "--password", PROXY_PASSWORD)
            procs.append(relay)
            run(conn, "DROP ROLE IF EXISTS fs_px_role")
            run(conn, "CREATE ROLE fs_px_role")
            pid = run(conn, "SELECT pg_backend_pid()")[0][0]
            for kind, proxy_port in (("HTTP", pxport), ("SOCKS5", rport)):
                proxy_url = "%s://127.0.0.1:%d" % ("http" if kind == "HTTP" else "socks5", proxy_port)
                self.proxy_server(conn, "fs_pm", "https://127.0.0.1:%d/cgi-bin" % port, proxy_url, cert, 0)
                run(conn, "CREATE VIEW fs_pm_view AS SELECT %s FROM fs_pm_contacts" % COLUMNS)
                run(conn, "GRANT USAGE ON FOREIGN SERVER fs_pm TO fs_px_role")
                run(conn, "GRANT SELECT ON fs_pm_contacts, fs_pm_view TO fs_px_role")
                set_mapping(conn, server="fs_pm", corp_id="corp-basic", corp_secret="secret-ok",
                            proxy_user="squid", proxy_password=PROXY_PASSWORD)
                for label, credentials, code in (
                        ("a wrong proxy_password", ", proxy_user 'squid', proxy_password 'pw-hunter2-wrong'",
                         "28P01"),
                        ("no proxy_user", "", "28000")):
                    run(conn, "DROP USER MAPPING IF EXISTS FOR fs_px_role SERVER fs_pm")
                    run(conn, "CREATE USER MAPPING FOR fs_px_role SERVER fs_pm OPTIONS "
                              "(corp_id 'corp-basic', corp_secret 'secret-ok'%s)" % credentials)
                    auths = len(socks5_events(rlog, "auth"))
                    run(conn, "SET ROLE fs_px_role")
                    try:
                        rows = run(conn, "SELECT * FROM fs_pm_view")
                        check(collections.Counter(rows) == self.clean,
                              "%s: the owner's view gave %d rows" % (kind, len(rows)))
                        owners = sockets_to(pid, proxy_port)
                        check(owners, "%s: no connection to the proxy kept after the owner's view" % kind)
                        e = scan_error(conn, "SELECT count(*) FROM fs_pm_contacts")
                        msg = error_text(e)
                        check(e.pgcode == code and "proxy" in e.diag.message_primary,
                              "%s, %s after the owner's view: %s %s" % (kind, label, e.pgcode, msg))
                        check("hunter2" not in msg, "the password is in the message: %s" % msg)
                        # closed, not only passed over: a libcurl that compares
                        # proxy credentials itself (8.19 and later, or with the
                        # fix of CVE-2026-3784) passes it over, an older one
                        # takes it
                        check(not owners & sockets_to(pid, proxy_port),
                              "%s: the connection the owner's credentials opened is still kept "
                              "after the role's request with %s" % (kind, label))
                        # and the owner's credentials are still the owner's
                        rows = run(conn, "SELECT * FROM fs_pm_view")
                        check(collections.Counter(rows) == self.clean,
                              "%s: the owner's view after the role's failure gave %d rows" % (kind, len(rows)))
                    finally:
                        run(conn, "RESET ROLE")
                    if kind == "SOCKS5" and credentials:
                        auths = socks5_events(rlog, "auth")[auths:]
                        check(auths.count("auth squid rejected") == 1,
                              "the SOCKS5 proxy saw: %s" % auths)
                run(conn, "DROP SERVER fs_pm CASCADE")
        finally:
            for p in procs:
                stop(p)
            run(conn, "DROP SERVER IF EXISTS fs_pm CASCADE")
            run(conn, "DROP ROLE IF EXISTS fs_px_role")

    def https_proxy(self, conn):
        # An https:// proxy (test/socks5_mock.py --http-connect with TLS)
        # whose certificate the private CA of ca_file signed: trusted by
        # ca_file as the API's is, its certificate and host name verified,
        # proxy_user and proxy_password inside its TLS.
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        procs = [mock]
        try:
            # the same certificate, one ca_file trusts but made out to
            # another name, and one ca_file does not trust
            other, okey = make_cert("tls-proxy-otherhost", "DNS:proxy-elsewhere.test")
            untrusted, ukey = make_cert("tls-proxy-untrusted", "IP:127.0.0.1,DNS:localhost")
            bundle = os.path.join(WORK, "tls-and-otherhost.pem")
            with open(bundle, "w") as f:
                f.write(open(cert).read() + open(other).read())
            os.chmod(bundle, 0o644)
            proxies = {}
            for name, (c, k) in (("good", (cert, key)), ("otherhost", (other, okey)),
                                 ("untrusted", (untrusted, ukey))):
                proc, pport, plog = start_socks5("https-proxy-" + name, "--http-connect",
                                                 "--tls-cert", c, "--tls-key", k,
                                                 "--user", "squid", "--password", PROXY_PASSWORD)
                procs.append(proc)
                proxies[name] = (pport, plog)
            url = "https://127.0.0.1:%d/cgi-bin" % port
            pport, plog = proxies["good"]
            self.proxy_server(conn, "fs_hp", url, "https://127.0.0.1:%d" % pport, cert, 0)
            set_mapping(conn, server="fs_hp", corp_id="corp-basic", corp_secret="secret-ok",
                        proxy_user="squid", proxy_password=PROXY_PASSWORD)
            rows = scan(conn, "fs_hp_contacts")
            check(collections.Counter(rows) == self.clean,
                  "rows through the https:// proxy differ (%d rows)" % len(rows))
            check(socks5_events(plog, "connect") and
                  all(l == "connect 127.0.0.1:%d 200" % port for l in socks5_events(plog, "connect")),
                  "CONNECTs the proxy saw: %s" % socks5_events(plog, "connect"))
            check(socks5_events(plog, "auth") and
                  all(l == "auth squid accepted" for l in socks5_events(plog, "auth")),
                  "the proxy's log: %s" % socks5_events(plog, "auth"))
            for name, ca_file in (("otherhost", bundle), ("untrusted", cert)):
                pport, plog = proxies[name]
                run(conn, "ALTER SERVER fs_hp OPTIONS (SET proxy %s, SET ca_file %s)",
                    ("https://127.0.0.1:%d" % pport, ca_file))
                e = scan_error(conn, "SELECT count(*) FROM fs_hp_contacts")
                msg = error_text(e)
                # the proxy's certificate is named, not the API's (the
                # README's errors table quotes the message), and the hint
                # points at ca_file for the proxy
                check(e.pgcode == "HV00N" and
                      "the proxy's TLS certificate could not be verified" in e.diag.message_primary and
                      e.diag.message_hint and "ca_file" in e.diag.message_hint and
                      "proxy" in e.diag.message_hint,
                      "a proxy with a certificate %s: %s %s" % (
                          "for another name" if name == "otherhost" else "ca_file does not trust",
                          e.pgcode, msg))
                # Nothing went to the refused proxy: no credentials, no
                # CONNECT.  Whether it logs the refusal depends on the TLS
                # version (under TLS 1.3 its side of the handshake is over
                # before libcurl 8 checks the name and hangs up), so its log
                # is read after a moment, and a refusal logged is all it may say.
                time.sleep(0.5)
                check(socks5_events(plog, "tls") in ([], ["tls failed"]) and not socks5_events(plog, "auth")
                      and not socks5_events(plog, "connect"),
                      "the %s proxy's log: %s" % (name, open(plog).read()))
                check("hunter2" not in msg, "the password is in the message: %s" % msg)
            # through the proxy whose certificate passes, the API's is still
            # the one named when it is refused (made out to another name:
            # libcurl 7.88 reports a refusal of an untrusted one inside a
            # proxy's TLS as a failed handshake)
            ocert, okey = make_cert("tls-otherhost", "DNS:wecom-elsewhere.test")
            other, oport = start_tls_mock(ocert, okey)
            procs.append(other)
            both = os.path.join(WORK, "tls-and-api-otherhost.pem")
            with open(both, "w") as f:
                f.write(open(cert).read() + open(ocert).read())
            os.chmod(both, 0o644)
            pport, plog = proxies["good"]
            run(conn, "ALTER SERVER fs_hp OPTIONS (SET api_url %s, SET proxy %s, SET ca_file %s)",
                ("https://127.0.0.1:%d/cgi-bin" % oport, "https://127.0.0.1:%d" % pport, both))
            e = scan_error(conn, "SELECT count(*) FROM fs_hp_contacts")
            msg = error_text(e)
            check(e.pgcode == "HV00N" and
                  "the server's TLS certificate could not be verified" in e.diag.message_primary,
                  "the API's certificate refused through an https:// proxy: %s %s" % (e.pgcode, msg))
            check(socks5_events(plog, "connect")[-1:] == ["connect 127.0.0.1:%d 200" % oport],
                  "CONNECTs the proxy saw: %s" % socks5_events(plog, "connect"))
        finally:
            for p in procs:
                stop(p)
            run(conn, "DROP SERVER IF EXISTS fs_hp CASCADE")

    def socks5_unreachable(self, conn):
        # a SOCKS5 proxy that cannot reach the API answers the CONNECT with
        # a reply code: refused (05), host unreachable (04) and a general
        # failure (01) may pass, so they are retried, and after the last
        # attempt the error is HV00N like any other network failure; a
        # ruleset's refusal (02) is not retried, and is HV00N too
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        procs = [mock]
        try:
            for rep, attempts, words in ((0x05, 3, "the proxy's connection to the API was refused"),
                                         (0x04, 3, "the proxy could not reach the API"),
                                         (0x01, 3, "the proxy failed to connect to the API"),
                                         (0x02, 1, "the proxy does not allow connecting to the API")):
                sx, sport, slog = start_socks5("socks5-reply-%02x" % rep, "--mode", "reply",
                                               "--reply-code", str(rep))
                procs.append(sx)
                self.proxy_server(conn, "fs_sx", "https://localhost:%d/cgi-bin" % port,
                                   "socks5h://127.0.0.1:%d" % sport, cert, 2)
                set_mapping(conn, server="fs_sx", access_token="fixed-basic",
                            proxy_user="squid", proxy_password=PROXY_PASSWORD)
                e = scan_error(conn, "SELECT count(*) FROM fs_sx_contacts")
                msg = error_text(e)
                connects = socks5_events(slog, "connect")
                check(e.pgcode == "HV00N", "REP %02x: SQLSTATE %s: %s" % (rep, e.pgcode, msg))
                check(words in e.diag.message_primary, "REP %02x: message: %s" % (rep, msg))
                check(len(connects) == attempts,
                      "REP %02x: the proxy saw %d CONNECTs, expected %d (max_retries 2): %s"
                      % (rep, len(connects), attempts, connects))
                check(("%d attempt" % attempts) in (e.diag.message_detail or ""),
                      "REP %02x: detail: %s" % (rep, e.diag.message_detail))
                # only the ruleset's refusal sends the user to the proxy's administrator
                check(("ask its administrator" in (e.diag.message_hint or "")) == (rep == 0x02),
                      "REP %02x: hint: %s" % (rep, e.diag.message_hint))
                check("hunter2" not in msg, "the password is in the message: %s" % msg)
                stop(sx)
        finally:
            for p in procs:
                stop(p)
            run(conn, "DROP SERVER IF EXISTS fs_sx CASCADE")

    def http_proxy_tunnel_refused(self, conn):
        # an HTTP proxy that answers our CONNECT with an error of its own:
        # its rules refusing the API's port (403) are said so and not
        # retried; its own connection to the API failing (5xx but 501 and
        # 505) and a busy proxy (408, 429) are retried, as a connection that
        # fails; anything else is a refused tunnel, not retried.  All HV00N,
        # with the proxy's status, not a response that failed to arrive.
        # tinyproxy refuses for real (its ConnectPort: 403; nobody at the
        # API's port: 500); the mock answers CONNECT statusNNN.invalid with NNN
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        procs = [mock]
        nobody = free_port()
        rules = "the proxy does not allow connecting to the API"
        unreachable = "the proxy could not reach the API"
        refused = "the proxy refused the tunnel to the API"
        try:
            cases = [("tinyproxy", port + 1 if port < 65535 else port - 1, "127.0.0.1:%d" % port, 403, 1, rules, "rules"),
                     ("tinyproxy", nobody, "127.0.0.1:%d" % nobody, 500, 3, unreachable, "network path")]
            cases += [("mock", None, "status%d.invalid:443" % status, status, attempts, words, hint)
                      for status, attempts, words, hint in ((503, 3, unreachable, "network path"),
                                                            (429, 3, refused, "tunnels (CONNECT)"),
                                                            (405, 1, refused, "tunnels (CONNECT)"),
                                                            (501, 1, refused, "tunnels (CONNECT)"))]
            for proxy_kind, allowed, target, status, attempts, words, hint in cases:
                if proxy_kind == "tinyproxy":
                    proxy, pxport, pxlog = start_tinyproxy("tinyproxy-tunnel-%d" % status, allowed)
                    procs.append(proxy)
                else:
                    reset()
                    pxport = MOCK_PORT
                self.proxy_server(conn, "fs_tn", "https://%s/cgi-bin" % target,
                                  "http://127.0.0.1:%d" % pxport, cert, 2)
                set_mapping(conn, server="fs_tn", access_token="fixed-basic")
                e = scan_error(conn, "SELECT count(*) FROM fs_tn_contacts")
                msg = error_text(e)
                words = "%s (HTTP status %d)" % (words, status)
                check(e.pgcode == "HV00N" and words in e.diag.message_primary,
                      "%s: %s %s" % (words, e.pgcode, msg))
                check(hint in (e.diag.message_hint or ""), "%s: hint: %s" % (words, e.diag.message_hint))
                check(("%d attempt" % attempts) in (e.diag.message_detail or ""),
                      "%s: detail: %s" % (words, e.diag.message_detail))
                if proxy_kind == "tinyproxy":
                    # tinyproxy writes its log line after it answers
                    deadline = time.monotonic() + 5
                    while True:
                        with open(pxlog, errors="replace") as f:
                            connects = f.read().count("CONNECT " + target)
                        if connects >= attempts or time.monotonic() > deadline:
                            break
                        time.sleep(0.05)
                    stop(proxy)
                else:
                    connects = mock_get("/_connects").get(target, 0)
                check(connects == attempts, "%s: the proxy saw %d CONNECTs, expected %d (max_retries 2)"
                      % (words, connects, attempts))
        finally:
            for p in procs:
                stop(p)
            run(conn, "DROP SERVER IF EXISTS fs_tn CASCADE")

    def hot_standby(self, conn):
        # a streaming replica of a database that has the wrapper: its scans
        # work (nothing of the wrapper writes), and its shared state is its
        # own: the standby's requests count in its contact_list_fdw_stats,
        # not the primary's, and its reset empties its own
        primary = MiniCluster("primary", conf=shared_state_conf())
        standby_dir = os.path.join(WORK, "mini-standby")
        standby_data = os.path.join(standby_dir, "data")
        shutil.rmtree(standby_dir, ignore_errors=True)
        os.makedirs(standby_dir)
        if os.geteuid() == 0:
            subprocess.run(["chown", "postgres", standby_dir], check=True)
        pg_ctl = as_postgres() + [os.path.join(primary.pgbin, "pg_ctl"), "-D", standby_data]
        try:
            c = primary.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s OPTIONS (page_size '10')")
            check(run(c, "SELECT count(*) FROM t") == [(25,)], "the primary's scan")
            done = subprocess.run(as_postgres() + [os.path.join(primary.pgbin, "pg_basebackup"), "-D", standby_data,
                                                   "-R", "-h", primary.dir, "-U", "postgres", "-c", "fast"],
                                  capture_output=True, text=True, timeout=120)
            check(done.returncode == 0, "pg_basebackup failed: %s" % done.stderr)
            with open(os.path.join(standby_data, "postgresql.conf"), "a") as f:
                f.write("unix_socket_directories = '%s'\nhot_standby = on\n" % standby_dir)
            standby_log = os.path.join(standby_dir, "postgres.log")
            done = subprocess.run(pg_ctl + ["-l", standby_log, "-w", "start"],
                                  capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                with open(standby_log, errors="replace") as f:
                    raise Fail("the standby did not start: %s%s" % (done.stderr, f.read()[-2000:]))
            s = psycopg2.connect(dbname="postgres", host=standby_dir, user="postgres")
            s.autocommit = True
            run(s, "SET statement_timeout = '60s'")
            check(run(s, "SELECT pg_is_in_recovery()") == [(True,)], "the standby is not in recovery")
            got = run(s, "SELECT count(*) FROM t")
            check(got == [(25,)], "the standby's scan: %s" % got)
            mine = run(s, "SELECT requests FROM contact_list_fdw_stats WHERE server = 's'")
            theirs = run(c, "SELECT requests FROM contact_list_fdw_stats WHERE server = 's'")
            check(mine == [(3,)] and theirs == [(3,)],
                  "requests of 3 pages on each node, counted apart: standby %s, primary %s" % (mine, theirs))
            run(s, "SELECT contact_list_fdw_stats_reset()")
            mine = run(s, "SELECT requests FROM contact_list_fdw_stats WHERE server = 's'")
            theirs = run(c, "SELECT requests FROM contact_list_fdw_stats WHERE server = 's'")
            check(mine in ([], [(0,)]) and theirs == [(3,)],
                  "after the standby's reset: standby %s, primary %s" % (mine, theirs))
            scans = run(s, "SELECT outcome, pages FROM contact_list_fdw_recent_scans")
            check(scans == [("complete", 3)], "the standby's recent_scans: %s" % scans)
            e = scan_error(s, "ANALYZE t")
            check("cannot execute ANALYZE during recovery" in (e.diag.message_primary or ""),
                  "ANALYZE on the standby: %s %s" % (e.pgcode, error_text(e)))
            s.close()
        finally:
            if os.path.exists(os.path.join(standby_data, "postmaster.pid")):
                subprocess.run(pg_ctl + ["-m", "immediate", "stop"], capture_output=True)
            primary.stop()

    def crash_restart(self, conn):
        # a backend killed (the postmaster then restarts every process)
        # empties the shared state, as a restart does: no counters, no
        # recent scans, and the next scan fetches a token again
        mc = MiniCluster("crash", conf=shared_state_conf())
        try:
            c = mc.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            secret_table(c)
            reset()
            check(run(c, "SELECT count(*) FROM t") == [(25,)], "the first scan")
            check(run(c, "SELECT count(*) FROM t") == [(25,)], "the second scan")
            check(stats()["gettoken"] == 1, "one token for both scans: %s" % stats())
            check(run(c, "SELECT count(*) FROM contact_list_fdw_recent_scans") == [(2,)], "recent_scans")
            victim = mc.connect()
            os.kill(run(victim, "SELECT pg_backend_pid()")[0][0], signal.SIGKILL)
            close_quietly(victim)
            close_quietly(c)
            # a connection made before the postmaster saw the crash goes
            # with the others: wait for its restart, then for a session
            self.wait_for("the postmaster's restart after the crash",
                          lambda: "all server processes terminated; reinitializing" in mc.log(), 60)

            def session():
                s = connect_quietly(mc)
                try:
                    if s is not None:
                        run(s, "SELECT 1")
                    return s
                except psycopg2.Error:
                    close_quietly(s)
                    return None
            c = self.wait_for("a session after the crash", session, 60)
            got = (run(c, "SELECT count(*) FROM contact_list_fdw_recent_scans"),
                   run(c, "SELECT coalesce(sum(requests), 0) FROM contact_list_fdw_stats"))
            check(got == ([(0,)], [(0,)]), "after the crash: recent_scans and requests %s" % (got,))
            check(run(c, "SELECT count(*) FROM t") == [(25,)], "the scan after the crash")
            check(stats()["gettoken"] == 2, "after the crash, a token fetched again: %s" % stats())
            c.close()
        finally:
            mc.stop()

    def settings_before_load(self, conn):
        # before the library loads, PostgreSQL keeps a setting's value
        # unchecked (SHOW shows it); the load refuses a wrong one with a
        # WARNING, and the default holds
        mc = MiniCluster("placeholders")
        try:
            c = mc.connect()
            run(c, "SET contact_list_fdw.retry_delay_ms = '-5'")
            run(c, "SET contact_list_fdw.rate_limit_delay_ms = 'soon'")
            shown = (run(c, "SHOW contact_list_fdw.retry_delay_ms"), run(c, "SHOW contact_list_fdw.rate_limit_delay_ms"))
            check(shown == ([("-5",)], [("soon",)]), "before the load: %s" % (shown,))
            del c.notices[:]
            run(c, "LOAD 'contact_list_fdw'")
            said = " ".join(c.notices)
            check("-5 ms is outside the valid range for parameter \"contact_list_fdw.retry_delay_ms\"" in said
                  and "invalid value for parameter \"contact_list_fdw.rate_limit_delay_ms\": \"soon\"" in said,
                  "the load's WARNINGs: %s" % said)
            shown = (run(c, "SHOW contact_list_fdw.retry_delay_ms"), run(c, "SHOW contact_list_fdw.rate_limit_delay_ms"))
            check(shown == ([("500ms",)], [("15s",)]), "after the load: %s" % (shown,))
            c.close()
        finally:
            mc.stop()

    def single_user_mode(self, conn):
        # postgres --single has no other session: its scans work alone, and
        # the views that only shared state can answer say so, not that the
        # library wants preloading
        mc = MiniCluster("single")
        try:
            c = mc.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            c.close()
            mc.stop()
            sql = ("SELECT count(*) AS contacts FROM t;\n"
                   "SELECT mode FROM contact_list_fdw_shared_info();\n"
                   "SELECT count(*) FROM contact_list_fdw_stats;\n"
                   "SELECT count(*) AS after_error FROM t;\n"
                   # an async_capable Append runs its scans one by one
                   "ALTER SERVER s OPTIONS (ADD async_capable 'true');\n"
                   "CREATE FOREIGN TABLE t2 (external_userid text) SERVER s;\n"
                   "SELECT count(*) AS both FROM (SELECT * FROM t UNION ALL SELECT * FROM t2) u;\n")
            out = subprocess.run(as_postgres() + [os.path.join(mc.pgbin, "postgres"), "--single",
                                                  "-D", mc.data, "-c", "log_min_messages=warning",
                                                  "-c", "log_error_verbosity=verbose", "postgres"],
                                 input=sql, capture_output=True, text=True, timeout=120, cwd=mc.dir)
            said = out.stdout + out.stderr
            check(out.returncode == 0, "postgres --single exited %d: %s" % (out.returncode, said[-800:]))
            check(said.count('contacts = "25"') == 1, "the scan's count is not 25: %s" % said)
            check('mode = "per-backend (single-user mode)"' in said, "shared_info's mode: %s" % said[-800:])
            errors = re.findall(r"ERROR:  ([0-9A-Z]{5}): (.*)", said)
            for code, message in errors:
                print("# error %s: %s" % (code, message), flush=True)
            check(errors == [("55000", "contact_list_fdw's shared state is not available in single-user mode")],
                  "contact_list_fdw_stats did not say why: %s" % said[-800:])
            check("shared_preload_libraries" not in said, "it asks for preloading: %s" % said[-800:])
            check('after_error = "25"' in said, "no scan after the error: %s" % said[-800:])
            check('both = "50"' in said, "the async_capable UNION ALL: %s" % said[-800:])
        finally:
            mc.stop()

    def proxy_environment(self, conn):
        # a server started with http_proxy, https_proxy, HTTPS_PROXY and
        # ALL_PROXY pointing at a proxy: libcurl would honour them, the FDW
        # must not (only the proxy option decides where requests go)
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        proxy, pxport, pxlog = start_tinyproxy("tinyproxy-env", port, "Info")
        purl = "http://127.0.0.1:%d" % pxport
        env = {k: purl for k in ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")}
        mc = None
        try:
            mc = MiniCluster("proxyenv", env=env)
            c = mc.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            run(c, "CREATE SERVER px_http FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE SERVER px_https FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s, ca_file %s)",
                ("https://127.0.0.1:%d/cgi-bin" % port, cert))
            for srv in ("px_http", "px_https"):
                run(c, "CREATE USER MAPPING FOR postgres SERVER %s OPTIONS (access_token 'fixed-basic')" % srv)
                run(c, "CREATE FOREIGN TABLE %s_t (external_userid text) SERVER %s" % (srv, srv))
                check(run(c, "SELECT count(*) FROM %s_t" % srv) == [(25,)], "%s: no rows" % srv)
            c.close()
            with open(pxlog, errors="replace") as f:
                seen = f.read()
            # (the readiness probe above left a "Connect" line, but no request)
            check("Request (" not in seen, "the proxy of the environment was used: %s" % seen[-300:])
            # the same environment does send curl(1) through the proxy, so the
            # log above would have shown it
            subprocess.run(["curl", "-sf", "-o", "/dev/null", MOCK + "/_stats"],
                           env=dict(os.environ, **env), check=True, timeout=20)
            with open(pxlog, errors="replace") as f:
                seen = f.read()
            check("Request (" in seen, "curl through the proxy left no request in its log: %s" % seen[-300:])
            mc.stop()
            # and no_proxy/NO_PROXY never take a request around the proxy
            # option: libcurl reads them unless told which hosts skip it
            mc = MiniCluster("noproxyenv", env={"no_proxy": "*", "NO_PROXY": "*"})
            c = mc.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            run(c, "CREATE SERVER px_opt FOREIGN DATA WRAPPER contact_list_fdw "
                   "OPTIONS (api_url %s, ca_file %s, proxy %s)",
                ("https://127.0.0.1:%d/cgi-bin" % port, cert, purl))
            run(c, "CREATE USER MAPPING FOR postgres SERVER px_opt OPTIONS (access_token 'fixed-basic')")
            run(c, "CREATE FOREIGN TABLE px_opt_t (external_userid text) SERVER px_opt")
            before = seen.count("Request (")
            check(run(c, "SELECT count(*) FROM px_opt_t") == [(25,)], "px_opt: no rows")
            c.close()
            with open(pxlog, errors="replace") as f:
                seen = f.read()
            check(seen.count("Request (") > before,
                  "no_proxy in the environment took the scan around the proxy option: %s" % seen[-300:])
        finally:
            if mc:
                mc.stop()
            stop(proxy)
            stop(mock)

    def key_log_environment(self, conn):
        # a server started with SSLKEYLOGFILE: libcurl would write the TLS
        # keys of every request there, gettoken's corp_secret with them
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        mc = None
        keylog = os.path.join(WORK, "keylog.txt")
        if os.path.exists(keylog):
            os.unlink(keylog)
        try:
            mc = MiniCluster("keylog", env={"SSLKEYLOGFILE": keylog})
            c = mc.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            run(c, "CREATE SERVER kl FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s, ca_file %s)",
                ("https://127.0.0.1:%d/cgi-bin" % port, cert))
            run(c, "CREATE USER MAPPING FOR postgres SERVER kl "
                   "OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok')")
            run(c, "CREATE FOREIGN TABLE kl_t (external_userid text) SERVER kl")
            check(run(c, "SELECT count(*) FROM kl_t") == [(25,)], "no rows over TLS")
            c.close()
            written = os.path.getsize(keylog) if os.path.exists(keylog) else 0
            check(written == 0, "the server wrote %d bytes of TLS keys to SSLKEYLOGFILE" % written)
            # the same environment does make curl(1) write keys there
            subprocess.run(["curl", "-sf", "-o", "/dev/null", "--cacert", cert,
                            "https://127.0.0.1:%d/_stats" % port],
                           env=dict(os.environ, SSLKEYLOGFILE=keylog), check=True, timeout=20)
            check(os.path.exists(keylog) and os.path.getsize(keylog) > 0,
                  "curl(1) wrote no keys to SSLKEYLOGFILE: the check above proves nothing")
        finally:
            if mc:
                mc.stop()
            stop(mock)

    def resolver(self, conn):
        # host names resolved on libcurl's resolver thread, by a DNS server
        # of the case in a private network namespace (on the addresses the
        # system's resolv.conf names): wecom-mock.test is answered, every
        # other name hangs
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            raise Skip("needs root and unshare")
        cert, key = make_cert("wecom-mock", "DNS:wecom-mock.test")
        dns = os.path.join(WORK, "dns_server.py")
        with open(dns, "w") as f:
            f.write(DNS_PY)
        # one try, long enough to outlast the case, whatever resolv.conf says
        mc = MiniCluster("resolver", netns=True, env={"RES_OPTIONS": "timeout:30 attempts:1"},
                         helpers=["exec /usr/bin/python3 %s" % shq(dns),
                    "exec /usr/bin/python3 %s --host 127.0.0.1 --port 443 --tls-cert %s --tls-key %s"
                    % (shq(os.path.join(ROOT, "test", "mock_wecom.py")), shq(cert), shq(key))])
        try:
            c = mc.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            for name, url, more in (("named", "https://wecom-mock.test/cgi-bin", ", ca_file %s" % shq(cert)),
                                    ("hang", "https://wecom-hang.test/cgi-bin", ", connect_timeout_ms '60000'"),
                                    ("hang2", "https://wecom-hang.test/cgi-bin", ", connect_timeout_ms '1500'")):
                run(c, "CREATE SERVER %s FOREIGN DATA WRAPPER contact_list_fdw "
                       "OPTIONS (api_url '%s', max_retries '0'%s)" % (name, url, more))
                run(c, "CREATE USER MAPPING FOR postgres SERVER %s OPTIONS (access_token 'fixed-basic')" % name)
                run(c, """CREATE FOREIGN TABLE %s_contacts (
                           is_customer boolean, tmp_openid text, external_userid text, name text,
                           follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                         SERVER %s""" % (name, name))
            rows = scan(c, "named_contacts")
            check(collections.Counter(rows) == self.clean, "rows from wecom-mock.test differ (%d rows)" % len(rows))

            # while the resolve hangs: libcurl's threads block every signal,
            # and a cancel still ends the query at once
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            result = {}

            def scan_hang():
                try:
                    run(c, "SELECT count(*) FROM hang_contacts")
                except psycopg2.Error as e:
                    result["error"] = e
                result["at"] = time.monotonic()
            th = threading.Thread(target=scan_hang)
            th.start()
            threads = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not threads:
                time.sleep(0.05)
                threads = [int(t) for t in os.listdir("/proc/%d/task" % pid) if int(t) != pid]
            masks = {t: sig_blocked(pid, t) for t in threads}
            other = mc.connect()
            t0 = time.monotonic()
            run(other, "SELECT pg_cancel_backend(%s)", (pid,))
            th.join(30)
            other.close()
            check(threads, "no resolver thread appeared in the backend")
            for t, m in masks.items():
                check(BLOCKABLE <= m, "thread %d of the backend can take signals %s"
                      % (t, sorted(BLOCKABLE - m)))
            e = result.get("error")
            check(e is not None and e.pgcode == "57014", "cancel: %s" % (e and error_text(e)))
            check(result["at"] - t0 < 1.0, "cancelled after %.2f s" % (result["at"] - t0))

            # and without a cancel it fails at connect_timeout_ms, saying so
            c2 = mc.connect()
            t0 = time.monotonic()
            e = scan_error(c2, "SELECT count(*) FROM hang2_contacts")
            took = time.monotonic() - t0
            c2.close()
            msg = error_text(e)
            check(e.pgcode == "HV00N", "SQLSTATE %s: %s" % (e.pgcode, msg))
            check("resolving the host name timed out" in e.diag.message_primary, "message: %s" % msg)
            check("connect_timeout_ms (1500 ms)" in (e.diag.message_detail or ""), "detail: %s" % msg)
            check(1.3 <= took < 10, "failed after %.1f s with connect_timeout_ms 1.5 s" % took)
            c.close()
        finally:
            mc.stop()

    def libcurl_failures(self, conn):
        # with a preloaded shim: curl_multi_add_handle failing, and the token
        # cache running out of memory while it keeps a new token
        if os.geteuid() != 0:
            raise Skip("needs root")
        src = os.path.join(WORK, "clf_shim.c")
        so = os.path.join(WORK, "clf_shim.so")
        with open(src, "w") as f:
            f.write(SHIM_C)
        cflags = subprocess.run(["pkg-config", "--cflags", "libcurl"], capture_output=True,
                                text=True).stdout.split()
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", so, src] + cflags + ["-ldl"],
                       check=True, capture_output=True)
        os.chmod(so, 0o755)
        arm = os.path.join(WORK, "shim-arm")
        os.makedirs(arm, exist_ok=True)
        os.chmod(arm, 0o777)
        mc = MiniCluster("shim", preload=so, env={"CLF_SHIM_DIR": arm})
        try:
            c = mc.connect()
            run(c, "SET contact_list_fdw.retry_delay_ms = 20")
            run(c, "CREATE EXTENSION contact_list_fdw")
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE USER MAPPING FOR postgres SERVER s "
                   "OPTIONS (corp_id 'corp-bigtoken', corp_secret 'secret-ok')")
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")

            # out of memory while caching a new token: the cache stays
            # whole, and the next query in the backend works
            open(os.path.join(arm, "fail_token_copy"), "w").close()
            e = scan_error(c, "SELECT count(*) FROM t")
            check(not os.path.exists(os.path.join(arm, "fail_token_copy")), "the shim never failed a malloc")
            check(e.pgcode == "53200", "SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            try:
                n = run(c, "SELECT count(*) FROM t")[0][0]
            except psycopg2.Error as e:
                raise Fail("the query after the failed token copy: %s" % str(e).strip())
            check(n == 25, "%d rows after the failed token copy" % n)

            # a failed curl_multi_add_handle is reported as what it is
            open(os.path.join(arm, "fail_add_handle"), "w").close()
            e = scan_error(c, "SELECT count(*) FROM t")
            os.unlink(os.path.join(arm, "fail_add_handle"))
            msg = error_text(e)
            check(e.pgcode == "HV000", "SQLSTATE %s: %s" % (e.pgcode, msg))
            check("curl_multi_add_handle failed: Out of memory" in e.diag.message_primary, "message: %s" % msg)
            check(run(c, "SELECT count(*) FROM t")[0][0] == 25, "the next query failed")
            c.close()
        finally:
            mc.stop()

    # -- shared state (issue 11): tokens, progress, stats, request slots

    def shared_table(self, conn, name, mapping, server_options="", table_options="page_size '5'",
                     fresh_key=False):
        """A server NAME_srv on the mock with its own user mapping and table NAME;
        fresh_key: through a spelling of the mock's host no case used, so
        no token is cached for it yet."""
        run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)
        api = "http://%s:%d/cgi-bin" % (fresh_localhost(), MOCK_PORT) if fresh_key else API
        opts = "api_url %s" % psycopg2.extensions.QuotedString(api).getquoted().decode()
        if server_options:
            opts += ", " + server_options
        run(conn, "CREATE SERVER %s_srv FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (%s)" % (name, opts))
        set_mapping(conn, server=name + "_srv", **mapping)
        run(conn, """CREATE FOREIGN TABLE %s (
                       is_customer boolean, tmp_openid text, external_userid text, name text,
                       follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                     SERVER %s_srv OPTIONS (%s)""" % (name, name, table_options))

    def progress_rows(self, conn, pids):
        return run(conn, """SELECT pid, state, pages, rows, waiting_until, wait_reason, last_error,
                                   foreign_table, server, requests
                              FROM contact_list_fdw_progress WHERE pid = ANY(%s)""", (list(pids),))

    def wait_for(self, what, fn, seconds=20):
        """Poll fn every 50 ms until it returns something true; bounded."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = fn()
            if got:
                return got
            time.sleep(0.05)
        raise Fail("gave up after %d s waiting for %s" % (seconds, what))

    def in_background(self, fn):
        """Run fn in a thread; returns (thread, box) where box gets result or error."""
        box = {}

        def body():
            try:
                box["result"] = fn()
            except Exception as e:
                box["error"] = e
        # a daemon: a scan a failed case left waiting must not hold the
        # suite's exit until its own timeout (make sabotage pays for that)
        th = threading.Thread(target=body, daemon=True)
        th.start()
        return th, box

    def many_connections(self, n, sql, threads=4):
        """n connections, each running sql once; returns the results."""
        results = []
        errors = []
        lock = threading.Lock()

        def worker(k):
            for _ in range(k):
                try:
                    c = psycopg2.connect(dbname=DB)
                    try:
                        r = run(c, sql)
                    finally:
                        c.close()
                    with lock:
                        results.append(r)
                except Exception as e:
                    with lock:
                        errors.append(e)
        per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
        ths = [threading.Thread(target=worker, args=(k,)) for k in per]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        check(not errors, "errors: %s" % [str(e) for e in errors][:3])
        return results

    def shared_tokens_200(self, conn):
        self.shared_table(conn, "fs_sh", {"corp_id": "corp-shared", "corp_secret": "secret-ok"})
        reset()
        t0 = time.monotonic()
        results = self.many_connections(200, "SELECT external_userid FROM fs_sh LIMIT 1")
        took = time.monotonic() - t0
        check(len(results) == 200 and all(r == [("wm_cust_001",)] for r in results),
              "results: %s" % results[:3])
        st = stats()
        check(st["gettoken"] == 1, "200 connections made %d gettoken calls, expected 1" % st["gettoken"])
        check(st["contact_list"] == 200, "%d contact_list calls" % st["contact_list"])
        print("# 200 connections with LIMIT 1: 1 gettoken, %.1f s" % took)

    def shared_tokens_expired(self, conn):
        # the cluster's token is rejected by everyone at once
        n = 20
        self.shared_table(conn, "fs_sh", {"corp_id": "corp-shared", "corp_secret": "secret-ok"})
        run(conn, "SELECT count(*) FROM fs_sh")
        expired = mock_get("/_expire_tokens")["expired"]
        check(expired >= 1, "the mock expired %d tokens" % expired)
        before = stats()
        conns = [connect() for _ in range(n)]
        barrier = threading.Barrier(n)
        results = [None] * n
        errors = []

        def worker(i):
            try:
                barrier.wait()
                results[i] = run(conns[i], "SELECT count(*) FROM fs_sh")[0][0]
            except Exception as e:
                errors.append(e)
        ths = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        for c in conns:
            c.close()
        check(not errors, "errors: %s" % [str(e) for e in errors][:3])
        check(results == [25] * n, "row counts: %s" % results)
        got = stats()["gettoken"] - before["gettoken"]
        check(got == 1, "20 backends rejecting one token made %d gettoken calls, expected 1" % got)

    def shared_wrong_secret(self, conn):
        # a changed secret never uses the token cached for the old one
        if run(conn, "SELECT to_regclass('fs_sh')") == [(None,)]:   # (run alone)
            self.shared_table(conn, "fs_sh", {"corp_id": "corp-shared", "corp_secret": "secret-ok"})
        check(run(conn, "SELECT count(*) FROM fs_sh") == [(25,)], "no rows with the right secret")
        set_mapping(conn, server="fs_sh_srv", corp_id="corp-shared", corp_secret="Wr0ng-Secret")
        e = scan_error(conn, "SELECT count(*) FROM fs_sh")
        check("40001" in e.diag.message_primary, "error: %s" % error_text(e))
        other = connect()
        try:
            e = scan_error(other, "SELECT count(*) FROM fs_sh")
            check("40001" in e.diag.message_primary, "another session: %s" % error_text(e))
        finally:
            other.close()
        set_mapping(conn, server="fs_sh_srv", corp_id="corp-shared", corp_secret="secret-ok")
        check(run(conn, "SELECT count(*) FROM fs_sh") == [(25,)], "no rows with the right secret again")

    def wrong_secret_other_role(self, conn):
        # one backend, two roles of one corp: postgres's right secret fetches
        # and caches a token; another role with a wrong secret must get
        # 40001, never rows read with postgres's token (the cache is keyed
        # by the secret, per backend as well as shared)
        self.shared_table(conn, "fs_two", {"corp_id": "corp-shared", "corp_secret": "secret-ok"})
        run(conn, "DROP ROLE IF EXISTS fs_other_role")
        run(conn, "CREATE ROLE fs_other_role")
        try:
            run(conn, "GRANT USAGE ON FOREIGN SERVER fs_two_srv TO fs_other_role")
            run(conn, "GRANT SELECT ON fs_two TO fs_other_role")
            run(conn, "CREATE USER MAPPING FOR fs_other_role SERVER fs_two_srv "
                      "OPTIONS (corp_id 'corp-shared', corp_secret 'Wr0ng-Secret')")
            check(run(conn, "SELECT count(*) FROM fs_two") == [(25,)], "no rows with the right secret")
            run(conn, "SET ROLE fs_other_role")
            try:
                e = scan_error(conn, "SELECT count(*) FROM fs_two")
                check("40001" in e.diag.message_primary, "the wrong secret: %s" % error_text(e))
            finally:
                run(conn, "RESET ROLE")
            check(run(conn, "SELECT count(*) FROM fs_two") == [(25,)], "no rows with the right secret again")
        finally:
            run(conn, "DROP SERVER IF EXISTS fs_two_srv CASCADE")
            run(conn, "DROP OWNED BY fs_other_role CASCADE")
            run(conn, "DROP ROLE fs_other_role")

    def shared_progress(self, conn):
        # 13 pages of 150 ms, page 4 answered "system busy" once, a 1.5 s backoff
        self.shared_table(conn, "fs_slow", {"access_token": "fixed-slowbusy"},
                          table_options="page_size '2'")
        reset()
        scanner = connect()
        run(scanner, "SET contact_list_fdw.retry_delay_ms = 1500")
        pid = run(scanner, "SELECT pg_backend_pid()")[0][0]
        th, box = self.in_background(lambda: scan(scanner, "fs_slow"))
        seen = []
        try:
            deadline = time.monotonic() + 30
            while th.is_alive() and time.monotonic() < deadline:
                seen.extend(self.progress_rows(conn, [pid]))
                time.sleep(0.05)
            th.join(30)
        finally:
            if th.is_alive():
                run(conn, "SELECT pg_cancel_backend(%s)", (pid,))
                th.join()
        check("error" not in box, "the scan failed: %s" % box.get("error"))
        check(collections.Counter(box["result"]) == self.clean, "the slow scan's rows differ")
        pages = [r[2] for r in seen]
        check(pages == sorted(pages), "pages went back: %s" % pages)
        check(len(set(pages)) >= 3, "pages seen: %s" % sorted(set(pages)))
        check(all(r[7] == "public.fs_slow" and r[8] == "fs_slow_srv" for r in seen),
              "table or server: %s" % seen[:1])
        waiting = [r for r in seen if r[1] == "waiting to retry"]
        check(waiting, "never seen waiting to retry; states: %s" % sorted(set(r[1] for r in seen)))
        check(all(r[4] is not None and "errcode -1" in (r[5] or "") for r in waiting),
              "waiting rows: %s" % waiting[:1])
        check(any("errcode -1" in (r[6] or "") for r in seen), "no last_error")
        check(not self.progress_rows(conn, [pid]), "the ended scan still has a row")
        scanner.close()

    def shared_slots(self, conn):
        # 20 scans, max_concurrent_requests 3: the mock never sees more than 3
        n = 20
        self.shared_table(conn, "fs_lim", {"access_token": "fixed-delay"},
                          server_options="max_concurrent_requests '3'")
        reset()
        conns = [connect() for _ in range(n)]
        pids = [run(c, "SELECT pg_backend_pid()")[0][0] for c in conns]
        barrier = threading.Barrier(n)
        results = [None] * n
        errors = []

        def worker(i):
            try:
                barrier.wait()
                results[i] = scan(conns[i], "fs_lim")
            except Exception as e:
                errors.append(e)
        ths = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in ths:
            t.start()
        states = set()
        samples = []    # (progress state, wait_event_type, wait_event) of one backend at once
        while any(t.is_alive() for t in ths):
            states |= set(r[1] for r in self.progress_rows(conn, pids))
            samples += run(conn, """SELECT p.state, a.wait_event_type, a.wait_event
                                        FROM contact_list_fdw_progress p JOIN pg_stat_activity a USING (pid)
                                       WHERE p.pid = ANY(%s) AND a.wait_event IS NOT NULL""", (pids,))
            time.sleep(0.02)
        for t in ths:
            t.join()
        for c in conns:
            c.close()
        check(not errors, "errors: %s" % [str(e) for e in errors][:3])
        for i, rows in enumerate(results):
            check(collections.Counter(rows) == self.clean, "scan %d: %d rows, or different ones" % (i, len(rows)))
        st = stats()
        check(st["max_in_flight"] <= 3, "the mock saw %d requests at once" % st["max_in_flight"])
        check(st["max_in_flight"] >= 2, "never more than %d request at once: no concurrency" % st["max_in_flight"])
        check(st["contact_list"] == 5 * n, "%d requests" % st["contact_list"])
        check("waiting for a slot" in states, "states seen: %s" % states)
        # the wait for a slot is the slot's own wait event: on 17+ named
        # (WaitEventExtensionNew), on 15/16 the one "Extension" event
        major = int(run(conn, "SHOW server_version_num")[0][0]) // 10000
        slot_event = ("Extension", "ContactListFdwSlot") if major >= 17 else ("Extension", "Extension")
        net_event = ("Extension", "ContactListFdwNetwork") if major >= 17 else ("Extension", "Extension")
        in_slot_wait = [x[1:] for x in samples if x[0] == "waiting for a slot"]
        check(in_slot_wait, "no backend seen waiting for a slot with a wait event: %s" % samples[:5])
        good = sum(1 for e in in_slot_wait if e == slot_event)
        check(good * 2 >= len(in_slot_wait),
              "waiting for a slot, the wait events were %s, expected mostly %s"
              % (collections.Counter(in_slot_wait).most_common(3), slot_event))
        in_request = [x[1:] for x in samples if x[0] == "requesting"]
        if major >= 17:
            check(net_event in in_request, "requesting, the wait events were %s, expected %s"
                  % (collections.Counter(in_request).most_common(3), net_event))
        inflight = run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats WHERE server = 'fs_lim_srv'")
        check(inflight == [(0,)], "in flight after: %s" % inflight)

    def slot_holders(self, conn, table):
        """A backend hanging in a request (holding the one slot), another
        waiting for it; returns (holder conn, pid, thread, box, waiter ...)."""
        holder = connect()
        hpid = run(holder, "SELECT pg_backend_pid()")[0][0]
        hth, hbox = self.in_background(lambda: scan(holder, table))
        self.wait_for("the first scan to hang in its request",
                      lambda: any(r[1] == "requesting" for r in self.progress_rows(conn, [hpid])))
        waiter = connect()
        wpid = run(waiter, "SELECT pg_backend_pid()")[0][0]
        wth, wbox = self.in_background(lambda: scan(waiter, table))
        self.wait_for("the second scan to wait for a slot",
                      lambda: any(r[1] == "waiting for a slot" for r in self.progress_rows(conn, [wpid])))
        return holder, hpid, hth, hbox, waiter, wpid, wth, wbox

    def slot_idle_cursor(self, conn):
        # a cursor's async scan holds the only slot of a server
        # and goes idle (its request answered, never read); another session
        # waits while the holder's request could still run (its timeout_ms
        # 3500 and a margin of 1 s), then goes one over the cap
        self.shared_table(conn, "fs_ix1", {"access_token": "fixed-slow"},
                          server_options="max_concurrent_requests '1', timeout_ms '3500'",
                          table_options="page_size '5', async_capable 'on'")
        self.shared_table(conn, "fs_ixa", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        run(conn, """CREATE FOREIGN TABLE fs_ix2 (tmp_openid text) SERVER fs_ix1_srv""")
        # the other session reads fs_ix1's server as a role of its own, whose
        # mapping answers at once: its scan's own time is not the case's
        fresh_role(conn, "clf_slotpeer")
        run(conn, "GRANT SELECT ON fs_ix2 TO clf_slotpeer")
        run(conn, "CREATE USER MAPPING FOR clf_slotpeer SERVER fs_ix1_srv OPTIONS (access_token 'fixed-basic')")
        reset()
        a = connect()
        b = connect()
        try:
            apid = run(a, "SELECT pg_backend_pid()")[0][0]
            run(a, "BEGIN")
            run(a, "DECLARE c CURSOR FOR SELECT tmp_openid FROM fs_ixa UNION ALL SELECT tmp_openid FROM fs_ix1")
            check(len(run(a, "FETCH 1 FROM c")) == 1, "no first row")
            held = time.monotonic()
            inflight = run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats WHERE server = 'fs_ix1_srv'")
            check(inflight == [(1,)], "the idle cursor holds no slot: %s" % inflight)
            run(b, "SET ROLE clf_slotpeer")
            run(b, "SET statement_timeout = '12s'")
            try:
                got = run(b, "SELECT count(*) FROM fs_ix2")
            except psycopg2.Error as e:
                raise Fail("another session's scan failed behind the idle cursor's slot after %.1f s: %s"
                           % (time.monotonic() - held, error_text(e)))
            took = time.monotonic() - held
            check(got == [(25,)], "the other session's scan: %s" % got)
            # not before the holder's deadline (the cap holds), not much after
            check(4.0 < took < 8, "the other session's scan ended %.1f s after the slot was taken, "
                  "expected after the holder's timeout_ms 3500 and 1 s" % took)
            inflight = run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats WHERE server = 'fs_ix1_srv'")
            check(inflight == [(1,)], "in flight after the other scan: %s" % inflight)
            run(a, "COMMIT")
            self.async_left_nothing(conn, apid, ["fs_ix1_srv"])
        finally:
            a.close()
            b.close()
            run(conn, "DROP OWNED BY clf_slotpeer")
            run(conn, "DROP ROLE clf_slotpeer")

    def slot_cap_altered(self, conn):
        # a cursor opened with max_concurrent_requests 1; ALTER SERVER raises
        # the cap to 2; a scan that read the new options hangs in its
        # request with one of the two slots: the cursor's next page takes
        # the other, rather than set the cap back to 1 for everyone and wait
        # behind the hanging request
        self.shared_table(conn, "fs_capalt", {"access_token": "fixed-basic"},
                          server_options="max_concurrent_requests '1', timeout_ms '60000'")
        fresh_role(conn, "clf_caphang")
        run(conn, "GRANT SELECT ON fs_capalt TO clf_caphang")
        run(conn, "CREATE USER MAPPING FOR clf_caphang SERVER fs_capalt_srv OPTIONS (access_token 'fixed-hang')")
        reset()
        a = connect()
        h = connect()
        ath = hth = None
        try:
            apid = run(a, "SELECT pg_backend_pid()")[0][0]
            hpid = run(h, "SELECT pg_backend_pid()")[0][0]
            run(a, "BEGIN")
            run(a, "DECLARE c CURSOR FOR SELECT tmp_openid FROM fs_capalt")
            check(len(run(a, "FETCH 1 FROM c")) == 1, "no first row")
            run(conn, "ALTER SERVER fs_capalt_srv OPTIONS (SET max_concurrent_requests '2')")
            run(h, "SET ROLE clf_caphang")
            hth, hbox = self.in_background(lambda: run(h, "SELECT count(*) FROM fs_capalt"))
            self.wait_for("the scan with the new options to hang in its request",
                          lambda: any(r[1] == "requesting" for r in self.progress_rows(conn, [hpid])))
            inflight = run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats WHERE server = 'fs_capalt_srv'")
            check(inflight == [(1,)], "in flight with the hanging request: %s" % inflight)
            ath, abox = self.in_background(lambda: run(a, "FETCH ALL FROM c"))
            self.wait_for("the cursor to read its pages or wait for a slot",
                          lambda: not ath.is_alive() or
                          any(r[1] == "waiting for a slot" for r in self.progress_rows(conn, [apid])))
            check(not ath.is_alive(), "the cursor opened before the ALTER SERVER waits for a slot "
                  "behind one request of a server whose cap is now 2: its old cap 1 is back")
            check("error" not in abox, "the cursor's FETCH failed: %s" % abox.get("error"))
            check(len(abox["result"]) == 24, "the cursor's FETCH ALL: %d rows" % len(abox["result"]))
            run(a, "COMMIT")
        finally:
            if ath is not None and ath.is_alive():
                run(conn, "SELECT pg_cancel_backend(%s)", (apid,))
                ath.join(20)
            if hth is not None:
                run(conn, "SELECT pg_cancel_backend(%s)", (hpid,))
                hth.join(20)
            a.close()
            h.close()
            run(conn, "DROP OWNED BY clf_caphang")
            run(conn, "DROP ROLE clf_caphang")

    def shared_terminate(self, conn):
        self.shared_table(conn, "fs_one", {"access_token": "fixed-hangonce"},
                          server_options="max_concurrent_requests '1'")
        reset()
        holder, hpid, hth, hbox, waiter, wpid, wth, wbox = self.slot_holders(conn, "fs_one")
        run(conn, "SELECT pg_terminate_backend(%s)", (hpid,))
        hth.join(20)
        wth.join(30)
        check(not hth.is_alive() and not wth.is_alive(), "a scan is still running")
        check("error" in hbox, "the terminated scan returned rows")
        check("error" not in wbox, "the waiting scan failed: %s" % wbox.get("error"))
        check(collections.Counter(wbox["result"]) == self.clean, "the waiting scan's rows differ")
        self.wait_for("the terminated backend's row to go",
                      lambda: not self.progress_rows(conn, [hpid, wpid]), seconds=10)
        inflight = run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats WHERE server = 'fs_one_srv'")
        check(inflight == [(0,)], "in flight after: %s" % inflight)
        waiter.close()
        try:
            holder.close()
        except psycopg2.Error:
            pass

    def terminate_counted(self, conn):
        # a request out when its backend is terminated (a FATAL: none of the
        # request's own code runs again) counts all the same, in the server's
        # counters and in its scan's row of recent_scans, as the mock saw it:
        # a page's (plain and async) and a gettoken's; a cancelled one once,
        # an async one too (its transfer goes with its scan's memory)
        self.shared_table(conn, "fs_tc", {"access_token": "fixed-hang"})
        run(conn, "CREATE FOREIGN TABLE fs_tc_async (external_userid text) SERVER fs_tc_srv "
                  "OPTIONS (page_size '5', async_capable 'on')")
        # gettoken answers after 3 s, then the mock counts it
        self.slow_token_server(conn, "fs_tct", 60000, 5)
        # answered at once: an idle cursor's requests are over, none is out
        self.shared_table(conn, "fs_tci", {"access_token": "fixed-basic"})
        run(conn, "CREATE FOREIGN TABLE fs_tci_async (external_userid text) SERVER fs_tci_srv "
                  "OPTIONS (page_size '5', async_capable 'on')")
        two = ("SELECT count(*) FROM (SELECT external_userid FROM fs_tc_async "
               "UNION ALL SELECT external_userid FROM fs_tc_async) u")

        def one(how, server, sql, scans, gettoken, outcome="error", nrows=None):
            reset()
            run(conn, "SELECT contact_list_fdw_stats_reset()")
            other = connect()
            opid = run(other, "SELECT pg_backend_pid()")[0][0]
            try:
                if how.startswith("idle"):
                    run(other, "BEGIN")
                    run(other, "DECLARE c CURSOR FOR " + sql)
                    # (an async one may hold a request answered and not yet read)
                    check(len(run(other, "FETCH 1 FROM c")) == 1, "%s: no first row" % how)
                    run(conn, "SELECT pg_terminate_backend(%s)", (opid,))
                else:
                    th, box = self.in_background(lambda: run(other, sql))
                    self.wait_for("%s: %d request(s) out" % (how, scans),
                                  lambda: len([r for r in self.progress_rows(conn, [opid])
                                               if r[1] == "requesting"]) == scans
                                  and (gettoken or stats()["contact_list"] == scans))
                    if how.startswith("cancel"):
                        run(conn, "SELECT pg_cancel_backend(%s)", (opid,))
                    else:
                        run(conn, "SELECT pg_terminate_backend(%s)", (opid,))
                    th.join(20)
                    check(not th.is_alive(), "%s: the scan is still running" % how)
                    check("error" in box, "%s: the scan returned %s" % (how, box.get("result")))
            finally:
                try:
                    other.close()
                except psycopg2.Error:
                    pass
            # the backend gone (a cancelled one closed): nothing more to count
            self.wait_for("%s: the backend to exit" % how,
                          lambda: not run(conn, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (opid,)))
            if gettoken:
                self.wait_for("%s: the mock to count the gettoken" % how, lambda: stats()["gettoken"] == 1)
            st = stats()
            seen = st["contact_list"] + st["gettoken"]
            check(seen >= scans if how.startswith("idle") else seen == scans,
                  "%s: the mock saw %s" % (how, st))
            got = run(conn, """SELECT requests, token_fetches, network_ms > 0, requests_in_flight
                                 FROM contact_list_fdw_stats
                                WHERE server = %s AND datname = current_database()""", (server,))
            want = (seen, st["gettoken"], True, 0)
            check(got == [want], "%s: contact_list_fdw_stats %s, expected %s (the mock saw %s)"
                  % (how, got, [want], st))
            nrows = nrows or scans

            def logged():
                # an exiting backend logs its scans one by one: wait for all
                got = run(conn, """SELECT requests, token_fetches, network_ms > 0, outcome
                                     FROM contact_list_fdw_recent_scans
                                    WHERE pid = %s AND server = %s""", (opid, server))
                return got if len(got) >= nrows else None
            rows = self.wait_for("%s: the scans' %d recent_scans rows" % (how, nrows), logged)
            check(len(rows) == nrows, "%s: recent_scans rows %s, expected %d" % (how, rows, nrows))
            check(sum(r[0] for r in rows) == seen and sum(r[1] for r in rows) == st["gettoken"]
                  and all((r[2] or not r[0]) and r[3] == outcome for r in rows),
                  "%s: recent_scans rows %s, the mock saw %s" % (how, rows, st))
        try:
            one("terminate", "fs_tc_srv", "SELECT count(*) FROM fs_tc", 1, False)
            one("terminate async", "fs_tc_srv", two, 2, False)
            one("terminate gettoken", "fs_tct_srv", "SELECT count(*) FROM fs_tct", 1, True)
            # one child fetches the token, the other waits for it: one request
            one("terminate async gettoken", "fs_tct_srv", "SELECT count(*) FROM (SELECT external_userid "
                "FROM fs_tct UNION ALL SELECT external_userid FROM fs_tct) u", 1, True, nrows=2)
            one("cancel", "fs_tc_srv", "SELECT count(*) FROM fs_tc", 1, False)
            # the transfers go with the scans' memory, counted there
            one("cancel async", "fs_tc_srv", two, 2, False)
            # counted once: requests that ended are not counted again at exit
            one("idle cursor", "fs_tci_srv", "SELECT external_userid FROM fs_tci", 1, False,
                "stopped early")
            one("idle async cursor", "fs_tci_srv", "SELECT external_userid FROM fs_tci_async "
                "UNION ALL SELECT external_userid FROM fs_tci_async", 2, False, "stopped early")
        finally:
            for srv in ("fs_tc_srv", "fs_tct_srv", "fs_tci_srv"):
                run(conn, "DROP SERVER IF EXISTS %s CASCADE" % srv)

    def stalled_server(self, conn, server, access_token):
        """A server whose connects never complete: its port never accepts,
        and the one place of its queue is taken, so it drops every SYN.
        Returns the two sockets, for the caller to close."""
        stalled = socket.socket()
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(0)
        filler = socket.create_connection(stalled.getsockname())
        run(conn, "DROP SERVER IF EXISTS %s CASCADE" % server)
        run(conn, "CREATE SERVER %s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %%s, "
                  "connect_timeout_ms '3600000', timeout_ms '3600000')" % server,
            ("http://127.0.0.1:%d/cgi-bin" % stalled.getsockname()[1],))
        set_mapping(conn, server=server, access_token=access_token)
        return stalled, filler

    def async_unsent(self, conn):
        # an asynchronous scan's request dropped while still connecting
        # sent nothing: the server never saw it, and it counts nowhere.
        # Dropped by a LIMIT another child met (the scan ends), by a cancel
        # and by pg_terminate_backend (the transfer goes with the scan's
        # memory).  Its scan is counted all the same, by its outcome.
        # Per-backend: the session's own contact_list_fdw_scans().
        shared = not self.per_backend
        self.shared_table(conn, "fs_au", {"access_token": "fixed-basic"})
        run(conn, "CREATE FOREIGN TABLE fs_au_async (external_userid text) SERVER fs_au_srv "
                  "OPTIONS (page_size '5', async_capable 'on')")
        stalled, filler = self.stalled_server(conn, "fs_aux_srv", "fixed-basic")
        run(conn, "CREATE FOREIGN TABLE fs_aux_async (external_userid text) SERVER fs_aux_srv "
                  "OPTIONS (page_size '5', async_capable 'on')")
        two = ("SELECT count(*) FROM (SELECT external_userid FROM fs_aux_async "
               "UNION ALL SELECT external_userid FROM fs_aux_async) u")

        def server_counts():
            return run(conn, """SELECT scans_complete, scans_stopped_early, scans_failed, requests,
                                       requests_in_flight
                                  FROM contact_list_fdw_stats
                                 WHERE server = 'fs_aux_srv' AND datname = current_database()""")

        def one(how):
            if shared:
                run(conn, "SELECT contact_list_fdw_stats_reset()")
            other = connect()
            opid = run(other, "SELECT pg_backend_pid()")[0][0]
            try:
                if how == "limit":
                    # the other child's first row ends the query while the
                    # stalled child's request is still connecting
                    got = run(other, "SELECT external_userid FROM (SELECT external_userid FROM fs_au_async "
                                     "UNION ALL SELECT external_userid FROM fs_aux_async) u LIMIT 1")
                    check(len(got) == 1, "limit: %s" % got)
                    scans = run(other, """SELECT outcome, requests FROM contact_list_fdw_scans()
                                           WHERE foreign_table = 'fs_aux_async'::regclass""")
                    check(scans == [("stopped early", 0)],
                          "limit: the stalled scan's contact_list_fdw_scans() rows %s, expected "
                          "stopped early with no request" % scans)
                    want = [(0, 1, 0, 0, 0)]
                else:
                    th, box = self.in_background(lambda: run(other, two))
                    # both children's requests begun, the Append waiting on them
                    self.wait_for("%s: the stalled scans to connect" % how,
                                  lambda: run(conn, """SELECT wait_event FROM pg_stat_activity
                                                        WHERE pid = %s""", (opid,)) == [("AppendReady",)])
                    run(conn, "SELECT pg_%s_backend(%s)" % ("cancel" if how == "cancel" else "terminate", opid))
                    th.join(30)
                    check(not th.is_alive(), "%s: the scan is still running" % how)
                    check("error" in box, "%s: the scan returned %s" % (how, box.get("result")))
                    if how == "cancel":
                        scans = run(other, """SELECT outcome, requests FROM contact_list_fdw_scans()
                                               WHERE foreign_table = 'fs_aux_async'::regclass""")
                        check(scans == [("error", 0)] * 2,
                              "cancel: the stalled scans' contact_list_fdw_scans() rows %s, expected "
                              "two errors with no request" % scans)
                    want = [(0, 0, 2, 0, 0)]
            finally:
                close_quietly(other)
            if not shared:
                return
            self.wait_for("%s: the backend to exit" % how,
                          lambda: not run(conn, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (opid,)))
            got = self.wait_for("%s: the scans' ends counted" % how,
                                lambda: (lambda r: r if r and sum(r[0][:3]) == sum(want[0][:3]) else None)
                                (server_counts()))
            check(got == want, "%s: contact_list_fdw_stats (complete, stopped early, failed, requests, "
                               "in flight) %s, expected %s" % (how, got, want))
            logged = run(conn, """SELECT outcome, requests FROM contact_list_fdw_recent_scans
                                   WHERE pid = %s AND server = 'fs_aux_srv'""", (opid,))
            check(sorted(logged) == sorted((("stopped early" if how == "limit" else "error"), 0)
                                           for _ in range(want[0][1] + want[0][2])),
                  "%s: recent_scans rows %s" % (how, logged))
        try:
            one("limit")
            one("cancel")
            if shared:
                one("terminate")
        finally:
            run(conn, "DROP SERVER IF EXISTS fs_aux_srv CASCADE")
            filler.close()
            stalled.close()

    def mass_kill(self, conn):
        # many backends ended at once mid-scan (pg_terminate_backend on all,
        # pg_cancel_backend on all, a mix, a cancel then a terminate), some
        # of them waiting for another session's token fetch or for a request
        # slot: every scan started is counted once by its outcome, and every
        # request as the mock saw it.  The waiters are told first (none goes
        # on), or last (the slot and the fetch are handed on to waiters
        # about to be ended, whose requests may begin).  Two of them are
        # still connecting, to a port that never accepts: nothing of their
        # requests went out, and they count nowhere.  Shared: in
        # contact_list_fdw_stats and recent_scans.  Per-backend (no views,
        # no slots, no shared token): only a cancel leaves a session to ask,
        # its contact_list_fdw_scans().  Rounds, not timings, shake out races.
        shared = not self.per_backend
        self.shared_table(conn, "fs_mk", {"access_token": "fixed-hang"})
        run(conn, "CREATE FOREIGN TABLE fs_mk_async (external_userid text) SERVER fs_mk_srv "
                  "OPTIONS (page_size '5', async_capable 'on')")
        self.shared_table(conn, "fs_mkc", {"access_token": "fixed-hang~cap"},
                          server_options="max_concurrent_requests '1'")
        stalled, filler = self.stalled_server(conn, "fs_mkx_srv", "fixed-hang~stalled")
        run(conn, "CREATE FOREIGN TABLE fs_mkx (external_userid text) SERVER fs_mkx_srv OPTIONS (page_size '5')")
        two = ("SELECT count(*) FROM (SELECT external_userid FROM fs_mk_async "
               "UNION ALL SELECT external_userid FROM fs_mk_async) u")
        servers = ("fs_mk_srv", "fs_mkc_srv", "fs_mkt_srv", "fs_mkx_srv")

        def token_server():
            # a token key of its own each round: no fetch of an earlier
            # round's is remembered for it
            self.shared_table(conn, "fs_mkt", {"corp_id": "corp-hangtoken", "corp_secret": "secret-ok"},
                              fresh_key=True)

        def one(way, rnd):
            how = "%s, round %d (%s told first)" % (way, rnd, "requesters" if rnd % 2 else "waiters")
            token_server()
            reset()
            if shared:
                run(conn, "SELECT contact_list_fdw_stats_reset()")
            # (query, server, scans) of each backend
            plan = ([("SELECT count(*) FROM fs_mk", "fs_mk_srv", 1)] * 3 +
                    [(two, "fs_mk_srv", 2)] * 2 +
                    [("SELECT count(*) FROM fs_mkc", "fs_mkc_srv", 1)] * 3 +
                    [("SELECT count(*) FROM fs_mkt", "fs_mkt_srv", 1)] * 3 +
                    [("SELECT count(*) FROM fs_mkx", "fs_mkx_srv", 1)] * 2)
            nscans = sum(p[2] for p in plan)
            sessions = []
            try:
                for sql, server, scans in plan:
                    c = connect()
                    pid = run(c, "SELECT pg_backend_pid()")[0][0]
                    th, box = self.in_background(lambda c=c, sql=sql: run(c, sql))
                    sessions.append((c, pid, th, box, server, scans))
                pids = [s[1] for s in sessions]
                if shared:
                    # the capped server: one request out, two wait for the
                    # slot; the token: one fetch out, two wait for it
                    want = collections.Counter({"requesting": 11, "waiting for a slot": 2,
                                                "waiting for token": 2})
                    rows = self.wait_for("%s: every scan in flight or waiting" % how,
                                         lambda: (lambda r: r if collections.Counter(x[1] for x in r) == want
                                                  else None)(self.progress_rows(conn, pids)))
                    waiting = {r[0] for r in rows if r[1] != "requesting"}
                    self.wait_for("%s: the mock to see the requests out" % how,
                                  lambda: stats()["contact_list"] == 8 and stats()["gettoken"] == 1)
                else:
                    # each session alone: no cap, a token of its own
                    waiting = set()
                    self.wait_for("%s: the mock to see every request" % how,
                                  lambda: stats()["contact_list"] == 10 and stats()["gettoken"] == 3)
                # and the stalled ones in their transfer, connecting
                stalling = [s[1] for s in sessions if s[4] == "fs_mkx_srv"]
                self.wait_for("%s: the stalled scans to connect" % how,
                              lambda: run(conn, """SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)
                                                      AND wait_event_type = 'Extension'""",
                                          (stalling,))[0][0] == len(stalling))
                order = sorted(pids, key=lambda p: (p not in waiting, p))
                if rnd % 2:
                    order.reverse()
                if way == "terminate":
                    run(conn, "SELECT pg_terminate_backend(p) FROM unnest(%s::int[]) AS p", (order,))
                elif way == "cancel":
                    run(conn, "SELECT pg_cancel_backend(p) FROM unnest(%s::int[]) AS p", (order,))
                elif way == "both":
                    run(conn, "SELECT pg_cancel_backend(p) FROM unnest(%s::int[]) AS p", (order,))
                    run(conn, "SELECT pg_terminate_backend(p) FROM unnest(%s::int[]) AS p", (order,))
                else:
                    run(conn, """SELECT CASE WHEN (k + %s) %% 2 = 0 THEN pg_terminate_backend(p)
                                             ELSE pg_cancel_backend(p) END
                                   FROM unnest(%s::int[]) WITH ORDINALITY AS u(p, k)""", (rnd, order))
                for c, pid, th, box, server, scans in sessions:
                    th.join(30)
                    check(not th.is_alive(), "%s: the scan of backend %d is still running" % (how, pid))
                    check("error" in box, "%s: backend %d's scan returned %s" % (how, pid, box.get("result")))
                if not shared:
                    st = stats()
                    seen = st["contact_list"] + st["gettoken"]
                    # a cancelled session's own log: its scans, each an error
                    got = []
                    for c, pid, th, box, server, scans in sessions:
                        got += run(c, "SELECT outcome, requests, token_fetches FROM contact_list_fdw_scans() "
                                      "ORDER BY scan_id DESC LIMIT %s", (scans,))
                    check(len(got) == nscans and all(g[0] == "error" for g in got),
                          "%s: the sessions' scans %s, %d started" % (how, got, nscans))
                    check(sum(g[1] for g in got) == seen and sum(g[2] for g in got) == st["gettoken"],
                          "%s: the sessions' scans %s, the mock saw %s" % (how, got, st))
                    return
            finally:
                for s in sessions:
                    close_quietly(s[0])
            # every backend gone (a cancelled one closed): its scans' ends counted
            self.wait_for("%s: the backends to exit" % how,
                          lambda: not run(conn, "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)))
            got = dict((r[0], r[1:]) for r in run(conn, """
                SELECT server, scans_complete, scans_stopped_early, scans_failed, requests, token_fetches,
                       requests_in_flight
                  FROM contact_list_fdw_stats WHERE server = ANY(%s) AND datname = current_database()""",
                (list(servers),)))

            def seen_by_server():
                # what the mock saw of each server (its page requests by
                # token), once it is what was counted: a request handed on
                # to a waiter as it was ended may reach the mock after its
                # backend is gone, and the mock's counts only grow
                st = stats()
                seen = {"fs_mk_srv": st["tokens"].count("fixed-hang"),
                        "fs_mkc_srv": st["tokens"].count("fixed-hang~cap"), "fs_mkt_srv": st["gettoken"],
                        "fs_mkx_srv": st["tokens"].count("fixed-hang~stalled")}
                return (st, seen) if all(seen[s] == (got.get(s) or (0,) * 6)[3] for s in servers) else None
            try:
                st, seen_by = self.wait_for("%s: the mock to see the requests counted" % how, seen_by_server)
            except Fail as e:
                raise Fail("%s: counters %s, the mock saw %s" % (e, got, stats()))
            seen = st["contact_list"] + st["gettoken"]
            for server in servers:
                scans = sum(s[5] for s in sessions if s[4] == server)
                want = (0, 0, scans, seen_by[server], st["gettoken"] if server == "fs_mkt_srv" else 0, 0)
                check(got.get(server) == want,
                      "%s: %s's counters (complete, stopped early, failed, requests, token_fetches, "
                      "in flight) %s, expected %s: %d scans started, the mock saw %s"
                      % (how, server, got.get(server), want, scans, st))
            check(sum(g[3] for g in got.values()) == seen, "%s: requests %s, the mock saw %s" % (how, got, st))
            rows = run(conn, """SELECT outcome, requests, token_fetches FROM contact_list_fdw_recent_scans
                                 WHERE pid = ANY(%s)""", (pids,))
            check(len(rows) == nscans and all(r[0] == "error" for r in rows)
                  and sum(r[1] for r in rows) == seen and sum(r[2] for r in rows) == st["gettoken"],
                  "%s: recent_scans rows %s, %d scans started, the mock saw %s" % (how, rows, nscans, st))
        try:
            for rnd in range(4):
                for how in (("cancel",) if not shared else ("terminate", "cancel", "mix", "both")):
                    one(how, rnd)
        finally:
            for srv in servers:
                run(conn, "DROP SERVER IF EXISTS %s CASCADE" % srv)
            filler.close()
            stalled.close()

    def terminate_after_request_not_made(self, conn):
        # a request that took its slot and failed before the transport
        # started it (out of memory) was never seen by the server: it counts
        # nowhere, also when the backend is terminated later with the scan's
        # memory still there (a cursor declared before a savepoint the error
        # rolled back keeps its executor state until the transaction ends)
        mc, c = fault_injection_cluster("notmade")
        other = None
        try:
            ten_a_page_table(c)
            reset()
            other = mc.connect()
            opid = run(other, "SELECT pg_backend_pid()")[0][0]
            run(other, "BEGIN")
            run(other, "DECLARE c CURSOR FOR SELECT external_userid FROM t")
            check(len(run(other, "FETCH 1 FROM c")) == 1, "no first row")
            run(other, "SAVEPOINT s")
            fault_error(other, "FETCH 10 FROM c", "transfer_begins")
            run(other, "ROLLBACK TO SAVEPOINT s")
            run(c, "SELECT pg_terminate_backend(%s)", (opid,))
            self.wait_for("the backend to exit",
                          lambda: not run(c, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (opid,)))
            seen = stats()["contact_list"]
            check(seen == 1, "the mock saw %d contact_list requests" % seen)
            got = run(c, "SELECT requests, requests_in_flight FROM contact_list_fdw_stats WHERE server = 's'")
            check(got == [(1, 0)], "contact_list_fdw_stats %s, the mock saw 1 request" % (got,))
            rows = self.wait_for("the scan's recent_scans row",
                                 lambda: run(c, "SELECT requests, outcome FROM contact_list_fdw_recent_scans "
                                                "WHERE pid = %s", (opid,)))
            check(rows == [(1, "error")], "recent_scans %s, the mock saw 1 request" % (rows,))
        finally:
            close_quietly(other)
            mc.stop()

    def terminate_settled_beside_one_out(self, conn):
        # a backend terminated while one scan's request is out and another
        # scan of the same server sits in an open cursor, its last request
        # settled (answered, or failed before the transport started it):
        # only the request out counts at exit, though the transport says a
        # request of that server is out (the settled scan's mark must be
        # gone, or it would be counted as that one)
        mc, c = fault_injection_cluster("settledbeside")
        try:
            ten_a_page_table(c)
            run(c, "CREATE ROLE clf_hangs")
            run(c, "GRANT SELECT ON t TO clf_hangs")
            run(c, "CREATE USER MAPPING FOR clf_hangs SERVER s OPTIONS (access_token 'fixed-hangonce')")
            for how in ("answered", "never made"):
                reset()
                run(c, "SELECT contact_list_fdw_stats_reset()")
                other = mc.connect()
                try:
                    opid = run(other, "SELECT pg_backend_pid()")[0][0]
                    run(other, "BEGIN")
                    run(other, "DECLARE c CURSOR FOR SELECT external_userid FROM t")
                    check(len(run(other, "FETCH 1 FROM c")) == 1, "%s: no first row" % how)
                    if how == "never made":
                        run(other, "SAVEPOINT s")
                        fault_error(other, "FETCH 10 FROM c", "transfer_begins", how)
                        run(other, "ROLLBACK TO SAVEPOINT s")
                    # the same server, another mapping: its one request hangs
                    run(other, "SET ROLE clf_hangs")
                    th, box = self.in_background(lambda: run(other, "SELECT count(*) FROM t"))
                    self.wait_for("%s: the second scan's request at the mock" % how,
                                  lambda: stats()["contact_list"] == 2)
                    run(c, "SELECT pg_terminate_backend(%s)", (opid,))
                    th.join(20)
                    check(not th.is_alive(), "%s: the hanging scan is still running" % how)
                finally:
                    close_quietly(other)
                self.wait_for("%s: the backend to exit" % how,
                              lambda: not run(c, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (opid,)))
                seen = stats()["contact_list"]
                check(seen == 2, "%s: the mock saw %d contact_list requests" % (how, seen))
                got = run(c, "SELECT requests, requests_in_flight FROM contact_list_fdw_stats WHERE server = 's'")
                check(got == [(2, 0)], "%s: contact_list_fdw_stats %s, the mock saw 2 requests" % (how, got))
        finally:
            mc.stop()

    def async_request_not_made(self, conn):
        # an async scan's request that took its slot and failed before the
        # transport started it (out of memory) was never seen by the server:
        # the error's abort, which counts a request the scan's memory takes
        # with it, counts nothing for it
        mc, c = fault_injection_cluster("asyncnotmade")
        other = None
        two = "SELECT count(*) FROM (SELECT external_userid FROM ta UNION ALL SELECT external_userid FROM ta) u"
        try:
            ten_a_page_table(c)
            run(c, "CREATE FOREIGN TABLE ta (external_userid text) "
                   "SERVER s OPTIONS (page_size '10', async_capable 'on')")
            check_async_children(c, two)
            reset()
            other = mc.connect()
            opid = run(other, "SELECT pg_backend_pid()")[0][0]
            # 25 contacts, 3 pages, for each of the two scans
            check(run(other, two) == [(50,)], "the first query's count")
            fault_error(other, two, "async_transfer_begins")
            seen = stats()["contact_list"]
            check(seen == 6, "the mock saw %d contact_list requests" % seen)
            got = run(c, "SELECT requests, requests_in_flight FROM contact_list_fdw_stats WHERE server = 's'")
            check(got == [(seen, 0)], "contact_list_fdw_stats %s, the mock saw %d requests" % (got, seen))
            rows = self.wait_for("the failed scan's recent_scans row",
                                 lambda: run(c, "SELECT requests, outcome FROM contact_list_fdw_recent_scans "
                                                "WHERE pid = %s AND outcome = 'error'", (opid,)))
            check(rows and all(r[0] == 0 for r in rows),
                  "the failed query's recent_scans rows %s, the mock saw none of its requests" % (rows,))
            done = run(c, "SELECT requests FROM contact_list_fdw_recent_scans "
                          "WHERE pid = %s AND outcome = 'complete'", (opid,))
            check(done == [(3,), (3,)], "the first query's recent_scans rows %s" % (done,))
        finally:
            close_quietly(other)
            mc.stop()

    def async_done_uncollected(self, conn):
        # an asynchronous scan's transfer that libcurl finished but nobody
        # had collected when the scan's memory went (an error in between)
        # counts as a synchronous scan counts it: a refused connect is one
        # request either way, though none of it went out
        mc, c = fault_injection_cluster("asyncdone", preload=False if self.per_backend else None)
        refused = socket.socket()
        refused.bind(("127.0.0.1", 0))
        port = refused.getsockname()[1]
        refused.close()     # nobody listens there: a connect is refused at once
        try:
            run(c, "CREATE SERVER r FOREIGN DATA WRAPPER contact_list_fdw "
                   "OPTIONS (api_url %s, max_retries '0')", ("http://127.0.0.1:%d/cgi-bin" % port,))
            run(c, "CREATE USER MAPPING FOR public SERVER r OPTIONS (access_token 'fixed-basic')")
            run(c, "CREATE FOREIGN TABLE rs (external_userid text) SERVER r")
            run(c, "CREATE FOREIGN TABLE ra (external_userid text) SERVER r OPTIONS (async_capable 'on')")
            scan_error(c, "SELECT count(*) FROM rs")
            sync = run(c, "SELECT outcome, requests FROM contact_list_fdw_scans() "
                          "WHERE foreign_table = 'rs'::regclass")
            check(sync == [("error", 1)], "the synchronous scan's contact_list_fdw_scans() rows %s" % sync)
            two = "SELECT count(*) FROM (SELECT external_userid FROM ra UNION ALL SELECT external_userid FROM ra) u"
            check_async_children(c, two)
            # the first child whose connect is refused fails there; the
            # other has not begun (no row), or is still connecting
            fault_error(c, two, "async_transfer_done")
            got = run(c, "SELECT outcome, requests FROM contact_list_fdw_scans() "
                         "WHERE foreign_table = 'ra'::regclass ORDER BY requests")
            check(got and got[-1] == ("error", 1) and all(r == ("error", 0) for r in got[:-1]),
                  "the asynchronous scans' contact_list_fdw_scans() rows %s, expected one refused "
                  "request between them" % got)
            if not self.per_backend:
                server = run(c, "SELECT requests, requests_in_flight FROM contact_list_fdw_stats "
                                "WHERE server = 'r'")
                check(server == [(2, 0)], "contact_list_fdw_stats %s, expected 2 refused requests" % server)
        finally:
            mc.stop()

    def curl_init_failed(self, conn):
        # libcurl failing to start fails the library's load; the session's
        # next LOAD or query runs _PG_init again, which must start from
        # nothing: not find its settings defined by the failed attempt
        mc, c = fault_injection_cluster("curlinit", preload=False)
        try:
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            fresh = mc.connect()
            run(fresh, "SET clf_fault.point = 'curl_global_init'")
            for attempt in (1, 2):
                e = scan_error(fresh, "LOAD 'contact_list_fdw'")
                check(e.pgcode == "HV000" and (e.diag.message_primary or "").startswith("could not initialize libcurl"),
                      "load %d failed with %s: %s" % (attempt, e.pgcode, error_text(e)))
            run(fresh, "RESET clf_fault.point")
            rows = run(fresh, "SELECT count(*) FROM t")
            check(rows == [(25,)], "after the failed loads: %s" % rows)
            setting = run(fresh, "SHOW contact_list_fdw.retry_delay_ms")
            check(setting and setting[0][0], "the settings are not defined: %s" % setting)
            fresh.close()
        finally:
            mc.stop()

    def digest_unavailable(self, conn):
        # the server's OpenSSL unable to give SHA-256 (here a configuration
        # whose default properties no algorithm of its default provider
        # meets; its random numbers still work, so sessions start): the scan,
        # which keys the token caches by a digest of the secret, fails with
        # XX000 saying so and where to look, shows nothing of the secret,
        # and the session goes on
        cnf = os.path.join(WORK, "openssl-without-sha256.cnf")
        with open(cnf, "w") as f:
            f.write("openssl_conf = openssl_init\n[openssl_init]\nalg_section = evp_properties\n"
                    "random = random_sect\n[evp_properties]\ndefault_properties = \"fips=yes\"\n"
                    "[random_sect]\nproperties = \"fips=no\"\n")
        os.chmod(cnf, 0o644)
        mc = MiniCluster("nodigest", env={"OPENSSL_CONF": cnf})
        try:
            c = mc.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            secret_table(c)
            e = scan_error(c, "SELECT count(*) FROM t")
            check(e.pgcode == "XX000"
                  and (e.diag.message_primary or "").startswith("could not compute a SHA-256 digest: "),
                  "the scan: %s %s" % (e.pgcode, error_text(e)))
            check("OPENSSL_CONF" in (e.diag.message_hint or ""), "hint: %s" % e.diag.message_hint)
            check("secret-ok" not in error_text(e), "the secret is in the error: %s" % error_text(e))
            check(run(c, "SELECT 1") == [(1,)], "the session after the error")
            leaked = [l for l in mc.log().splitlines() if "still referenced" in l or "was not closed" in l]
            check(not leaked, "the digest's context was not given back: %s" % leaked)
        finally:
            mc.stop()

    def request_out_of_memory(self, conn):
        # out of memory while a request is made (libcurl's copy of a header,
        # its escaped parameters) fails the scan with 53200 and a detail
        # that says what needed it; the next query gets every row
        mc, c = fault_injection_cluster("requestoom")
        try:
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            for point, detail in (
                    ("request_headers", "The request for page 1 of %s/externalcontact/contact_list could not "
                                        "be set up: libcurl ran out of memory for its headers." % API),
                    ("url_escape", "The URL for %s/externalcontact/contact_list could not be built: libcurl ran "
                                   "out of memory escaping its parameters." % API)):
                sql = "SELECT count(*) FROM t"
                run(c, "SET clf_fault.point = %s", (point,))
                e = scan_error(c, sql)
                run(c, "RESET clf_fault.point")
                check(e.pgcode == "53200" and e.diag.message_primary == "out of memory"
                      and e.diag.message_detail == detail,
                      "%s: %s %s" % (point, e.pgcode, error_text(e)))
                got = run(c, sql)
                check(got == [(25,)], "%s: after the failure: %s" % (point, got))
            # the gettoken URL carries the secret: the detail names the
            # URL without its parameters
            secret_table(c, server="s2", table="t2")
            run(c, "SET clf_fault.point = 'url_escape'")
            e = scan_error(c, "SELECT count(*) FROM t2")
            run(c, "RESET clf_fault.point")
            check(e.pgcode == "53200" and e.diag.message_detail ==
                  "The URL for %s/gettoken could not be built: libcurl ran out of memory escaping its "
                  "parameters." % API and "secret-ok" not in error_text(e),
                  "gettoken: %s %s" % (e.pgcode, error_text(e)))
            got = run(c, "SELECT count(*) FROM t2")
            check(got == [(25,)], "gettoken: after the failure: %s" % got)
        finally:
            mc.stop()

    def watch_socket_out_of_memory(self, conn):
        # no memory to wait on one more of libcurl's sockets fails the scan
        # as what it is, not as libcurl's "aborted by an application
        # callback", and the connection made afresh serves the next query
        mc, c = fault_injection_cluster("watchsock")
        try:
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            run(c, "CREATE FOREIGN TABLE ta (external_userid text) SERVER s OPTIONS (async_capable 'on')")
            plain = "SELECT count(*) FROM t"
            both = "SELECT count(*) FROM (SELECT external_userid FROM ta UNION ALL SELECT external_userid FROM ta) u"
            check_async_children(c, both)
            for sql, message in ((plain, "out of memory"), (both, "could not wait on a socket of the request for ")):
                run(c, "SET clf_fault.point = 'watch_socket'")
                e = scan_error(c, sql)
                run(c, "RESET clf_fault.point")
                text = error_text(e)
                check(e.pgcode == "53200" and (e.diag.message_primary or "").startswith(message)
                      and "page 1 of " in text and "callback" not in text,
                      "%s: %s %s" % (sql, e.pgcode, text))
                if message == "out of memory":
                    check("could not get the memory to wait on another of libcurl's sockets" in text,
                          "the detail does not say what needed the memory: %s" % text)
                got = run(c, sql)
                check(got == [(25 if sql == plain else 50,)], "%s after the failure: %s" % (sql, got))
        finally:
            mc.stop()

    def async_pair(self, conn, fast, fast_token, slow, slow_token, slow_page_size):
        """Two async-capable tables, each on a server of its own (NAME_srv):
        fast pages of 5 rows, and slow ones of slow_page_size."""
        self.shared_table(conn, fast, {"access_token": fast_token},
                          table_options="page_size '5', async_capable 'on'")
        self.shared_table(conn, slow, {"access_token": slow_token},
                          table_options="page_size '%d', async_capable 'on'" % slow_page_size)

    def drop_servers(self, conn, *tables):
        for table in tables:
            run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % table)

    def dropped_at_end_counted(self, conn):
        # a LIMIT ends an async Append while its slow child's request is in
        # flight: the request is dropped at the scan's end, and the scan's
        # row of recent_scans counts it as contact_list_fdw_stats does, with
        # no bytes, though half its body had come (the other child answers
        # after 150 ms, the slow one's first half at once)
        self.async_pair(conn, "fs_ldf", "fixed-slowbusy", "fs_lds", "fixed-slowtail", 5)
        reset()
        run(conn, "SELECT contact_list_fdw_stats_reset()")
        other = connect()
        try:
            opid = run(other, "SELECT pg_backend_pid()")[0][0]
            got = run(other, "SELECT * FROM (SELECT external_userid FROM fs_ldf UNION ALL "
                             "SELECT external_userid FROM fs_lds) u LIMIT 1")
            check(len(got) == 1, "LIMIT 1: %s" % (got,))
            server = run(conn, """SELECT requests, requests_in_flight, bytes FROM contact_list_fdw_stats
                                   WHERE server = 'fs_lds_srv' AND datname = current_database()""")
            seen = self.wait_for("the mock to see the slow child's request",
                                 lambda: stats()["tokens"].count("fixed-slowtail"))
            check(seen == 1, "the mock saw %d requests of the slow child, expected 1" % seen)
            check(server == [(1, 0, 0)], "the slow server's requests, in flight, bytes: %s" % server)
            rows = self.wait_for("the slow scan's recent_scans row",
                                 lambda: run(conn, """SELECT requests, bytes, outcome FROM contact_list_fdw_recent_scans
                                                       WHERE pid = %s AND server = 'fs_lds_srv'""", (opid,)))
            check(rows == [(1, 0, "stopped early")], "the slow scan's row: %s" % rows)
        finally:
            other.close()
            self.drop_servers(conn, "fs_ldf", "fs_lds")

    def cap_added_behind_counted(self, conn):
        # an open cursor's asynchronous request to a server without a cap is
        # counted, took no slot, and is out until the cursor is read again:
        # a cap of 1 added then holds from the next request on, so neither
        # another session's scan nor a plain scan of the cursor's own
        # session waits for it (statement_timeout ends what would)
        self.async_pair(conn, "fs_caf", "fixed-basic", "fs_cas", "fixed-slow", 25)
        reset()
        holder, other = connect(), connect()
        try:
            run(holder, "BEGIN")
            run(holder, "DECLARE c CURSOR FOR SELECT external_userid FROM fs_caf "
                        "UNION ALL SELECT external_userid FROM fs_cas")
            got = run(holder, "FETCH 1 FROM c")
            check(len(got) == 1, "FETCH 1: %s" % (got,))
            out = self.requests_in_flight(conn, "fs_cas_srv")
            check(out == 1, "the cursor's request to the uncapped server: requests_in_flight %s" % out)
            run(conn, "ALTER SERVER fs_cas_srv OPTIONS (ADD max_concurrent_requests '1')")
            run(other, "SET statement_timeout = '10s'")
            got = run(other, "SELECT count(*) FROM fs_cas")
            check(got == [(25,)], "another session's scan under the new cap: %s" % got)
            run(holder, "SET LOCAL statement_timeout = '10s'")
            got = run(holder, "SELECT count(*) FROM fs_cas")
            check(got == [(25,)], "the cursor's session's own scan under the new cap: %s" % got)
            got = run(holder, "FETCH ALL FROM c")
            check(len(got) == 49, "the cursor's other rows: %d" % len(got))
            run(holder, "COMMIT")
            out = self.requests_in_flight(conn, "fs_cas_srv")
            check(out == 0, "requests_in_flight after: %s" % out)
        finally:
            holder.close()
            other.close()
            self.drop_servers(conn, "fs_caf", "fs_cas")

    def shared_cancel(self, conn):
        self.shared_table(conn, "fs_one", {"access_token": "fixed-hangonce"},
                          server_options="max_concurrent_requests '1'")
        reset()
        holder, hpid, hth, hbox, waiter, wpid, wth, wbox = self.slot_holders(conn, "fs_one")
        # a third, cancelled while it waits for the slot
        third = connect()
        tpid = run(third, "SELECT pg_backend_pid()")[0][0]
        tth, tbox = self.in_background(lambda: scan(third, "fs_one"))
        self.wait_for("the third scan to wait for a slot",
                      lambda: any(r[1] == "waiting for a slot" for r in self.progress_rows(conn, [tpid])))
        run(conn, "SELECT pg_cancel_backend(%s)", (tpid,))
        tth.join(20)
        check("error" in tbox and tbox["error"].pgcode == "57014", "the waiting scan: %s" % tbox)
        # then the one holding the slot, mid-request
        run(conn, "SELECT pg_cancel_backend(%s)", (hpid,))
        hth.join(20)
        wth.join(30)
        check(not hth.is_alive() and not wth.is_alive(), "a scan is still running")
        check("error" in hbox and hbox["error"].pgcode == "57014", "the cancelled scan: %s" % hbox)
        check("error" not in wbox, "the waiting scan failed: %s" % wbox.get("error"))
        check(collections.Counter(wbox["result"]) == self.clean, "the waiting scan's rows differ")
        check(not self.progress_rows(conn, [hpid, wpid, tpid]), "rows left behind")
        inflight = run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats WHERE server = 'fs_one_srv'")
        check(inflight == [(0,)], "in flight after: %s" % inflight)
        # the cancelled sessions go on working, with the slot
        check(run(holder, "SELECT count(*) FROM fs_one") == [(25,)], "the cancelled session's next scan")
        check(run(third, "SELECT count(*) FROM fs_one") == [(25,)], "the third session's next scan")
        for c in (holder, waiter, third):
            c.close()

    @staticmethod
    def requests_in_flight(conn, server):
        got = run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats "
                        "WHERE server = %s AND datname = current_database()", (server,))
        return got[0][0] if got else None

    def uncapped_in_flight(self, conn):
        # requests_in_flight counts the requests out now of a server without
        # max_concurrent_requests too (no slot taken): while a slow page is
        # asked (3 s), and back to 0 when it is answered, cancelled, its
        # backend terminated, or an async child's request is in flight
        self.shared_table(conn, "fs_unc", {"access_token": "fixed-slow"}, table_options="page_size '25'")
        run(conn, "CREATE FOREIGN TABLE fs_unc_async (external_userid text) SERVER fs_unc_srv "
                  "OPTIONS (page_size '25', async_capable 'on')")

        def one(how):
            other = connect()
            opid = run(other, "SELECT pg_backend_pid()")[0][0]
            sql = ("SELECT count(*) FROM (SELECT external_userid FROM fs_unc_async "
                   "UNION ALL SELECT external_userid FROM fs_unc_async) u" if how == "async"
                   else "SELECT count(*) FROM fs_unc")
            want = 2 if how == "async" else 1
            th, box = self.in_background(lambda: run(other, sql))
            try:
                self.wait_for("%s: %d request(s) in flight" % (how, want),
                              lambda: self.requests_in_flight(conn, "fs_unc_srv") == want, seconds=2.5)
                if how == "cancel":
                    run(conn, "SELECT pg_cancel_backend(%s)", (opid,))
                elif how == "terminate":
                    run(conn, "SELECT pg_terminate_backend(%s)", (opid,))
                th.join(20)
                check(not th.is_alive(), "%s: the scan is still running" % how)
                if how in ("cancel", "terminate"):
                    check("error" in box, "%s: the scan returned %s" % (how, box.get("result")))
                else:
                    check(box.get("result") == [(25 * want,)], "%s: the scan: %s" % (how, box))
                self.wait_for("%s: the backend's progress rows to go" % how,
                              lambda: not self.progress_rows(conn, [opid]), seconds=10)
                got = self.requests_in_flight(conn, "fs_unc_srv")
                check(got == 0, "%s: requests_in_flight %s after the scan" % (how, got))
            finally:
                try:
                    other.close()
                except psycopg2.Error:
                    pass
        try:
            for how in ("answered", "cancel", "terminate", "async"):
                one(how)
        finally:
            run(conn, "DROP SERVER IF EXISTS fs_unc_srv CASCADE")

    def shared_stats(self, conn):
        # the counters of one server against the mock's own
        run(conn, "SELECT contact_list_fdw_stats_reset()")
        set_mapping(conn, corp_id="corp-busy2", corp_secret="secret-ok")
        reset()
        rows = scan(conn)
        check(collections.Counter(rows) == self.clean, "rows differ")
        check(len(run(conn, "SELECT * FROM fs_contacts LIMIT 3")) == 3, "LIMIT 3")
        set_mapping(conn, access_token="fixed-e48002")
        scan_error(conn)
        st = stats()
        got = run(conn, """SELECT scans_complete, scans_stopped_early, scans_failed, pages, rows,
                                  requests, retries, retries_errcode, retries_http, retries_transport,
                                  retry_causes::text, token_fetches, bytes > 0, network_ms > 0,
                                  requests_in_flight
                             FROM contact_list_fdw_stats WHERE server = 'fs' AND datname = current_database()""")
        check(len(got) == 1, "stats rows for fs: %s (all: %s)" % (
            got, run(conn, "SELECT datname, server FROM contact_list_fdw_stats")))
        g = got[0]
        # busy2: 2 retries then 5 pages; LIMIT 3: one page; e48002: one failed request
        want = (1, 1, 1, 6, 28, st["contact_list"] + st["gettoken"], 2, 2, 0, 0,
                '{"errcode -1": 2}', st["gettoken"], True, True, 0)
        check(g == want, "stats %s, expected %s (mock: %d contact_list, %d gettoken)" % (
            g, want, st["contact_list"], st["gettoken"]))
        check(st["contact_list"] == 9, "the mock saw %d contact_list requests" % st["contact_list"])

    # -- shared tokens under failure (issue 14: 1, 3)

    def concurrent_scans(self, n, sql, before=None, warm=None):
        """n sessions run sql at once: [(seconds, result or psycopg2 error)].
        warm: run in each session first, so that the times do not count its
        first use of the wrapper."""
        conns = [connect() for _ in range(n)]
        for c in conns:
            if warm:
                run(c, warm)
        if before:
            before()
        barrier = threading.Barrier(n)
        out = [None] * n

        def worker(i):
            barrier.wait()
            t = time.monotonic()
            try:
                r = run(conns[i], sql)
            except psycopg2.Error as e:
                r = e
            out[i] = (time.monotonic() - t, r)
        ths = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        for c in conns:
            c.close()
        return out

    def token_failure_shared(self, conn, shared=True, scenario="slowfail", errcode="40001", table="fs_fail",
                             server_options=""):
        # gettoken answers errcode after 1 s: in series that is 10 s for 10 sessions
        n = 10
        self.shared_table(conn, table, {"corp_id": "corp-" + scenario, "corp_secret": "secret-ok"},
                          server_options=server_options)
        reset()
        got = self.concurrent_scans(n, "SELECT count(*) FROM " + table,
                                    warm="EXPLAIN SELECT count(*) FROM " + table)
        took = max(t for t, _ in got)
        errors = [r for _, r in got if isinstance(r, psycopg2.Error)]
        check(len(errors) == n, "%d of %d sessions failed: %s" % (len(errors), n, got))
        check(all(errcode in e.diag.message_primary for e in errors),
              "errors: %s" % [error_text(e) for e in errors if errcode not in e.diag.message_primary][:1])
        calls = stats()["gettoken"]
        # one after another they would take 10 s at least (the mock sleeps 1 s each time)
        check(took < 0.6 * n * 1.0, "%d sessions took %.1f s against one failing gettoken of 1 s" % (n, took))
        print("# %d sessions against a gettoken failing after 1 s: %.1f s, %d gettoken calls"
              % (n, took, calls))
        if not shared:
            # alone, nobody waits for anybody, and nobody is told of a shared failure
            check(calls == n, "%d gettoken calls, expected %d" % (calls, n))
            check(not any("shared" in (e.diag.message_detail or "") for e in errors),
                  "a shared failure in per-backend mode: %s" % error_text(errors[0]))
            return
        check(calls <= 2, "%d gettoken calls for one backoff window, expected 1 (at most 2)" % calls)
        told = [e for e in errors if "shared" in (e.diag.message_detail or "")]
        check(len(told) >= n - calls, "only %d errors say they are shared: %s" % (
            len(told), [error_text(e) for e in errors]))
        own = [e for e in errors if e not in told]
        check(own, "no session got the failing fetch's own error")
        check(all(e.pgcode == own[0].pgcode and e.diag.message_primary == own[0].diag.message_primary
                  and e.diag.message_hint == own[0].diag.message_hint
                  and (e.diag.message_detail or "").startswith(own[0].diag.message_detail or "")
                  for e in told),
              "the shared error is not the fetch's own: %s %s / %s %s" % (
                  told[0].pgcode, error_text(told[0]), own[0].pgcode, error_text(own[0])))
        # a caller inside the backoff gets it too, at once, without a gettoken
        t = time.monotonic()
        e = scan_error(conn, "SELECT count(*) FROM " + table)
        check(time.monotonic() - t < 0.5, "a caller in the backoff waited %.1f s" % (time.monotonic() - t))
        check(errcode in e.diag.message_primary and "shared" in (e.diag.message_detail or ""),
              "a caller in the backoff: %s" % error_text(e))
        check(stats()["gettoken"] == calls, "a caller in the backoff called gettoken")
        # and the backoff ends: one caller asks gettoken again
        self.wait_for("the backoff to end", lambda: "shared" not in (
            scan_error(conn, "SELECT count(*) FROM " + table).diag.message_detail or ""), seconds=40)
        check(stats()["gettoken"] == calls + 1, "after the backoff: %d gettoken calls, expected %d" % (
            stats()["gettoken"], calls + 1))

    def token_own_failure_not_shared(self, conn, scenario="hangtoken", answer="timed out", timeout_ms=300):
        # a gettoken that times out (or that WeCom answers with its rate
        # limit, class 53 as out of memory is), and whose report then runs
        # out of memory (redacting its message), failed for this backend's
        # own reason: the next session, inside what a gettoken failure's
        # backoff would be, is not handed "out of memory" as gettoken's
        # answer; it asks gettoken itself and gets gettoken's own error
        mc, c = fault_injection_cluster("ownfail")
        other = None
        try:
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw "
                   "OPTIONS (api_url %s, timeout_ms %s, max_retries '0')", (API, str(timeout_ms)))
            run(c, "CREATE USER MAPPING FOR public SERVER s "
                   "OPTIONS (corp_id %s, corp_secret 'secret-ok')", ("corp-" + scenario,))
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            other = mc.connect()
            reset()
            fault_error(c, "SELECT count(*) FROM t", "redact_forms")
            check(stats()["gettoken"] == 1, "%d gettoken calls before the fault, expected 1" % stats()["gettoken"])
            # at once: a shared failure is kept for 2 s
            e = scan_error(other, "SELECT count(*) FROM t")
            check(e.pgcode != "53200" and answer in e.diag.message_primary,
                  "the next session got SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            check(stats()["gettoken"] == 2, "the next session made %d gettoken calls, expected its own"
                  % (stats()["gettoken"] - 1))
        finally:
            close_quietly(other)
            mc.stop()

    def token_cache_entry_fails(self, conn):
        # a token too long to share goes to the session's own cache; an
        # error while its entry is made (out of memory) leaves nothing of
        # the entry behind: TopMemoryContext does not grow with each one
        mc, c = fault_injection_cluster("cacheentry")
        try:
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE USER MAPPING FOR public SERVER s "
                   "OPTIONS (corp_id 'corp-bigtoken', corp_secret 'secret-ok')")
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            top = ("SELECT sum(used_bytes) FROM pg_backend_memory_contexts "
                   "WHERE name = 'TopMemoryContext'")
            for _ in range(20):
                fault_error(c, "SELECT count(*) FROM t", "token_cache_entry")
            before = run(c, top)[0][0]
            n = 300
            for _ in range(n):
                fault_error(c, "SELECT count(*) FROM t", "token_cache_entry")
            grew = run(c, top)[0][0] - before
            check(grew < 16 * n, "TopMemoryContext grew by %d bytes over %d failed cache entries" % (grew, n))
            check(run(c, "SELECT count(*) FROM t") == [(25,)], "rows once the fault is gone")
        finally:
            mc.stop()

    def scan_callback_fails(self, conn):
        # a scan's start that fails before the callback ending its entry
        # with its memory is in place leaves no entry behind: one left
        # "running" would read its counters from the freed memory
        mc, c = fault_injection_cluster("scancallback")
        try:
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE USER MAPPING FOR public SERVER s OPTIONS (access_token 'fixed-basic')")
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            for _ in range(3):
                fault_error(c, "SELECT count(*) FROM t", "scan_callback")
            outcomes = [r[0] for r in run(c, "SELECT outcome FROM contact_list_fdw_scans() ORDER BY scan_id")]
            check("running" not in outcomes, "entries of the failed starts: %s" % outcomes)
            check(run(c, "SELECT count(*) FROM t") == [(25,)], "rows once the fault is gone")
            outcomes = [r[0] for r in run(c, "SELECT outcome FROM contact_list_fdw_scans() ORDER BY scan_id")]
            check(outcomes[-1:] == ["complete"] and "running" not in outcomes, "entries: %s" % outcomes)
        finally:
            mc.stop()

    def long_value_error(self, conn):
        # a value of megabytes that does not fit its column: PostgreSQL's
        # input function quotes it whole in its message; the scan's record
        # keeps the message's start, redacted, and only that start is read.
        # Redacting all of it (8,000,000 backslashes, each the start of an
        # escape) took some 25 s, which no cancel could cut short.
        run(conn, "DROP SERVER IF EXISTS fs_long_srv CASCADE")
        run(conn, "CREATE SERVER fs_long_srv FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
        set_mapping(conn, server="fs_long_srv", corp_id="corp-longvalue", corp_secret="secret-ok")
        run(conn, "CREATE FOREIGN TABLE fs_long (name boolean) SERVER fs_long_srv")
        try:
            t = time.monotonic()
            e = scan_error(conn, "SELECT name FROM fs_long")
            took = time.monotonic() - t
            quoted = 'invalid input syntax for type boolean: "' + "\\" * 10
            check(e.pgcode == "22P02" and e.diag.message_primary.startswith(quoted)
                  and len(e.diag.message_primary) > 8000000,
                  "SQLSTATE %s: %.200s" % (e.pgcode, e.diag.message_primary))
            got = run(conn, "SELECT outcome, error FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT 1")
            check(got[0][0] == "error" and got[0][1].startswith(quoted) and len(got[0][1].encode()) < 500,
                  "the scan's record: %.200s" % (got,))
            # the page's 16 MB take well under a second: the bound leaves a loaded machine room
            check(took < 5, "the scan took %.1f s to fail on a value of 8 MB" % took)
            print("# an 8 MB value quoted in a conversion error: %.1f s" % took, flush=True)
        finally:
            run(conn, "DROP SERVER fs_long_srv CASCADE")

    def token_failure_own_server(self, conn):
        # two servers with the same api_url and credentials (a wrong
        # secret): the second server's scan, inside the first one's
        # backoff, is not told of a failure that names the first server;
        # it asks gettoken itself and names its own
        for name in ("fs_fo1", "fs_fo2"):
            self.shared_table(conn, name, {"corp_id": "corp-basic", "corp_secret": "wrong-secret"})
        reset()
        first = scan_error(conn, "SELECT count(*) FROM fs_fo1")
        check('"fs_fo1_srv"' in first.diag.message_primary, "the first scan: %s" % error_text(first))
        second = scan_error(conn, "SELECT count(*) FROM fs_fo2")
        check('"fs_fo2_srv"' in second.diag.message_primary,
              "a scan of fs_fo2_srv got the failure of fs_fo1_srv: %s" % error_text(second))
        check(stats()["gettoken"] == 2, "%d gettoken calls, expected one per server" % stats()["gettoken"])
        # a failure is still shared with its own server's scans, at once
        again = scan_error(conn, "SELECT count(*) FROM fs_fo2")
        check("shared" in (again.diag.message_detail or "") and '"fs_fo2_srv"' in again.diag.message_primary,
              "fs_fo2_srv inside its backoff: %s" % error_text(again))
        check(stats()["gettoken"] == 2, "a scan inside its server's backoff called gettoken")

    def token_refresh_ahead(self, conn):
        # expires_in 20: refresh due after 10 s; a refresh takes 3 s
        n = 20
        self.shared_table(conn, "fs_rf", {"corp_id": "corp-slowrefresh", "corp_secret": "secret-ok"})
        reset()
        check(run(conn, "SELECT count(*) FROM fs_rf") == [(25,)], "the first scan")
        fetched = time.monotonic()
        check(stats()["gettoken"] == 1, "the first scan made %d gettoken calls" % stats()["gettoken"])
        old = stats()["tokens"][0]

        def until_due():
            time.sleep(max(0.0, fetched + 10.5 - time.monotonic()))
        got = self.concurrent_scans(n, "SELECT count(*) FROM fs_rf", before=until_due,
                                    warm="EXPLAIN SELECT count(*) FROM fs_rf")
        check(time.monotonic() < fetched + 19, "too slow to test: the old token may have expired")
        check(all(r == [(25,)] for _, r in got), "results: %s" % [r for _, r in got if r != [(25,)]][:3])
        st = stats()
        check(st["gettoken"] == 2, "%d gettoken calls, expected 2 (the first and one refresh)" % st["gettoken"])
        # One scan refreshed (3 s at the mock) and used the new token; the
        # others did not wait for it: their first pages, at least, went out
        # with the old one (waiting, none would have).  Later pages of a slow
        # scan may take the new token once it is there.
        used = collections.Counter("old" if t == old else "new" for t in st["tokens"][5:])
        check(used["old"] >= n - 1 and used["new"] >= 5 and sum(used.values()) == n * 5,
              "requests by token: %s; expected at least %d with the old one" % (dict(used), n - 1))
        times = sorted(t for t, _ in got)
        check(times[-1] > 2.5, "no scan waited for the refresh: %s" % times)
        print("# 20 scans at refresh_at: median %.2f s; %d requests with the old token; the scan that "
              "refreshed: %.2f s" % (times[n // 2], used["old"], times[-1]))

    def token_refresh_fails(self, conn):
        # a refresh that fails fails its own scan only; the old token serves on
        n = 10
        self.shared_table(conn, "fs_rff", {"corp_id": "corp-failrefresh", "corp_secret": "secret-ok"})
        reset()
        check(run(conn, "SELECT count(*) FROM fs_rff") == [(25,)], "the first scan")
        fetched = time.monotonic()

        def until_due():
            time.sleep(max(0.0, fetched + 10.5 - time.monotonic()))
        got = self.concurrent_scans(n, "SELECT count(*) FROM fs_rff", before=until_due,
                                    warm="EXPLAIN SELECT count(*) FROM fs_rff")
        ended = time.monotonic()
        failed = [r for _, r in got if isinstance(r, psycopg2.Error)]
        check(len(failed) == 1 and "40001" in failed[0].diag.message_primary,
              "%d scans failed, expected the one that refreshed: %s" % (
                  len(failed), [error_text(e) for e in failed][:2]))
        check(sum(r == [(25,)] for _, r in got) == n - 1, "results: %s" % [r for _, r in got])
        check(stats()["gettoken"] == 2, "%d gettoken calls, expected 2" % stats()["gettoken"])
        # in the backoff (2 s from the failure, which ended the batch), the
        # old token still serves, without a gettoken
        if time.monotonic() - ended > 1.5:
            raise Skip("too slow to test: the backoff may have ended")
        check(run(conn, "SELECT count(*) FROM fs_rff") == [(25,)], "a scan in the backoff")
        check(time.monotonic() < fetched + 19, "too slow to test: the old token may have expired")
        check(stats()["gettoken"] == 2, "a scan in the backoff called gettoken")

    def token_wait_budget(self, conn):
        # a server with timeout_ms 500 waits no 3 s for another server's fetch
        # of the same key: after its 500 ms it takes the fetch over, as it
        # would alone, and its own gettoken times out after its own 500 ms
        self.shared_table(conn, "fs_slowtok", {"corp_id": "corp-slowtoken", "corp_secret": "secret-ok"})
        self.shared_table(conn, "fs_quick", {"corp_id": "corp-slowtoken", "corp_secret": "secret-ok"},
                          server_options="timeout_ms '500', max_retries '0'")
        reset()
        a = connect()
        apid = run(a, "SELECT pg_backend_pid()")[0][0]
        t0 = time.monotonic()
        th, box = self.in_background(lambda: run(a, "SELECT count(*) FROM fs_slowtok"))
        try:
            self.wait_for("the slow fetch to start", lambda: any(
                r[1] == "requesting" for r in self.progress_rows(conn, [apid])))
            t = time.monotonic()
            e = scan_error(conn, "SELECT count(*) FROM fs_quick")
            waited = time.monotonic() - t
        finally:
            th.join(30)
        took = time.monotonic() - t0
        check("error" not in box and box.get("result") == [(25,)], "the slow fetch's scan: %s" % box)
        check("gettoken" in e.diag.message_primary and "timed out" in e.diag.message_primary
              and "another session" not in e.diag.message_primary,
              "not its own gettoken's timeout: %s" % error_text(e))
        check(e.pgcode == "HV00N", "SQLSTATE %s" % e.pgcode)
        check(0.9 < waited < 0.5 * took, "the waiter took %.1f s of the fetch's %.1f s, expected its "
              "500 ms wait and its own 500 ms gettoken" % (waited, took))
        # the mock counts a gettoken when it answers: the waiter's, 3 s after it came
        self.wait_for("the waiter's gettoken", lambda: stats()["gettoken"] >= 2, seconds=5)
        check(stats()["gettoken"] == 2, "%d gettoken calls, expected the slow one and the waiter's"
              % stats()["gettoken"])
        a.close()

    def slow_token_server(self, conn, name, timeout_ms, page_size):
        """Server NAME_srv on corp-slowtoken (gettoken answers after 3 s),
        timeout_ms and no retry, its async table NAME: at a spelling of the
        mock's host of its own, a token key no case has fetched (with a
        cached token nothing would wait)."""
        host = fresh_localhost()
        run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)
        run(conn, "CREATE SERVER %s_srv FOREIGN DATA WRAPPER contact_list_fdw "
                  "OPTIONS (api_url %%s, timeout_ms '%d', max_retries '0')" % (name, timeout_ms),
            ("http://%s:%d/cgi-bin" % (host, MOCK_PORT),))
        set_mapping(conn, server=name + "_srv", corp_id="corp-slowtoken", corp_secret="secret-ok")
        run(conn, "CREATE FOREIGN TABLE %s (external_userid text) "
                  "SERVER %s_srv OPTIONS (page_size '%d', async_capable 'on')" % (name, name, page_size))

    def slow_token_tables(self, conn, prefix, secret, timeout_ms):
        """PREFIX1, async on a fixed token; PREFIX2, async on corp-slowtoken
        (gettoken answers after 3 s) with secret; PREFIXb, the same
        credentials read at once, with timeout_ms and no retry."""
        mapping = {"corp_id": "corp-slowtoken", "corp_secret": secret}
        self.shared_table(conn, prefix + "1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        self.shared_table(conn, prefix + "2", mapping, table_options="page_size '5', async_capable 'on'")
        self.shared_table(conn, prefix + "b", mapping,
                          server_options="timeout_ms '%s', max_retries '0'" % timeout_ms)

    def token_wait_idle_cursor(self, conn):
        # a cursor's async scan claimed a gettoken and went idle
        # (nobody polls it: the answer is never read); another session with
        # the same credentials waits its budget, then fetches for everyone
        # (secret-ok2: a token key of its own, no case fetched it before)
        self.slow_token_tables(conn, "fs_ic", "secret-ok2", "3500")
        reset()
        a = connect()
        b = connect()
        try:
            self.idle_cursor_claiming(a, "fs_ic")
            run(b, "SET statement_timeout = '15s'")
            t = time.monotonic()
            try:
                got = run(b, "SELECT count(*) FROM fs_icb")
            except psycopg2.Error as e:
                raise Fail("another session's scan failed behind the idle cursor's claim after %.1f s: %s"
                           % (time.monotonic() - t, error_text(e)))
            took = time.monotonic() - t
            check(got == [(25,)], "the other session's scan: %s" % got)
            # its 3.5 s budget, then its own gettoken (3 s at the mock)
            check(took < 10, "the other session's scan took %.1f s" % took)
            check(stats()["gettoken"] == 2, "%d gettoken calls, expected the cursor's and the waiter's"
                  % stats()["gettoken"])
            # what it fetched is everyone's: the next session waits for nothing
            t = time.monotonic()
            check(run(conn, "SELECT count(*) FROM fs_icb") == [(25,)], "a third session's scan")
            check(time.monotonic() - t < 2, "a third session's scan took %.1f s" % (time.monotonic() - t))
            check(stats()["gettoken"] == 2, "the third session called gettoken")
            run(a, "COMMIT")
            check(run(a, "SELECT count(*) FROM fs_ic2") == [(25,)], "the cursor's session afterwards")
        finally:
            a.close()
            b.close()

    def idle_cursor_claiming(self, a, prefix):
        """In session a, a transaction with cursor c over the async UNION
        ALL of PREFIX1 and PREFIX2 (slow_token_tables), one row read: the
        cursor's gettoken is claimed, answered (the mock counts it then)
        and never read, the cursor idle."""
        run(a, "BEGIN")
        run(a, "DECLARE c CURSOR FOR SELECT tmp_openid FROM %s1 UNION ALL SELECT tmp_openid FROM %s2"
               % (prefix, prefix))
        check(len(run(a, "FETCH 1 FROM c")) == 1, "no first row")
        self.wait_for("the cursor's gettoken", lambda: stats()["gettoken"] == 1, seconds=5)

    def sessions_with_idle_claim(self, prefix):
        """Two new sessions, (a, b): a with an idle cursor whose async scan
        of PREFIX1 and PREFIX2 (fresh_slow_token_tables) claimed a gettoken.
        The fetch claims an entry only if one is to spare (the table
        outlives cases): else it fetches alone, and the case proves
        nothing."""
        a = connect()
        b = connect()
        try:
            spare = run(a, "SELECT token_entries - tokens_cached FROM contact_list_fdw_shared_info()")[0][0]
            check(spare > 0, "every token entry holds a valid token: the case proves nothing")
            self.idle_cursor_claiming(a, prefix)
        except BaseException:
            a.close()
            b.close()
            raise
        return a, b

    def wrong_secret_tables(self, conn, prefix, n, drop=False):
        """Tables PREFIX0 .. PREFIX(n-1), each of a server of its own with a
        corp_secret gettoken refuses, at a spelling of the mock's host of
        their own (token keys no case has used); drop: drop them."""
        if drop:
            run(conn, ";\n".join("DROP SERVER IF EXISTS %s%d_srv CASCADE" % (prefix, i) for i in range(n)))
            return
        api = psycopg2.extensions.QuotedString(
            "http://%s:%d/cgi-bin" % (fresh_localhost(), MOCK_PORT)).getquoted().decode()
        run(conn, ";\n".join(
            "DROP SERVER IF EXISTS %(p)s%(i)d_srv CASCADE;"
            "CREATE SERVER %(p)s%(i)d_srv FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %(api)s);"
            "CREATE USER MAPPING FOR postgres SERVER %(p)s%(i)d_srv "
            "OPTIONS (corp_id 'corp-basic', corp_secret 'wrong-%(p)s-%(i)d');"
            "CREATE FOREIGN TABLE %(p)s%(i)d (external_userid text) SERVER %(p)s%(i)d_srv"
            % {"p": prefix, "i": i, "api": api} for i in range(n)))

    def fresh_slow_token_tables(self, conn, prefix, timeout_ms, max_retries):
        """As slow_token_tables, at a spelling of the mock's host of its own
        (a token key no case has fetched or failed): PREFIX1, async on a
        fixed token; PREFIX2, async on corp-slowtoken (gettoken answers
        after 3 s); PREFIXb, the same credentials read at once, with
        timeout_ms and max_retries."""
        api = "http://%s:%d/cgi-bin" % (fresh_localhost(), MOCK_PORT)
        for suffix, mapping, server_options, table_options in (
                ("1", {"access_token": "fixed-basic"}, "", "page_size '5', async_capable 'on'"),
                ("2", {"corp_id": "corp-slowtoken", "corp_secret": "secret-ok"}, "",
                 "page_size '5', async_capable 'on'"),
                ("b", {"corp_id": "corp-slowtoken", "corp_secret": "secret-ok"},
                 "timeout_ms '%d', max_retries '%d'" % (timeout_ms, max_retries), "page_size '5'")):
            name = prefix + suffix
            run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)
            run(conn, "CREATE SERVER %s_srv FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %%s%s)"
                      % (name, ", " + server_options if server_options else ""), (api,))
            set_mapping(conn, server=name + "_srv", **mapping)
            run(conn, """CREATE FOREIGN TABLE %s (tmp_openid text, external_userid text)
                         SERVER %s_srv OPTIONS (%s)""" % (name, name, table_options))

    def token_outage_waiters(self, conn):
        # ten sessions need a token whose gettoken times out (the mock
        # answers after 3 s) through every attempt (timeout_ms 1000,
        # max_retries 3, retry_delay_ms 500): one fetches, the others wait
        # for its attempts and the backoffs between them and get its
        # failure, shared.  The mock sees one session's attempts, not each
        # waiter's own when timeout_ms x attempts has gone by
        n = 10
        attempts = 4
        self.fresh_slow_token_tables(conn, "fs_tout", 1000, attempts - 1)
        reset()
        got = self.concurrent_scans(n, "SELECT count(*) FROM fs_toutb",
                                    warm="SET contact_list_fdw.retry_delay_ms = 500; "
                                         "EXPLAIN SELECT count(*) FROM fs_toutb")
        errors = [r for _, r in got if isinstance(r, psycopg2.Error)]
        check(len(errors) == n, "%d of %d sessions failed: %s" % (len(errors), n, got))
        # the mock counts a gettoken when it answers, 3 s after it came:
        # every one came before the last session ended
        time.sleep(3.5)
        calls = stats()["gettoken"]
        print("# %d sessions against a gettoken timing out %d times: %.1f s, %d gettoken calls"
              % (n, attempts, max(t for t, _ in got), calls))
        check(calls == attempts, "%d gettoken calls for %d sessions, expected one session's %d attempts"
              % (calls, n, attempts))
        told = [e for e in errors if "another session's recent failure" in (e.diag.message_detail or "")]
        own = [e for e in errors if e not in told]
        check(len(own) == 1 and len(told) == n - 1,
              "%d sessions got their own error, %d the shared one; expected 1 and %d: %s" % (
                  len(own), len(told), n - 1, [error_text(e) for e in own][:3]))
        check("gettoken" in own[0].diag.message_primary and "timed out" in own[0].diag.message_primary,
              "the fetch's own error: %s" % error_text(own[0]))
        check(all(e.pgcode == own[0].pgcode and e.diag.message_primary == own[0].diag.message_primary
                  for e in told), "the shared error is not the fetch's: %s / %s" % (
                      error_text(told[0]), error_text(own[0])))

    def token_takeover_waiters(self, conn):
        # a cursor's async scan claimed a gettoken and went idle; five
        # sessions wait for it.  One takes the claim over when its budget
        # (timeout_ms 4500) runs out; the others then wait for that fetch,
        # within a bound counted from the takeover, rather than void it in
        # turn, each with a gettoken of its own
        n = 5
        self.fresh_slow_token_tables(conn, "fs_tw", 4500, 0)
        reset()
        a = connect()
        try:
            self.idle_cursor_claiming(a, "fs_tw")
            got = self.concurrent_scans(n, "SELECT count(*) FROM fs_twb",
                                        warm="EXPLAIN SELECT count(*) FROM fs_twb")
            check(all(r == [(25,)] for _, r in got), "results: %s" % [
                error_text(r) if isinstance(r, psycopg2.Error) else r for _, r in got])
            calls = stats()["gettoken"]
            print("# %d sessions behind an idle cursor's gettoken claim: %.1f s, %d gettoken calls"
                  % (n, max(t for t, _ in got), calls))
            check(calls == 2, "%d gettoken calls, expected the cursor's and one taker's" % calls)
            run(a, "COMMIT")
        finally:
            a.close()

    def token_claim_failed_cursor(self, conn):
        # a cursor's async scan claimed a gettoken, then its FETCH failed in
        # a savepoint that was rolled back: its portal never ends the scan,
        # so the claim goes at the rollback (failed_fetch_token), at commit
        # at the latest, not at the session's next abort
        # (secret-ok%25: a token key no other case fetches)
        self.slow_token_tables(conn, "fs_fc", "secret-ok%25", "8000")
        reset()
        a = connect()
        b = connect()
        try:
            run(a, "BEGIN")
            run(a, "CREATE TEMP SEQUENCE fs_fc_rows")
            # the second row fails, well before the gettoken's answer (3 s)
            run(a, "DECLARE c CURSOR FOR SELECT tmp_openid, 1 / (2 - nextval('fs_fc_rows')) FROM "
                   "(SELECT tmp_openid FROM fs_fc1 UNION ALL SELECT tmp_openid FROM fs_fc2) u")
            check(len(run(a, "FETCH 1 FROM c")) == 1, "no first row")
            run(a, "SAVEPOINT s")
            e = scan_error(a, "FETCH 1 FROM c")
            check(e.pgcode == "22012", "the FETCH in the savepoint: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            run(a, "ROLLBACK TO SAVEPOINT s")
            run(a, "COMMIT")
            check(stats()["gettoken"] == 0, "the cursor's gettoken was answered before the commit: "
                                            "the case proves nothing")
            run(b, "SET statement_timeout = '30s'")
            t = time.monotonic()
            check(run(b, "SELECT count(*) FROM fs_fcb") == [(25,)], "the other session's scan")
            took = time.monotonic() - t
            # its own gettoken (3 s at the mock), not its 8 s budget first
            check(took < 7, "the other session's scan took %.1f s: it waited for the ended "
                            "transaction's claim" % took)
        finally:
            a.close()
            b.close()

    def token_eviction(self, conn):
        # another role's 200 wrong secrets leave the owner's valid token cached
        self.shared_table(conn, "fs_own", {"corp_id": "corp-shared", "corp_secret": "secret-ok"})
        fresh_role(conn, "clf_mallory", "LOGIN")
        try:
            run(conn, "GRANT USAGE ON FOREIGN SERVER fs_own_srv TO clf_mallory")
            run(conn, "GRANT SELECT ON fs_own TO clf_mallory")
            check(run(conn, "SELECT count(*) FROM fs_own") == [(25,)], "the owner's first scan")
            m = psycopg2.connect(dbname=DB, user="clf_mallory")
            m.autocommit = True
            try:
                run(m, "CREATE USER MAPPING FOR clf_mallory SERVER fs_own_srv "
                       "OPTIONS (corp_id 'corp-shared', corp_secret 'Wr0ng-0')")
                before = stats()["gettoken"]
                for i in range(200):
                    run(m, "ALTER USER MAPPING FOR clf_mallory SERVER fs_own_srv "
                           "OPTIONS (SET corp_secret 'Wr0ng-%d')" % i)
                    e = scan_error(m, "SELECT count(*) FROM fs_own")
                    check("40001" in e.diag.message_primary, "wrong secret %d: %s" % (i, error_text(e)))
                check(stats()["gettoken"] - before == 200, "%d gettoken calls for 200 wrong secrets"
                      % (stats()["gettoken"] - before))
            finally:
                m.close()
            before = stats()["gettoken"]
            owner = connect()
            try:
                check(run(owner, "SELECT count(*) FROM fs_own") == [(25,)], "the owner's scan after")
            finally:
                owner.close()
            check(stats()["gettoken"] == before,
                  "the owner's valid token was pushed out: its next scan called gettoken")
        finally:
            run(conn, "DROP OWNED BY clf_mallory")
            run(conn, "DROP ROLE clf_mallory")

    def token_claim_not_evicted(self, conn):
        # a cursor's async scan claimed a gettoken and went idle; then, in
        # savepoints of the same transaction, 70 wrong secrets (more than the
        # 64 token entries) fail their fetches.  The entry the cursor's fetch
        # claimed is not theirs to take (nor its claim lost with it): another
        # session with the cursor's credentials still waits for that fetch
        # (its budget, 30 s, beyond its statement_timeout) rather than make a
        # gettoken of its own
        n = 70
        self.fresh_slow_token_tables(conn, "fs_ce", 30000, 0)
        self.wrong_secret_tables(conn, "fs_cew", n)
        reset()
        a, b = self.sessions_with_idle_claim("fs_ce")
        try:
            for i in range(n):
                run(a, "SAVEPOINT s")
                e = scan_error(a, "SELECT count(*) FROM fs_cew%d" % i)
                check("40001" in e.diag.message_primary, "wrong secret %d: %s" % (i, error_text(e)))
                run(a, "ROLLBACK TO SAVEPOINT s")
            check(stats()["gettoken"] == 1 + n, "%d gettoken calls for the cursor and %d wrong secrets"
                  % (stats()["gettoken"], n))
            run(b, "SET statement_timeout = '6s'")
            try:
                got = run(b, "SELECT count(*) FROM fs_ceb")
                raise Fail("another session did not wait for the idle cursor's claimed fetch: it fetched "
                           "its own token (%s, %d gettoken calls): a wrong secret's entry took the claim's"
                           % (got, stats()["gettoken"] - 1 - n))
            except psycopg2.Error as e:
                check(e.pgcode == "57014", "the other session's scan: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            time.sleep(0.5)
            check(stats()["gettoken"] == 1 + n, "another session made %d gettoken calls of its own beside the "
                  "idle cursor's claimed fetch" % (stats()["gettoken"] - 1 - n))
            run(a, "ROLLBACK")
        finally:
            a.close()
            b.close()
            self.wrong_secret_tables(conn, "fs_cew", n, drop=True)
            for name in ("fs_ce1", "fs_ce2", "fs_ceb"):
                run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)

    def token_claim_reused_entry(self, conn):
        # a cursor's async scan claimed a gettoken (key K1) and went idle;
        # another session took that fetch over and failed, and, every token
        # entry taken, the entry went to another key (K2): to a fetch of the
        # cursor's own session, by a cursor declared in a savepoint that is
        # rolled back.  The rollback gives that fetch back (as it would in
        # any other entry): another session needing K2 makes its own
        # gettoken at once, rather than wait its budget (8 s) for a fetch
        # nobody makes.  The idle cursor's claim on the entry, listed still
        # under the entry's index, must not keep it claimed
        n = 70
        self.fresh_slow_token_tables(conn, "fs_ru", 1000, 0)     # K1
        self.fresh_slow_token_tables(conn, "fs_rv", 8000, 0)     # K2
        self.wrong_secret_tables(conn, "fs_rw", n)
        reset()
        a, b = self.sessions_with_idle_claim("fs_ru")
        try:
            # wrong secrets, more than the 64 entries: every entry is taken,
            # and each without a valid token, but the cursor's, was used
            # after the cursor's claim
            for i in range(n):
                try:
                    run(conn, "SELECT count(*) FROM fs_rw%d" % i)
                    raise Fail("no error from wrong secret %d" % i)
                except psycopg2.Error as e:
                    check("40001" in (e.diag.message_primary or ""), "wrong secret %d: %s" % (i, error_text(e)))
            # another session takes the cursor's fetch over (after its 1 s
            # budget), and its own gettoken times out (1 s): the entry holds
            # no token, nobody fetches for it, and it is the least recently
            # used such entry
            e = scan_error(b, "SELECT count(*) FROM fs_rub")
            check(e.pgcode == "HV00N", "the taker's scan: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            time.sleep(2.5)     # every backoff over
            # the cursor's session, in a savepoint: a cursor whose async scan
            # claims K2's fetch (in the entry the cursor's fetch had), then
            # the rollback
            run(a, "SAVEPOINT s")
            run(a, "DECLARE c2 CURSOR FOR SELECT tmp_openid FROM fs_rv1 UNION ALL SELECT tmp_openid FROM fs_rv2")
            check(len(run(a, "FETCH 1 FROM c2")) == 1, "no first row from c2")
            run(a, "ROLLBACK TO SAVEPOINT s")
            run(b, "SET statement_timeout = '30s'")
            t = time.monotonic()
            check(run(b, "SELECT count(*) FROM fs_rvb") == [(25,)], "the other session's scan of K2")
            took = time.monotonic() - t
            # its own gettoken (3 s at the mock), not its 8 s budget first
            check(took < 7, "the other session's scan took %.1f s: it waited for the fetch of a cursor "
                            "rolled back with its savepoint, kept claimed by the idle cursor's claim "
                            "of the entry's former key" % took)
            run(a, "ROLLBACK")
        finally:
            a.close()
            b.close()
            self.wrong_secret_tables(conn, "fs_rw", n, drop=True)
            for name in ("fs_ru1", "fs_ru2", "fs_rub", "fs_rv1", "fs_rv2", "fs_rvb"):
                run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)

    def stats_eviction(self, conn):
        # the counters analogue of token_eviction: requests of another role
        # that all fail (wrong secrets) on 130 servers, more than the 128
        # server entries, leave the counters of a server that works
        self.shared_table(conn, "fs_sev", {"corp_id": "corp-shared", "corp_secret": "secret-ok"})
        check(run(conn, "SELECT count(*) FROM fs_sev") == [(25,)], "the owner's scan")
        n = 130
        counters = ("SELECT pages, requests FROM contact_list_fdw_stats "
                    "WHERE server = 'fs_sev_srv' AND datname = current_database()")
        paged = "SELECT count(*) FROM contact_list_fdw_stats WHERE pages > 0"
        evicted = "SELECT servers_evicted FROM contact_list_fdw_shared_info()"
        api = psycopg2.extensions.QuotedString(API).getquoted().decode()

        def each(c, stmt):
            run(c, ";\n".join(stmt % {"i": i} for i in range(1, n + 1)))
        fresh_role(conn, "clf_mallory", "LOGIN")
        try:
            each(conn, "DROP SERVER IF EXISTS fs_ev%(i)d_srv CASCADE;"
                       "CREATE SERVER fs_ev%(i)d_srv FOREIGN DATA WRAPPER contact_list_fdw "
                       "OPTIONS (api_url " + api.replace("%", "%%") + ");"
                       "CREATE FOREIGN TABLE fs_ev%(i)d (external_userid text) SERVER fs_ev%(i)d_srv;"
                       "GRANT USAGE ON FOREIGN SERVER fs_ev%(i)d_srv TO clf_mallory;"
                       "GRANT SELECT ON fs_ev%(i)d TO clf_mallory")
            m = psycopg2.connect(dbname=DB, user="clf_mallory")
            m.autocommit = True
            try:
                for rnd in ("a", "b"):
                    if rnd == "b":
                        # capped: each failing request takes a slot, which needs an entry
                        each(conn, "ALTER SERVER fs_ev%(i)d_srv OPTIONS (ADD max_concurrent_requests '1')")
                    before = (run(conn, counters), run(conn, paged)[0][0], run(conn, evicted)[0][0],
                              stats()["gettoken"])
                    check(before[0] and before[0][0][0] > 0, "fs_sev has no counters: %s" % before[0])
                    # a new secret each round: a failure is shared for its backoff, without a request
                    each(m, "DROP USER MAPPING IF EXISTS FOR clf_mallory SERVER fs_ev%(i)d_srv;"
                            "CREATE USER MAPPING FOR clf_mallory SERVER fs_ev%(i)d_srv "
                            "OPTIONS (corp_id 'corp-shared', corp_secret 'Wr0ng-" + rnd + "-%(i)d')")
                    for i in range(1, n + 1):
                        try:
                            run(m, "SELECT count(*) FROM fs_ev%d" % i)
                            raise Fail("no error from wrong secret %d" % i)
                        except psycopg2.Error as e:
                            check("40001" in (e.diag.message_primary or ""),
                                  "wrong secret %d: %s" % (i, error_text(e)))
                    calls = stats()["gettoken"] - before[3]
                    check(calls == n, "round %s: %d gettoken calls for %d wrong secrets" % (rnd, calls, n))
                    check(run(conn, counters) == before[0],
                          "round %s: fs_sev's counters %s, before the wrong secrets %s"
                          % (rnd, run(conn, counters), before[0]))
                    if rnd == "a":
                        # requests that only count never make room
                        check(run(conn, evicted)[0][0] == before[2],
                              "round a: %d entries evicted by failed requests"
                              % (run(conn, evicted)[0][0] - before[2]))
                    else:
                        # a capped request may make room, in an entry of a
                        # server without a page first: failing servers
                        # recycle their own
                        now = run(conn, paged)[0][0]
                        check(now >= before[1] - 1, "round b: %d servers with pages, before %d"
                              % (now, before[1]))
            finally:
                m.close()
        finally:
            each(conn, "DROP SERVER IF EXISTS fs_ev%(i)d_srv CASCADE")
            run(conn, "DROP OWNED BY clf_mallory")
            run(conn, "DROP ROLE clf_mallory")

    def stats_full_first_request(self, conn):
        # With every server entry taken, a server's first page makes room;
        # the requests before it (a failed scan's gettoken, the first
        # page's own, its retry, a gettoken) count too: its counters start
        # from its first request, and from its first scan.
        n = 128
        api = psycopg2.extensions.QuotedString(API).getquoted().decode()

        def each(stmt):
            run(conn, ";\n".join(stmt % {"i": i} for i in range(1, n + 1)))
        counters = ("SELECT pages, requests, retries_http, token_fetches, scans_complete, scans_failed "
                    "FROM contact_list_fdw_stats WHERE server = 'fs_sfull_srv' AND datname = current_database()")
        try:
            each("DROP SERVER IF EXISTS fs_fill%(i)d_srv CASCADE;"
                 "CREATE SERVER fs_fill%(i)d_srv FOREIGN DATA WRAPPER contact_list_fdw "
                 "OPTIONS (api_url " + api.replace("%", "%%") + ");"
                 "CREATE USER MAPPING FOR postgres SERVER fs_fill%(i)d_srv OPTIONS (access_token 'fixed-basic');"
                 "CREATE FOREIGN TABLE fs_fill%(i)d (external_userid text) SERVER fs_fill%(i)d_srv")
            each("SELECT count(*) FROM fs_fill%(i)d")
            info = run(conn, "SELECT server_entries, servers_tracked FROM contact_list_fdw_shared_info()")[0]
            check(info[0] == info[1], "the server entries are not all taken: %s" % (info,))
            self.shared_table(conn, "fs_sfull", {"corp_id": "corp-http502once", "corp_secret": "secret-wrong"})
            reset()
            e = scan_error(conn, "SELECT count(*) FROM fs_sfull")
            check("invalid secret" in error_text(e), "the wrong secret's scan: %s" % error_text(e))
            check(run(conn, counters) == [], "a failed scan made room: %s" % run(conn, counters))
            set_mapping(conn, server="fs_sfull_srv", corp_id="corp-http502once", corp_secret="secret-ok2")
            check(run(conn, "SELECT count(*) FROM fs_sfull") == [(25,)], "the scan")
            st = stats()
            got = run(conn, counters)
            want = [(5, st["contact_list"] + st["gettoken"], 1, st["gettoken"], 1, 1)]
            check(st["contact_list"] == 6 and st["gettoken"] == 2,
                  "%d contact_list and %d gettoken requests, expected 6 and 2"
                  % (st["contact_list"], st["gettoken"]))
            check(got == want, "fs_sfull's (pages, requests, retries_http, token_fetches, scans_complete, "
                  "scans_failed) %s, the mock saw %s" % (got, want))
        finally:
            each("DROP SERVER IF EXISTS fs_fill%(i)d_srv CASCADE")
            run(conn, "DROP SERVER IF EXISTS fs_sfull_srv CASCADE")

    def token_copies_wiped(self, conn):
        """A session that took the cluster's token holds no copy of it of its
        own.  libcurl's copies (not wiped, as the README says) are the URL,
        where "=" comes before the token, and the request line, where " HTTP"
        follows it; a C string of the token alone is ours."""
        self.shared_table(conn, "fs_wipe", {"corp_id": "corp-basic", "corp_secret": "secret-ok2"})
        reset()
        check(run(conn, "SELECT count(*) FROM fs_wipe") == [(25,)], "the first scan")
        token = stats()["tokens"][0].encode()
        fetched = stats()["gettoken"]
        check(token.startswith(b"tok-basic-"), "token %r" % token)
        other = connect()
        try:
            pid = run(other, "SELECT pg_backend_pid()")[0][0]
            check(run(other, "SELECT count(*) FROM fs_wipe") == [(25,)], "the second session's scan")
            check(stats()["gettoken"] == fetched, "the second session fetched a token of its own")
            seen, bare = bare_copies(pid, token)
        finally:
            other.close()
        check(seen > 0, "the token is nowhere in the session's memory: the search is broken")
        check(not bare, "%d copies of the token left in the session's memory, e.g. %r" % (len(bare), bare[:2]))

    def shared_require_preload(self, conn):
        # per-backend mode: the views say what they need
        info = run(conn, "SELECT mode, tokens_cached FROM contact_list_fdw_shared_info()")
        check(info == [("per-backend", None)], "shared_info: %s" % info)
        for view in ("contact_list_fdw_progress", "contact_list_fdw_stats"):
            e = scan_error(conn, "SELECT * FROM %s" % view)
            check(e.pgcode == "55000", "SQLSTATE %s" % e.pgcode)
            check("shared_preload_libraries" in e.diag.message_primary, "message: %s" % error_text(e))

    def per_backend_tokens(self, conn):
        # each new backend fetches its own token, as before shared state
        self.shared_table(conn, "fs_sh", {"corp_id": "corp-shared", "corp_secret": "secret-ok"},
                          server_options="max_concurrent_requests '1'")
        reset()
        results = self.many_connections(30, "SELECT external_userid FROM fs_sh LIMIT 1")
        check(len(results) == 30, "%d results" % len(results))
        st = stats()
        check(st["gettoken"] == 30, "30 connections made %d gettoken calls, expected 30" % st["gettoken"])

    def shared(self, name, fn, why):
        """A case that needs state shared by sessions: skipped, saying why, in
        per-backend mode (PostgreSQL 15/16 without shared_preload_libraries)."""
        if self.per_backend:
            only = [w for w in os.environ.get("CLF_FAULT_CASES", "").split(",") if w]
            if not only or any(w in name for w in only):
                self.skipped += 1
                print("ok - %s # SKIP per-backend mode: %s" % (name, why), flush=True)
            return
        self.case(name, fn)

    def token_refresh_margin(self, conn):
        # WeCom's 7200 s tokens are refreshed 300 s before they expire; a
        # short-lived one at half its life.  The DEBUG1 line says when, from
        # the function both token caches use: no clock to wait for.
        # a spelling of the mock's URL no other case uses: a token key of its
        # own, so the scans below must fetch (the cluster's cache outlives cases)
        api = "http://LocalHost:%d/cgi-bin" % MOCK_PORT
        reset()
        run(conn, "DROP SERVER IF EXISTS fs_margin CASCADE")
        run(conn, "CREATE SERVER fs_margin FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (api,))
        run(conn, "CREATE FOREIGN TABLE fs_margin_contacts (name text) SERVER fs_margin")
        try:
            for corp, want in (("corp-basic", "valid 7200 s, refreshed after 6900 s"),
                               ("corp-slowrefresh", "valid 20 s, refreshed after 10 s")):
                set_mapping(conn, server="fs_margin", corp_id=corp, corp_secret="secret-ok")
                off = log_offset()
                check(len(run(conn, "SELECT * FROM fs_margin_contacts")) == 25, "rows of %s" % corp)
                lines = [l for l in log_since(off).splitlines() if "new access token for server" in l]
                check(lines and want in lines[-1], "%s: %s" % (corp, lines))
        finally:
            run(conn, "DROP SERVER fs_margin CASCADE")

    def in_latin1_database(self, scenario, columns, body):
        """body(c) on a connection to a new LATIN1 database whose foreign
        table t (columns) reads the mock's scenario; dropped after."""
        self.in_database("LATIN1", scenario, columns, body)

    def in_database(self, encoding, scenario, columns, body):
        """As in_latin1_database, in a new database fault_<encoding> (in
        lower case) of that encoding; the client speaks UTF8 to a SQL_ASCII
        one, which stores the bytes as they come."""
        name = "fault_" + encoding.lower()
        admin = connect("postgres")
        run(admin, "DROP DATABASE IF EXISTS " + name)
        run(admin, "CREATE DATABASE %s ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C' "
                   "TEMPLATE template0" % (name, encoding))
        c = None
        try:
            c = connect(name)
            if encoding == "SQL_ASCII":
                c.set_client_encoding("UTF8")
            run(c, "CREATE EXTENSION contact_list_fdw")
            run(c, "CREATE SERVER fs FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE USER MAPPING FOR postgres SERVER fs OPTIONS (access_token %s)",
                ("fixed-" + scenario,))
            run(c, "CREATE FOREIGN TABLE t (%s) SERVER fs" % columns)
            body(c)
        finally:
            # closed first, or a failed check would end as DROP DATABASE's
            # "being accessed by other users" instead of its own message
            if c is not None:
                c.close()
            run(admin, "DROP DATABASE IF EXISTS " + name)
            admin.close()

    def latin1_database(self, conn):
        # a database whose encoding cannot hold the rows' CJK names
        def body(c):
            # customers have no name: those rows are representable
            check(run(c, "SELECT count(external_userid) FROM t") == [(13,)], "customers' ids")
            e = scan_error(c, "SELECT name FROM t")
            check(e.pgcode == "22P05", "SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            check("has no equivalent in encoding" in e.diag.message_primary, error_text(e))
        self.in_latin1_database("basic", "external_userid text, name text", body)

    def latin1_key(self, conn):
        # a key beyond ASCII, written in LATIN1 (by field, and as a column's
        # name), finds the item's UTF-8 key: no silent NULL
        def body(c):
            rows = run(c, "SELECT external_userid, first_name, \"pr\u00e9nom\" FROM t")
            check(rows == [("wm_cust_020", "Zo\u00e9", "Zo\u00e9")], "rows: %r" % rows)
        self.in_latin1_database("types20", "external_userid text, "
                                "first_name text OPTIONS (field 'pr\u00e9nom'), \"pr\u00e9nom\" text", body)

    def rolled_back_and_dropped(self, conn, function):
        """The end of a case over fs_caught and a function of it: its
        transaction rolled back if still open, the function and the table
        dropped."""
        if conn.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            run(conn, "ROLLBACK")
        run(conn, "DROP FUNCTION " + function)
        run(conn, "DROP FOREIGN TABLE fs_caught")

    def caught_cursor_runs_on(self, conn, function, create, steps):
        """Make fs_caught (5 rows a page) and, by the statement create, the
        function (its signature); in a transaction, steps() declares cursor
        fs_caught_c and ends with a ROLLBACK TO; then the session's progress
        row, FETCH 12 FROM fs_caught_c, the row again, COMMIT.  Returns
        (what steps returned, the rows fetched, the row before, after); a
        failure rolls back, and the function and fs_caught are dropped
        after, either way."""
        progress = "SELECT rows FROM contact_list_fdw_progress WHERE pid = pg_backend_pid()"
        run(conn, "CREATE FOREIGN TABLE fs_caught (external_userid text) SERVER fs OPTIONS (page_size '5')")
        run(conn, create)
        try:
            run(conn, "BEGIN")
            got = steps()
            before = run(conn, progress)
            more = len(run(conn, "FETCH 12 FROM fs_caught_c"))
            after = run(conn, progress)
            run(conn, "COMMIT")
            return got, more, before, after
        finally:
            self.rolled_back_and_dropped(conn, function)

    def caught_in_function_progress(self, conn):
        # A scan in a SQL function that PL/pgSQL calls in an EXCEPTION block:
        # the conversion error is caught, and the block's subtransaction
        # rolled back, but the function's executor state lives on (in the
        # transaction's memory for PL/pgSQL's expressions), and the portal
        # running the statement did not fail.  The scan can never return
        # another row: its progress row goes at the block's rollback (the
        # function looks right after the block, its statement still
        # running), not when the transaction ends.
        set_mapping(conn, access_token="fixed-basic")
        run(conn, "CREATE FOREIGN TABLE fs_caught (is_customer integer) SERVER fs")
        run(conn, "CREATE FUNCTION fs_caught_count() RETURNS bigint LANGUAGE sql "
                  "AS 'SELECT count(is_customer) FROM fs_caught'")
        run(conn, "CREATE FUNCTION fs_caught_catch() RETURNS text LANGUAGE plpgsql AS $$ "
                  "DECLARE n bigint; caught text := 'not caught'; rows text; BEGIN "
                  "BEGIN n := fs_caught_count(); EXCEPTION WHEN others THEN caught := 'caught'; END; "
                  "SELECT string_agg(foreign_table || ' ' || state, ', ') INTO rows "
                  "FROM contact_list_fdw_progress WHERE pid = pg_backend_pid(); "
                  "RETURN caught || ': ' || coalesce(rows, 'no rows'); END $$")
        try:
            run(conn, "BEGIN")
            caught = run(conn, "SELECT fs_caught_catch()")
            rows = run(conn, "SELECT foreign_table, state FROM contact_list_fdw_progress "
                             "WHERE pid = pg_backend_pid()")
            run(conn, "COMMIT")
            check(caught == [("caught: no rows",)],
                  "right after the block (caught, then the rows): %r" % caught)
            check(rows == [], "rows after the statement, the transaction open: %r" % rows)
        finally:
            self.rolled_back_and_dropped(conn, "fs_caught_catch(), fs_caught_count()")

    def failed_cursor_function_progress(self, conn):
        # A cursor over a set-returning SQL function whose FETCH failed in a
        # savepoint above the function (in the cursor's own query, between
        # two of the function's rows), on its first FETCH or a later one:
        # the function's query did not fail, but it runs in the cursor's
        # portal, which failed and can never run again.  The scan's
        # progress row goes at ROLLBACK TO, the cursor still open.
        set_mapping(conn, access_token="fixed-basic")
        run(conn, "CREATE FOREIGN TABLE fs_caught (external_userid text) SERVER fs OPTIONS (page_size '5')")
        run(conn, "CREATE FUNCTION fs_caught_ids() RETURNS SETOF text LANGUAGE sql "
                  "AS 'SELECT external_userid FROM fs_caught'")
        progress = "SELECT rows, state FROM contact_list_fdw_progress WHERE pid = pg_backend_pid()"
        try:
            for fetched in (0, 2):
                run(conn, "BEGIN")
                run(conn, "CREATE TEMP SEQUENCE fs_caught_n")
                # the 4th row fails, on the function's first page
                run(conn, "DECLARE fs_caught_c CURSOR FOR "
                          "SELECT 1 / (CASE WHEN nextval('fs_caught_n') = 4 THEN 0 ELSE 1 END) "
                          "FROM (SELECT fs_caught_ids() AS id OFFSET 0) s")
                before = []
                if fetched:
                    run(conn, "FETCH %d FROM fs_caught_c" % fetched)
                    before = run(conn, progress)
                run(conn, "SAVEPOINT s")
                e = scan_error(conn, "FETCH 10 FROM fs_caught_c")
                run(conn, "ROLLBACK TO s")
                after = run(conn, progress)
                run(conn, "ROLLBACK")
                check(e.pgcode == "22012", "the cursor's error: %s" % error_text(e))
                check(before == ([(5, "returning rows")] if fetched else []),
                      "the function's row before the savepoint: %r" % before)
                check(after == [], "rows after ROLLBACK TO (%d rows fetched before the savepoint): %r"
                      % (fetched, after))
        finally:
            self.rolled_back_and_dropped(conn, "fs_caught_ids()")

    def failed_portal_progress(self, conn):
        # A cursor whose FETCH fails outside the executor, where no query
        # is seen to fail (FETCH BACKWARD or PRIOR of a NO SCROLL cursor,
        # in PortalRunSelect), can never run again, though it stays open:
        # its scan's progress row goes at the rollback of the savepoint, or
        # of the PL/pgSQL exception block, the FETCH failed in
        set_mapping(conn, access_token="fixed-basic")
        run(conn, "CREATE FOREIGN TABLE fs_caught (external_userid text) SERVER fs OPTIONS (page_size '5')")
        run(conn, "CREATE FUNCTION fs_caught_prior() RETURNS text LANGUAGE plpgsql AS $$ "
                  "DECLARE c refcursor := 'fs_caught_c'; r record; caught text := 'not caught'; BEGIN "
                  "BEGIN FETCH PRIOR FROM c INTO r; EXCEPTION WHEN others THEN caught := SQLSTATE; END; "
                  "RETURN caught; END $$")
        progress = "SELECT rows, state FROM contact_list_fdw_progress WHERE pid = pg_backend_pid()"
        try:
            for caught_in in ("savepoint", "plpgsql"):
                run(conn, "BEGIN")
                run(conn, "DECLARE fs_caught_c CURSOR FOR SELECT external_userid FROM fs_caught")
                run(conn, "FETCH 2 FROM fs_caught_c")
                before = run(conn, progress)
                if caught_in == "savepoint":
                    run(conn, "SAVEPOINT s")
                    e = scan_error(conn, "FETCH BACKWARD 1 FROM fs_caught_c")
                    caught = e.pgcode
                    run(conn, "ROLLBACK TO s")
                else:
                    caught = run(conn, "SELECT fs_caught_prior()")[0][0]
                after = run(conn, progress)
                e = scan_error(conn, "FETCH 1 FROM fs_caught_c")
                run(conn, "ROLLBACK")
                check(caught == "55000", "%s: the FETCH's error: %r" % (caught_in, caught))
                check(before == [(5, "returning rows")], "%s: the row before: %r" % (caught_in, before))
                check(after == [], "%s: the failed cursor's row after the rollback: %r" % (caught_in, after))
                check("cannot be run" in (e.diag.message_primary or ""),
                      "%s: the cursor ran again: %s" % (caught_in, error_text(e)))
        finally:
            self.rolled_back_and_dropped(conn, "fs_caught_prior()")

    def savepoint_scans_keep_progress(self, conn):
        # Scans that run on after ROLLBACK TO keep their progress rows: a
        # set-returning SQL function a cursor calls once per outer row
        # starts its second scan in the savepoint
        set_mapping(conn, access_token="fixed-basic")

        def second_scan_in_savepoint():
            run(conn, "DECLARE fs_caught_c CURSOR FOR SELECT fs_caught_ids(x) FROM generate_series(1, 2) x")
            first = len(run(conn, "FETCH 25 FROM fs_caught_c"))
            run(conn, "SAVEPOINT s")
            run(conn, "FETCH 1 FROM fs_caught_c")
            run(conn, "ROLLBACK TO s")
            return first
        first, more, before, after = self.caught_cursor_runs_on(
            conn, "fs_caught_ids(int)",
            "CREATE FUNCTION fs_caught_ids(int) RETURNS SETOF text LANGUAGE sql "
            "AS 'SELECT external_userid FROM fs_caught'", second_scan_in_savepoint)
        check(first == 25 and more == 12, "rows fetched: %d, then %d" % (first, more))
        check(before == [(5,)] and after == [(15,)],
              "the second scan's row after ROLLBACK TO: %r, then %r" % (before, after))

        # ... and so does a cursor declared before the savepoint that a
        # function FETCHed from (its scan started there) before failing
        def fetched_by_failed_function():
            run(conn, "DECLARE fs_caught_c CURSOR FOR SELECT external_userid FROM fs_caught")
            run(conn, "SAVEPOINT s")
            e = scan_error(conn, "SELECT fs_caught_fetch()")
            run(conn, "ROLLBACK TO s")
            return e
        e, more, before, after = self.caught_cursor_runs_on(
            conn, "fs_caught_fetch()",
            "CREATE FUNCTION fs_caught_fetch() RETURNS int LANGUAGE plpgsql AS $$ "
            "DECLARE c refcursor := 'fs_caught_c'; r record; BEGIN FETCH c INTO r; "
            "RAISE EXCEPTION 'after the FETCH'; END $$", fetched_by_failed_function)
        check("after the FETCH" in e.diag.message_primary, "the function's error: %s" % error_text(e))
        check(more == 12, "rows fetched after ROLLBACK TO: %d" % more)
        check(before == [(5,)] and after == [(15,)],
              "the cursor's row after ROLLBACK TO: %r, then %r" % (before, after))

    def naive_progress(self, conn, c, datname):
        """On c, connected to database datname: server "sè", its mapping and
        table "naïve", a cursor's first row; what conn's session reads of
        it in contact_list_fdw_progress (foreign_table, server) meanwhile,
        the cursor committed after."""
        run(c, 'CREATE SERVER "sè" FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)', (API,))
        run(c, 'CREATE USER MAPPING FOR postgres SERVER "sè" OPTIONS (access_token \'fixed-basic\')')
        run(c, 'CREATE FOREIGN TABLE "naïve" (external_userid text) SERVER "sè"')
        run(c, "BEGIN")
        run(c, 'DECLARE k CURSOR FOR SELECT * FROM "naïve"')
        run(c, "FETCH 1 FROM k")
        got = run(conn, "SELECT foreign_table, server FROM contact_list_fdw_progress WHERE datname = %s",
                  (datname,))
        run(c, "COMMIT")
        return got

    def latin1_shared_views(self, conn):
        # The shared views hold names and errors as the scanning session's
        # database wrote them; another database's session reads them in its
        # own encoding: a LATIN1 database's "naïve" is "naïve" in a UTF8
        # one (not bytes invalid there, which every function reading the
        # value refused), and a UTF8 database's "客户", which LATIN1 cannot
        # hold, is its bytes in a LATIN1 one
        set_mapping(conn, access_token="fixed-basic")
        run(conn, 'CREATE FOREIGN TABLE "客户" (external_userid text) SERVER fs')
        relid = run(conn, """SELECT '"客户"'::regclass::oid""")[0][0]

        def body(c):
            want = ('public."naïve"', "sè")
            got = self.naive_progress(conn, c, "fault_latin1")
            check(got == [want], "progress: %r" % got)
            got = run(conn, "SELECT foreign_table, server, upper(foreign_table) FROM contact_list_fdw_recent_scans "
                            "WHERE datname = 'fault_latin1' ORDER BY ended_at DESC LIMIT 1")
            check(got == [want + ('PUBLIC."NAÏVE"',)] or got == [want + ('PUBLIC."NAïVE"',)],
                  "recent scans: %r" % got)
            got = run(conn, "SELECT server FROM contact_list_fdw_stats WHERE datname = 'fault_latin1'")
            check(("sè",) in got, "stats: %r" % got)
            # the other way round
            check(len(run(conn, 'SELECT * FROM "客户"')) == 25, "rows of the UTF8 table")
            got = run(c, "SELECT foreign_table FROM contact_list_fdw_recent_scans WHERE foreign_table_oid = %s "
                         "AND datname <> current_database() ORDER BY ended_at DESC LIMIT 1", (relid,))
            check(got == [('public."\\xe5\\xae\\xa2\\xe6\\x88\\xb7"',)], "from the LATIN1 database: %r" % got)
            pid.append(c.get_backend_pid())
        pid = []
        try:
            self.in_latin1_database("basic", "external_userid text", body)
        finally:
            run(conn, 'DROP FOREIGN TABLE "客户"')
        # the LATIN1 database dropped, its scan stays in the ring with no
        # encoding to read it in: its bytes, not bytes invalid in UTF8
        got = run(conn, "SELECT datname, foreign_table, server FROM contact_list_fdw_recent_scans "
                        "WHERE pid = %s AND foreign_table LIKE 'public.\"na%%'", (pid[0],))
        check(got == [(None, 'public."na\\xefve"', "s\\xe8")], "once the LATIN1 database is dropped: %r" % got)

    def sql_ascii_shared_views(self, conn):
        # A SQL_ASCII database's names are bytes of no known encoding: a
        # UTF8 database's session reads them in the shared views as their
        # bytes, \xNN each, also where they happen to be valid UTF-8 (its
        # client sent "naïve" in UTF-8); and a dropped database's (its scans
        # outlive it in contact_list_fdw_recent_scans) alike
        def body(c):
            got = self.naive_progress(conn, c, "fault_sql_ascii")
            check(got == [want], "progress: %r" % got)
            got = run(conn, "SELECT foreign_table, server FROM contact_list_fdw_recent_scans "
                            "WHERE datname = 'fault_sql_ascii'")
            check(got == [want], "recent scans: %r" % got)
            got = run(conn, "SELECT server FROM contact_list_fdw_stats WHERE datname = 'fault_sql_ascii'")
            check(got == [want[1:]], "stats: %r" % got)
            pid.append(c.get_backend_pid())
        want = ('public."na\\xc3\\xafve"', "s\\xc3\\xa8")
        pid = []
        self.in_database("SQL_ASCII", "basic", "external_userid text", body)
        got = run(conn, "SELECT datname, foreign_table, server FROM contact_list_fdw_recent_scans "
                        "WHERE pid = %s AND foreign_table LIKE 'public.\"na%%'", (pid[0],))
        check(got == [(None,) + want], "once the SQL_ASCII database is dropped: %r" % got)

    # -- the shared layout's version (issue 14, point 6)

    def pg_major(self, conn):
        return int(run(conn, "SHOW server_version_num")[0][0]) // 10000

    def variant_build(self):
        """A copy of the tree built with a bumped layout version and the
        test-only fault switch clf_test.shared_fault: its directory."""
        if getattr(self, "variant_dir", None):
            return self.variant_dir
        d = os.path.join(WORK, "variant")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name in os.listdir(ROOT):
            if name == "Makefile" or name.endswith(".sql") or name.endswith(".control"):
                shutil.copy(os.path.join(ROOT, name), d)
        shutil.copytree(os.path.join(ROOT, "src"), os.path.join(d, "src"),
                        ignore=shutil.ignore_patterns("*.o", "*.so", "*.bc"))
        out = subprocess.run(["make", "-C", d, "-s", "PG_CONFIG=" + os.environ["PG_CONFIG"],
                              "COPT=-DCLF_SHARED_LAYOUT_VERSION_BUMP -DCLF_TEST_FAULTS"],
                             capture_output=True, text=True)
        check(out.returncode == 0, "the variant did not build: %s" % out.stderr[-500:])
        self.variant_dir = d
        return d

    def install(self, tree):
        """make install from tree: install(1) writes a new file, so the
        processes that mapped the old one go on with it."""
        out = subprocess.run(["make", "-C", tree, "-s", "PG_CONFIG=" + os.environ["PG_CONFIG"], "install"],
                             capture_output=True, text=True)
        check(out.returncode == 0, "make install in %s failed: %s" % (tree, out.stderr[-500:]))

    def layout_cluster(self, conn):
        """A cluster of the case's own (the library preloaded below 17) with
        a table on the mock; returns (cluster, session maker)."""
        m = MiniCluster("layout", conf=shared_state_conf())
        try:
            c = m.connect()
            run(c, "CREATE EXTENSION contact_list_fdw")
            run(c, "CREATE SERVER lay FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, """CREATE FOREIGN TABLE lay (
                        is_customer boolean, tmp_openid text, external_userid text, name text,
                        follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                      SERVER lay OPTIONS (page_size '%d')""" % PAGE)
            run(c, "CREATE USER MAPPING FOR postgres SERVER lay OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok')")
            c.close()
        except Exception:
            m.stop()
            raise

        def session(options=""):
            s = psycopg2.connect(dbname="postgres", host=m.dir, user="postgres", options=options)
            s.autocommit = True
            run(s, "SET statement_timeout = '60s'")
            return s
        return m, session

    def layout_scan(self, s):
        """Scan lay: (pid, mode, warnings); the rows must be the clean run's."""
        rows = scan(s, "lay")
        check(collections.Counter(rows) == self.clean, "%d rows, or different ones" % len(rows))
        mode = run(s, "SELECT mode FROM contact_list_fdw_shared_info()")[0][0]
        warnings = [n for n in s.notices if n.startswith("WARNING:") and "shared state" in n]
        return run(s, "SELECT pg_backend_pid()")[0][0], mode, warnings

    def attached_to(self, m, pid):
        """The segment or struct name backend pid attached to, from its DEBUG1 line."""
        for line in m.log().splitlines():
            if "[%d]" % pid in line and "attached to the shared state" in line:
                return line.split('"')[-2]
        return None

    def shared_layout_upgrade(self, conn):
        # an upgraded library installed over a running server, then a restart
        variant = self.variant_build()
        major = self.pg_major(conn)
        shared_mode = "shared_preload_libraries" if major < 17 else "named DSM segment"
        m, session = self.layout_cluster(conn)
        variant_installed = False
        try:
            reset()
            old = session()
            pid, mode, warnings = self.layout_scan(old)
            check(mode == shared_mode and not warnings, "before: %s %s" % (mode, warnings))
            check(self.attached_to(m, pid) == "contact_list_fdw v%d" % LAYOUT, "attached to %s" % self.attached_to(m, pid))
            check(stats()["gettoken"] == 1, "gettoken calls: %d" % stats()["gettoken"])

            self.install(variant)
            variant_installed = True
            new = session()
            pid, mode, warnings = self.layout_scan(new)
            check(mode == shared_mode and not warnings, "after the install: %s %s" % (mode, warnings))
            if major < 17:
                # the postmaster loaded the library at start: every backend
                # it forks runs that code, whatever the file holds now
                check(self.attached_to(m, pid) == "contact_list_fdw v%d" % LAYOUT,
                      "a new backend attached to %s" % self.attached_to(m, pid))
                check(stats()["gettoken"] == 1, "the token is not shared: %d gettoken" % stats()["gettoken"])
            else:
                # a new backend loads the new file and makes a segment of its
                # layout; the sessions of each library share among themselves
                check(self.attached_to(m, pid) == "contact_list_fdw v%d" % (LAYOUT + 1),
                      "a new backend attached to %s" % self.attached_to(m, pid))
                check(stats()["gettoken"] == 2, "gettoken calls: %d" % stats()["gettoken"])
                pid3, mode, warnings = self.layout_scan(session())
                check(self.attached_to(m, pid3) == "contact_list_fdw v%d" % (LAYOUT + 1) and not warnings,
                      "a second new backend: %s %s" % (self.attached_to(m, pid3), warnings))
                self.layout_scan(old)
                check(stats()["gettoken"] == 2, "gettoken calls: %d" % stats()["gettoken"])
            old.close()
            new.close()

            m.restart()
            pid, mode, warnings = self.layout_scan(session())
            check(mode == shared_mode and not warnings, "after a restart: %s %s" % (mode, warnings))
            check(self.attached_to(m, pid) == "contact_list_fdw v%d" % (LAYOUT + 1), "attached to %s" % self.attached_to(m, pid))

            self.install(ROOT)
            variant_installed = False
            m.restart()
            pid, mode, warnings = self.layout_scan(session())
            check(mode == shared_mode and not warnings, "back to the normal build: %s %s" % (mode, warnings))
            check(self.attached_to(m, pid) == "contact_list_fdw v%d" % LAYOUT, "attached to %s" % self.attached_to(m, pid))
        finally:
            if variant_installed:
                self.install(ROOT)
            m.stop()

    def shared_layout_degrades(self, conn):
        # another layout, or any failure to attach: one WARNING, then the
        # session works alone; its scans never fail (the variant's switch)
        variant = self.variant_build()
        shared_mode = "shared_preload_libraries" if self.pg_major(conn) < 17 else "named DSM segment"
        self.install(variant)
        try:
            m, session = self.layout_cluster(conn)
            try:
                for fault, reason, text in (("layout", "layout mismatch", "layout version %d, this library version %d" % (LAYOUT + 2, LAYOUT + 1)),
                                            ("error", "could not attach", "injected failure to attach")):
                    s = session("-c clf_test.shared_fault=" + fault)
                    _, mode, warnings = self.layout_scan(s)
                    _, mode, warnings = self.layout_scan(s)
                    check(mode == "per-backend (%s)" % reason, "mode: %s" % mode)
                    check(len(warnings) == 1, "%d warnings: %s" % (len(warnings), warnings))
                    check("this session works alone" in warnings[0] and text in warnings[0]
                          and "restart the server" in warnings[0].lower(), "warning: %s" % warnings[0])
                    e = scan_error(s, "SELECT * FROM contact_list_fdw_stats")
                    check(e.pgcode == "55000" and reason in e.diag.message_primary, "stats: %s" % error_text(e))
                    # the detail, the error's and the warning's alike, is a
                    # sentence (capitalized, a period), also around a caught
                    # error's message
                    detail = e.diag.message_detail or ""
                    check(detail[:1].isupper() and detail.endswith(".") and text in detail,
                          "stats detail: %r" % detail)
                    check(fault != "error" or detail.startswith("Attaching to it failed: "),
                          "stats detail: %r" % detail)
                    check("\nDETAIL:  %s\n" % detail in warnings[0], "warning: %r, detail %r" % (warnings[0], detail))
                    s.close()
                # nothing was left held: the others share as before
                s = session()
                _, mode, warnings = self.layout_scan(s)
                check(mode == shared_mode and not warnings, "a session without the fault: %s %s" % (mode, warnings))
                check(run(s, "SELECT count(*) FROM contact_list_fdw_stats") == [(1,)], "stats rows")
                s.close()
            finally:
                m.stop()
        finally:
            self.install(ROOT)

    # -- where the backend connects: a superuser's word (issue 14, point 9)

    def proxy_not_skippable(self, conn):
        # The superuser sets api_url, proxy and ca_file in the configuration
        # (ALTER SYSTEM); a non-superuser's startup options (PGOPTIONS) must
        # not make a scan skip them: the scan goes through the proxy, or
        # fails, or the connection is refused; it never goes direct.
        cert, key = make_cert("tls", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        proxy, pxport, pxlog = start_tinyproxy("tinyproxy-guard", port, "Connect")
        url = "https://127.0.0.1:%d/cgi-bin" % port
        px = "http://127.0.0.1:%d" % pxport
        tls = ssl.create_default_context(cafile=cert)
        preloaded = "contact_list_fdw" in run(conn, "SHOW shared_preload_libraries")[0][0]

        def mock_requests():
            with urllib.request.urlopen("https://127.0.0.1:%d/_stats" % port, timeout=10, context=tls) as r:
                st = json.loads(r.read())
            return st["contact_list"] + st["gettoken"]

        def tunnels():
            try:
                with open(pxlog, errors="replace") as f:
                    return f.read().count("CONNECT 127.0.0.1:%d" % port)
            except OSError:
                return 0

        def attempt(options):
            """As fs_nosu with these startup options: ("refused", error),
            ("failed", error) or ("rows", n), and whether the mock got a
            request that did not come through the proxy."""
            req0, tun0 = mock_requests(), tunnels()
            try:
                s = psycopg2.connect(dbname=DB, user="fs_nosu", options=options)
            except psycopg2.OperationalError as e:
                return ("refused", str(e)), False
            s.autocommit = True
            try:
                got = ("rows", len(run(s, "SELECT * FROM fs_gx_contacts")))
            except psycopg2.Error as e:
                print("# error %s: %s" % (e.pgcode, e.diag.message_primary), flush=True)
                got = ("failed", e)
            finally:
                s.close()
            time.sleep(0.2)     # tinyproxy writes its log line
            direct = mock_requests() > req0 and tunnels() == tun0
            return got, direct

        def wait_setting(name, value):
            self.wait_for("the configuration to reach new sessions",
                          lambda: run(connect(), "SHOW " + name)[0][0] == value, seconds=10)

        try:
            run(conn, "DROP SERVER IF EXISTS fs_gx CASCADE")
            run(conn, "DROP ROLE IF EXISTS fs_nosu")
            run(conn, "CREATE ROLE fs_nosu LOGIN")
            run(conn, "CREATE SERVER fs_gx FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (max_retries '0')")
            run(conn, """CREATE FOREIGN TABLE fs_gx_contacts (external_userid text, name text)
                         SERVER fs_gx OPTIONS (page_size '%d')""" % PAGE)
            run(conn, "GRANT SELECT ON fs_gx_contacts TO fs_nosu")
            run(conn, "CREATE USER MAPPING FOR fs_nosu SERVER fs_gx OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok')")
            for name, value in (("api_url", url), ("proxy", px), ("ca_file", cert)):
                run(conn, "ALTER SYSTEM SET contact_list_fdw.%s = %%s" % name, (value,))
            run(conn, "SELECT pg_reload_conf()")
            wait_setting("contact_list_fdw.proxy", px)

            # the settings, as clusters have them today: they hold
            got, direct = attempt("")
            check(got == ("rows", 25) and not direct, "without options: %s, direct %s" % (got, direct))
            check(tunnels() >= 1, "the scan did not go through the proxy")
            attacks = ("-c contact_list_fdw.proxy=", "-c contact_list_fdw.api_url=https://127.0.0.1:1/x",
                       "-c contact_list_fdw.ca_file=")
            for options in attacks:
                got, direct = attempt(options)
                check(not direct, "%s: the scan went direct (%s)" % (options, got))
                if preloaded:
                    check(got[0] == "refused" and "permission denied to set parameter" in got[1],
                          "%s: %s" % (options, got))
                else:
                    check(got[0] == "failed", "%s: %s" % (options, got))
                    e = got[1]
                    setting = options.split()[1].split("=")[0]
                    check(e.pgcode == "42501" and setting in e.diag.message_primary
                          and "lost its configured value" in e.diag.message_primary,
                          "%s: %s %s" % (options, e.pgcode, error_text(e)))
                    check("ALTER FOREIGN DATA WRAPPER" in (e.diag.message_hint or ""), "hint: %s" % e.diag.message_hint)

            if not preloaded:
                # a reload gives the session the configured value again: then
                # the setting is used, through the proxy
                s = psycopg2.connect(dbname=DB, user="fs_nosu", options="-c contact_list_fdw.proxy=")
                s.autocommit = True
                try:
                    e = scan_error(s, "SELECT count(*) FROM fs_gx_contacts")
                    check(e.pgcode == "42501", "before the reload: %s %s" % (e.pgcode, error_text(e)))
                    tun0 = tunnels()
                    run(conn, "SELECT pg_reload_conf()")
                    self.wait_for("the session to reload its configuration",
                                  lambda: run(s, "SHOW contact_list_fdw.proxy")[0][0] == px, seconds=10)
                    check(run(s, "SELECT count(*) FROM fs_gx_contacts") == [(25,)], "after the reload")
                    time.sleep(0.2)
                    check(tunnels() > tun0, "after the reload, the scan did not go through the proxy")
                finally:
                    s.close()

            # the wrapper's options: no session can reach them
            run(conn, "ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD api_url %s, ADD proxy %s, ADD ca_file %s)",
                (url, px, cert))
            for name in ("api_url", "proxy", "ca_file"):
                run(conn, "ALTER SYSTEM RESET contact_list_fdw.%s" % name)
            run(conn, "SELECT pg_reload_conf()")
            wait_setting("contact_list_fdw.proxy", "")
            for options in ("",) + attacks:
                tun0 = tunnels()
                got, direct = attempt(options)
                check(not direct, "%s: the scan went direct (%s)" % (options, got))
                if preloaded and options:
                    check(got[0] == "refused", "%s: %s" % (options, got))
                else:
                    check(got == ("rows", 25) and tunnels() > tun0,
                          "%s under the wrapper's options: %s, %d tunnels" % (options, got, tunnels() - tun0))
        finally:
            for name in ("api_url", "proxy", "ca_file"):
                run(conn, "ALTER SYSTEM RESET contact_list_fdw.%s" % name)
            run(conn, "SELECT pg_reload_conf()")
            have = run(conn, "SELECT coalesce(fdwoptions, '{}') FROM pg_foreign_data_wrapper WHERE fdwname = 'contact_list_fdw'")[0][0]
            for o in have:
                run(conn, "ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (DROP %s)" % o.split("=")[0])
            run(conn, "DROP SERVER IF EXISTS fs_gx CASCADE")
            run(conn, "DROP ROLE IF EXISTS fs_nosu")
            stop(proxy)
            stop(mock)
    def async_out_of_descriptors(self, conn):
        # an asynchronous child that cannot get its descriptors fails the
        # query with 53000 and leaks nothing: the next query gets its rows
        mc, c = fault_injection_cluster("asyncfd")
        try:
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw "
                   "OPTIONS (api_url %s, async_capable 'on')", (API,))
            run(c, "CREATE USER MAPPING FOR public SERVER s OPTIONS (access_token 'fixed-basic')")
            run(c, "CREATE FOREIGN TABLE a (external_userid text) SERVER s OPTIONS (page_size '5')")
            run(c, "CREATE FOREIGN TABLE b (external_userid text) SERVER s OPTIONS (page_size '5')")
            both = "SELECT count(*) FROM (SELECT * FROM a UNION ALL SELECT * FROM b) u"
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            check(run(c, both) == [(50,)], "rows before the fault")
            fds = len(os.listdir("/proc/%d/fd" % pid))
            run(c, "SET clf_fault.point = 'async_descriptors'")
            e = scan_error(c, both)
            run(c, "RESET clf_fault.point")
            check(e.pgcode == "53000" and "asynchronous scan" in (e.diag.message_primary or ""),
                  "SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            check(len(os.listdir("/proc/%d/fd" % pid)) == fds,
                  "descriptors of the backend: %d before, %d after the failed scan"
                  % (fds, len(os.listdir("/proc/%d/fd" % pid))))
            check(run(c, both) == [(50,)], "rows after the fault")
        finally:
            mc.stop()

    def dropped_server_cycles(self, rolled_back, n=20):
        # a session that creates, scans and drops servers (or rolls their
        # creation back) keeps its descriptors flat: each server's cached
        # connection (its socket, libcurl's wakeup pair, the wait set) is
        # closed when the drop commits or the creation rolls back
        c = connect()
        try:
            pid = run(c, "SELECT pg_backend_pid()")[0][0]

            def targets():
                # sockets, pipes, epoll and timer descriptors by kind: not
                # files, which PostgreSQL opens for the catalogs a cycle
                # touches and keeps (up to max_files_per_process)
                got = collections.Counter()
                for fd in os.listdir("/proc/%d/fd" % pid):
                    try:
                        target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    except OSError:
                        continue    # closed meanwhile
                    if not target.startswith("/"):
                        got[re.sub(r"\d+", "N", target)] += 1
                return got

            def fds():
                return sum(targets().values())

            def cycle(i, rolled_back):
                name = "fs_cycle_%d" % i
                if rolled_back:
                    run(c, "BEGIN")
                run(c, "CREATE SERVER %s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %%s)" % name,
                    (API,))
                run(c, "CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (access_token 'fixed-basic')"
                    % name)
                run(c, "CREATE FOREIGN TABLE %s_t (external_userid text) SERVER %s OPTIONS (page_size '25')"
                    % (name, name))
                check(run(c, "SELECT count(*) FROM %s_t" % name) == [(25,)], "rows of %s" % name)
                held = fds()
                if rolled_back:
                    run(c, "ROLLBACK")
                else:
                    run(c, "DROP SERVER %s CASCADE" % name)
                return held

            # the catalogs and libraries the cycle touches, opened once
            cycle(0, False)
            cycle(1, True)
            cycle(2, False)
            was = targets()
            before = sum(was.values())
            held = max(cycle(3 + i, rolled_back) for i in range(n))
            now = targets()
            after = sum(now.values())
            # the scan did hold descriptors of its own (else nothing here is measured)
            check(held > before, "the backend held %d descriptors during a scan, %d before" % (held, before))
            check(after - before <= 2,
                  "the backend's sockets, pipes and epoll descriptors grew from %d to %d over %d servers %s (new: %s)"
                  % (before, after, n, "created and scanned in rolled back transactions" if rolled_back
                     else "created, scanned and dropped", dict(now - was)))
            print("# %s: %d descriptors before %d cycles, %d after, %d during a scan"
                  % ("rolled back servers" if rolled_back else "dropped servers", before, n, after, held),
                  flush=True)
        finally:
            c.close()

    def async_gettoken_url_wiped(self, conn):
        # an asynchronous child's gettoken that fails while its request is
        # being built (out of memory) leaves no copy of its URL, which holds
        # corp_secret, in the session's memory
        mc, c = fault_injection_cluster("tokenurl")
        try:
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw "
                   "OPTIONS (api_url %s, async_capable 'on')", (API,))
            run(c, "CREATE USER MAPPING FOR public SERVER s "
                   "OPTIONS (corp_id 'corp-basic', corp_secret 'secret-ok2')")
            run(c, "CREATE FOREIGN TABLE a (external_userid text) SERVER s OPTIONS (page_size '5')")
            run(c, "CREATE FOREIGN TABLE b (external_userid text) SERVER s OPTIONS (page_size '5')")
            both = "SELECT count(*) FROM (SELECT * FROM a UNION ALL SELECT * FROM b) u"
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            fault_error(c, both, "gettoken_built")
            secret = bare_copies(pid, b"secret-ok2")[0]
            url = bare_copies(pid, b"corpsecret=secret-ok2")[0]
            check(secret > 0, "corp_secret is nowhere in the session's memory: the search is broken")
            check(url == 0, "%d copies of the gettoken URL left in the session's memory" % url)
            check(run(c, both) == [(50,)], "rows after the fault")
        finally:
            mc.stop()

    def rescan_unforeseen(self, conn):
        # a rescan BeginForeignScan did not foresee (no plan known makes one:
        # the fault build pretends a LATERAL subquery's is one) starts one
        # new traversal, keeps its rows from then on, and every loop gets
        # every row: three loops cost two traversals, not three
        mc, c = fault_injection_cluster("rescan")
        try:
            ten_a_page_table(c)
            loops = ("SELECT g, count(*), count(DISTINCT external_userid) FROM generate_series(1, 3) g, "
                     "LATERAL (SELECT * FROM t LIMIT 100 + g) u GROUP BY g ORDER BY g")
            reset()
            whole = run(c, loops)
            check(whole == [(g, 25, whole[0][2]) for g in (1, 2, 3)] and whole[0][2] > 1, "foreseen: %s" % (whole,))
            check(stats()["contact_list"] == 3, "foreseen: %d requests for one traversal of 3 pages"
                  % stats()["contact_list"])
            run(c, "SET clf_fault.point = 'rescan_unforeseen'")
            reset()
            got = run(c, loops)
            requests = stats()["contact_list"]
            plan = "\n".join(r[0] for r in run(c, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + loops))
            run(c, "RESET clf_fault.point")
            check(got == whole, "unforeseen: %s" % (got,))
            check(requests == 6, "unforeseen: %d requests, not 2 traversals of 3 pages:\n%s" % (requests, plan))
            check("Traversals: 2" in plan and "Rows Replayed: 25" in plan, "unforeseen:\n" + plan)
        finally:
            mc.stop()

    def end_fails(self, conn):
        # a node's end failing in ExecutorEnd (another FDW's end: here this
        # one's, by a fault point) before the scan's EndForeignScan fails the
        # query: the scan is an error, as with an AFTER trigger's error, not
        # complete (every row read) nor stopped early (a LIMIT, a cursor)
        mc, c = fault_injection_cluster("endfail")
        try:
            ten_a_page_table(c)
            last = "SELECT outcome, error FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT %d"
            reset()
            # without the fault: what each would be
            run(c, "SELECT count(*) FROM t")
            run(c, "SELECT * FROM t LIMIT 1")
            got = run(c, last % 2)
            check([r[0] for r in got] == ["stopped early", "complete"], "without the fault: %s" % (got,))
            run(c, "SET clf_fault.point = 'end_foreign_scan'")
            try:
                for sql in ("SELECT count(*) FROM t", "SELECT * FROM t LIMIT 1",
                            "SELECT count(*) FROM (SELECT * FROM t UNION ALL SELECT * FROM t) u"):
                    e = scan_error(c, sql)
                    check("end_foreign_scan" in (e.diag.message_detail or ""), "%s: %s" % (sql, error_text(e)))
                # a cursor whose CLOSE fails
                run(c, "BEGIN")
                run(c, "DECLARE cur CURSOR FOR SELECT * FROM t")
                run(c, "FETCH 2 FROM cur")
                e = scan_error(c, "CLOSE cur")
                run(c, "ROLLBACK")
            finally:
                run(c, "RESET clf_fault.point")
            got = run(c, last % 5)
            check(all(r[0] == "error" and "the query failed" in (r[1] or "") for r in got),
                  "with a node's end failing: %s" % (got,))
        finally:
            mc.stop()

    def redaction_generated(self, conn):
        # a server quoting a credential in any of its written forms: random
        # credentials with the characters a URL, JSON and HTML escape (and
        # non-ASCII, beyond the BMP), each written by a random chain of up
        # to two encoders (URL, JSON, HTML), each escaping what it must and
        # any other character by chance, or of three escaping only what they
        # must, between random text, or where the message's cut goes through
        # it.  The message
        # never shows the credential, as written or as sent.  Seeded: a
        # failure names its seed (CLF_REDACT_SEED=N reruns from it,
        # CLF_REDACT_CASES=N runs more)
        first = int(os.environ.get("CLF_REDACT_SEED", "1"))
        cases = int(os.environ.get("CLF_REDACT_CASES", "2500"))
        alphabet = string.ascii_letters + string.digits + "-_.~/+=%&#;'<>\"\\é汉😀"
        self.shared_table(conn, "fs_gens", {"corp_id": "corp-basic", "corp_secret": "secret-gen"})
        self.shared_table(conn, "fs_gent", {"access_token": "fixed-genecho"})
        try:
            for seed in range(first, first + cases):
                rnd = random.Random(seed)
                tail = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(4, 12)))
                if seed % 2:
                    server, credential, option = "fs_gens_srv", "secret-gen" + tail, "corp_secret"
                else:
                    server, credential, option = "fs_gent_srv", "fixed-genecho~" + tail, "access_token"
                # up to two encoders, each escaping any character by chance;
                # or three, each escaping only what it must
                chain = [rnd.choice(sorted(ENCODERS)) for _ in range(rnd.randint(0, 3))]
                written = credential
                for name in chain:
                    written = ENCODERS[name](written, rnd, rnd.choice((0, 0.3, 1)) if len(chain) < 3 else 0)
                junk = "".join(rnd.choice(alphabet + " ") for _ in range(rnd.randint(0, 20)))
                text = "invalid parameter %s%s %s" % (junk, written, junk[::-1])
                # one in seven: the message's cut (byte CLF_ERRMSG_SHOWN)
                # goes through it, which leaves a piece to hide
                cut = seed % 7 == 3
                if cut:
                    shown_bytes = 2000
                    at = rnd.randint(1, len(written.encode()) - 1)
                    text = "invalid parameter ".ljust(shown_bytes - at, "x") + written + " " + junk
                req = urllib.request.Request("http://127.0.0.1:%d/_echo" % MOCK_PORT, data=text.encode())
                urllib.request.urlopen(req, timeout=10).read()
                run(conn, "ALTER USER MAPPING FOR postgres SERVER %s OPTIONS (SET %s %%s)" % (server, option),
                    (credential,))
                try:
                    run(conn, "SELECT count(*) FROM " + server[:-4])
                    shown = "no error"
                except psycopg2.Error as e:
                    shown = error_text(e)
                # nor a piece of it: no 8 bytes of what the server wrote
                errmsg = shown.split("errcode 40058: ", 1)[-1]
                pieces = [written[i:i + 8] for i in range(len(written) - 7)]
                check(("[redacted]..." if cut else "[redacted]") in shown and credential not in shown
                      and not any(piece in errmsg for piece in pieces),
                      "seed %d (%s over %r%s): the message shows the credential %r:\n%s"
                      % (seed, "+".join(chain) or "as it is", credential, ", cut" if cut else "",
                         written, shown))
        finally:
            for server in ("fs_gens_srv", "fs_gent_srv"):
                run(conn, "DROP SERVER IF EXISTS %s CASCADE" % server)

    def redaction_whitespace(self, conn):
        # a credential with a space, quoted with other blanks there (a line
        # break or a tab where a page wraps, two spaces, or one for two):
        # a message shows a run of blanks as one space, and so would show
        # the credential as it is, unless the redaction reads blanks as the
        # message will
        self.shared_table(conn, "fs_blank", {"access_token": "fixed-genecho"})
        try:
            for token, written in (("fixed-genecho~pass word", "fixed-genecho~pass\nword"),
                                   ("fixed-genecho~pass word", "fixed-genecho~pass\n" + " " * 40 + "word"),
                                   ("fixed-genecho~pass word", "fixed-genecho~pass" + " " * 40 + "+%20word"),
                                   ("fixed-genecho~pass word", "fixed-genecho~pass\r\n\tword"),
                                   ("fixed-genecho~pass word", "fixed-genecho~pass   word"),
                                   ("fixed-genecho~pass  word", "fixed-genecho~pass word"),
                                   ("fixed-genecho~pass  word", "fixed-genecho~pass\nword"),
                                   ("fixed-genecho~pass word", "fixed-genecho~pass%0Aword"),
                                   ("fixed-genecho~pass word", "fixed-genecho~pass+%09word")):
                text = "invalid parameter %s, see the log" % written
                req = urllib.request.Request("http://127.0.0.1:%d/_echo" % MOCK_PORT, data=text.encode())
                urllib.request.urlopen(req, timeout=10).read()
                run(conn, "ALTER USER MAPPING FOR postgres SERVER fs_blank_srv OPTIONS (SET access_token %s)",
                    (token,))
                e = scan_error(conn, "SELECT count(*) FROM fs_blank")
                shown = error_text(e)
                check("invalid parameter [redacted], see the log" in shown and "pass" not in shown,
                      "%r quoted as %r: %s" % (token, written, shown))
        finally:
            run(conn, "DROP SERVER IF EXISTS fs_blank_srv CASCADE")

    def redaction_forms_wiped(self, conn):
        # an error while a message is being redacted (out of memory) leaves
        # no copy of a credential's forms: corp_secret as a query string has
        # it (and in lowercase hex, escaped twice, as JSON), which the
        # redaction must not make (it reads escapes in the text): the other
        # copies (the errmsg quoting the URL, libcurl's) follow "="; and the
        # proxy's Basic credentials, which only the redaction makes here (a
        # server without a proxy: libcurl is never given them)
        mc, c = fault_injection_cluster("redact")
        try:
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE USER MAPPING FOR public SERVER s "
                   "OPTIONS (corp_id 'corp-echoconn', corp_secret 'secret-ok/+=3', "
                   "proxy_user 'squid', proxy_password %s)", (PROXY_PASSWORD,))
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            e = scan_error(c, "SELECT count(*) FROM t")
            check("corpsecret=[redacted]" in error_text(e) and "secret-ok" not in error_text(e),
                  "without the fault: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            # a session of its own: what is left in it comes from the error
            c.close()
            c = mc.connect()
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            fault_error(c, "SELECT count(*) FROM t", "redact_forms")
            # the user mapping's corp_secret, as read, proves the search sees
            seen = bare_copies(pid, b"secret-ok/+=3")[0]
            check(seen > 0, "corp_secret is nowhere in the session's memory: the search is broken")
            # escaped, in lowercase hex, escaped twice in either case, as
            # JSON; the Basic credentials
            for form in (b"secret-ok%2F%2B%3D3", b"secret-ok%2f%2b%3d3", b"secret-ok%252F%252B%253D3",
                         b"secret-ok%252f%252b%253d3", b"secret-ok\\/+=3",
                         base64.b64encode(b"squid:" + PROXY_PASSWORD.encode())):
                bare = bare_copies(pid, form)[1]
                check(not bare, "%d copies of the credentials' form %r left, e.g. %r"
                      % (len(bare), form, bare[:2]))
            # the corp_id's copies fail the same way: a clean error, the backend goes on
            fault_error(c, "SELECT count(*) FROM t", "redact_corp_id_form", "corp_id's forms: SQLSTATE")
            check(run(c, "SELECT 1")[0][0] == 1, "the backend did not go on")
        finally:
            mc.stop()

    def json_print_out_of_memory(self, conn):
        # json-c out of memory printing a value as JSON text (it gives NULL):
        # a json or jsonb column, a text column holding an object, each a
        # clean 53200; in the context of another error the value is left
        # out; the backend goes on
        mc, c = fault_injection_cluster("jsonprint")
        try:
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE whole (item jsonb OPTIONS (field '*')) SERVER s")
            run(c, "CREATE FOREIGN TABLE astext (item text OPTIONS (field '*')) SERVER s")
            run(c, "CREATE FOREIGN TABLE wrong (follow_userid integer) SERVER s")
            for table in ("whole", "astext"):
                check(run(c, "SELECT count(item) FROM %s" % table)[0][0] > 0, "%s without the fault" % table)
            run(c, "SET clf_fault.point = 'json_print'")
            for table in ("whole", "astext"):
                e = scan_error(c, "SELECT count(item) FROM %s" % table)
                check(e.pgcode == "53200" and e.diag.message_primary == "out of memory"
                      and "json-c" in (e.diag.message_detail or ""),
                      "%s: SQLSTATE %s: %s" % (table, e.pgcode, error_text(e)))
            e = scan_error(c, "SELECT count(follow_userid) FROM wrong")
            check(e.pgcode == "22P02" and "(not shown: out of memory)" in (e.diag.context or ""),
                  "a conversion error's context: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
            run(c, "RESET clf_fault.point")
            check(run(c, "SELECT count(item) FROM whole")[0][0] > 0, "the backend did not go on")
        finally:
            mc.stop()

    def json_parser_out_of_memory(self, conn):
        # json-c without the memory for its parser (its tokener not made),
        # for a page and for gettoken: 53200 that says what was being
        # parsed, not an invalid response that blames a proxy; the backend
        # goes on
        mc, c = fault_injection_cluster("jsonparser")
        try:
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE t (external_userid text) SERVER s")
            run(c, "CREATE SERVER g FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE USER MAPPING FOR public SERVER g "
                   "OPTIONS (corp_id 'corp-shared', corp_secret 'secret-ok')")
            run(c, "CREATE FOREIGN TABLE tg (external_userid text) SERVER g")
            run(c, "SET clf_fault.point = 'json_tokener'")
            for table, parsed in (("t", "page 1 of "), ("tg", "/gettoken")):
                e = scan_error(c, "SELECT count(*) FROM %s" % table)
                detail = e.diag.message_detail or ""
                check(e.pgcode == "53200" and e.diag.message_primary == "out of memory"
                      and "json-c could not get the memory" in detail and parsed in detail,
                      "%s: SQLSTATE %s: %s" % (table, e.pgcode, error_text(e)))
            run(c, "RESET clf_fault.point")
            for table in ("t", "tg"):
                check(run(c, "SELECT count(*) FROM %s" % table) == [(25,)], "%s: the backend did not go on" % table)
        finally:
            mc.stop()

    def url_check_out_of_memory(self, conn):
        # libcurl out of memory (curl_url() failing) while a URL is checked:
        # 53200 on SET and for an option, and in a settings' check hook a
        # refusal, never an ERROR: a connection whose role has the setting
        # opens (15, 16: the library is preloaded) and a LOAD that turns the
        # placeholder into the setting goes on (17+), the value refused, as
        # PostgreSQL does with a value it cannot take there
        mc, c = fault_injection_cluster("urloom")
        try:
            relay = "https://relay.example.com/cgi-bin"
            run(c, "SET clf_fault.point = 'url_parse'")
            for sql in ("SET contact_list_fdw.api_url = '%s'" % relay,
                        "SET contact_list_fdw.proxy = 'http://127.0.0.1:3128'",
                        "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url '%s')" % relay):
                e = scan_error(c, sql)
                check(e.pgcode == "53200" and e.diag.message_primary == "out of memory",
                      "%s: SQLSTATE %s: %s" % (sql, e.pgcode, error_text(e)))
        finally:
            mc.stop()
        # the role's settings checked as a connection starts (the library
        # preloaded: 15, 16) or as LOAD defines them, the built-in default
        # first (a refused boot value would be FATAL): both, on any version
        for preload in (True, False):
            mc, c = fault_injection_cluster("urloom", preload=preload)
            try:
                run(c, "ALTER ROLE CURRENT_USER SET clf_fault.point = 'url_parse'")
                run(c, "ALTER ROLE CURRENT_USER SET contact_list_fdw.api_url = %s", (relay,))
                try:
                    c2 = mc.connect()
                    run(c2, "LOAD 'contact_list_fdw'")
                except psycopg2.Error as e:
                    raise Fail("preloaded %s: the check hook raised an ERROR: %s %s"
                               % (preload, e.pgcode, str(e).strip()))
                shown = run(c2, "SHOW contact_list_fdw.api_url")[0][0]
                check(shown != relay, "preloaded %s: the value the check could not parse was taken: %s"
                      % (preload, shown))
                c2.close()
            finally:
                mc.stop()

    def slot_claims(self, conn):
        # issue 18: one backend's claims each hold a slot or wait with a
        # ticket at once, as an Append's asynchronous scans will; driven
        # through a test-only function of the fault injection build
        mc, c = fault_injection_cluster("claims")
        try:
            run(c, "CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %s)", (API,))
            run(c, "CREATE FUNCTION claims(oid, int, text) RETURNS text LANGUAGE c "
                   "AS 'contact_list_fdw', 'contact_list_fdw_test_slot_claims'")
            srv = run(c, "SELECT oid FROM pg_foreign_server WHERE srvname = 's'")[0][0]

            def claims(script, cap=2):
                return run(c, "SELECT claims(%s, %s, %s)", (srv, cap, script))[0][0]

            def in_flight():
                return run(c, "SELECT requests_in_flight FROM contact_list_fdw_stats WHERE server = 's'")[0][0]
            # cap 2: two claims hold slots, two more wait in ticket order
            got = claims("c0 c1 c2 c3 t0 t1 t2 t3 i")
            check(got == "t t f f 2/2", "four claims, cap 2: %s" % got)
            # a slot given back goes to the oldest ticket, this backend's own
            got = claims("t2 d0 t3 t2 t2 i")
            check(got == "f f t t 2/1", "claim 0's slot to claim 2, claim 3 still waits: %s" % got)
            # an unclaimed waiter's ticket is given up
            got = claims("u3 i")
            check(got == "2/0", "claim 3 unclaimed: %s" % got)
            # an error gives back every claim's slot and ticket
            got = claims("c3 t3 i")
            check(got == "f 2/1", "claim 3 waits again: %s" % got)
            try:
                claims("e")
                raise Fail("no error from the failing call")
            except psycopg2.Error:
                pass
            check(in_flight() == 0, "after the error, %s requests in flight" % in_flight())
            # the claims outlive the error and take slots again
            got = claims("t1 t2 t3 i d1 t3 t3 i d2 d3 i")
            check(got == "t t f 2/1 t t 2/0 0/0", "after the error: %s" % got)
            # a full claim table: no claim, no slot when one is needed
            got = claims("u0 u1 u2 u3 full i c0 t0 i d0 u0")
            check(got == "full 64 f 0/0 t 1/0", "full table: %s" % got)
            got = claims("full", cap=0)
            check(got == "full 64 t", "full table, no cap: %s" % got)
        finally:
            mc.stop()

    def async_cap_self(self, conn):
        # a plain scan, in the same query, of a server capped at 1 whose
        # slot (or place in the queue) the query's own async children hold:
        # it goes ahead rather than wait for a slot only it could give back
        self.shared_table(conn, "fs_cs1", {"access_token": "fixed-delay"},
                          server_options="max_concurrent_requests '1'",
                          table_options="page_size '5', async_capable 'on'")
        for name, opt in (("fs_cs2", "on"), ("fs_cs3", "off")):
            run(conn, """CREATE FOREIGN TABLE %s (
                           is_customer boolean, tmp_openid text, external_userid text, name text,
                           follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                         SERVER fs_cs1_srv OPTIONS (page_size '5', async_capable '%s')""" % (name, opt))
        sql = ("SELECT count(*) FROM (SELECT external_userid FROM fs_cs1 UNION ALL "
               "SELECT external_userid FROM fs_cs2) u JOIN fs_cs3 s USING (external_userid)")
        c = connect()
        try:
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            took = self.join_never_waits(c, sql, 2)
            check(took < 10, "the query took %.1f s" % took)
            self.async_left_nothing(conn, pid, ["fs_cs1_srv"])
        finally:
            c.close()

    def join_never_waits(self, c, sql, async_scans):
        """sql, a nested-loop join with async_scans async children of a
        capped server, on c: the same answer with async on and off, and no
        wait for itself (within statement_timeout).  Its time, async."""
        run(c, "SET enable_hashjoin = off")
        run(c, "SET enable_mergejoin = off")
        run(c, "SET statement_timeout = '12s'")
        plan = "\n".join(r[0] for r in run(c, "EXPLAIN (COSTS OFF) " + sql))
        check(plan.count("Async Foreign Scan") == async_scans and "Nested Loop" in plan,
              "not the plan the case needs:\n" + plan)
        run(c, "SET enable_async_append = off")
        want = run(c, sql)
        run(c, "RESET enable_async_append")
        reset()
        t0 = time.monotonic()
        try:
            got = run(c, sql)
        except psycopg2.Error as e:
            raise Fail("the query waited for itself: %s" % error_text(e))
        took = time.monotonic() - t0
        check(got == want, "%s rows async, %s without" % (got, want))
        return took

    def async_two_pollers(self, conn):
        # a join of two async Appends over one server capped at 1: a child
        # of one Append never waits for a slot a child of the other holds
        # (that one is driven only once this Append returns), it goes one
        # over the cap instead; children of one Append still take turns
        self.shared_table(conn, "fs_tp1", {"access_token": "fixed-delay"},
                          server_options="max_concurrent_requests '1'",
                          table_options="page_size '5', async_capable 'on'")
        for name in ("fs_tp2", "fs_tp3", "fs_tp4"):
            run(conn, """CREATE FOREIGN TABLE %s (
                           is_customer boolean, tmp_openid text, external_userid text, name text,
                           follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                         SERVER fs_tp1_srv OPTIONS (page_size '5', async_capable 'on')""" % name)
        sql = ("SELECT count(*) FROM (SELECT external_userid FROM fs_tp1 UNION ALL "
               "SELECT external_userid FROM fs_tp2) o JOIN (SELECT external_userid FROM fs_tp3 "
               "UNION ALL SELECT external_userid FROM fs_tp4) i USING (external_userid)")
        c = connect()
        try:
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            self.join_never_waits(c, sql, 4)
            st = stats()
            check(st["max_in_flight"] <= 2, "the mock saw %d requests at once on a server capped at 1"
                  % st["max_in_flight"])
            self.async_left_nothing(conn, pid, ["fs_tp1_srv"])
        finally:
            c.close()

    def async_claims_run_out(self, conn):
        # more async children on capped servers than a backend has slot
        # claims: a child whose page is done gives its claim back, so the
        # last children get one in turn instead of polling until the timeout
        n = SLOT_CLAIMS + 2
        names = ["fs_cl%d" % i for i in range(n)]
        for name in names:
            self.shared_table(conn, name, {"access_token": "fixed-basic"},
                              server_options="max_concurrent_requests '1'",
                              table_options="page_size '5', async_capable 'on'")
        sql = " UNION ALL ".join("SELECT '%s' AS t, %s FROM %s" % (name, COLUMNS, name) for name in names)
        c = connect()
        try:
            pid = run(c, "SELECT pg_backend_pid()")[0][0]
            # about a second; without a claim the last children poll for ever
            run(c, "SET statement_timeout = '10s'")
            check_async_children(c, sql, n)
            t0 = time.monotonic()
            try:
                per = self.async_rows(c, sql)
            except psycopg2.Error as e:
                raise Fail("%d async children, %d slot claims: %s" % (n, SLOT_CLAIMS, error_text(e)))
            print("# async_claims_run_out: %d async children on capped servers, %d slot claims, in %.1f s"
                  % (n, SLOT_CLAIMS, time.monotonic() - t0))
            for name in names:
                check(per[name] == self.clean, "%s's rows differ from a clean run" % name)
            self.async_left_nothing(conn, pid, [name + "_srv" for name in names])
        finally:
            c.close()
            for name in names:
                run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)

    def async_token_claim_released(self, conn):
        # LIMIT ends the query while one child's gettoken (3 s) is in flight:
        # the fetch it claimed for the cluster is given back at once, so
        # another session fetches the token itself instead of waiting the
        # whole budget (here timeout_ms 5 s x 1 attempt) for a fetch nobody
        # makes
        self.shared_table(conn, "fs_tc1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        self.slow_token_server(conn, "fs_tc2", 5000, 5)
        first, second = connect(), connect()
        try:
            # in a transaction left open: the fetch goes back when the scan
            # ends, not only when the transaction does
            run(first, "BEGIN")
            t0 = time.monotonic()
            rows = run(first, "SELECT * FROM (SELECT external_userid FROM fs_tc1 UNION ALL "
                              "SELECT external_userid FROM fs_tc2) u LIMIT 1")
            took = time.monotonic() - t0
            check(len(rows) == 1 and took < 2.5,
                  "the LIMIT query took %.1f s for %d rows: it waited for the token" % (took, len(rows)))
            t0 = time.monotonic()
            try:
                got = run(second, "SELECT count(*) FROM fs_tc2")
            except psycopg2.Error as e:
                raise Fail("the other session: %s" % error_text(e))
            took = time.monotonic() - t0
            check(got == [(25,)], "the other session's rows: %s" % got)
            check(took < 4.5, "the other session took %.1f s: it waited for the abandoned fetch" % took)
            run(first, "COMMIT")
        finally:
            first.close()
            second.close()
        run(conn, "DROP SERVER fs_tc2_srv CASCADE")

    def subxact_cursor(self, conn, child, fetch_in_savepoint):
        """An async Append of fs_sx1 (fast) and child on a session of its
        own: BEGIN, DECLARE, FETCH 1 (child's request is then out), after
        SAVEPOINT s when fetch_in_savepoint (the request is then started in
        the subtransaction that subxact_rollback rolls back).  Returns the
        session, in the transaction with the cursor open."""
        self.shared_table(conn, "fs_sx1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        a = connect()
        run(a, "BEGIN")
        run(a, "DECLARE c CURSOR FOR SELECT external_userid FROM fs_sx1 UNION ALL "
               "SELECT external_userid FROM %s" % child)
        if fetch_in_savepoint:
            run(a, "SAVEPOINT s")
        check(len(run(a, "FETCH 1 FROM c")) == 1, "FETCH 1 returned no row")
        return a

    def subxact_rollback(self, a, fetch_in_savepoint):
        """A subtransaction fails and is rolled back: the one subxact_cursor
        began, or a new one."""
        if not fetch_in_savepoint:
            run(a, "SAVEPOINT s")
        try:
            run(a, "SELECT 1/0")
            raise Fail("no error from 1/0")
        except psycopg2.Error:
            pass
        run(a, "ROLLBACK TO SAVEPOINT s")

    def state_of(self, conn, pid):
        """pid's progress state once it is past starting."""
        return self.wait_for("the scan of %d to get going" % pid, lambda: [
            r[1] for r in self.progress_rows(conn, [pid]) if r[1] != "starting"], seconds=5)[0]

    def async_token_wait_state(self, conn):
        # an Append's scans waiting for another session's gettoken (3 s) say
        # so in their progress rows, as a plain scan's wait does
        self.shared_table(conn, "fs_atw", {"corp_id": "corp-slowtoken", "corp_secret": "secret-ok"},
                          server_options="async_capable 'on'", table_options="page_size '25'", fresh_key=True)
        reset()
        a, b = connect(), connect()
        try:
            apid = run(a, "SELECT pg_backend_pid()")[0][0]
            bpid = run(b, "SELECT pg_backend_pid()")[0][0]
            ta, boxa = self.in_background(lambda: run(a, "SELECT count(*) FROM fs_atw"))
            state = self.state_of(conn, apid)
            check(state == "requesting", "the fetching session's scan is %s" % state)
            tb, boxb = self.in_background(lambda: run(b, "SELECT count(*) FROM (SELECT * FROM fs_atw "
                                                         "UNION ALL SELECT * FROM fs_atw) u"))
            rows = self.wait_for("the Append's two scans in their progress rows", lambda: (
                lambda r: r if len(r) == 2 and all(x[1] != "starting" for x in r) else None)(
                    self.progress_rows(conn, [bpid])), seconds=5)
            check(all(x[1] == "waiting for token" for x in rows),
                  "the Append's scans, while another session fetches the token: %s" % [x[1] for x in rows])
            ta.join(20)
            tb.join(20)
            check(boxa.get("result") == [(25,)], "the fetching scan: %s" % boxa)
            check(boxb.get("result") == [(50,)], "the Append: %s" % boxb)
            check(stats()["gettoken"] == 1, "%d gettoken calls for one key" % stats()["gettoken"])
        finally:
            a.close()
            b.close()
        run(conn, "DROP SERVER fs_atw_srv CASCADE")

    def async_subxact_slot(self, conn, fetch_in_savepoint=False):
        # ROLLBACK TO SAVEPOINT gives back only what the subtransaction's
        # scans took: an open cursor's async request to a server capped at
        # 1, declared before the savepoint, still holds its slot afterwards,
        # so another session's scan of that server waits for it.  Also when
        # the FETCH that started the request ran inside the savepoint: the
        # request belongs to the cursor, which goes on
        self.shared_table(conn, "fs_sx2", {"access_token": "fixed-slow"},
                          server_options="max_concurrent_requests '1'",
                          table_options="page_size '25', async_capable 'on'")
        run(conn, "CREATE FOREIGN TABLE fs_sx3 (external_userid text) SERVER fs_sx2_srv "
                  "OPTIONS (page_size '25')")

        def in_flight():
            return run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats "
                             "WHERE server = 'fs_sx2_srv'")
        reset()
        a = self.subxact_cursor(conn, "fs_sx2", fetch_in_savepoint)
        b = connect()
        try:
            self.wait_for("the cursor's request to fs_sx2", lambda: in_flight() == [(1,)], seconds=5)
            self.subxact_rollback(a, fetch_in_savepoint)
            check(in_flight() == [(1,)], "after ROLLBACK TO SAVEPOINT, the cursor's open request "
                  "holds no slot: requests_in_flight %s" % in_flight())
            bpid = run(b, "SELECT pg_backend_pid()")[0][0]
            th, box = self.in_background(lambda: run(b, "SELECT count(*) FROM fs_sx3"))
            state = self.state_of(conn, bpid)
            check(state == "waiting for a slot",
                  "another session's scan is %s while the cursor's request holds the one slot" % state)
            # the cursor goes on: its request ends, the slot goes to the waiter
            rest = run(a, "FETCH ALL FROM c")
            run(a, "COMMIT")
            check(len(rest) == 49, "the cursor's other rows: %d" % len(rest))
            th.join(20)
            check(box.get("result") == [(25,)], "the waiting scan: %s" % box)
            check(in_flight() == [(0,)], "in flight after: %s" % in_flight())
        finally:
            a.close()
            b.close()

    def async_subxact_token(self, conn, fetch_in_savepoint=False):
        # the same for a token fetch: an open cursor's async gettoken (3 s),
        # claimed before the savepoint (or by a FETCH inside it), stays
        # claimed after ROLLBACK TO SAVEPOINT, so another session with the
        # same credentials waits for it rather than calling gettoken itself
        host = fresh_localhost()
        run(conn, "DROP SERVER IF EXISTS fs_sxt_srv CASCADE")
        run(conn, "CREATE SERVER fs_sxt_srv FOREIGN DATA WRAPPER contact_list_fdw "
                  "OPTIONS (api_url %s)", ("http://%s:%d/cgi-bin" % (host, MOCK_PORT),))
        set_mapping(conn, server="fs_sxt_srv", corp_id="corp-slowtoken", corp_secret="secret-ok")
        run(conn, "CREATE FOREIGN TABLE fs_sxt (external_userid text) "
                  "SERVER fs_sxt_srv OPTIONS (page_size '25', async_capable 'on')")
        reset()
        a = self.subxact_cursor(conn, "fs_sxt", fetch_in_savepoint)
        b = connect()
        try:
            self.subxact_rollback(a, fetch_in_savepoint)
            bpid = run(b, "SELECT pg_backend_pid()")[0][0]
            th, box = self.in_background(lambda: run(b, "SELECT count(*) FROM fs_sxt"))
            state = self.state_of(conn, bpid)
            check(state == "waiting for token",
                  "another session's scan is %s while the cursor fetches the token" % state)
            rest = run(a, "FETCH ALL FROM c")
            run(a, "COMMIT")
            check(len(rest) == 49, "the cursor's other rows: %d" % len(rest))
            th.join(20)
            check(box.get("result") == [(25,)], "the waiting scan: %s" % box)
            check(stats()["gettoken"] == 1, "%d gettoken calls for one key: the rolled back "
                  "subtransaction gave the cursor's fetch away" % stats()["gettoken"])
        finally:
            a.close()
            b.close()
        run(conn, "DROP SERVER fs_sxt_srv CASCADE")

    def prepared_gids(self, conn):
        return [r[0] for r in run(conn, "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'clf_pp_%' "
                                        "ORDER BY gid")]

    def prepare_transaction(self, conn):
        # PREPARE TRANSACTION after foreign scans: allowed (nothing remote
        # to prepare), and what the transaction's scans held in the shared
        # state goes back at once, as at COMMIT: another session gets the
        # slot and the token fetch without waiting, the stats show no
        # request in flight.  A cursor open across PREPARE is closed by it
        # (its scan ends); one WITH HOLD makes PostgreSQL refuse the PREPARE.
        # One that failed in a rolled back savepoint never ends its scan:
        # its slot goes with its memory, its token fetch with the xact
        # callback's PREPARE branch.  COMMIT PREPARED and ROLLBACK PREPARED,
        # in another session, give nothing back twice: the cap still holds.
        if run(conn, "SHOW max_prepared_transactions") == [("0",)]:
            raise Fail("max_prepared_transactions is 0 in the test cluster (test/lib.sh start_cluster sets it)")
        for gid in self.prepared_gids(conn):
            run(conn, "ROLLBACK PREPARED %s", (gid,))
        shared = not self.per_backend
        # fs_pp2: one page of 25 rows that takes 3 s, on a server capped at
        # 1 whose slot hold lasts 20 s: a slot kept past PREPARE stalls
        # fs_pp3's scan (the same server) well beyond its 3 s page
        self.shared_table(conn, "fs_pp1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        self.shared_table(conn, "fs_pp2", {"access_token": "fixed-slow"},
                          server_options="max_concurrent_requests '1', timeout_ms '20000'",
                          table_options="page_size '25', async_capable 'on'")
        run(conn, "CREATE FOREIGN TABLE fs_pp3 (external_userid text) SERVER fs_pp2_srv "
                  "OPTIONS (page_size '25')")
        # the same credentials as fs_ppt2's, read at once (secret-ok%26: a
        # token key no other case fetches)
        self.slow_token_tables(conn, "fs_ppt", "secret-ok%26", "8000")
        run(conn, "DROP SEQUENCE IF EXISTS fs_pp_rows")
        run(conn, "CREATE SEQUENCE fs_pp_rows")
        union = ("SELECT external_userid FROM fs_pp1 UNION ALL SELECT external_userid FROM fs_pp2")

        def in_flight():
            return run(conn, "SELECT requests_in_flight FROM contact_list_fdw_stats "
                             "WHERE server = 'fs_pp2_srv'")

        def nothing_held(a, apid, when):
            if not shared:
                return
            check(in_flight() == [(0,)], "%s: requests_in_flight %s" % (when, in_flight()))
            rows = self.progress_rows(conn, [apid])
            check(not rows, "%s: the session's progress rows %s" % (when, rows))
            # the one slot is free at once: the other session's scan takes
            # its own page's 3 s, not the 20 s hold of a slot left behind
            b = connect()
            try:
                run(b, "SET statement_timeout = '10s'")
                t = time.monotonic()
                try:
                    got = run(b, "SELECT count(*) FROM fs_pp3")
                except psycopg2.Error as e:
                    raise Fail("%s: another session's scan of the capped server: %s" % (when, error_text(e)))
                took = time.monotonic() - t
                check(got == [(25,)], "%s: another session's rows %s" % (when, got))
                check(took < 6, "%s: another session's scan took %.1f s: it waited for a slot "
                                "the prepared transaction kept" % (when, took))
            finally:
                b.close()

        def a_request_out(a):
            if shared:
                self.wait_for("the cursor's request to fs_pp2", lambda: in_flight() == [(1,)], seconds=5)

        a = connect()
        c = connect()
        try:
            apid = run(a, "SELECT pg_backend_pid()")[0][0]

            # 1. a cursor open across PREPARE, its async request in flight
            reset()
            run(a, "BEGIN")
            run(a, "DECLARE c CURSOR FOR " + union)
            check(len(run(a, "FETCH 1 FROM c")) == 1, "the cursor's first row")
            a_request_out(a)
            try:
                run(a, "PREPARE TRANSACTION 'clf_pp_open'")
            except psycopg2.Error as e:
                raise Fail("PREPARE TRANSACTION with an open cursor on foreign tables: %s" % error_text(e))
            check(self.prepared_gids(conn) == ["clf_pp_open"], "prepared: %s" % self.prepared_gids(conn))
            nothing_held(a, apid, "after PREPARE with an open cursor")
            # the cursor went with the transaction
            try:
                run(a, "FETCH 1 FROM c")
                raise Fail("the cursor outlived PREPARE TRANSACTION")
            except psycopg2.Error as e:
                check(e.pgcode == "34000", "FETCH after PREPARE: %s %s" % (e.pgcode, error_text(e)))
            # committed from another session: nothing to give back twice
            run(c, "COMMIT PREPARED 'clf_pp_open'")
            nothing_held(a, apid, "after COMMIT PREPARED")

            # 2. a cursor WITH HOLD: PostgreSQL refuses the PREPARE, the
            # transaction rolls back, and what its scan held goes back
            run(a, "BEGIN")
            run(a, "DECLARE h CURSOR WITH HOLD FOR " + union)
            check(len(run(a, "FETCH 1 FROM h")) == 1, "the held cursor's first row")
            a_request_out(a)
            try:
                run(a, "PREPARE TRANSACTION 'clf_pp_hold'")
                raise Fail("PREPARE TRANSACTION with a cursor WITH HOLD was accepted")
            except psycopg2.Error as e:
                check(e.pgcode == "0A000" and "WITH HOLD" in e.diag.message_primary,
                      "PREPARE with a cursor WITH HOLD: %s %s" % (e.pgcode, error_text(e)))
            check(self.prepared_gids(conn) == [], "prepared: %s" % self.prepared_gids(conn))
            nothing_held(a, apid, "after a refused PREPARE")

            # 3. a completed scan, then PREPARE; rolled back by its session
            run(a, "BEGIN")
            check(run(a, "SELECT count(*) FROM fs_pp3") == [(25,)], "the completed scan")
            run(a, "PREPARE TRANSACTION 'clf_pp_done'")
            nothing_held(a, apid, "after PREPARE of a completed scan")
            run(a, "ROLLBACK PREPARED 'clf_pp_done'")

            # 4. an async scan a LIMIT ended with fs_pp2's request in flight
            run(a, "BEGIN")
            check(len(run(a, "SELECT * FROM (%s) u LIMIT 1" % union)) == 1, "the LIMIT's row")
            run(a, "PREPARE TRANSACTION 'clf_pp_async'")
            nothing_held(a, apid, "after PREPARE of an async scan")
            run(c, "ROLLBACK PREPARED 'clf_pp_async'")
            nothing_held(a, apid, "after ROLLBACK PREPARED")

            # 5. a cursor whose FETCH failed in a rolled back savepoint while
            # fs_pp2's request was in flight: its portal never ends the
            # scan, PREPARE drops it with its memory, which has the claim
            run(conn, "ALTER SEQUENCE fs_pp_rows RESTART")
            run(a, "BEGIN")
            run(a, "DECLARE f CURSOR FOR SELECT external_userid, 1 / (2 - nextval('fs_pp_rows')) FROM (%s) u"
                % union)
            check(len(run(a, "FETCH 1 FROM f")) == 1, "the failing cursor's first row")
            a_request_out(a)
            run(a, "SAVEPOINT s")
            e = scan_error(a, "FETCH 1 FROM f")
            check(e.pgcode == "22012", "the FETCH in the savepoint: %s %s" % (e.pgcode, error_text(e)))
            run(a, "ROLLBACK TO SAVEPOINT s")
            run(a, "PREPARE TRANSACTION 'clf_pp_failed'")
            nothing_held(a, apid, "after PREPARE of a cursor that failed in a savepoint")
            run(a, "COMMIT PREPARED 'clf_pp_failed'")

            # 6. the same with the cursor's gettoken (3 s) claimed for the
            # cluster: given back at PREPARE, so another session with the
            # same credentials fetches the token itself (3 s) instead of
            # waiting out its 8 s budget for a fetch nobody makes
            run(conn, "ALTER SEQUENCE fs_pp_rows RESTART")
            reset()
            run(a, "BEGIN")
            run(a, "DECLARE t CURSOR FOR SELECT tmp_openid, 1 / (2 - nextval('fs_pp_rows')) FROM "
                   "(SELECT tmp_openid FROM fs_ppt1 UNION ALL SELECT tmp_openid FROM fs_ppt2) u")
            check(len(run(a, "FETCH 1 FROM t")) == 1, "the token cursor's first row")
            run(a, "SAVEPOINT s")
            e = scan_error(a, "FETCH 1 FROM t")
            check(e.pgcode == "22012", "the FETCH in the savepoint: %s %s" % (e.pgcode, error_text(e)))
            run(a, "ROLLBACK TO SAVEPOINT s")
            run(a, "PREPARE TRANSACTION 'clf_pp_token'")
            check(stats()["gettoken"] == 0, "the cursor's gettoken was answered before PREPARE: "
                                            "the case proves nothing")
            if shared:
                b = connect()
                try:
                    run(b, "SET statement_timeout = '30s'")
                    t = time.monotonic()
                    check(run(b, "SELECT count(*) FROM fs_pptb") == [(25,)], "the other session's scan")
                    took = time.monotonic() - t
                    check(took < 7, "the other session's scan took %.1f s: it waited for the "
                                    "prepared transaction's token fetch claim" % took)
                finally:
                    b.close()
            run(c, "ROLLBACK PREPARED 'clf_pp_token'")

            # the cap still holds: no slot was given back twice
            if shared:
                holder = connect()
                try:
                    th, box = self.in_background(lambda: run(holder, "SELECT count(*) FROM fs_pp3"))
                    self.wait_for("a request to the capped server", lambda: in_flight() == [(1,)], seconds=5)
                    bpid = run(c, "SELECT pg_backend_pid()")[0][0]
                    th2, box2 = self.in_background(lambda: run(c, "SELECT count(*) FROM fs_pp2"))
                    state = self.state_of(conn, bpid)
                    check(state == "waiting for a slot",
                          "a second scan of the server capped at 1 is %s while another's request "
                          "runs: a slot was given back twice" % state)
                    th.join(20)
                    th2.join(20)
                    check(box.get("result") == [(25,)] and box2.get("result") == [(25,)],
                          "the two scans: %s %s" % (box, box2))
                    check(in_flight() == [(0,)], "in flight at the end: %s" % in_flight())
                finally:
                    holder.close()
        finally:
            a.close()
            c.close()
            for gid in self.prepared_gids(conn):
                run(conn, "ROLLBACK PREPARED %s", (gid,))
        for srv in ("fs_pp1_srv", "fs_pp2_srv", "fs_ppt1_srv", "fs_ppt2_srv", "fs_pptb_srv"):
            run(conn, "DROP SERVER %s CASCADE" % srv)
        run(conn, "DROP SEQUENCE fs_pp_rows")

    def failed_fetch(self, a, declare, how, first_fetch=False):
        """On session a: BEGIN, DECLARE c CURSOR FOR declare, FETCH 1 when
        first_fetch, then in SAVEPOINT s a FETCH that fails, and ROLLBACK TO
        SAVEPOINT s: the cursor's portal failed in the savepoint, the
        transaction goes on.  how: "timeout", statement_timeout 1 s while
        a request is out (the error escapes the scan's own callbacks);
        "error", a division by zero above the scan (FETCH 1; the error
        escapes the executor elsewhere), with a request of the scan out."""
        run(a, "BEGIN")
        if how == "error":
            run(a, "CREATE TEMP SEQUENCE IF NOT EXISTS fs_ff_rows")
            run(a, "ALTER SEQUENCE fs_ff_rows RESTART")
        run(a, "DECLARE c CURSOR FOR " + declare)
        if first_fetch:
            check(len(run(a, "FETCH 1 FROM c")) == 1, "the cursor's first FETCH returned no row")
        run(a, "SAVEPOINT s")
        if how == "timeout":
            run(a, "SET LOCAL statement_timeout = '1s'")
            e = scan_error(a, "FETCH ALL FROM c")
            check(e.pgcode == "57014", "the FETCH in the savepoint: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
        else:
            e = scan_error(a, "FETCH 1 FROM c")
            check(e.pgcode == "22012", "the FETCH in the savepoint: SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
        run(a, "ROLLBACK TO SAVEPOINT s")

    def failed_fetch_slot(self, conn):
        # a cursor over a slow server capped at 1 (timeout_ms 20 s: a holder
        # that never runs its request would stall a waiter 21 s) fails its
        # FETCH in a savepoint while its request holds the slot.  Its portal
        # is dead once rolled back: the slot goes back at ROLLBACK TO, with
        # the transaction still open, and another session scans at once.
        # Async (the error in the scan's callback, or above the scan) and a
        # plain cursor (the synchronous path)
        union = self.failed_fetch_tables(conn)
        for how, declare, first_fetch in (
                ("timeout", union, False),
                ("error", "SELECT external_userid, 1 / (2 - nextval('fs_ff_rows')) FROM (%s) u" % union, True),
                ("timeout", "SELECT external_userid FROM fs_ff3", False)):
            what = "%s, %s" % ("a plain cursor" if "fs_ff3" in declare else "async", how)
            reset()
            a, b = connect(), connect()
            try:
                apid = run(a, "SELECT pg_backend_pid()")[0][0]
                self.failed_fetch(a, declare, how, first_fetch)
                got = self.requests_in_flight(conn, "fs_ff2_srv")
                check(got == 0, "%s: after ROLLBACK TO SAVEPOINT the failed cursor still holds the slot: "
                      "requests_in_flight %s" % (what, got))
                run(b, "SET statement_timeout = '12s'")
                t = time.monotonic()
                try:
                    got = run(b, "SELECT count(*) FROM fs_ff3")
                except psycopg2.Error as e:
                    raise Fail("%s: another session's scan failed after %.1f s behind the failed cursor's "
                               "slot: %s" % (what, time.monotonic() - t, error_text(e)))
                took = time.monotonic() - t
                check(got == [(25,)], "%s: the other session's scan: %s" % (what, got))
                # its own slow page (3 s), no wait for the dead cursor's slot
                check(took < 8, "%s: the other session's scan took %.1f s" % (what, took))
                run(a, "COMMIT")
                self.async_left_nothing(conn, apid, ["fs_ff2_srv"])
                check(run(a, "SELECT count(*) FROM fs_ff3") == [(25,)], "%s: the cursor's session afterwards" % what)
            finally:
                a.close()
                b.close()
        run(conn, "DROP SERVER fs_ff2_srv CASCADE")

    def failed_fetch_tables(self, conn):
        """fs_ff1, async on a fixed token; fs_ff2, async, and fs_ff3, plain,
        on a server capped at 1 whose every page takes 3 s (timeout_ms 20 s:
        a holder that never runs its request would stall a waiter 21 s).
        Returns the async union of fs_ff1 and fs_ff2."""
        self.shared_table(conn, "fs_ff1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        self.shared_table(conn, "fs_ff2", {"access_token": "fixed-slow"},
                          server_options="max_concurrent_requests '1', timeout_ms '20000'",
                          table_options="page_size '25', async_capable 'on'")
        run(conn, "CREATE FOREIGN TABLE fs_ff3 (external_userid text) SERVER fs_ff2_srv "
                  "OPTIONS (page_size '25')")
        return "SELECT external_userid FROM fs_ff1 UNION ALL SELECT external_userid FROM fs_ff2"

    def failed_fetch_claims_reused(self, conn):
        # a cursor that failed in a rolled back savepoint gives back what its
        # claim held at ROLLBACK TO, but keeps the claim itself (holding
        # nothing) until its portal goes with the transaction: the claim's
        # number goes back with the scan's memory then.  A backend hands out
        # 64 claims for capped servers at once, so one whose cursors failed
        # that way, each with a request of a capped server out, more often
        # than that must still claim slots afterwards.  The slow server's
        # 3 s page is out when the fast table's second row fails; COMMIT
        # drops the cursor without waiting for it
        union = self.failed_fetch_tables(conn)
        declare = "SELECT external_userid, 1 / (2 - nextval('fs_ff_rows')) FROM (%s) u" % union
        reset()
        a = connect()
        try:
            for i in range(70):
                self.failed_fetch(a, declare, "error", first_fetch=True)
                run(a, "COMMIT")
            run(a, "SET statement_timeout = '15s'")
            try:
                got = run(a, "SELECT count(*) FROM (%s) u" % union)
            except psycopg2.Error as e:
                raise Fail("an async scan after 70 cursors failed in savepoints: %s" % error_text(e))
            check(got == [(50,)], "an async scan after 70 cursors failed in savepoints: %s" % got)
        finally:
            a.close()
        run(conn, "DROP SERVER fs_ff2_srv CASCADE")

    def failed_fetch_in_flight(self, conn):
        # the same for a server without a cap: requests_in_flight counts the
        # failed cursor's request until ROLLBACK TO SAVEPOINT, not until the
        # transaction ends (a cap set meanwhile would hold the others up)
        self.shared_table(conn, "fs_ff1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        self.shared_table(conn, "fs_ffu", {"access_token": "fixed-slow"},
                          table_options="page_size '25', async_capable 'on'")
        run(conn, "CREATE FOREIGN TABLE fs_ffu_plain (external_userid text) SERVER fs_ffu_srv "
                  "OPTIONS (page_size '25')")
        for what, declare in (
                ("async", "SELECT external_userid FROM fs_ff1 UNION ALL SELECT external_userid FROM fs_ffu"),
                ("a plain cursor", "SELECT external_userid FROM fs_ffu_plain")):
            reset()
            a = connect()
            try:
                apid = run(a, "SELECT pg_backend_pid()")[0][0]
                self.failed_fetch(a, declare, "timeout")
                got = self.requests_in_flight(conn, "fs_ffu_srv")
                check(got == 0, "%s: after ROLLBACK TO SAVEPOINT the failed cursor's request is still counted: "
                      "requests_in_flight %s" % (what, got))
                run(a, "COMMIT")
                self.async_left_nothing(conn, apid, ["fs_ffu_srv"])
            finally:
                a.close()
        run(conn, "DROP SERVER fs_ffu_srv CASCADE")

    def failed_fetch_token(self, conn):
        # a cursor's async gettoken (3 s) is out when its FETCH in a savepoint
        # times out: at ROLLBACK TO SAVEPOINT the fetch it claimed for the
        # cluster goes back, so another session with the same credentials
        # calls gettoken itself (3 s) instead of waiting its budget (8 s)
        # first.  A spelling of the mock's host of its own: a token key no
        # case has fetched (with a cached token the FETCH would not fail)
        self.shared_table(conn, "fs_ff1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        self.slow_token_server(conn, "fs_fft", 8000, 25)
        run(conn, "CREATE FOREIGN TABLE fs_fftb (external_userid text) "
                  "SERVER fs_fft_srv OPTIONS (page_size '25')")
        reset()
        a, b = connect(), connect()
        try:
            self.failed_fetch(a, "SELECT external_userid FROM fs_ff1 UNION ALL SELECT external_userid FROM fs_fft",
                              "timeout")
            run(b, "SET statement_timeout = '20s'")
            t = time.monotonic()
            got = run(b, "SELECT count(*) FROM fs_fftb")
            took = time.monotonic() - t
            check(got == [(25,)], "the other session's scan: %s" % got)
            check(took < 7, "the other session's scan took %.1f s: it waited its budget for the failed "
                            "cursor's fetch" % took)
            run(a, "COMMIT")
        finally:
            a.close()
            b.close()
        run(conn, "DROP SERVER fs_fft_srv CASCADE")

    def token_claim_other_scan(self, conn):
        # one session, one token key, claimed by two scans at once (a backend
        # does not wait for its own fetch): cursor c1's async gettoken (3 s)
        # is out when another scan's gettoken for the key ends, given up
        # as a LIMIT query ends ("abandoned") or answered ("fetched").  That
        # scan must take its own claim off the session's list, not c1's:
        # else c1's fetch is left listed under the other scan's name, and
        # once the session claims the key again (c2 in the abandoned case,
        # a scan a timeout cancels after WeCom rejected the token in the
        # fetched one) and that claim goes at a rollback, c1's FETCH that
        # fails in a savepoint leaves nothing of c1's for ROLLBACK TO to
        # give back: another session with the same credentials waits its
        # budget (8 s) for a fetch nobody makes
        self.shared_table(conn, "fs_uc1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        for how in ("abandoned", "fetched"):
            self.slow_token_server(conn, "fs_uct", 8000, 25)
            run(conn, "CREATE FOREIGN TABLE fs_uctb (external_userid text) "
                      "SERVER fs_uct_srv OPTIONS (page_size '25')")
            union = "SELECT external_userid FROM fs_uc1 UNION ALL SELECT external_userid FROM fs_uct"
            reset()
            a, b = connect(), connect()
            try:
                run(a, "BEGIN")
                run(a, "CREATE TEMP SEQUENCE fs_uc_rows")
                # c1's second row fails: one of fs_uc1's first page, read
                # without looking at fs_uct's gettoken
                run(a, "DECLARE c1 CURSOR FOR SELECT external_userid, 1 / (2 - nextval('fs_uc_rows')) "
                       "FROM (%s) u" % union)
                check(len(run(a, "FETCH 1 FROM c1")) == 1, "%s: c1: no first row" % how)
                if how == "abandoned":
                    check(len(run(a, "SELECT * FROM (%s) u LIMIT 1" % union)) == 1,
                          "abandoned: the LIMIT query: no row")
                    run(a, "SAVEPOINT s")
                    run(a, "DECLARE c2 CURSOR FOR " + union)
                    check(len(run(a, "FETCH 1 FROM c2")) == 1, "abandoned: c2: no first row")
                else:
                    check(run(a, "SELECT count(*) FROM fs_uctb") == [(25,)], "fetched: the scan")
                    mock_get("/_expire_tokens")
                    run(a, "SAVEPOINT r")
                    run(a, "SET LOCAL statement_timeout = '1s'")
                    e = scan_error(a, "SELECT count(*) FROM fs_uctb")
                    check(e.pgcode == "57014", "fetched: the scan of a rejected token: SQLSTATE %s: %s"
                          % (e.pgcode, error_text(e)))
                    run(a, "ROLLBACK TO SAVEPOINT r")
                    run(a, "SAVEPOINT s")
                e = scan_error(a, "FETCH 1 FROM c1")
                check(e.pgcode == "22012", "%s: c1's FETCH in the savepoint: SQLSTATE %s: %s"
                      % (how, e.pgcode, error_text(e)))
                run(a, "ROLLBACK TO SAVEPOINT s")
                if how == "abandoned":
                    check(stats()["gettoken"] == 0, "abandoned: a gettoken was answered before the "
                                                    "rollback: the case proves nothing")
                run(b, "SET statement_timeout = '30s'")
                bpid = run(b, "SELECT pg_backend_pid()")[0][0]
                th, box = self.in_background(lambda: run(b, "SELECT count(*) FROM fs_uctb"))
                state = self.state_of(conn, bpid)
                check(state != "waiting for token", "%s: another session's scan is %s: after ROLLBACK TO "
                      "the failed cursor c1's gettoken claim is still the session's" % (how, state))
                th.join(20)
                check(box.get("result") == [(25,)], "%s: the other session's scan: %s" % (how, box))
                run(a, "COMMIT")
            finally:
                a.close()
                b.close()
        run(conn, "DROP SERVER fs_uct_srv CASCADE")

    def progress_writers(self, conn):
        # issue 14, point 2, with a fault injection build: a writer's error
        # cannot leave a progress row mid-write, and a row that stays
        # mid-write (its writer stalled in the bracket) cannot hold readers
        mc, c = fault_injection_cluster("progress")
        try:
            basic_server(c)
            run(c, "CREATE FOREIGN TABLE plain (external_userid text) SERVER s OPTIONS (page_size '5')")

            reader = mc.connect()
            run(reader, "SET statement_timeout = '20s'")

            def timed_progress():
                t0 = time.monotonic()
                try:
                    rows = run(reader, "SELECT pid FROM contact_list_fdw_progress")
                except psycopg2.Error as e:
                    raise Fail("reading contact_list_fdw_progress: %s" % str(e).strip())
                return rows, time.monotonic() - t0

            # out of memory while the scan's row is made: the error is the
            # scan's, and nothing is left behind for readers to wait on
            fault_error(c, "SELECT count(*) FROM plain", "progress_begin")
            rows, took = timed_progress()
            check(rows == [], "rows after the failed scan: %s" % rows)
            check(took < 5, "reading the view took %.1f s after the failed write" % took)
            check(run(c, "SELECT scans_running FROM contact_list_fdw_shared_info()") == [(0,)],
                  "the failed scan's row is still taken")
            check(run(c, "SELECT count(*) FROM plain") == [(25,)], "the next scan in that session")

            # a writer stalled for 15 s inside its bracket: readers leave
            # its row out at once rather than wait for it
            writer = mc.connect()
            wpid = run(writer, "SELECT pg_backend_pid()")[0][0]
            run(writer, "SET clf_fault.point = 'progress_page_done'")
            reset()
            th, box = self.in_background(lambda: run(writer, "SELECT count(*) FROM plain"))
            try:
                # its first page is in: it stalls right after, for 15 s
                self.wait_for("the writer's first page", lambda: stats()["contact_list"] >= 1)
                time.sleep(1)
                rows, took = timed_progress()
                stalled = th.is_alive()
            finally:
                th.join(60)
            check("error" not in box, "the stalled scan failed: %s" % box.get("error"))
            check(stalled, "the writer was no longer stalled when the read ended")
            check(took < 5, "reading the view took %.1f s with a writer stalled for 15 s" % took)
            check(rows == [], "rows while the writer is stalled: %s" % rows)
            rows, took = timed_progress()
            check(rows == [], "rows after the scan: %s" % rows)
            for x in (writer, reader, c):
                x.close()
        finally:
            mc.stop()

    def progress_fair(self, conn):
        # issue 14, point 10: one session with more open scans than its rows
        # cannot make another session's scan vanish from the view
        self.shared_table(conn, "fs_many", {"access_token": "fixed-basic"})
        slots, untracked = run(conn, "SELECT progress_slots, scans_untracked FROM contact_list_fdw_shared_info()")[0]
        greedy = connect()
        gpid = run(greedy, "SELECT pg_backend_pid()")[0][0]
        other = connect()
        opid = run(other, "SELECT pg_backend_pid()")[0][0]
        n = PROGRESS_PER_BACKEND + 2
        try:
            run(greedy, "BEGIN")
            for i in range(n):
                run(greedy, "DECLARE c%d CURSOR FOR SELECT * FROM fs_many" % i)
                run(greedy, "FETCH 1 FROM c%d" % i)
            run(other, "BEGIN")
            run(other, "DECLARE c CURSOR FOR SELECT * FROM fs_many")
            run(other, "FETCH 1 FROM c")
            mine = run(conn, "SELECT pid, count(*) FROM contact_list_fdw_progress "
                             "WHERE pid = ANY(%s) GROUP BY pid ORDER BY pid", ([gpid, opid],))
            now = run(conn, "SELECT scans_untracked FROM contact_list_fdw_shared_info()")[0][0]
            run(greedy, "COMMIT")
            run(other, "COMMIT")
        finally:
            greedy.close()
            other.close()
        got = dict(mine)
        check(got.get(opid) == 1, "the other session's scan: %s rows (%d open scans in one session, "
              "%d slots)" % (got.get(opid), n, slots))
        check(got.get(gpid) == PROGRESS_PER_BACKEND,
              "the session with %d open scans has %s rows" % (n, got.get(gpid)))
        check(now - untracked == n - PROGRESS_PER_BACKEND,
              "%d scans counted untracked, expected %d" % (now - untracked, n - PROGRESS_PER_BACKEND))

    @staticmethod
    def stats_rows(conn, prefix):
        """conn's view of the stats of its database's servers named prefix..."""
        return run(conn, "SELECT server, server_oid, pages FROM contact_list_fdw_stats "
                         "WHERE datname = current_database() AND server LIKE %s ORDER BY 1",
                   (prefix + "%",))

    def stats_follow_catalog(self, conn):
        # issue 14, point 4: the name is the catalog's, a dropped server's
        # row and entry go at commit (not on rollback)
        self.shared_table(conn, "fs_ren", {"access_token": "fixed-basic"})
        check(run(conn, "SELECT count(*) FROM fs_ren") == [(25,)], "the scan")

        def rows():
            return self.stats_rows(conn, "fs_ren")

        def tracked():
            return run(conn, "SELECT servers_tracked FROM contact_list_fdw_shared_info()")[0][0]
        oid = run(conn, "SELECT oid FROM pg_foreign_server WHERE srvname = 'fs_ren_srv'")[0][0]
        check(rows() == [("fs_ren_srv", oid, 5)], "before the rename: %s" % rows())
        run(conn, "ALTER SERVER fs_ren_srv RENAME TO fs_ren_renamed")
        check(rows() == [("fs_ren_renamed", oid, 5)], "after the rename: %s" % rows())
        before = tracked()
        run(conn, "BEGIN")
        run(conn, "DROP SERVER fs_ren_renamed CASCADE")
        run(conn, "ROLLBACK")
        check(rows() == [("fs_ren_renamed", oid, 5)], "after a rolled back drop: %s" % rows())
        check(tracked() == before, "a rolled back drop freed the entry")
        # dropped in another session, which never reads the view: the entry
        # is freed when that transaction commits.  (On 17+ the library is
        # not preloaded, and a session that never loaded it has no hook: its
        # drop is only noticed at the view's next read, as the README says.)
        other = connect()
        run(other, "LOAD 'contact_list_fdw'")
        run(other, "DROP SERVER fs_ren_renamed CASCADE")
        other.close()
        check(tracked() == before - 1, "servers tracked: %d after the drop, %d before" % (tracked(), before))
        check(rows() == [], "after the drop: %s" % rows())

    def stats_uncommitted_server(self, conn):
        # a server made in a transaction not yet committed has counted its
        # scans; another session reading the view (or dropping a server, or
        # resetting) must not take it for dropped: the catalog cache of that
        # session does not see the server yet.  A drop not yet committed
        # keeps the counters too, until it commits.
        other = connect()
        try:
            run(conn, "BEGIN")
            self.shared_table(conn, "fs_new", {"access_token": "fixed-basic"})
            check(run(conn, "SELECT count(*) FROM fs_new") == [(25,)], "the scan")
            oid = run(conn, "SELECT oid FROM pg_foreign_server WHERE srvname = 'fs_new_srv'")[0][0]
            check(self.stats_rows(conn, "fs_new") == [("fs_new_srv", oid, 5)],
                  "in the creating transaction: %s" % self.stats_rows(conn, "fs_new"))
            check(self.stats_rows(other, "fs_new") == [], "another session sees the uncommitted server")
            check(self.stats_rows(conn, "fs_new") == [("fs_new_srv", oid, 5)],
                  "after another session read the view: %s" % self.stats_rows(conn, "fs_new"))
            run(conn, "COMMIT")
            check(self.stats_rows(conn, "fs_new") == [("fs_new_srv", oid, 5)],
                  "after the commit: %s" % self.stats_rows(conn, "fs_new"))
            check(self.stats_rows(other, "fs_new") == [("fs_new_srv", oid, 5)],
                  "another session after the commit: %s" % self.stats_rows(other, "fs_new"))
            # a drop in progress while another session reads the view
            run(conn, "BEGIN")
            run(conn, "DROP SERVER fs_new_srv CASCADE")
            check(self.stats_rows(other, "fs_new") == [("fs_new_srv", oid, 5)],
                  "another session during the drop: %s" % self.stats_rows(other, "fs_new"))
            run(conn, "ROLLBACK")
            check(self.stats_rows(conn, "fs_new") == [("fs_new_srv", oid, 5)],
                  "after a rolled back drop: %s" % self.stats_rows(conn, "fs_new"))
            run(conn, "DROP SERVER fs_new_srv CASCADE")
            check(self.stats_rows(other, "fs_new") == [], "after the drop: %s" % self.stats_rows(other, "fs_new"))
        finally:
            run(conn, "ROLLBACK")
            run(conn, "DROP SERVER IF EXISTS fs_new_srv CASCADE")
            other.close()

    def stats_visibility(self, conn):
        # issue 14, point 7: another database's servers and counters only
        # for members of pg_read_all_stats (and superusers)
        other_db = "fault_suite_other"
        admin = connect("postgres")
        run(admin, "DROP DATABASE IF EXISTS %s" % other_db)
        run(admin, "CREATE DATABASE %s" % other_db)
        run(admin, "DROP ROLE IF EXISTS clf_nosy")
        run(admin, "CREATE ROLE clf_nosy LOGIN")
        try:
            o = connect(other_db)
            run(o, "CREATE EXTENSION contact_list_fdw")
            run(o, "CREATE SERVER secret_named_srv FOREIGN DATA WRAPPER contact_list_fdw "
                   "OPTIONS (api_url %s)", (API,))
            run(o, "CREATE USER MAPPING FOR postgres SERVER secret_named_srv "
                   "OPTIONS (access_token 'fixed-basic')")
            run(o, "CREATE FOREIGN TABLE t (external_userid text) SERVER secret_named_srv")
            check(run(o, "SELECT count(*) FROM t") == [(25,)], "the scan in the other database")
            o.close()
            self.shared_table(conn, "fs_vis", {"access_token": "fixed-basic"})
            run(conn, "CREATE USER MAPPING FOR clf_nosy SERVER fs_vis_srv OPTIONS (access_token 'fixed-basic')")
            run(conn, "GRANT SELECT ON fs_vis TO clf_nosy")
            nosy = psycopg2.connect(dbname=DB, user="clf_nosy")
            nosy.autocommit = True
            try:
                check(run(nosy, "SELECT count(*) FROM fs_vis") == [(25,)], "clf_nosy's scan")
                seen = run(nosy, "SELECT DISTINCT datname FROM contact_list_fdw_stats")
                check(seen == [(DB,)], "clf_nosy sees the stats of: %s" % seen)
                check(not run(nosy, "SELECT 1 FROM contact_list_fdw_stats WHERE server = 'secret_named_srv'"),
                      "clf_nosy sees the other database's server")
                check(run(nosy, "SELECT 1 FROM contact_list_fdw_stats WHERE server = 'fs_vis_srv'"),
                      "clf_nosy does not see its own database's server")
                run(admin, "GRANT pg_read_all_stats TO clf_nosy")
                seen = run(nosy, "SELECT datname, server, pages FROM contact_list_fdw_stats "
                                 "WHERE server = 'secret_named_srv'")
                check(seen == [(other_db, "secret_named_srv", 1)], "a member of pg_read_all_stats sees: %s" % seen)
            finally:
                nosy.close()
            seen = run(conn, "SELECT datname FROM contact_list_fdw_stats WHERE server = 'secret_named_srv'")
            check(seen == [(other_db,)], "a superuser sees: %s" % seen)
            # a reset, as pg_stat_reset(), zeroes this database's servers only:
            # EXECUTE on it is granted per database
            run(conn, "SELECT contact_list_fdw_stats_reset()")
            seen = run(conn, "SELECT datname, server, pages FROM contact_list_fdw_stats "
                             "WHERE server IN ('secret_named_srv', 'fs_vis_srv') ORDER BY 1")
            check(seen == sorted([(DB, "fs_vis_srv", 0), (other_db, "secret_named_srv", 1)]),
                  "after a reset in %s: %s" % (DB, seen))
            # a dropped database's rows go
            run(admin, "DROP DATABASE %s" % other_db)
            seen = run(conn, "SELECT datname FROM contact_list_fdw_stats WHERE server = 'secret_named_srv'")
            check(seen == [], "after DROP DATABASE: %s" % seen)
        finally:
            run(conn, "DROP SERVER IF EXISTS fs_vis_srv CASCADE")
            run(admin, "DROP DATABASE IF EXISTS %s" % other_db)
            run(admin, "DROP ROLE IF EXISTS clf_nosy")
            admin.close()

    def slots_in_order(self, conn):
        # issue 14, point 8: with max_concurrent_requests 1, two scans that
        # both wait take turns, page by page: a slot given back goes to the
        # one waiting, not back to the scan that gave it (which is running
        # and would win any race for it).  Requests of 150 ms (slowbusy, one
        # of them answered "busy" and retried) leave each scan ample time
        # to come back and wait while the other's request runs.
        run(conn, "DROP SERVER IF EXISTS fs_fifo_srv CASCADE")
        run(conn, "CREATE SERVER fs_fifo_srv FOREIGN DATA WRAPPER contact_list_fdw "
                  "OPTIONS (api_url %s, max_concurrent_requests '1')", (API,))
        set_mapping(conn, server="fs_fifo_srv", access_token="fixed-slowbusy")
        for t, size in (("fifo_a", 5), ("fifo_b", 7)):
            run(conn, "CREATE FOREIGN TABLE %s (external_userid text) SERVER fs_fifo_srv "
                      "OPTIONS (page_size '%d')" % (t, size))
        conns = [connect(), connect()]
        barrier = threading.Barrier(2)
        errors = []

        def worker(i):
            try:
                barrier.wait()
                run(conns[i], "SELECT count(*) FROM %s" % ("fifo_a", "fifo_b")[i])
            except Exception as e:
                errors.append(e)
        reset()
        ths = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        for c in conns:
            c.close()
        check(not errors, "errors: %s" % errors)
        seq = ["a" if x == 5 else "b" for x in stats()["limits"]]
        check(len(seq) == 10 and seq.count("a") >= 5 and seq.count("b") >= 4, "requests: %s" % seq)
        # from the second scan's first request to the first scan's last,
        # both wait for the one slot: they must alternate
        start = max(seq.index("a"), seq.index("b"))
        end = min(len(seq) - 1 - seq[::-1].index("a"), len(seq) - 1 - seq[::-1].index("b"))
        both = seq[start - 1:end + 1] if start > 0 else seq[:end + 1]
        check(all(both[i] != both[i + 1] for i in range(len(both) - 1)),
              "requests in this order: %s" % "".join(seq))

    def slots_full_table(self, conn):
        # issue 14, point 8, with a fault injection build (2 server entries):
        # while both entries have requests in flight, running within their
        # deadlines, a third server's requests wait for an entry instead of
        # going unlimited (slots_full_of_idle_holders: when they are not).
        # The holders' deadlines, and the waiters' own bound, are far off
        # (60 s, 30 s); the test ends the holders' requests itself, by
        # cancelling them, once the third server's scans are all waiting.  A
        # holder that ended by its own timeout could be released later than
        # its deadline's margin on a loaded machine, and the waiters would
        # then rightly go without an entry.
        mc, c = fault_injection_cluster("slots")
        try:
            check(run(c, "SELECT server_entries FROM contact_list_fdw_shared_info()") == [(2,)],
                  "not the fault injection build")
            for name, token, timeout in (("h1", "fixed-hang", 60000), ("h2", "fixed-hang", 60000),
                                         ("third", "fixed-delay", 30000)):
                run(c, "CREATE SERVER %s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS "
                       "(api_url %%s, max_concurrent_requests '1', timeout_ms '%d', max_retries '0')"
                       % (name, timeout), (API,))
                run(c, "CREATE USER MAPPING FOR public SERVER %s OPTIONS (access_token '%s')" % (name, token))
                run(c, "CREATE FOREIGN TABLE %s_t (external_userid text) SERVER %s "
                       "OPTIONS (page_size '5')" % (name, name))
            reset()
            sessions = [mc.connect() for _ in range(5)]
            pids = [run(x, "SELECT pg_backend_pid()")[0][0] for x in sessions]
            tables = ["h1_t", "h2_t", "third_t", "third_t", "third_t"]
            boxes = []
            for i, (x, t) in enumerate(zip(sessions, tables)):
                boxes.append(self.in_background(lambda x=x, t=t: run(x, "SELECT count(*) FROM %s" % t)))
                if i == 1:
                    self.wait_for("both hanging requests", lambda: len(run(
                        c, "SELECT 1 FROM contact_list_fdw_progress WHERE server IN ('h1', 'h2') "
                           "AND state = 'requesting'")) == 2)
            self.wait_for("the third server's scans to wait", lambda: len(run(
                c, "SELECT 1 FROM contact_list_fdw_progress WHERE server = 'third' "
                   "AND state = 'waiting for a slot'")) == 3, seconds=10)
            check(stats()["contact_list"] == 2, "the third server's requests went while both entries were busy")
            run(c, "SELECT pg_cancel_backend(pid) FROM unnest(%s) AS pid", (pids[:2],))
            for th, box in boxes:
                th.join(60)
            for x in sessions:
                x.close()
            st = stats()
            check(all("canceling statement due to user request" in str(box.get("error")) for th, box in boxes[:2]),
                  "the hanging scans: %s" % [b for t, b in boxes[:2]])
            check(all(box.get("result") == [(25,)] for th, box in boxes[2:]),
                  "the third server's scans: %s" % [b for t, b in boxes[2:]])
            # the third server's own: the mock may see a cancelled hang's
            # request leave only after the third's first request arrived
            third = mock_get("/_in_flight_by_token").get("fixed-delay")
            check(third == 1, "the mock saw %s of the third server's requests at once: "
                              "they went unlimited" % third)
            check(st["contact_list"] == 2 + 3 * 5, "%d requests" % st["contact_list"])
            c.close()
        finally:
            mc.stop()

    def slots_full_of_idle_holders(self, conn):
        # With a fault injection build (2 server entries), one role's open
        # cursor over an Append of two async capped servers reads the local
        # row first and leaves both requests out, unread: both entries busy
        # for as long as the cursor stays open.  Another role's request to a
        # capped server of its own then has no entry.  It may wait, but no
        # longer than the bound of a slot nobody uses: until a slot is past
        # its deadline (the holder's timeout_ms and 1 s), or, with no slot to
        # look at (servers without a cap, only counted), its own timeout_ms
        # and 1 s.  Then it runs without an entry.  statement_timeout is the
        # bound: without it the request waits for the cursor to close.
        mc, c = fault_injection_cluster("idlefull")
        try:
            check(run(c, "SELECT server_entries FROM contact_list_fdw_shared_info()") == [(2,)],
                  "not the fault injection build")
            # api_url is the superuser's to set: on the wrapper, for both
            run(c, "ALTER FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (ADD api_url %s)", (API,))
            run(c, "CREATE ROLE clf_alice LOGIN; CREATE ROLE clf_bob LOGIN;"
                   "GRANT USAGE ON FOREIGN DATA WRAPPER contact_list_fdw TO clf_alice, clf_bob;"
                   "GRANT CREATE ON SCHEMA public TO clf_alice, clf_bob")

            def login(user):
                x = psycopg2.connect(dbname="postgres", host=mc.dir, user=user)
                x.autocommit = True
                run(x, "SET statement_timeout = '60s'")
                return x
            a, b = login("clf_alice"), login("clf_bob")
            for i in (1, 2):
                run(a, "CREATE SERVER a%d FOREIGN DATA WRAPPER contact_list_fdw OPTIONS "
                       "(max_concurrent_requests '1', timeout_ms '1000', async_capable 'on')" % i)
                run(a, "CREATE USER MAPPING FOR clf_alice SERVER a%d OPTIONS (access_token 'fixed-basic')" % i)
                run(a, "CREATE FOREIGN TABLE a%d_t (external_userid text) SERVER a%d "
                       "OPTIONS (page_size '5')" % (i, i))
            run(a, "CREATE TABLE loc (external_userid text); INSERT INTO loc VALUES ('local')")
            union = "SELECT * FROM loc UNION ALL SELECT * FROM a1_t UNION ALL SELECT * FROM a2_t"
            check_async_children(a, union)
            run(b, "CREATE SERVER b FOREIGN DATA WRAPPER contact_list_fdw OPTIONS "
                   "(max_concurrent_requests '5', timeout_ms '30000')")
            run(b, "CREATE USER MAPPING FOR clf_bob SERVER b OPTIONS (access_token 'fixed-basic')")
            run(b, "CREATE FOREIGN TABLE b_t (external_userid text) SERVER b")
            in_flight = ("SELECT count(*) FROM contact_list_fdw_stats "
                         "WHERE server IN ('a1', 'a2') AND requests_in_flight > 0")
            # round 1: alice's servers capped, her slots past their deadline
            # 2 s after; round 2: without a cap, only counted, no deadline:
            # bob's own timeout_ms (2 s) and 1 s
            for rnd in (1, 2):
                if rnd == 2:
                    for i in (1, 2):
                        run(a, "ALTER SERVER a%d OPTIONS (DROP max_concurrent_requests)" % i)
                    run(b, "ALTER SERVER b OPTIONS (SET timeout_ms '2000')")
                run(a, "BEGIN")
                run(a, "DECLARE cur CURSOR FOR " + union)
                check(run(a, "FETCH 1 FROM cur") == [("local",)], "round %d: alice's first row" % rnd)
                self.wait_for("round %d: alice's requests in flight in both entries" % rnd,
                              lambda: run(c, in_flight) == [(2,)], seconds=10)
                check(run(c, "SELECT server_entries - servers_tracked FROM contact_list_fdw_shared_info()")
                      == [(0,)], "round %d: a server entry is free" % rnd)
                run(b, "SET statement_timeout = '15s'")
                try:
                    got = run(b, "SELECT count(*) FROM b_t")
                except psycopg2.Error as e:
                    raise Fail("round %d: bob's scan beside alice's idle cursor: %s" % (rnd, error_text(e)))
                finally:
                    run(b, "RESET statement_timeout")
                check(got == [(25,)], "round %d: bob's scan got %s" % (rnd, got))
                check(len(run(a, "FETCH ALL FROM cur")) == 50, "round %d: alice's other rows" % rnd)
                run(a, "COMMIT")
            a.close()
            b.close()
            c.close()
        finally:
            mc.stop()

    # -- asynchronous scans under an Append (issue 18)

    def async_children(self, conn, children, server_options="", page_size=PAGE):
        """children: [(name, mapping)], each a server NAME_srv and a table
        NAME with async_capable on; returns the UNION ALL of their rows, each
        row first saying which child it came from, and checks that its plan
        runs every child as an Async Foreign Scan."""
        for name, mapping in children:
            self.shared_table(conn, name, mapping, server_options=server_options,
                              table_options="page_size '%d', async_capable 'on'" % page_size)
        return self.async_union(conn, [n for n, _ in children])

    def async_union(self, conn, names):
        """The UNION ALL of the tables names, each row first saying which
        it came from; checks that its plan runs each as an Async Foreign
        Scan."""
        sql = " UNION ALL ".join("SELECT '%s' AS t, %s FROM %s" % (n, COLUMNS, n) for n in names)
        check_async_children(conn, sql, len(names))
        return sql

    def async_rows(self, conn, sql):
        """Run sql; its rows as {child: Counter of rows}."""
        per = collections.defaultdict(collections.Counter)
        for r in run(conn, sql):
            per[r[0]][r[1:]] += 1
        return per

    def async_counters(self, conn, sql):
        """EXPLAIN ANALYZE sql: {child: {counter: value}} of our lines."""
        got = {}
        cur = None
        for (line,) in run(conn, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql):
            m = re.search(r"Async Foreign Scan on (\w+)", line)
            if m:
                cur = got.setdefault(m.group(1), {})
                continue
            m = re.match(r"\s+(Pages Fetched|API Requests|Retries|Token Fetches|Rows Fetched): (\d+)$", line)
            if m and cur is not None:
                cur[m.group(1)] = int(m.group(2))
        return got

    def async_left_nothing(self, conn, pid, servers):
        """No progress row of pid and no request slot held on servers."""
        if self.per_backend:
            return
        self.wait_for("the scans' progress rows to go", lambda: not self.progress_rows(conn, [pid]), seconds=5)
        inflight = run(conn, "SELECT server, requests_in_flight FROM contact_list_fdw_stats "
                             "WHERE server = ANY(%s) AND requests_in_flight <> 0", (list(servers),))
        check(not inflight, "requests still in flight after the query: %s" % inflight)

    def async_transient(self, conn):
        # a transient fault in one child of three: every child's rows exactly
        # once, the faulty child's page asked again with the same cursor, its
        # retry counted on its own EXPLAIN ANALYZE lines and nobody else's
        run(conn, "SET contact_list_fdw.rate_limit_delay_ms = 50")
        try:
            # (scenario, extra requests, retries counted or None, mapping)
            token = lambda sc: {"access_token": "fixed-" + sc}
            for scenario, extra, retries, mapping in (
                    ("drop3", 1, 1, token("drop3")), ("http502once", 1, 1, token("http502once")),
                    ("busy2", 2, 2, token("busy2")), ("concurrency1", 1, 1, token("concurrency1")),
                    ("ratelimit", 1, 1, token("ratelimit")), ("http429once", 1, 1, token("http429once")),
                    ("http429after1", 1, 1, token("http429after1")),
                    # a rejected token: replaced, and the same page asked again
                    ("invalidtoken", 1, None, {"corp_id": "corp-invalidtoken", "corp_secret": "secret-ok"})):
                sql = self.async_children(conn, [("fs_as1", {"access_token": "fixed-basic"}),
                                                 ("fs_as2", mapping),
                                                 ("fs_as3", {"access_token": "fixed-delay"})])
                reset()
                per = self.async_rows(conn, sql)
                st = stats()
                for child in ("fs_as1", "fs_as2", "fs_as3"):
                    check(per[child] == self.clean, "%s: %s child's rows differ from a clean run (%d rows)"
                          % (scenario, child, sum(per[child].values())))
                check(st["contact_list"] == 15 + extra, "%s: %d requests, expected %d"
                      % (scenario, st["contact_list"], 15 + extra))
                faulty = [c for c, t in zip(st["cursors"], st["tokens"])
                          if t not in ("fixed-basic", "fixed-delay")]
                check(len(faulty) == 5 + extra and len(set(faulty)) == 5,
                      "%s: the faulty child's cursors %s" % (scenario, faulty))
                reset()
                counters = self.async_counters(conn, sql)
                want = {"fs_as1": 0, "fs_as2": retries, "fs_as3": 0}
                got = {c: counters.get(c, {}).get("Retries") for c in want}
                if retries is None:
                    got["fs_as2"] = None
                check(got == want, "%s: retries per child %s, expected %s" % (scenario, got, want))
                pages = {c: counters.get(c, {}).get("Pages Fetched") for c in want}
                check(pages == {c: 5 for c in want}, "%s: pages per child %s" % (scenario, pages))
        finally:
            run(conn, "RESET contact_list_fdw.rate_limit_delay_ms")

    def async_token_fetches(self, conn):
        # a gettoken retried (token502once: HTTP 502, then a token) by one of
        # two asynchronous children with the same credentials: its two
        # requests are two token fetches in every view, as the mock counted
        # them; a child that waited for that token made none (per backend,
        # the other child may have fetched its own: it counts what it made).
        # secret-ok2: a token key nothing else fetches, tokens.sql's included
        corp = {"corp_id": "corp-token502once", "corp_secret": "secret-ok2"}
        children = ("fs_atf1", "fs_atf2", "fs_atf3")
        sql = self.async_children(conn, [("fs_atf1", corp), ("fs_atf2", corp),
                                         ("fs_atf3", {"access_token": "fixed-basic"})])
        if not self.per_backend:
            run(conn, "SELECT contact_list_fdw_stats_reset()")
        reset()
        counters = self.async_counters(conn, sql)
        gettoken = stats()["gettoken"]
        explain = {c: counters.get(c, {}).get("Token Fetches") for c in children}
        check(gettoken >= 2 and sum(v or 0 for v in explain.values()) == gettoken
              and max(v or 0 for v in explain.values()) == 2 and explain["fs_atf3"] == 0,
              "EXPLAIN ANALYZE's Token Fetches per child %s, the mock's gettoken requests %d: "
              "the child whose gettoken was retried should show 2, the children's sum the mock's count"
              % (explain, gettoken))
        scans = dict(run(conn, """SELECT foreign_table::text, token_fetches
                                    FROM contact_list_fdw_scans() ORDER BY scan_id DESC LIMIT 3"""))
        check(scans == explain, "contact_list_fdw_scans()'s token_fetches %s, EXPLAIN ANALYZE's %s"
              % (scans, explain))
        if self.per_backend:
            return
        oids = [run(conn, "SELECT %s::regclass::oid", (c,))[0][0] for c in children]
        recent = dict(run(conn, """SELECT foreign_table_oid::regclass::text, token_fetches
                                     FROM contact_list_fdw_recent_scans
                                    WHERE pid = pg_backend_pid() AND foreign_table_oid = ANY(%s)""",
                          (oids,)))
        check(recent == explain, "contact_list_fdw_recent_scans's token_fetches %s, EXPLAIN ANALYZE's %s"
              % (recent, explain))
        server = dict(run(conn, """SELECT server, token_fetches FROM contact_list_fdw_stats
                                    WHERE server = ANY(%s)""", ([c + "_srv" for c in children],)))
        check(server == {c + "_srv": explain[c] for c in children},
              "contact_list_fdw_stats's token_fetches %s, EXPLAIN ANALYZE's %s" % (server, explain))

    def async_error(self, conn):
        # an error in one child fails the query with that child's error; the
        # others (mid-request on a slow page) are dropped, nothing is left
        # behind, and the session's next query works
        pid = run(conn, "SELECT pg_backend_pid()")[0][0]
        for bad, code, words, opts in (
                ({"corp_id": "corp-basic", "corp_secret": "secret-wrong"}, "28P01", "40001", ""),
                ({"access_token": "fixed-e48002"}, None, "48002", ""),
                ({"access_token": "fixed-e48002"}, None, "48002", "max_concurrent_requests '1'")):
            sql = self.async_children(conn, [("fs_ae1", {"access_token": "fixed-slow"}),
                                             ("fs_ae2", bad),
                                             ("fs_ae3", {"access_token": "fixed-slow"})],
                                      server_options=opts, page_size=25)
            reset()
            e = scan_error(conn, sql)
            msg = error_text(e)
            check(words in msg, "the error is not the failing child's: %s %s" % (e.pgcode, msg))
            check(code is None or e.pgcode == code, "SQLSTATE %s: %s" % (e.pgcode, msg))
            check("secret-wrong" not in msg, "the secret is in the error")
            self.async_left_nothing(conn, pid, ["fs_ae1_srv", "fs_ae2_srv", "fs_ae3_srv"])
            set_mapping(conn, server="fs_ae2_srv", access_token="fixed-basic")
            run(conn, "SET statement_timeout = '30s'")
            per = self.async_rows(conn, sql)
            run(conn, "SET statement_timeout = '60s'")
            for child in ("fs_ae1", "fs_ae2", "fs_ae3"):
                check(per[child] == self.clean, "after the error (%s): %s's rows differ" % (words, child))
            self.async_left_nothing(conn, pid, ["fs_ae1_srv", "fs_ae2_srv", "fs_ae3_srv"])
        # retries that run out in one child (no cap: fetched asynchronously):
        # its attempts counted, its error
        run(conn, "SET contact_list_fdw.rate_limit_delay_ms = 10")
        # about 3 s (the slow pages); retries that never ran out would hang
        run(conn, "SET statement_timeout = '15s'")
        try:
            sql = self.async_children(conn, [("fs_ae1", {"access_token": "fixed-slow"}),
                                             ("fs_ae2", {"access_token": "fixed-ratelimitforever"}),
                                             ("fs_ae3", {"access_token": "fixed-slow"})], page_size=25)
            run(conn, "ALTER FOREIGN TABLE fs_ae2 OPTIONS (ADD max_retries '2')")
            reset()
            e = scan_error(conn, sql)
            msg = error_text(e)
            check(e.pgcode == "53000" and "failed after 3 attempts" in e.diag.message_primary,
                  "retries ran out in one child: %s %s" % (e.pgcode, msg))
            asked = [t for t in stats()["tokens"] if t == "fixed-ratelimitforever"]
            check(len(asked) == 3, "the child asked %d times, expected 3" % len(asked))
        finally:
            run(conn, "RESET contact_list_fdw.rate_limit_delay_ms")
            run(conn, "SET statement_timeout = '60s'")
        self.async_left_nothing(conn, pid, ["fs_ae1_srv", "fs_ae2_srv", "fs_ae3_srv"])

    def async_token_refused_twice(self, conn, scenario="limitwait"):
        # two children of one corp send the same token, which WeCom has
        # expired: the fast child (pages of 10, answered in 10 ms) is
        # refused first and fetches the next token; the slow one's refusal
        # (a page of 1000, 1 s) comes after, and must keep that new token.
        # limitwaitbig's tokens are too long for the shared table: the
        # session's own cache keeps them, on 17+ too
        mapping = {"corp_id": "corp-" + scenario, "corp_secret": "secret-ok"}
        for name, size in (("fs_trf", 10), ("fs_trs", 1000)):
            self.shared_table(conn, name, mapping, table_options="page_size '%d', async_capable 'on'" % size)
        sql = self.async_union(conn, ["fs_trf", "fs_trs"])
        try:
            reset()
            check(run(conn, "SELECT count(*) FROM fs_trs") == [(25,)], "the slow table alone")
            expired = mock_get("/_expire_tokens")["expired"]
            check(expired == 1, "the mock expired %d tokens, expected 1" % expired)
            before = stats()
            old = before["tokens"][-1]
            per = self.async_rows(conn, sql)
            counts = {t: sum(per[t].values()) for t in ("fs_trf", "fs_trs")}
            check(counts == {"fs_trf": 25, "fs_trs": 25}, "rows per child: %s" % counts)
            after = stats()
            sent = after["tokens"][len(before["tokens"]):]
            check(sent.count(old) == 2, "the expired token was sent %d times, expected once by each "
                                        "child: %s" % (sent.count(old), sent))
            got = after["gettoken"] - before["gettoken"]
            check(got == 1, "the expired token refused twice made %d gettoken calls, expected 1: "
                            "the later refusal threw away the token the first one fetched" % got)
        finally:
            self.drop_servers(conn, "fs_trf", "fs_trs")

    def async_cancel(self, conn):
        # three children, each waiting on a page that takes 3 s: cancel and
        # statement_timeout end the query within a second or so, and the
        # session goes on
        sql = self.async_children(conn, [("fs_ac%d" % i, {"access_token": "fixed-slow"}) for i in (1, 2, 3)],
                                  page_size=25)
        servers = ["fs_ac%d_srv" % i for i in (1, 2, 3)]
        pid = run(conn, "SELECT pg_backend_pid()")[0][0]
        reset()
        run(conn, "SET statement_timeout = '500ms'")
        t0 = time.monotonic()
        e = scan_error(conn, sql)
        took = time.monotonic() - t0
        run(conn, "SET statement_timeout = '60s'")
        check(e.pgcode == "57014" and "statement timeout" in e.diag.message_primary,
              "SQLSTATE %s: %s" % (e.pgcode, error_text(e)))
        check(took < 2, "statement_timeout of 500 ms ended the query after %.1f s" % took)
        # the cancel came while the Append waited, not in a scan: each
        # child's row says the query failed around it
        rows = run(conn, """SELECT outcome, error FROM contact_list_fdw_scans()
                               WHERE foreign_table::text LIKE 'fs_ac_' ORDER BY scan_id DESC LIMIT 3""")
        check(rows == [("error", "the query failed or was cancelled while the scan was running; "
                                 "see the query's error")] * 3, "the children's rows: %s" % rows)
        self.async_left_nothing(conn, pid, servers)
        other = connect()
        try:
            reset()
            th, box = self.in_background(lambda: scan_error(conn, sql))
            # cancelled once the children are on the network
            self.wait_for("a request to reach the mock", lambda: stats()["contact_list"] >= 1)
            time.sleep(0.2)
            t0 = time.monotonic()
            run(other, "SELECT pg_cancel_backend(%s)", (pid,))
            th.join(10)
            took = time.monotonic() - t0
            check(not th.is_alive(), "the query outlived its cancel by 10 s")
            e = box.get("result")
            check(e is not None and e.pgcode == "57014", "the cancelled query: %s" % box)
            check(took < 2, "cancelled after %.1f s" % took)
        finally:
            other.close()
        self.async_left_nothing(conn, pid, servers)
        check(run(conn, "SELECT count(*) FROM fs_ac1") == [(25,)], "the next query")

    def async_max_concurrent(self, conn):
        # two children on one server with max_concurrent_requests 1: never
        # two of its requests at once, every row of each
        def capped(scenario, page_size):
            self.shared_table(conn, "fs_am1", {"access_token": "fixed-" + scenario},
                              server_options="max_concurrent_requests '1'",
                              table_options="page_size '%d', async_capable 'on'" % page_size)
            run(conn, """CREATE FOREIGN TABLE fs_am2 (
                           is_customer boolean, tmp_openid text, external_userid text, name text,
                           follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                         SERVER fs_am1_srv OPTIONS (page_size '%d', async_capable 'on')""" % page_size)
            return "SELECT 'fs_am1' AS t, %s FROM fs_am1 UNION ALL SELECT 'fs_am2', %s FROM fs_am2" % (
                COLUMNS, COLUMNS)
        # some 7 s in all: a child that waited for its sibling's slot while
        # holding up the Append would wait for ever
        run(conn, "SET statement_timeout = '20s'")
        sql = capped("delay", 5)
        check_async_children(conn, sql)
        pid = run(conn, "SELECT pg_backend_pid()")[0][0]
        reset()
        per = self.async_rows(conn, sql)
        st = stats()
        for child in ("fs_am1", "fs_am2"):
            check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
        check(st["contact_list"] == 10, "%d requests, expected 10" % st["contact_list"])
        check(st["max_in_flight"] <= 1, "the mock saw %d requests at once on a server capped at 1"
              % st["max_in_flight"])
        self.async_left_nothing(conn, pid, ["fs_am1_srv"])
        # a child waiting for the capped server's slot (its sibling's page
        # takes 3 s) does not hold up a third child of another server
        sql = capped("slow", 25)
        self.shared_table(conn, "fs_am3", {"access_token": "fixed-delay"},
                          table_options="page_size '5', async_capable 'on'")
        sql += " UNION ALL SELECT 'fs_am3', %s FROM fs_am3" % COLUMNS
        reset()
        per = self.async_rows(conn, sql)
        st = stats()
        for child in ("fs_am1", "fs_am2", "fs_am3"):
            check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
        check(st["max_in_flight"] <= 2, "the mock saw %d requests at once: the cap did not hold"
              % st["max_in_flight"])
        order = st["tokens"]
        slow_at = [i for i, t in enumerate(order) if t == "fixed-slow"]
        delay_at = [i for i, t in enumerate(order) if t == "fixed-delay"]
        check(len(slow_at) == 2 and len(delay_at) == 5, "requests: %s" % order)
        check(max(delay_at) < slow_at[1],
              "the uncapped child waited for the capped server's slot: requests in order %s" % order)
        self.async_left_nothing(conn, pid, ["fs_am1_srv", "fs_am3_srv"])
        run(conn, "SET statement_timeout = '60s'")

    def async_limit(self, conn):
        # LIMIT over an Append of two big children (500 pages of 5) and a
        # slow one: each child asks only for the pages the limit needs, and
        # nothing is asked once the query is over
        sql = self.async_children(conn, [("fs_al1", {"access_token": "fixed-big"}),
                                         ("fs_al2", {"access_token": "fixed-big"}),
                                         ("fs_al3", {"access_token": "fixed-delay"})])
        pid = run(conn, "SELECT pg_backend_pid()")[0][0]
        reset()
        rows = run(conn, "SELECT * FROM (%s) s LIMIT 10" % sql)
        check(len(rows) == 10, "%d rows" % len(rows))
        # a request the query sent just before it ended can reach a loaded
        # mock a little later: count once the mock has been quiet a while,
        # which a backend still asking for pages never lets happen
        n = stats()["contact_list"]
        quiet_since = time.monotonic()
        deadline = quiet_since + 10
        while time.monotonic() - quiet_since < 1.0:
            check(time.monotonic() < deadline, "requests kept coming after the query ended: %d so far" % n)
            time.sleep(0.1)
            now = stats()["contact_list"]
            if now != n:
                n, quiet_since = now, time.monotonic()
        print("# async_limit: %d requests" % n, flush=True)
        # at most the pages of the rows taken and of one row asked ahead, per child
        check(1 <= n <= 6, "LIMIT 10 over 3 children with pages of 5 made %d requests" % n)
        self.async_left_nothing(conn, pid, ["fs_al1_srv", "fs_al2_srv", "fs_al3_srv"])

    def async_overlap(self, conn):
        # four children on pages that take 3 s each, two of them on one
        # server (each child has its own connection): their requests are in
        # flight at once, so the query takes about one page's time
        sql = self.async_children(conn, [("fs_ao%d" % i, {"access_token": "fixed-slow"}) for i in (1, 2, 3)],
                                  page_size=25)
        run(conn, """CREATE FOREIGN TABLE fs_ao4 (
                       is_customer boolean, tmp_openid text, external_userid text, name text,
                       follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                     SERVER fs_ao1_srv OPTIONS (page_size '25', async_capable 'on')""")
        sql += " UNION ALL SELECT 'fs_ao4' AS t, %s FROM fs_ao4" % COLUMNS
        reset()
        t0 = time.monotonic()
        per = self.async_rows(conn, sql)
        took = time.monotonic() - t0
        st = stats()
        for child in ("fs_ao1", "fs_ao2", "fs_ao3", "fs_ao4"):
            check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
        check(st["contact_list"] == 4, "%d requests, expected 4" % st["contact_list"])
        check(st["max_in_flight"] >= 2, "never more than %d request at once" % st["max_in_flight"])
        # one after another would be 12 s; the two of one server in turn, 6 s
        check(took < 5, "four 3 s pages took %.1f s: not all overlapped" % took)
        print("# async_overlap: 4 children of one 3 s page each in %.1f s, %d at once"
              % (took, st["max_in_flight"]), flush=True)

    def async_quick_answers(self, conn):
        # a backend descheduled between sending a request and reading its
        # answer (a loaded machine) finds the answer there: libcurl then
        # finishes the transfer inside the action that started it, and from
        # 8.10 on asks to wait on nothing (before, its own timeout still
        # woke the scan: there this case passes either way).  Each such page
        # must be collected at once, not at the next one-second ceiling wake
        mc, c = fault_injection_cluster("asyncquick", preload=False if self.per_backend else None)
        try:
            for name in ("fs_aq1", "fs_aq2"):
                self.shared_table(c, name, {"access_token": "fixed-basic"},
                                  table_options="page_size '1', async_capable 'on'")
            sql = self.async_union(c, ["fs_aq1", "fs_aq2"])
            run(c, "SET clf_fault.point = 'descheduled_after_send'")
            reset()
            t0 = time.monotonic()
            per = self.async_rows(c, sql)
            took = time.monotonic() - t0
            st = stats()
        finally:
            mc.stop()
        for child in ("fs_aq1", "fs_aq2"):
            check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
        pages = st["contact_list"]
        # 40 ms of being descheduled a page (headers, then body), with room
        # for a loaded machine; each page that waited for the ceiling adds
        # up to a second, and about every other one did (25 s for 50)
        check(took < 0.04 * pages + 10, "%d pages took %.1f s: finished pages waited for a wake" % (pages, took))
        print("# async_quick_answers: %d pages in %.1f s" % (pages, took), flush=True)

    def async_backoff(self, conn):
        # one child waits 2 s (Retry-After) before asking its page again: the
        # other children's chains go on meanwhile, to their end
        run(conn, "SET contact_list_fdw.rate_limit_delay_ms = 5000")
        try:
            sql = self.async_children(conn, [("fs_ab1", {"access_token": "fixed-delay"}),
                                             ("fs_ab2", {"access_token": "fixed-http429after2"}),
                                             ("fs_ab3", {"access_token": "fixed-delay"})])
            reset()
            per = self.async_rows(conn, sql)
            st = stats()
        finally:
            run(conn, "RESET contact_list_fdw.rate_limit_delay_ms")
        for child in ("fs_ab1", "fs_ab2", "fs_ab3"):
            check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
        check(st["contact_list"] == 16, "%d requests, expected 16" % st["contact_list"])
        order = st["tokens"]
        retry_at = [i for i, t in enumerate(order) if t == "fixed-http429after2"][1]
        others_done = max(i for i, t in enumerate(order) if t == "fixed-delay")
        check(others_done < retry_at,
              "the other children waited for one child's backoff: requests in order %s" % order)

    def async_backoff_quiet(self, conn):
        # a child waits out its backoff after an error page whose server
        # closes the connection (nginx's "Connection: close" after a 502):
        # libcurl 8.9 and later keep such a TLS connection to close it
        # properly, its socket still watched, readable once the server has
        # gone.  The wait must stay a wait: not the Append woken over and
        # over for the whole backoff, a core at 100 %
        cert, key = make_cert("tls-quiet", "IP:127.0.0.1,DNS:localhost")
        mock, port = start_tls_mock(cert, key)
        names = ("fs_aw1", "fs_aw2")
        run(conn, "SET contact_list_fdw.retry_delay_ms = 4000")
        try:
            for name, token in zip(names, ("fixed-http502close", "fixed-basic")):
                run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)
                run(conn, "CREATE SERVER %s_srv FOREIGN DATA WRAPPER contact_list_fdw "
                          "OPTIONS (api_url %%s, ca_file %%s)" % name,
                    ("https://127.0.0.1:%d/cgi-bin" % port, cert))
                set_mapping(conn, server=name + "_srv", access_token=token)
                run(conn, """CREATE FOREIGN TABLE %s (
                               is_customer boolean, tmp_openid text, external_userid text, name text,
                               follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                             SERVER %s_srv OPTIONS (page_size '%d', async_capable 'on')""" % (name, name, PAGE))
            sql = self.async_union(conn, list(names))
            pid = run(conn, "SELECT pg_backend_pid()")[0][0]
            used = cpu_seconds(pid)
            t0 = time.monotonic()
            per = self.async_rows(conn, sql)
            took = time.monotonic() - t0
            used = cpu_seconds(pid) - used
        finally:
            run(conn, "RESET contact_list_fdw.retry_delay_ms")
            stop(mock)
            for name in names:
                run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)
        for child in names:
            check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
        # the backoff is 2 to 4 s (jitter); the rows themselves take a few
        # ms of CPU
        check(took >= 1.9, "the scan took %.1f s: no backoff was waited" % took)
        check(used < 0.5, "the backend used %.2f s of CPU in a scan of %.1f s, most of it a wait" % (used, took))
        print("# async_backoff_quiet: %.2f s of CPU in %.1f s" % (used, took), flush=True)

    def async_progress(self, conn):
        # contact_list_fdw_progress: a row for each running child of an
        # Append, all at once, none of them untracked
        names = ["fs_ap%d" % i for i in (1, 2, 3, 4)]
        sql = self.async_children(conn, [(n, {"access_token": "fixed-slow"}) for n in names], page_size=25)
        untracked = "SELECT scans_untracked FROM contact_list_fdw_shared_info()"
        before = run(conn, untracked)[0][0]
        scanner = connect()
        pid = run(scanner, "SELECT pg_backend_pid()")[0][0]
        reset()
        th, box = self.in_background(lambda: run(scanner, sql))
        samples = []
        try:
            def rows_of_all():
                rows = self.progress_rows(conn, [pid])
                samples.append(sorted((str(r[7]), r[1]) for r in rows))
                return rows if len(set(r[7] for r in rows)) == len(names) else None
            try:
                seen = self.wait_for("a progress row for each child at once", rows_of_all, seconds=10)
            except Fail:
                raise Fail("never a row for each child at once; rows seen (table, state): %s"
                           % sorted(set(tuple(x) for x in samples))[:6])
            check(all(r[1] == "requesting" for r in seen), "states: %s" % [r[1] for r in seen])
            check(sorted(r[8] for r in seen) == sorted(n + "_srv" for n in names),
                  "servers: %s" % [r[8] for r in seen])
        finally:
            th.join(30)
        check("result" in box and len(box["result"]) == 25 * len(names),
              "the scan: %s" % {k: str(v)[:200] for k, v in box.items()})
        check(run(conn, untracked)[0][0] == before, "a child ran untracked")
        self.async_left_nothing(conn, pid, [n + "_srv" for n in names])
        scanner.close()

    def cold_token_table(self, conn, name, host):
        """Server NAME_srv on corp-slowtoken (gettoken answers after 3 s) at
        host, a spelling of the mock's, and its async table NAME of page
        size 5, with every column."""
        run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)
        run(conn, "CREATE SERVER %s_srv FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url %%s)" % name,
            ("http://%s:%d/cgi-bin" % (host, MOCK_PORT),))
        set_mapping(conn, server=name + "_srv", corp_id="corp-slowtoken", corp_secret="secret-ok")
        run(conn, """CREATE FOREIGN TABLE %s (
                       is_customer boolean, tmp_openid text, external_userid text, name text,
                       follow_userid text, chat_id text, chat_name text, add_time timestamptz)
                     SERVER %s_srv OPTIONS (page_size '5', async_capable 'on')""" % (name, name))

    def async_cold_tokens(self, conn):
        # four children, none with a token yet, on a gettoken that answers
        # after 3 s: the token fetches overlap as the pages do, so the query
        # costs about one fetch, not four.  Each server spells the mock's
        # host differently (a token key of its own, never cached before:
        # the cluster's cache outlives cases)
        spellings = [fresh_localhost() for _ in range(4)]
        names = ["fs_at%d" % i for i in (1, 2, 3, 4)]
        for name, host in zip(names, spellings):
            self.cold_token_table(conn, name, host)
        sql = self.async_union(conn, names)
        c = connect()       # a backend with no token of its own either
        try:
            reset()
            t0 = time.monotonic()
            per = self.async_rows(c, sql)
            took = time.monotonic() - t0
        finally:
            c.close()
        st = stats()
        for child in names:
            check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
        check(st["gettoken"] == 4, "%d gettoken calls, expected one per child" % st["gettoken"])
        # one after another would be 12 s
        check(took < 7, "four cold tokens of 3 s each took %.1f s: fetched one after another" % took)
        print("# async_cold_tokens: 4 token fetches of 3 s in %.1f s" % took, flush=True)
        for name in names:
            run(conn, "DROP SERVER %s_srv CASCADE" % name)

    def async_sibling_token(self, conn):
        # two children of one Append with the same credentials and no token
        # yet: one gettoken serves both (the second polls the first's, which
        # the Append carries on), not one each, against WeCom's gettoken
        # limits.  Per-backend, nothing is shared: one each
        host = fresh_localhost()
        names = ["fs_sib1", "fs_sib2"]
        for name in names:
            self.cold_token_table(conn, name, host)
        try:
            sql = self.async_union(conn, names)
            c = connect()       # a backend with no token of its own either
            try:
                reset()
                per = self.async_rows(c, sql)
            finally:
                c.close()
            for child in names:
                check(per[child] == self.clean, "%s's rows differ from a clean run" % child)
            want = 2 if self.per_backend else 1
            got = stats()["gettoken"]
            check(got == want, "%d gettoken calls for two children of one corp, expected %d" % (got, want))
        finally:
            for name in names:
                run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)

    def sibling_token_no_stall(self, conn):
        # a scan polls its Append sibling's gettoken rather than fetch its
        # own, but only there: not another portal's (cursor c1's, out while
        # c1 is not read, so it never ends), and never from a scan that
        # sleeps (a synchronous child: nothing polls the sibling meanwhile).
        # Either would wait the whole budget (20 s here) for a fetch that
        # cannot end; statement_timeout (10 s) says so
        self.shared_table(conn, "fs_sn1", {"access_token": "fixed-basic"},
                          table_options="page_size '5', async_capable 'on'")
        a = connect()
        try:
            # another portal's fetch
            self.slow_token_server(conn, "fs_snp", 20000, 25)
            union = "SELECT external_userid FROM fs_sn1 UNION ALL SELECT external_userid FROM fs_snp"
            run(a, "BEGIN")
            run(a, "DECLARE c1 CURSOR FOR " + union)
            check(len(run(a, "FETCH 1 FROM c1")) == 1, "c1: no first row")
            run(a, "SET LOCAL statement_timeout = '10s'")
            try:
                got = run(a, "SELECT count(*) FROM (%s) u" % union)
            except psycopg2.Error as e:
                raise Fail("a query of the key cursor c1 is fetching waited for c1: %s" % error_text(e))
            check(got == [(50,)], "the query beside cursor c1: %s" % got)
            run(a, "ROLLBACK")
            # a synchronous sibling of an asynchronous child
            self.slow_token_server(conn, "fs_sns", 20000, 25)
            run(conn, "CREATE FOREIGN TABLE fs_snsb (external_userid text) "
                      "SERVER fs_sns_srv OPTIONS (page_size '25', async_capable 'off')")
            union = "SELECT external_userid FROM fs_sns UNION ALL SELECT external_userid FROM fs_snsb"
            plan = "\n".join(r[0] for r in run(conn, "EXPLAIN (COSTS OFF) " + union))
            check(plan.count("Async Foreign Scan") == 1, "not one async child and one sync:\n" + plan)
            run(a, "SET statement_timeout = '10s'")
            try:
                got = run(a, "SELECT count(*) FROM (%s) u" % union)
            except psycopg2.Error as e:
                raise Fail("a synchronous child waited for its asynchronous sibling's gettoken: %s"
                           % error_text(e))
            check(got == [(50,)], "the Append of an async and a sync child: %s" % got)
            # another Append of the same query, which a LIMIT stopped reading
            # with its gettoken out (the outer side of a nested loop)
            self.slow_token_server(conn, "fs_sna", 20000, 25)
            run(conn, "CREATE FOREIGN TABLE fs_snab (external_userid text) "
                      "SERVER fs_sna_srv OPTIONS (page_size '25', async_capable 'on')")
            run(conn, "DROP TABLE IF EXISTS fs_sn_l1, fs_sn_l2")
            run(conn, "CREATE TABLE fs_sn_l1 (e text); CREATE TABLE fs_sn_l2 (e text)")
            run(conn, "INSERT INTO fs_sn_l1 VALUES ('x'); INSERT INTO fs_sn_l2 VALUES ('y')")
            run(conn, "ANALYZE fs_sn_l1, fs_sn_l2")
            run(a, "SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_material = off")
            join = ("SELECT count(*) FROM "
                    "(SELECT * FROM (SELECT e FROM fs_sn_l1 UNION ALL SELECT external_userid FROM fs_sna) s "
                    "LIMIT 1) o, "
                    "(SELECT e FROM fs_sn_l2 UNION ALL SELECT external_userid FROM fs_snab) i")
            plan = "\n".join(r[0] for r in run(a, "EXPLAIN (COSTS OFF) " + join))
            check(plan.count("Async Foreign Scan") == 2 and "Nested Loop" in plan and "Limit" in plan,
                  "not a nested loop over a LIMIT of one Append and another:\n" + plan)
            try:
                got = run(a, join)
            except psycopg2.Error as e:
                raise Fail("a scan waited for the gettoken of another Append, which a LIMIT stopped "
                           "reading: %s" % error_text(e))
            check(got == [(26,)], "the join of two Appends: %s" % got)
        finally:
            a.close()
            run(conn, "DROP TABLE IF EXISTS fs_sn_l1, fs_sn_l2")
            for name in ("fs_snp", "fs_sns", "fs_sna", "fs_sn1"):
                run(conn, "DROP SERVER IF EXISTS %s_srv CASCADE" % name)

    def main(self):
        """The whole suite; with --per-backend, on a cluster without
        contact_list_fdw in shared_preload_libraries (PostgreSQL 15/16): the
        same cases, but those that need shared state are skipped, saying why,
        and two of per-backend mode's own run."""
        t0 = time.monotonic()
        self.per_backend = "--per-backend" in sys.argv
        conn = self.setup()
        self.case("clean run: 25 rows in 5 pages, as the mock lists them", lambda: self.clean_run(conn))
        self.case("gettoken and every page name the release (META.json's) in their User-Agent",
                  lambda: self.user_agent(conn))
        if self.clean is None:
            print("cannot go on without a clean run")
            return 1
        own_cluster = "runs a cluster of its own, the same in both modes"
        needs_views = "contact_list_fdw_progress, _stats and max_concurrent_requests need shared_preload_libraries"
        needs_shared = "the shared segment's layout cases are about the preloaded (15/16) or named (17+) segment"
        if self.per_backend:
            self.case("per-backend mode: the views need shared_preload_libraries",
                      lambda: self.shared_require_preload(conn))
            self.case("per-backend mode: every new backend fetches its own token",
                      lambda: self.per_backend_tokens(conn))
        self.case("connection dropped mid-body on page 3 of 5: page 3 again, same cursor", lambda: self.drop3(conn))
        self.case("cursors of 1 MB each: every row once, and the scan keeps a digest of each, not the cursors",
                  lambda: self.long_cursors(conn))
        self.case("a body cut short without a length on page 2 of 5: page 2 again, same cursor",
                  lambda: self.closecut2(conn))
        self.case("a body always cut short without a length: the error after max_retries + 1 attempts",
                  lambda: self.closecut(conn))
        self.case("an empty body without a length on page 2 of 5: page 2 again, same cursor",
                  lambda: self.closeempty2(conn))
        self.case("an empty body without a length every time: a body cut short after max_retries + 1 attempts",
                  lambda: self.closeempty(conn))
        self.case("a body that cannot be decoded (said gzip, is not) on page 2 of 5: page 2 again, same cursor",
                  lambda: self.badgzip2(conn))
        self.case("a body that cannot be decoded every time: HV00N after max_retries + 1 attempts, in our words",
                  lambda: self.badgzip(conn))
        self.case("a 502 page larger than max_response_bytes: retried, then its HTTP status, not 54000",
                  lambda: self.big_error_page(conn))
        self.case("a gettoken answer larger than 64 kB: a 502 retried, then its HTTP status; a 200 is 54000",
                  lambda: self.big_token_answer(conn))
        self.case("HTTP 502 then success", lambda: self.http502once(conn))
        self.case("HTTP 429 then success", lambda: self.http429once(conn))
        self.case("errcode -1 twice then success", lambda: self.busy2(conn))
        self.case("errcode 45033 (concurrency) then success", lambda: self.concurrency1(conn))
        self.case("token expiring mid-traversal: a new token, the same page", lambda: self.expire(conn))
        self.case("errcode 45009 once: a longer wait, then success", lambda: self.ratelimit(conn))
        self.case("retries run out: attempts and what the last one got", lambda: self.retries_exhausted(conn))
        self.case("max_retries 0 disables retries", lambda: self.no_retries(conn))
        self.case("retry waits double: 3 retries of retry_delay_ms 100", lambda: self.backoff_doubles(conn))
        self.case("a token rejected again after its replacement: 2 requests, 2 gettoken, an error",
                  lambda: self.token_replaced_once(conn))
        self.case("a server that never answers: timeout_ms", lambda: self.hang(conn))
        self.case("a request on a kept-alive connection that never answers: timeout_ms, not connecting",
                  lambda: self.hang_kept_alive(conn))
        self.case("a TLS handshake that never ends: connecting timed out, named by the limit that ended it",
                  lambda: self.handshake_stalls(conn))
        self.case("a slow server cancelled by statement_timeout, backend usable", lambda: self.statement_timeout(conn))
        self.case("pg_cancel_backend during a request", lambda: self.cancel(conn))
        self.case("200 MB body refused by max_response_bytes, memory flat", lambda: self.huge(conn))
        self.case("max_response_bytes lowered", lambda: self.huge_small_cap(conn))
        self.case("a page of a million empty objects: refused by the memory its tree would take, memory flat",
                  lambda: self.empty_objects(conn))
        self.case("errors mid-scan leave no memory behind", lambda: self.errors_leak_nothing(conn))
        self.case("20 concurrent backends scanning big: each gets the full set", lambda: self.concurrent(conn))
        self.case("https: verification on, ca_file trusts a private CA", lambda: self.https(conn))
        self.case("https over HTTP/2: every row once, a reset stream retried with its cursor, HV00N when it always is "
                  "and when the session is broken off",
                  lambda: self.http2(conn))
        self.case("shutdown_sockets: a plain https scan whose server closes after every page and is slow "
                  "to let go: every row, however many closing connections libcurl watches",
                  lambda: self.shutdown_sockets(conn))
        self.case("https: a ca_file that cannot be read is F0000 with its own hint, not retried",
                  lambda: self.unreadable_ca_file(conn))
        self.case("HTTP 429 with Retry-After: waited for, capped by the rate-limit wait",
                  lambda: self.retry_after(conn))
        self.case("a proxy with BasicAuth: proxy_user and proxy_password, only CONNECT seen",
                  lambda: self.proxy_auth(conn))
        self.case("a TLS-inspecting proxy quoting proxy_user:proxy_password (also base64): redacted",
                  lambda: self.proxy_credentials_redacted(conn))
        self.case("a SOCKS5 proxy: rows through it once; a rejected proxy_password 28P01, none 28000, "
                  "neither retried", lambda: self.socks5_proxy(conn))
        self.case("a SOCKS5 proxy, async Append: two tables of its server read at once through it, "
                  "every row once, one authenticated connection per child; a rejected proxy_password 28P01",
                  lambda: self.socks5_async(conn))
        self.case("a proxy's connection serves only the proxy_user and proxy_password it was opened with: "
                  "another role's wrong ones fail after a view read with the owner's",
                  lambda: self.proxy_credentials_per_mapping(conn))
        self.case("an https:// proxy: ca_file trusts its private CA, its certificate and host name verified",
                  lambda: self.https_proxy(conn))
        self.case("a SOCKS5 proxy that cannot reach the API: retried, HV00N after max_retries + 1 attempts",
                  lambda: self.socks5_unreachable(conn))
        self.case("an HTTP proxy refusing the CONNECT: its rules (403), or a tunnel it cannot open (405, 501), "
                  "not retried; the API out of its reach (500, 503) or a busy proxy (429) retried; "
                  "HV00N with the proxy's status",
                  lambda: self.http_proxy_tunnel_refused(conn))
        self.shared("the server's http_proxy/HTTPS_PROXY/ALL_PROXY/no_proxy environment is ignored",
                    lambda: self.proxy_environment(conn), own_cluster)
        self.shared("a hot standby: its scans work, with its own counters, apart from the primary's",
                    lambda: self.hot_standby(conn), own_cluster)
        self.shared("a crashed backend empties the shared state, as a restart does; the next scan fetches a token",
                    lambda: self.crash_restart(conn), own_cluster)
        self.shared("settings before the library loads: shown unchecked, then a wrong one refused with a WARNING "
                    "at the load, the default kept", lambda: self.settings_before_load(conn), own_cluster)
        self.shared("postgres --single: scans work alone (async_capable ones one by one), and the shared "
                    "views say single-user mode",
                    lambda: self.single_user_mode(conn), own_cluster)
        self.shared("the server's SSLKEYLOGFILE environment: no TLS keys written",
                    lambda: self.key_log_environment(conn), own_cluster)
        self.shared("host names: resolved on a thread that takes no signal; a hanging resolver "
                    "cancels at once and times out at connect_timeout_ms", lambda: self.resolver(conn), own_cluster)
        self.shared("libcurl failures: add_handle's error reported, token cache whole after OOM",
                    lambda: self.libcurl_failures(conn), own_cluster)
        self.shared("200 short connections with LIMIT 1: one gettoken", lambda: self.shared_tokens_200(conn),
                    "each backend fetches its own token (the per-backend token case above)")
        self.shared("20 backends rejecting the same expired token: one gettoken",
                    lambda: self.shared_tokens_expired(conn), "each backend fetches its own token")
        self.case("a wrong secret fails with 40001, never uses the cached token", lambda: self.shared_wrong_secret(conn))
        self.case("a wrong secret of another role in the same backend: 40001, not the cached token",
                  lambda: self.wrong_secret_other_role(conn))
        self.shared("another session sees a slow scan's pages grow and its wait to retry",
                    lambda: self.shared_progress(conn), needs_views)
        self.shared("20 scans, max_concurrent_requests 3: at most 3 requests at once, every row",
                    lambda: self.shared_slots(conn), needs_views)
        self.shared("max_concurrent_requests: an idle cursor's slot holds up another session only "
                    "until the holder's timeout_ms", lambda: self.slot_idle_cursor(conn), needs_views)
        self.shared("max_concurrent_requests raised by ALTER SERVER: a cursor opened before "
                    "does not bring the old cap back", lambda: self.slot_cap_altered(conn), needs_views)
        self.shared("requests_in_flight of a server without max_concurrent_requests: its requests out now, "
                    "none after the answer, a cancel, a terminate, async", lambda: self.uncapped_in_flight(conn),
                    needs_views)
        self.shared("pg_terminate_backend mid-request: slot and progress row given back",
                    lambda: self.shared_terminate(conn), needs_views)
        self.shared("pg_terminate_backend mid-request counts the request: contact_list_fdw_stats and "
                    "recent_scans against the mock's count, a page and a gettoken, plain and async",
                    lambda: self.terminate_counted(conn), needs_views)
        self.case("mass_kill: 13 backends mid-scan (requesting, still connecting, waiting for a slot, for a "
                  "token; plain and async) terminated, cancelled, a mix, both, at once: every scan counted once by its outcome, every "
                  "request as the mock saw it (per-backend: cancel, each session's contact_list_fdw_scans())",
                  lambda: self.mass_kill(conn))
        self.case("async_unsent: an asynchronous scan's request dropped while still connecting (a LIMIT "
                  "met by another child, a cancel, pg_terminate_backend) counts in no requests; its scan "
                  "counts by its outcome",
                  lambda: self.async_unsent(conn))
        self.shared("pg_terminate_backend after a request failed before it began counts nothing for it: "
                    "a cursor kept past ROLLBACK TO SAVEPOINT, against the mock's count",
                    lambda: self.terminate_after_request_not_made(conn), needs_views)
        self.shared("pg_terminate_backend with one request out and an open cursor's request settled "
                    "on the same server (answered, or never made): only the one out counts",
                    lambda: self.terminate_settled_beside_one_out(conn), needs_views)
        self.shared("an async request that failed before it began counts nothing for it: "
                    "an Append's scan out of memory before its transfer, against the mock's count",
                    lambda: self.async_request_not_made(conn), needs_views)
        self.shared("libcurl failing to start fails the library's load, which the next query tries again from the start",
                    lambda: self.curl_init_failed(conn), own_cluster)
        self.shared("an OpenSSL that cannot compute SHA-256: the scan fails with XX000 and a hint, "
                    "nothing of the secret shown, the session goes on",
                    lambda: self.digest_unavailable(conn), own_cluster)
        self.shared("request_out_of_memory: no memory for a request's header or its escaped parameters "
                    "fails the scan with 53200 saying what needed it; the next query gets every row",
                    lambda: self.request_out_of_memory(conn), own_cluster)
        self.shared("watch_socket: no memory to wait on another of libcurl's sockets fails a scan, plain "
                    "or asynchronous, with out of memory, and the next query gets every row",
                    lambda: self.watch_socket_out_of_memory(conn), own_cluster)
        self.case("async_done_uncollected: an async transfer libcurl finished (a refused connect) and "
                  "an error dropped before it was collected counts one request, as a synchronous scan's",
                  lambda: self.async_done_uncollected(conn))
        self.shared("an async request a LIMIT left in flight counts in its scan's recent_scans row "
                    "as in contact_list_fdw_stats, with none of its bytes", lambda: self.dropped_at_end_counted(conn), needs_views)
        self.shared("a max_concurrent_requests added to a server leaves out an open cursor's request "
                    "counted without it: other sessions' scans and the cursor's own do not wait for it",
                    lambda: self.cap_added_behind_counted(conn), needs_views)
        self.shared("pg_cancel_backend mid-request and while waiting: slot and progress rows given back",
                    lambda: self.shared_cancel(conn), needs_views)
        self.shared("contact_list_fdw_stats matches the mock's counts", lambda: self.shared_stats(conn), needs_views)
        self.shared("shared token failure: 10 sessions against a failing gettoken, one call per backoff",
                    lambda: self.token_failure_shared(conn), "the per-backend token failure case below")
        # WeCom's rate limit is SQLSTATE class 53, as a session's own lack of
        # memory is: yet it is gettoken's answer, and shared like 40001
        needs_tokens = "nothing is shared: each backend fetches its own token"
        self.shared("shared token failure: a gettoken rate-limited (45009, class 53) is shared too",
                    lambda: self.token_failure_shared(conn, scenario="slowratelimit", errcode="45009",
                                                      table="fs_ratelimit", server_options="max_retries '0'"),
                    needs_tokens)
        self.case("long_value_error: a conversion error quoting megabytes is recorded from its start, at once",
                  lambda: self.long_value_error(conn))
        self.case("token_cache_entry_fails: an error while the session's own token cache takes a token leaks nothing",
                  lambda: self.token_cache_entry_fails(conn))
        self.case("scan_callback_fails: a scan whose start fails leaves no entry running in contact_list_fdw_scans()",
                  lambda: self.scan_callback_fails(conn))
        self.shared("token_own_failure_not_shared: a gettoken whose report runs out of memory is not "
                    "every session's answer", lambda: self.token_own_failure_not_shared(conn), needs_tokens)
        self.shared("token_own_failure_not_shared, rate-limited: out of memory reporting WeCom's 45009 (both "
                    "class 53) is not every session's answer either",
                    lambda: self.token_own_failure_not_shared(conn, "slowratelimit", "45009", timeout_ms=5000),
                    needs_tokens)
        if self.per_backend:
            self.case("per-backend mode: shared token failure: each session fails alone, nobody queues",
                      lambda: self.token_failure_shared(conn, shared=False))
        self.shared("shared token failure: another server with the same credentials is not told of it",
                    lambda: self.token_failure_own_server(conn), needs_tokens)
        self.shared("shared token refresh ahead: 20 scans at refresh_at use the old token, one refresh",
                    lambda: self.token_refresh_ahead(conn), needs_tokens)
        self.shared("shared token refresh fails: only the refreshing scan fails, the old token serves on",
                    lambda: self.token_refresh_fails(conn), needs_tokens)
        self.shared("shared token wait: bounded by the waiter's own timeout_ms, then its own fetch",
                    lambda: self.token_wait_budget(conn), needs_tokens)
        self.shared("shared token wait: an idle cursor's claimed fetch, another session fetches for everyone",
                    lambda: self.token_wait_idle_cursor(conn), needs_tokens)
        self.shared("shared token outage: 10 sessions wait on a gettoken timing out through its retries, "
                    "one session's calls, the others get its failure", lambda: self.token_outage_waiters(conn),
                    needs_tokens)
        self.shared("shared token takeover: 5 sessions behind an idle cursor's claim, one takes over, "
                    "the others wait for its fetch", lambda: self.token_takeover_waiters(conn), needs_tokens)
        self.shared("shared token claim: a cursor that failed in a rolled back savepoint gives its fetch back by commit",
                    lambda: self.token_claim_failed_cursor(conn), needs_tokens)
        self.shared("shared token eviction: 200 wrong secrets of another role keep the owner's token",
                    lambda: self.token_eviction(conn), needs_tokens)
        self.shared("shared token claim eviction: 70 wrong secrets in savepoints beside an idle cursor's claimed "
                    "fetch leave its claim, another session waits for it",
                    lambda: self.token_claim_not_evicted(conn), needs_tokens)
        self.shared("shared token claim reused: an idle cursor's claim on an entry taken over and reused for "
                    "another key does not keep that key's fetch claimed past a savepoint's rollback",
                    lambda: self.token_claim_reused_entry(conn), needs_tokens)
        self.shared("stats eviction: 130 servers of another role failing with wrong secrets "
                    "keep the owner's server counters", lambda: self.stats_eviction(conn), needs_views)
        self.shared("stats full: with every server entry taken, a new server is counted from its first request "
                    "and its first scan (a failed one before its first page)",
                    lambda: self.stats_full_first_request(conn), needs_views)
        self.shared("shared token copies: a session keeps none of its own after a scan",
                    lambda: self.token_copies_wiped(conn), "the session keeps its own token cache")
        self.case("redaction: an error while a message is redacted leaves no copy of a credential's forms",
                  lambda: self.redaction_forms_wiped(conn))
        self.case("redaction_generated: a corp_secret or access_token an API error quotes through a random "
                  "chain of URL, JSON and HTML encoders is never shown", lambda: self.redaction_generated(conn))
        self.case("redaction_whitespace: a credential with a space, quoted with other blanks there, is never shown",
                  lambda: self.redaction_whitespace(conn))
        self.case("json-c out of memory printing a value: 53200 for a jsonb or text column, "
                  "no value in another error's context, no crash", lambda: self.json_print_out_of_memory(conn))
        self.case("json-c out of memory for its parser: 53200 for a page and for gettoken, the backend goes on",
                  lambda: self.json_parser_out_of_memory(conn))
        self.case("url check out of memory: 53200, and a settings' check hook refuses the value, no ERROR",
                  lambda: self.url_check_out_of_memory(conn))
        self.case("a token is refreshed 5 minutes before it expires, a short-lived one at half its life",
                  lambda: self.token_refresh_margin(conn))
        self.case("a LATIN1 database: a name it cannot hold is an error, not a wrong row",
                  lambda: self.latin1_database(conn))
        self.case("a LATIN1 database: a key beyond ASCII in field or a column's name finds its value",
                  lambda: self.latin1_key(conn))
        self.shared("a scan in a SQL function whose error a PL/pgSQL EXCEPTION block caught: its progress row "
                    "goes at the block's rollback, the transaction still open",
                    lambda: self.caught_in_function_progress(conn), needs_views)
        self.shared("a cursor over a set-returning SQL function whose FETCH failed above the function in a "
                    "savepoint: the function's progress row goes at ROLLBACK TO",
                    lambda: self.failed_cursor_function_progress(conn), needs_views)
        self.shared("a cursor whose FETCH BACKWARD failed outside the executor, in a savepoint or a PL/pgSQL "
                    "exception block: its progress row goes at the rollback",
                    lambda: self.failed_portal_progress(conn), needs_views)
        self.shared("scans that run on after ROLLBACK TO keep their progress rows: one a savepoint started "
                    "(a set-returning SQL function), a cursor a failed function FETCHed from",
                    lambda: self.savepoint_scans_keep_progress(conn), needs_views)
        self.shared("a LATIN1 database's names in the shared views of a UTF8 one, and the other way round, "
                    "also once it is dropped", lambda: self.latin1_shared_views(conn), needs_views)
        self.shared("a SQL_ASCII database's names in a UTF8 one's shared views are their bytes, \\xNN, "
                    "also once it is dropped", lambda: self.sql_ascii_shared_views(conn), needs_views)
        self.shared("shared layout: an upgraded library in a running server, then restarts",
                    lambda: self.shared_layout_upgrade(conn), needs_shared)
        self.shared("shared layout: another layout or a failure to attach gives one WARNING, rows, per-backend mode",
                    lambda: self.shared_layout_degrades(conn), needs_shared)
        self.case("settings: a non-superuser's PGOPTIONS never make a scan skip the proxy, api_url or ca_file",
                  lambda: self.proxy_not_skippable(conn))
        self.shared("progress writers: an error while writing a row leaves no row mid-write, "
                    "and a row mid-write never holds readers", lambda: self.progress_writers(conn), needs_views)
        self.shared("contact_list_fdw_stats: the catalog's name after a rename, a dropped server's row "
                    "and entry gone at commit, kept on rollback", lambda: self.stats_follow_catalog(conn), needs_views)
        self.shared("contact_list_fdw_stats: a server made in a transaction not yet committed keeps its "
                    "counters when another session reads the view", lambda: self.stats_uncommitted_server(conn),
                    needs_views)
        self.shared("contact_list_fdw_stats: another database's servers only for pg_read_all_stats",
                    lambda: self.stats_visibility(conn), needs_views)
        self.shared("request slots: two scans waiting for one slot take turns, page by page",
                    lambda: self.slots_in_order(conn), needs_views)
        self.shared("request slots: with every server entry busy, requests running within their deadlines, "
                    "the others wait, never unlimited",
                    lambda: self.slots_full_table(conn), needs_views)
        self.shared("request slots: with every server entry held by another role's idle cursor, "
                    "a capped request waits no longer than a slot's deadline, then runs without an entry",
                    lambda: self.slots_full_of_idle_holders(conn), needs_views)
        self.shared("progress rows: a session with more open scans than the pool has rows for "
                    "keeps its own share, another session's scan stays listed",
                    lambda: self.progress_fair(conn), needs_views)
        self.case("async_transient: a retried fault in one child of three, every child's rows once, "
                  "the retry on that child's counters", lambda: self.async_transient(conn))
        self.case("async_token_fetches: a gettoken retried by one of two children with the same "
                  "credentials counts each request, alike in EXPLAIN ANALYZE, contact_list_fdw_scans(), "
                  "recent_scans, contact_list_fdw_stats and the mock",
                  lambda: self.async_token_fetches(conn))
        self.case("async_error: one child's error fails the query, the others dropped, nothing left, "
                  "the next query works", lambda: self.async_error(conn))
        self.case("async_cancel: statement_timeout and pg_cancel_backend while every child waits",
                  lambda: self.async_cancel(conn))
        self.case("async_token_refused_twice: a token two children sent, refused for each, is replaced once: "
                  "the later refusal keeps the token the first one fetched",
                  lambda: self.async_token_refused_twice(conn))
        self.case("async_long_token_refused_twice: the same with a token too long for the shared table",
                  lambda: self.async_token_refused_twice(conn, "limitwaitbig"))
        self.shared("async_max_concurrent: two children on a server capped at 1, one request at a time, "
                    "a third server's child goes on meanwhile",
                    lambda: self.async_max_concurrent(conn), needs_views)
        self.case("async_limit: LIMIT over the Append asks only the pages it needs, nothing after",
                  lambda: self.async_limit(conn))
        self.case("async_overlap: four children's slow pages in flight at once, two on one server", lambda: self.async_overlap(conn))
        self.case("async_quick_answers: a page libcurl finishes as it starts is collected at once",
                  lambda: self.async_quick_answers(conn))
        self.case("async_backoff: one child's Retry-After wait does not hold the others",
                  lambda: self.async_backoff(conn))
        self.case("async_backoff_quiet: a child's backoff after a closed connection is a wait, not a busy loop",
                  lambda: self.async_backoff_quiet(conn))
        self.shared("async_progress: contact_list_fdw_progress shows a row for every running child",
                    lambda: self.async_progress(conn), needs_views)
        self.case("async_cold_tokens: four children without a token fetch theirs at once",
                  lambda: self.async_cold_tokens(conn))
        self.case("async_sibling_token: two children of one corp without a token make one gettoken, not two",
                  lambda: self.async_sibling_token(conn))
        self.case("sibling_token_no_stall: a scan waits for no gettoken of another portal or Append, nor a sleeping one for its sibling's",
                  lambda: self.sibling_token_no_stall(conn))
        self.case("async scans: a child out of descriptors fails the query with 53000 and leaks none",
                  lambda: self.async_out_of_descriptors(conn))
        self.case("dropped servers: 20 create/scan/drop cycles in one session leave its descriptors flat",
                  lambda: self.dropped_server_cycles(False))
        self.case("dropped servers: 20 servers created and scanned in rolled back transactions "
                  "leave its descriptors flat", lambda: self.dropped_server_cycles(True))
        self.case("async scans: a gettoken that fails while its request is built leaves no copy of its URL",
                  lambda: self.async_gettoken_url_wiped(conn))
        self.case("rescan_unforeseen: a rescan no plan announced starts one new traversal and replays from then on",
                  lambda: self.rescan_unforeseen(conn))
        self.case("end_fails: a node's end failing in ExecutorEnd makes the scans not yet ended errors "
                  "(every row read, a LIMIT, a cursor's CLOSE)", lambda: self.end_fails(conn))
        self.shared("async_cap_self: a plain scan in the query never waits for a slot its own async children hold",
                    lambda: self.async_cap_self(conn), needs_views)
        self.shared("async_two_pollers: a join of two async Appends over one capped server never waits for itself",
                    lambda: self.async_two_pollers(conn), needs_views)
        self.shared("async_claims_run_out: more async children on capped servers than slot claims, "
                    "every child's rows", lambda: self.async_claims_run_out(conn), needs_views)
        self.shared("async_token_claim_released: a LIMIT that ends a child's gettoken gives the shared fetch back",
                    lambda: self.async_token_claim_released(conn), needs_tokens)
        self.shared("request slot claims: one backend holds several slots and tickets at once, "
                    "in ticket order, all given back on error", lambda: self.slot_claims(conn), needs_views)
        self.shared("async_subxact_slot: ROLLBACK TO SAVEPOINT leaves an open cursor's async request its slot",
                    lambda: self.async_subxact_slot(conn), needs_views)
        self.shared("async_token_wait_state: an Append's scans waiting for another session's gettoken say so",
                    lambda: self.async_token_wait_state(conn), needs_tokens)
        self.shared("async_subxact_token: ROLLBACK TO SAVEPOINT leaves an open cursor's async gettoken its claim",
                    lambda: self.async_subxact_token(conn), needs_tokens)
        self.shared("async_subxact_fetched_slot: a request an outer cursor's FETCH started inside the "
                    "rolled back savepoint keeps its slot",
                    lambda: self.async_subxact_slot(conn, fetch_in_savepoint=True), needs_views)
        self.shared("async_subxact_fetched_token: a gettoken an outer cursor's FETCH claimed inside the "
                    "rolled back savepoint keeps its claim",
                    lambda: self.async_subxact_token(conn, fetch_in_savepoint=True), needs_tokens)
        self.case("prepare_transaction: PREPARE after foreign scans gives back slots and token fetch "
                  "claims at once (open cursor, completed, async, failed in a savepoint; WITH HOLD refused); "
                  "COMMIT/ROLLBACK PREPARED give nothing back twice",
                  lambda: self.prepare_transaction(conn))
        self.shared("failed_fetch_slot: a cursor whose FETCH failed in a rolled back savepoint gives its "
                    "request slot back at ROLLBACK TO (async, an error above the scan, a plain cursor)",
                    lambda: self.failed_fetch_slot(conn), needs_views)
        self.shared("failed_fetch_claims_reused: a backend whose cursors failed in rolled back savepoints "
                    "70 times still claims slots (each claim's number goes back with its portal)",
                    lambda: self.failed_fetch_claims_reused(conn), needs_views)
        self.shared("failed_fetch_in_flight: a cursor whose FETCH failed in a rolled back savepoint leaves "
                    "requests_in_flight of a server without a cap at 0", lambda: self.failed_fetch_in_flight(conn),
                    needs_views)
        self.shared("failed_fetch_token: a cursor whose FETCH failed in a rolled back savepoint gives its "
                    "gettoken claim back at ROLLBACK TO", lambda: self.failed_fetch_token(conn), needs_tokens)
        self.shared("token_claim_other_scan: a scan whose gettoken ends (given up, answered) takes its own "
                    "claim off, not an open cursor's claim of the same key, which goes back when that cursor fails",
                    lambda: self.token_claim_other_scan(conn), needs_tokens)
        conn.close()
        print("# %sfault suite took %.0f s" % ("per-backend " if self.per_backend else "", time.monotonic() - t0))
        print("%d passed, %d failed, %d skipped" % (self.passed, self.failed, self.skipped))
        return 1 if self.failed else 0


if __name__ == "__main__":
    sys.exit(Suite().main())
