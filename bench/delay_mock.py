#!/usr/bin/python3
"""test/mock_wecom.py for the bench's latency run: scenario `bench` with a delay.

The mock's `delay` scenario serves only the 25 basic rows, too few for a
200-page traversal, so this wrapper (bench only; the mock itself is untouched)
makes every `bench` contact_list answer wait the current delay first, and adds
one control request:

  GET /_delay?ms=N   set the delay (starts at --delay-ms, or 0), answers {"ok":true}

/_delay is a control request like /_stats: a connection that starts with it
is not counted in `connections`.  Everything else is the mock, unchanged.
"""
import os
import sys
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test"))
import mock_wecom as mock  # noqa: E402

mock.CONTROL = tuple(mock.CONTROL) + ("/_delay",)
_dispatch = mock.Handler.dispatch
_serve_bench = mock.Handler.serve_bench


def dispatch(self):
    url = urlsplit(self.path)
    if url.path != "/_delay":
        return _dispatch(self)
    if self.first_request:
        self.first_request = False
        mock.STATE.unaccept(self.client_address[2])
    self.gz = mock.accepts_gzip(self.headers.get("Accept-Encoding"))
    self.read_body()
    ms = parse_qs(url.query).get("ms", ["0"])[0]
    self.server.delay_ms = int(ms)
    self.send_json({"ok": True, "delay_ms": self.server.delay_ms})


def serve_bench(self, limit, cursor, scen="bench"):
    # benchdelay* waits in the mock itself already
    if self.server.delay_ms and scen == "bench":
        time.sleep(self.server.delay_ms / 1000)
    return _serve_bench(self, limit, cursor, scen)


mock.Handler.dispatch = dispatch
mock.Handler.serve_bench = serve_bench

if __name__ == "__main__":
    mock.main()
