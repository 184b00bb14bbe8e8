#!/usr/bin/python3
"""An HTTP/2 front for the mock WeCom endpoint, for the fault suite.

WeCom's API answers HTTPS, and libcurl offers HTTP/2 there (ALPN h2) unless
told otherwise; the mock itself speaks only HTTP/1.1.  This front speaks
HTTP/2 over TLS (ALPN h2 only) on a port of its own and hands each request
to the mock (--backend-port), so a scan's every page goes over HTTP/2 with
the mock's scenarios behind it.  --reset picks contact_list requests the
front answers with RST_STREAM (INTERNAL_ERROR) instead, which the mock
never sees: "all", or a number N (the Nth contact_list request of the
front's life only).  --goaway picks them the same way for a broken
answer instead: a response whose content-length its body does not match
(which the client resets itself) followed at once by GOAWAY, so that the
session ends with the stream closed in error: libcurl's "Error in the
HTTP2 framing layer" (CURLE_HTTP2), not a stream the server reset.

Prints "listening PORT" once ready.  --log FILE gets one JSON line per
request: {"path", "body", "reset"}.
"""
import argparse
import http.client
import json
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

LOCK = threading.Lock()
COUNT = {"contact_list": 0}


def log(args, entry):
    if args.log:
        with LOCK, open(args.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def failure_of(args, path):
    """How to answer path instead of asking the mock: "reset", "goaway" or None."""
    if "externalcontact/contact_list" not in path:
        return None
    with LOCK:
        COUNT["contact_list"] += 1
        n = COUNT["contact_list"]
    for kind, pick in (("reset", args.reset), ("goaway", args.goaway)):
        if pick == "all" or (pick.isdigit() and n == int(pick)):
            return kind
    return None


def ask_backend(args, method, path, headers, body):
    backend = http.client.HTTPConnection("127.0.0.1", args.backend_port, timeout=30)
    try:
        fwd = {"Accept-Encoding": headers.get("accept-encoding", "identity")}
        if body:
            fwd["Content-Type"] = headers.get("content-type", "application/json")
        backend.request(method, path, body=body or None, headers=fwd)
        resp = backend.getresponse()
        out = [(":status", str(resp.status))]
        for name in ("content-type", "content-encoding", "retry-after"):
            if resp.getheader(name):
                out.append((name, resp.getheader(name)))
        data = resp.read()
        out.append(("content-length", str(len(data))))
        return out, data
    finally:
        backend.close()


class Stream:
    def __init__(self):
        self.headers = {}
        self.body = b""
        self.out = b""        # response data not yet sent (flow control)


def serve(args, sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False,
                                                                header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    streams = {}

    def pump():
        for sid, st in list(streams.items()):
            while st.out:
                room = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if room <= 0:
                    break
                conn.send_data(sid, st.out[:room], end_stream=len(st.out) <= room)
                st.out = st.out[room:]
            if not st.out and st.headers.get("done"):
                del streams[sid]
        sock.sendall(conn.data_to_send())

    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    streams[ev.stream_id] = Stream()
                    streams[ev.stream_id].headers = dict(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    streams[ev.stream_id].body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    st = streams[ev.stream_id]
                    path = st.headers.get(":path", "")
                    failure = failure_of(args, path)
                    log(args, {"path": path, "body": st.body.decode("utf-8", "replace"),
                               "reset": failure is not None, "failure": failure})
                    if failure == "reset":
                        conn.reset_stream(ev.stream_id, error_code=h2.errors.ErrorCodes.INTERNAL_ERROR)
                        del streams[ev.stream_id]
                        continue
                    if failure == "goaway":
                        # one write, so that the client reads both at once
                        conn.send_headers(ev.stream_id, [(":status", "200"), ("content-length", "10")])
                        conn.send_data(ev.stream_id, b"{}", end_stream=True)
                        conn.close_connection(last_stream_id=ev.stream_id)
                        sock.sendall(conn.data_to_send())
                        del streams[ev.stream_id]
                        continue
                    headers, body = ask_backend(args, st.headers.get(":method", "GET"), path,
                                                st.headers, st.body)
                    conn.send_headers(ev.stream_id, headers, end_stream=not body)
                    st.out = body
                    st.headers["done"] = True
                    if not body:
                        del streams[ev.stream_id]
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return
            pump()
    except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
        return
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--backend-port", type=int, required=True)
    ap.add_argument("--reset", default="none", help="all, N, or none")
    ap.add_argument("--goaway", default="none", help="all, N, or none")
    ap.add_argument("--log")
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["h2"])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print("listening %d" % listener.getsockname()[1], flush=True)
    while True:
        raw, _ = listener.accept()
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        if tls.selected_alpn_protocol() != "h2":
            tls.close()
            continue
        threading.Thread(target=serve, args=(args, tls), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
