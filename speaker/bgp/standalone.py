"""`python -m speaker.bgp.standalone CONFIG.json`: the BGP/BFD side alone, for tests and bench.

The config file holds the node name, peers and routes (see `load`). SIGHUP re-reads it and
applies it (level-triggered, like the speaker does on any cluster change); SIGTERM withdraws
everything with a Cease to each peer and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal
import sys
from typing import Any

from ironlb.log import Secret, configure_logging, get_logger
from speaker.bgp.desired import BfdDesired, BgpDesired, PeerDesired
from speaker.bgp.manager import BgpManager
from speaker.bgp.session import Route

_PEER_FIELDS = set(PeerDesired.__dataclass_fields__)


def parse_community(text: str) -> int:
    high, low = text.split(":")
    return (int(high) << 16) | int(low)


def parse_large(text: str) -> tuple[int, int, int]:
    a, b, c = (int(x) for x in text.split(":"))
    return (a, b, c)


def load(doc: dict[str, Any]) -> BgpDesired:
    peers: dict[str, PeerDesired] = {}
    for raw in doc.get("peers", []):
        fields = {k: v for k, v in raw.items() if k in _PEER_FIELDS}
        if raw.get("password"):
            fields["password"] = Secret(raw["password"])
        if raw.get("bfd"):
            fields["bfd"] = BfdDesired(**raw["bfd"])
        peer = PeerDesired(**fields)
        peers[peer.name] = peer
    routes: dict[str, set[Route]] = {name: set() for name in peers}
    for raw in doc.get("routes", []):
        prefixes = _expand(raw)
        for prefix in prefixes:
            route = Route(
                prefix,
                local_pref=raw.get("local_pref"),
                communities=tuple(parse_community(c) for c in raw.get("communities", [])),
                large_communities=tuple(parse_large(c) for c in raw.get("large_communities", [])),
            )
            for name in raw.get("peers") or list(peers):
                routes[name].add(route)
    return BgpDesired(peers, {n: frozenset(r) for n, r in routes.items()})


def _expand(raw: dict[str, Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`prefix` is one route; `expand: N` makes N host routes starting at `prefix` (bench)."""
    net = ipaddress.ip_network(raw["prefix"])
    count = int(raw.get("expand", 0))
    if not count:
        return [net]
    bits = 32 if net.version == 4 else 128
    base = int(net.network_address)
    return [ipaddress.ip_network((base + i, bits)) for i in range(count)]


async def run(path: str) -> int:
    with open(path) as f:
        doc = json.load(f)
    configure_logging(doc.get("log_level", "info"))
    log = get_logger("speaker.bgp")
    manager = BgpManager(
        doc.get("node", "standalone"),
        log,
        None,
        router_id=doc.get("router_id"),
        listen_address=doc.get("listen_address"),
        bfd_port=doc.get("bfd_port"),
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reload = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload.set)
    await manager.apply(load(doc))
    while not stop.is_set():
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(reload.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        if reload.is_set() and not stop.is_set():
            reload.clear()
            with open(path) as f:
                await manager.apply(load(json.load(f)))
            log.info("standalone.reloaded", path=path)
    await manager.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m speaker.bgp.standalone")
    parser.add_argument("config", help="JSON file: node, peers, routes")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.config))


if __name__ == "__main__":
    sys.exit(main())
