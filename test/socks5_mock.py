#!/usr/bin/python3
"""A SOCKS5 proxy for the tests (RFC 1928, user/password of RFC 1929), on
loopback, that relays only to loopback: never to any other host.  With
--http-connect it is an HTTP CONNECT proxy instead, and with --tls-cert and
--tls-key an https:// one (the client speaks TLS to the proxy, then its own
TLS to the API inside the tunnel).

Run: /usr/bin/python3 test/socks5_mock.py --port 0 [--host 127.0.0.1]
     [--mode relay|reject-auth|reply] [--reply-code N] [--user U --password P]
     [--http-connect [--tls-cert C --tls-key K]] [--log F]

Prints one line "socks5 listening on PORT" once it listens (--port 0: the OS
picks the port), then nothing.  Modes:
  relay        a working proxy: CONNECT to 127.0.0.1, ::1 or localhost (any
               other target is answered REP 0x02, not allowed) is relayed
               both ways.  With --user/--password it asks for them (method
               0x02) and answers 01 01 to any others; without, it asks for
               nothing (method 0x00).
  reject-auth  asks for a user name and password (method 0x02; a client that
               offers none is answered 05 FF) and rejects whatever is sent
               (01 01).
  reply        accepts the client without credentials (or with any, if it
               offers only 0x02), then answers the CONNECT with REP
               --reply-code (default 0x05, connection refused) and closes.
--http-connect speaks HTTP instead (mode relay only): a CONNECT to
loopback is answered 200 and relayed, any other target 403; with
--user/--password it wants them as Proxy-Authorization: Basic and answers
407 to none or others.
--log F appends one line per event, flushed at once: "greeting METHODS",
"auth USER accepted|rejected" (never the password), "connect HOST:PORT
REP" (REP as two hex digits; with --http-connect, the HTTP status), "tls
failed" (a client that gave up the handshake, e.g. not trusting the
certificate).  Standard library only.
"""
import argparse
import base64
import os
import signal
import socket
import ssl
import struct
import sys
import threading

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class Closed(Exception):
    pass


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise Closed()
        data += chunk
    return data


class Proxy:
    def __init__(self, args):
        self.args = args
        self.log_lock = threading.Lock()
        self.log_file = open(args.log, "a") if args.log else None
        self.tls = None
        if args.tls_cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.tls_cert, args.tls_key)

    def log(self, line):
        if self.log_file:
            with self.log_lock:
                self.log_file.write(line + "\n")
                self.log_file.flush()

    def negotiate(self, c):
        """The method exchange and, if asked for, the user/password one.
        Returns False if the client is turned away."""
        ver, n = recv_exact(c, 2)
        if ver != 5:
            return False
        methods = recv_exact(c, n)
        self.log("greeting " + ",".join("%02x" % m for m in methods))
        mode = self.args.mode
        want_auth = mode == "reject-auth" or (mode == "relay" and self.args.user is not None)
        if mode == "reply" and 0 not in methods and 2 in methods:
            want_auth = True
        if want_auth and 2 not in methods:
            c.sendall(b"\x05\xff")
            return False
        if not want_auth and 0 not in methods:
            c.sendall(b"\x05\xff")
            return False
        c.sendall(b"\x05\x02" if want_auth else b"\x05\x00")
        if not want_auth:
            return True
        sub, ulen = recv_exact(c, 2)
        user = recv_exact(c, ulen).decode("utf-8", "replace")
        (plen,) = recv_exact(c, 1)
        password = recv_exact(c, plen).decode("utf-8", "replace")
        ok = (sub == 1 and mode != "reject-auth" and
              (mode == "reply" or (user == self.args.user and password == self.args.password)))
        self.log("auth %s %s" % (user, "accepted" if ok else "rejected"))
        c.sendall(b"\x01\x00" if ok else b"\x01\x01")
        return ok

    def request(self, c):
        """The CONNECT request: (host, port), or None if it is not one."""
        ver, cmd, _, atyp = recv_exact(c, 4)
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, recv_exact(c, 4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
        elif atyp == 3:
            (n,) = recv_exact(c, 1)
            host = recv_exact(c, n).decode("ascii", "replace")
        else:
            return None
        (port,) = struct.unpack("!H", recv_exact(c, 2))
        if ver != 5 or cmd != 1:
            return None
        return host, port

    def http_request(self, c):
        """An HTTP proxy's side of CONNECT: (host, port), or None once the
        client has been answered otherwise."""
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.recv(4096)
            if not chunk:
                raise Closed(head == b"")
            head += chunk
            if len(head) > 65536:
                return None
        lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        method, target = (lines[0].split(" ") + ["", ""])[:2]
        headers = dict((k.strip().lower(), v.strip()) for k, v in
                       (l.split(":", 1) for l in lines[1:] if ":" in l))
        if method != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return None
        if self.args.user is not None:
            given = headers.get("proxy-authorization", "")
            user = "-"
            if given.startswith("Basic "):
                user = base64.b64decode(given[6:]).decode("utf-8", "replace").split(":", 1)[0]
            ok = given == "Basic " + base64.b64encode(
                ("%s:%s" % (self.args.user, self.args.password)).encode()).decode()
            self.log("auth %s %s" % (user, "accepted" if ok else "rejected"))
            if not ok:
                c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                          b"Proxy-Authenticate: Basic realm=\"mock\"\r\nContent-Length: 0\r\n\r\n")
                return None
        host, _, port = target.rpartition(":")
        return host.strip("[]"), int(port)

    @staticmethod
    def reply(c, rep):
        c.sendall(bytes([5, rep, 0, 1, 0, 0, 0, 0, 0, 0]))

    @staticmethod
    def http_reply(c, rep):
        words = {0: "200 Connection established", 2: "403 Forbidden", 5: "502 Bad Gateway"}[rep]
        c.sendall(("HTTP/1.1 %s\r\n\r\n" % words).encode())

    def handle(self, c):
        http = self.args.http_connect
        reply = self.http_reply if http else self.reply
        try:
            if self.tls:
                try:
                    c = self.tls.wrap_socket(c, server_side=True)
                except (ssl.SSLError, OSError):
                    self.log("tls failed")
                    return
            if http:
                target = self.http_request(c)
                if target is None:
                    return
            else:
                if not self.negotiate(c):
                    return
                target = self.request(c)
            if target is None:
                self.log("connect ? 07")
                self.reply(c, 7)
                return
            host, port = target
            if self.args.mode == "reply":
                rep = self.args.reply_code
            elif host not in LOOPBACK:
                rep = 2         # only loopback, ever
            else:
                rep = 0
            said = (lambda rep: "%d" % {0: 200, 2: 403, 5: 502}[rep]) if http else (lambda rep: "%02x" % rep)
            if rep != 0:
                self.log("connect %s:%d %s" % (host, port, said(rep)))
                reply(c, rep)
                return
            try:
                up = socket.create_connection(("127.0.0.1", port), timeout=10)
            except OSError:
                self.log("connect %s:%d %s" % (host, port, said(5)))
                reply(c, 5)
                return
            self.log("connect %s:%d %s" % (host, port, said(0)))
            up.settimeout(None)
            reply(c, 0)
            self.relay(c, up)
        except Closed as e:
            # under TLS 1.3 our side of the handshake is done before the
            # client looks at our certificate: one that refuses it closes
            # before asking anything
            if self.tls and e.args and e.args[0]:
                self.log("tls failed")
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def relay(a, b):
        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                # the socket's own shutdown: a TLS socket's would drop its
                # TLS state, which the other direction is still using
                try:
                    socket.socket.shutdown(dst, socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(b, a), daemon=True)
        t.start()
        pump(a, b)
        t.join()
        b.close()

    def serve(self):
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((self.args.host, self.args.port))
        srv.listen(64)
        print("%s listening on %d" % ("proxy" if self.args.http_connect else "socks5",
                                      srv.getsockname()[1]), flush=True)
        while True:
            c, _ = srv.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--mode", choices=("relay", "reject-auth", "reply"), default="relay")
    p.add_argument("--reply-code", type=lambda s: int(s, 0), default=5)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--log")
    p.add_argument("--http-connect", action="store_true")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    if args.http_connect and args.mode != "relay":
        p.error("--http-connect is a relay only")
    if args.tls_cert and not args.http_connect:
        p.error("--tls-cert is for --http-connect")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        p.error("--host must be a loopback address")
    if (args.user is None) != (args.password is None):
        p.error("--user and --password go together")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        Proxy(args).serve()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
