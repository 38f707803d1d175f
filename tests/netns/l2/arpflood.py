"""Bounded ARP flood from the client namespace: how many replies/s does a target sustain?

Sends COUNT who-has requests for TARGET on IFACE as fast as one raw socket goes (bounded by
--max-seconds too), reading replies between bursts, then drains for 0.3 s. Prints JSON:
{"sent": n, "replies": m, "seconds": elapsed, "replies_per_s": m / elapsed}.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("target")
    p.add_argument("--iface", default="lan")
    p.add_argument("--source", required=True)
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--max-seconds", type=float, default=5.0)
    args = p.parse_args()
    count = min(args.count, 200_000)
    mac = bytes.fromhex(Path(f"/sys/class/net/{args.iface}/address").read_text().replace(":", ""))
    target = IPv4Address(args.target).packed
    arp = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, IPv4Address(args.source).packed, bytes(6), target
    )
    frame = (b"\xff" * 6 + mac + b"\x08\x06" + arp).ljust(60, b"\x00")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((args.iface, 0x0806))
    s.setblocking(False)
    replies = 0
    last_reply = start = time.monotonic()

    def drain() -> None:
        nonlocal replies, last_reply
        while True:
            try:
                data = s.recv(128)
            except BlockingIOError:
                return
            # ARP reply (op 2) whose sender IP is the target
            if len(data) >= 42 and data[20:22] == b"\x00\x02" and data[28:32] == target:
                replies += 1
                last_reply = time.monotonic()

    sent = 0
    deadline = start + args.max_seconds
    while sent < count and time.monotonic() < deadline:
        for _ in range(50):
            try:
                s.send(frame)
                sent += 1
            except BlockingIOError:
                break
        drain()
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        drain()
        time.sleep(0.001)
    elapsed = max(last_reply - start, 1e-6)
    out = {"sent": sent, "replies": replies, "seconds": elapsed, "replies_per_s": replies / elapsed}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
