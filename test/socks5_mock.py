#!/usr/bin/python3
"""A SOCKS5 proxy for the tests (RFC 1928, user/password of RFC 1929), on
loopback, that relays only to loopback: never to any other host.

Run: /usr/bin/python3 test/socks5_mock.py --port 0 [--host 127.0.0.1]
     [--mode relay|reject-auth|reply] [--reply-code N] [--user U --password P]
     [--log F]

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
--log F appends one line per event, flushed at once: "greeting METHODS",
"auth USER accepted|rejected" (never the password), "connect HOST:PORT
REP" (REP as two hex digits).  Standard library only.
"""
import argparse
import os
import signal
import socket
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

    @staticmethod
    def reply(c, rep):
        c.sendall(bytes([5, rep, 0, 1, 0, 0, 0, 0, 0, 0]))

    def handle(self, c):
        try:
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
            if rep != 0:
                self.log("connect %s:%d %02x" % (host, port, rep))
                self.reply(c, rep)
                return
            try:
                up = socket.create_connection(("127.0.0.1", port), timeout=10)
            except OSError:
                self.log("connect %s:%d 05" % (host, port))
                self.reply(c, 5)
                return
            self.log("connect %s:%d 00" % (host, port))
            up.settimeout(None)
            self.reply(c, 0)
            self.relay(c, up)
        except (Closed, OSError):
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
                try:
                    dst.shutdown(socket.SHUT_WR)
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
        print("socks5 listening on %d" % srv.getsockname()[1], flush=True)
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
    args = p.parse_args()
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
