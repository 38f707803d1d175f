"""Request loop run in the client namespace: one request every INTERVAL, COUNT times.

Prints one JSON object per line: {"t": monotonic seconds, "ok": bool, "node": name | null}.
Bounded in count; each request has its own timeout, and requests never overlap, so a slow
one delays the next (the gap then shows up in the timestamps).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time


def one(ip: str, port: int, timeout: float) -> str | None:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect((ip, port))
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := s.recv(1024):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return body.decode().strip() if head.startswith(b"HTTP/1.0 200") else None
    except OSError:
        return None


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("ip")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--timeout", type=float, default=0.05)
    args = p.parse_args()
    count = min(args.count, 100_000)
    nxt = time.monotonic()
    for _ in range(count):
        t = time.monotonic()
        node = one(args.ip, args.port, args.timeout)
        print(json.dumps({"t": t, "ok": node is not None, "node": node}), flush=True)
        nxt += args.interval
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    return 0


if __name__ == "__main__":
    sys.exit(main())
