"""Cisco NX-OS.

Syntax: Cisco Nexus 9000 NX-OS "Unicast Routing Configuration Guide", chapters "Configuring
Basic BGP" / "Configuring Advanced BGP": a neighbor is a block (`neighbor X` then `remote-as`,
`description`, `password 3 <hex>`, `bfd`, `ebgp-multihop`, and per-family `address-family
ipv4 unicast` / `route-map NAME in`); `maximum-paths` sits in the router's `address-family`;
`ip prefix-list ... seq .. permit .. le ..` and route maps as on IOS. BFD timers are the global
`bfd interval TX min_rx RX multiplier M`. Blocks are indented by two spaces per level.
`feature bgp` and `feature bfd` must be on already (they are not managed here).
"""

from __future__ import annotations

import re
from typing import Any

from ..model import IMPORT_V4, IMPORT_V6, POOLS_V4, POOLS_V6, BfdTimers, BgpIntent, Neighbor
from .base import IosLike, neighbor_field, neighbor_intents, prefix_rule, sections

POOLS = {"ipv4": POOLS_V4, "ipv6": POOLS_V6}
IMPORT = {"ipv4": IMPORT_V4, "ipv6": IMPORT_V6}
BFD_INTERVAL = re.compile(r"^bfd interval (\d+) min_rx (\d+) multiplier (\d+)$")


class Nxos(IosLike):
    name = "nxos"
    device_type = "cisco_nxos"
    error_pattern = r"(?m)^% .*$"

    def key(self, line: str) -> str:
        for word in (
            "remote-as",
            "description",
            "password",
            "ebgp-multihop",
            "router-id",
            "maximum-paths",
            "bfd interval",
        ):
            if line.startswith(word + " "):
                return word
        return line

    def covers(self, line: str) -> str | None:
        return None  # removing `neighbor X` (a header) takes its block with it

    def negatable(self, line: str, whole: bool = False) -> bool:
        if line.startswith("router bgp "):
            return whole
        return not line.startswith("address-family ")

    def encrypted(self, password: str) -> bool:
        return password.split(" ", 1)[0] in ("3", "7") and " " in password

    def render(self, intent: BgpIntent) -> list[str]:
        out: list[str] = []
        for fam in intent.families:
            kw = "ip" if fam == "ipv4" else "ipv6"
            for r in intent.accept_for(fam):
                le = f" le {r.le}" if r.le is not None else ""
                out.append(f"{kw} prefix-list {POOLS[fam]} seq {r.seq} permit {r.prefix}{le}")
        for fam in intent.families:
            kw = "ip" if fam == "ipv4" else "ipv6"
            out += [
                f"route-map {IMPORT[fam]} permit 10",
                f" match {kw} address prefix-list {POOLS[fam]}",
            ]
        if intent.bfd_timers:
            t = intent.bfd_timers
            out.append(f"bfd interval {t.min_tx} min_rx {t.min_rx} multiplier {t.multiplier}")
        if not intent.asn:
            return out
        out.append(f"router bgp {intent.asn}")
        if intent.router_id:
            out.append(f" router-id {intent.router_id}")
        if intent.maximum_paths:
            for fam in intent.families:
                out += [f" address-family {fam} unicast", f"  maximum-paths {intent.maximum_paths}"]
        for n in intent.neighbors:
            out += self._neighbor(n, intent.families)
        return out

    @staticmethod
    def _neighbor(n: Neighbor, families: tuple[str, ...]) -> list[str]:
        lines = [f" neighbor {n.address}", f"  remote-as {n.remote_asn}"]
        if n.description:
            lines.append(f"  description {n.description}")
        if n.password:
            lines.append(f"  password {n.password}")
        if n.bfd:
            lines.append("  bfd")
        if n.ebgp_multihop:
            lines.append(f"  ebgp-multihop {n.ebgp_multihop}")
        for fam in families:
            lines += [f"  address-family {fam} unicast", f"   route-map {IMPORT[fam]} in"]
        return lines

    def parse(self, running: str) -> BgpIntent:
        asn = 0
        router_id = None
        max_paths: dict[str, int] = {}
        nbrs: dict[str, dict[str, Any]] = {}
        rules = []
        families: set[str] = set()
        timers = None
        for ctx, line in sections(running):
            if not ctx and line.startswith("router bgp ") and len(line.split()) == 3:
                asn = int(line.split()[2])
            elif not ctx and (rule := prefix_rule(line, tuple(POOLS.values()))):
                rules.append(rule)
            elif not ctx and line.startswith("route-map "):
                families |= {f for f, n in IMPORT.items() if line.startswith(f"route-map {n} ")}
            elif not ctx and (m := BFD_INTERVAL.match(line)):
                tx, rx, mult = (int(x) for x in m.groups())
                timers = BfdTimers(min_rx=rx, min_tx=tx, multiplier=mult)
            elif asn and ctx == (f"router bgp {asn}",):
                if line.startswith("router-id "):
                    router_id = line.split()[1]
                elif line.startswith("neighbor ") and len(line.split()) == 2:
                    nbrs.setdefault(line.split()[1].lower(), {})
            elif asn and len(ctx) == 2 and ctx[0] == f"router bgp {asn}":
                if ctx[1].startswith("neighbor "):
                    neighbor_field(nbrs.setdefault(ctx[1].split()[1].lower(), {}), line)
                elif ctx[1].startswith("address-family ") and line.startswith("maximum-paths "):
                    max_paths[ctx[1].split()[1]] = int(line.split()[1])
        fams = tuple(f for f in ("ipv4", "ipv6") if f in families)
        return BgpIntent(
            asn=asn,
            router_id=router_id,
            neighbors=neighbor_intents(nbrs),
            accept=tuple(rules),
            maximum_paths=next((max_paths[f] for f in fams if f in max_paths), None),
            bfd_timers=timers,
            families=fams,
        ).normalised()

    def save(self, conn: Any) -> str:
        return str(conn.save_config())
