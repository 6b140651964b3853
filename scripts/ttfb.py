#!/usr/bin/env python3
"""Time to first byte of streamed answers, one request at a time, for several gateways.

For each target (NAME=URL), sends the same POST over one kept-alive connection and times
from the last byte of the request to the first `data:` of the answer's body, then reads
the answer to its end. Targets take turns in blocks, so drift on a shared host hits them
alike. Prints one line per target: NAME p50_us p90_us p99_us n.

  scripts/ttfb.py --body body.json --header 'Authorization: Bearer k' \
      floor=http://127.0.0.1:8046/v1/chat/completions sy=http://127.0.0.1:8047/v1/chat/completions
"""

import argparse
import socket
import time
import urllib.parse


def request_bytes(url, body, headers):
    u = urllib.parse.urlsplit(url)
    lines = [
        f"POST {u.path or '/'}{'?' + u.query if u.query else ''} HTTP/1.1",
        f"Host: {u.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def connect(url):
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port or 80), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def chunked_end(buf, at):
    """Whether the chunked body starting at `at` is complete (last chunk and trailers)."""
    while True:
        line_end = buf.find(b"\r\n", at)
        if line_end < 0:
            return False
        size = int(buf[at:line_end].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            # Trailer lines, if any, then an empty line.
            return buf.find(b"\r\n\r\n", line_end) >= 0
        at = line_end + 2 + size + 2
        if at > len(buf):
            return False


def one(sock, req):
    """Seconds to the first `data:`; reads the answer to its end (by Content-Length, or
    to the last chunk of a chunked body)."""
    sock.sendall(req)
    t0 = time.perf_counter()
    buf = b""
    first = None
    head_end = -1
    length = None
    while True:
        got = sock.recv(65536)
        if not got:
            raise RuntimeError("connection closed mid-answer")
        buf += got
        if head_end < 0:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = buf[:head_end].decode("latin-1")
            if not head.startswith("HTTP/1.1 200"):
                raise RuntimeError(f"status: {head[:80]!r}")
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
        if first is None and b"data:" in buf[head_end:]:
            first = time.perf_counter() - t0
        body_at = head_end + 4
        if length is not None:
            done = len(buf) - body_at >= length
        else:
            done = chunked_end(buf, body_at)
        if done:
            if first is None:
                raise RuntimeError("the answer has no `data:` event")
            return first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--body", required=True)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("-n", type=int, default=3000, help="requests per target")
    ap.add_argument("--block", type=int, default=250, help="requests per turn")
    ap.add_argument("targets", nargs="+", help="NAME=URL, or NAME=URL|Header: value")
    args = ap.parse_args()
    if args.n < 1 or args.block < 1:
        ap.error("-n and --block must be at least 1")
    body = open(args.body, "rb").read().strip()
    targets, extra = [], {}
    for t in args.targets:
        name, _, rest = t.partition("=")
        url, *headers = rest.split("|")
        targets.append((name, url))
        extra[name] = headers
    socks = {name: connect(url) for name, url in targets}
    reqs = {name: request_bytes(url, body, args.header + extra[name]) for name, url in targets}
    times = {name: [] for name, _ in targets}
    for name, _ in targets:  # warm up
        for _ in range(50):
            one(socks[name], reqs[name])
    while any(len(t) < args.n for t in times.values()):
        for name, _ in targets:
            for _ in range(min(args.block, args.n - len(times[name]))):
                times[name].append(one(socks[name], reqs[name]))
    for name, _ in targets:
        t = sorted(times[name])
        pct = lambda p: t[min(len(t) - 1, int(p * len(t)))] * 1e6
        print(f"{name} {pct(0.5):.0f} {pct(0.9):.0f} {pct(0.99):.0f} {len(t)}")


if __name__ == "__main__":
    main()
