"""Cisco IOS / IOS-XE.

Syntax: Cisco IOS XE "IP Routing: BGP Configuration Guide" (router bgp, neighbor remote-as /
description / password / ebgp-multihop / fall-over bfd, address-family ipv4|ipv6 with activate,
route-map in, maximum-paths), "IP Routing: BFD Configuration Guide" (bfd-template single-hop
with `interval min-tx .. min-rx .. multiplier ..`), and `ip prefix-list ... seq .. permit .. le`.
IOS shows passwords as `password 7 <hex>` once `service password-encryption` is on; those
compare as "unknown" (see update_password). IPv6 addresses are shown in upper case.
BFD timers live in the template; the ToR-facing interfaces must carry `bfd template ironlb`.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import (
    BFD_PROFILE,
    IMPORT_V4,
    IMPORT_V6,
    POOLS_V4,
    POOLS_V6,
    BfdTimers,
    BgpIntent,
    Neighbor,
)
from .base import IosLike, neighbor_field, neighbor_intents, prefix_rule, sections

POOLS = {"ipv4": POOLS_V4, "ipv6": POOLS_V6}
IMPORT = {"ipv4": IMPORT_V4, "ipv6": IMPORT_V6}
NB_RE = re.compile(r"^neighbor (\S+) (.+)$")
BFD_INTERVAL = re.compile(r"^interval min-tx (\d+) min-rx (\d+) multiplier (\d+)$")


class Ios(IosLike):
    name = "ios"
    device_type = "cisco_ios"
    error_pattern = r"(?m)^% .*$"
    af_header = {"ipv4": "address-family ipv4", "ipv6": "address-family ipv6"}
    bfd_line = "fall-over bfd"

    def key(self, line: str) -> str:
        if line.startswith("interval min-tx "):
            return "interval"
        return super().key(line)

    def encrypted(self, password: str) -> bool:
        return password.split(" ", 1)[0] in ("6", "7") and " " in password

    def render(self, intent: BgpIntent) -> list[str]:
        out = self._filters(intent)
        if intent.bfd_timers:
            t = intent.bfd_timers
            out += [
                f"bfd-template single-hop {BFD_PROFILE}",
                f" interval min-tx {t.min_tx} min-rx {t.min_rx} multiplier {t.multiplier}",
            ]
        if not intent.asn:
            return out
        out.append(f"router bgp {intent.asn}")
        if intent.router_id:
            out.append(f" bgp router-id {intent.router_id}")
        for n in intent.neighbors:
            out += [f" {line}" for line in self._neighbor(n)]
        for fam in intent.families:
            body = [f"  maximum-paths {intent.maximum_paths}"] if intent.maximum_paths else []
            for n in intent.neighbors:
                body.append(f"  neighbor {n.address} activate")
                body.append(f"  neighbor {n.address} route-map {IMPORT[fam]} in")
            if body:
                out += [f" {self.af_header[fam]}", *body]
        return out

    def _filters(self, intent: BgpIntent) -> list[str]:
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
        return out

    def _neighbor(self, n: Neighbor) -> list[str]:
        a = n.address
        lines = [f"neighbor {a} remote-as {n.remote_asn}"]
        if n.description:
            lines.append(f"neighbor {a} description {n.description}")
        if n.password:
            lines.append(f"neighbor {a} password {n.password}")
        if n.ebgp_multihop:
            lines.append(f"neighbor {a} ebgp-multihop {n.ebgp_multihop}")
        if n.bfd:
            lines.append(f"neighbor {a} {self.bfd_line}")
        return lines

    def parse(self, running: str) -> BgpIntent:
        asn = 0
        router_id = None
        nbrs: dict[str, dict[str, Any]] = {}
        rules = []
        families: set[str] = set()
        max_paths: dict[str, int] = {}
        timers = None
        for ctx, line in sections(running):
            if not ctx and line.startswith("router bgp ") and len(line.split()) == 3:
                asn = int(line.split()[2])
            elif not ctx and (rule := prefix_rule(line, tuple(POOLS.values()))):
                rules.append(rule)
            elif not ctx and line.startswith("route-map "):
                families |= {f for f, n in IMPORT.items() if line.startswith(f"route-map {n} ")}
            elif ctx == (f"bfd-template single-hop {BFD_PROFILE}",) and (
                m := BFD_INTERVAL.match(line)
            ):
                tx, rx, mult = (int(x) for x in m.groups())
                timers = BfdTimers(min_rx=rx, min_tx=tx, multiplier=mult)
            elif asn and ctx == (f"router bgp {asn}",):
                if line.startswith("bgp router-id "):
                    router_id = line.split()[2]
                elif m := NB_RE.match(line):
                    fields = nbrs.setdefault(m.group(1).lower(), {})
                    neighbor_field(fields, m.group(2), (self.bfd_line,))
            elif asn and len(ctx) == 2 and ctx[0] == f"router bgp {asn}":
                fam = ctx[1].split()[1] if ctx[1].startswith("address-family ") else ""
                if line.startswith("maximum-paths ") and fam in ("ipv4", "ipv6"):
                    max_paths[fam] = int(line.split()[1])
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
