"""Arista EOS.

Syntax: Arista EOS User Manual, "Border Gateway Protocol (BGP)" (router bgp, router-id,
maximum-paths N [ecmp M] at the BGP level, neighbor remote-as / description / password /
ebgp-multihop / bfd, address-family ipv4|ipv6 with activate and route-map in), "BFD"
(`router bfd` / `interval TX min-rx RX multiplier M default`), and prefix lists, which EOS
shows as a block (`ip prefix-list NAME` then `   seq N permit P le L`). Indentation is three
spaces per level. Passwords are shown as `password 7 <base64>`.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import IMPORT_V4, IMPORT_V6, POOLS_V4, POOLS_V6, BfdTimers, BgpIntent, Neighbor
from .base import IosLike, neighbor_field, neighbor_intents, prefix_rule, sections

POOLS = {"ipv4": POOLS_V4, "ipv6": POOLS_V6}
IMPORT = {"ipv4": IMPORT_V4, "ipv6": IMPORT_V6}
NB_RE = re.compile(r"^neighbor (\S+) (.+)$")
BFD_INTERVAL = re.compile(r"^interval (\d+) min-rx (\d+) multiplier (\d+) default$")


class Eos(IosLike):
    name = "eos"
    device_type = "arista_eos"
    error_pattern = r"(?m)^% .*$"
    seq_step = 10

    def key(self, line: str) -> str:
        if line.startswith("interval ") and line.endswith(" default"):
            return "interval default"
        if line.startswith("maximum-paths "):
            return "maximum-paths"
        if line.startswith("router-id "):
            return "router-id"
        return super().key(line)

    def negatable(self, line: str, whole: bool = False) -> bool:
        return line != "router bfd" and super().negatable(line, whole)

    def encrypted(self, password: str) -> bool:
        return password.startswith("7 ")

    def render(self, intent: BgpIntent) -> list[str]:
        out: list[str] = []
        for fam in intent.families:
            rules = intent.accept_for(fam)
            if rules:
                out.append(f"{'ip' if fam == 'ipv4' else 'ipv6'} prefix-list {POOLS[fam]}")
                for r in rules:
                    le = f" le {r.le}" if r.le is not None else ""
                    out.append(f" seq {r.seq} permit {r.prefix}{le}")
        for fam in intent.families:
            kw = "ip" if fam == "ipv4" else "ipv6"
            out += [
                f"route-map {IMPORT[fam]} permit 10",
                f" match {kw} address prefix-list {POOLS[fam]}",
            ]
        if intent.bfd_timers:
            t = intent.bfd_timers
            out += [
                "router bfd",
                f" interval {t.min_tx} min-rx {t.min_rx} multiplier {t.multiplier} default",
            ]
        if not intent.asn:
            return out
        out.append(f"router bgp {intent.asn}")
        if intent.router_id:
            out.append(f" router-id {intent.router_id}")
        if intent.maximum_paths and intent.families:
            out.append(f" maximum-paths {intent.maximum_paths}")
        for n in intent.neighbors:
            out += [f" {line}" for line in self._neighbor(n)]
        for fam in intent.families:
            body = []
            for n in intent.neighbors:
                body.append(f"  neighbor {n.address} activate")
                body.append(f"  neighbor {n.address} route-map {IMPORT[fam]} in")
            if body:
                out += [f" address-family {fam}", *body]
        return out

    @staticmethod
    def _neighbor(n: Neighbor) -> list[str]:
        a = n.address
        lines = [f"neighbor {a} remote-as {n.remote_asn}"]
        if n.description:
            lines.append(f"neighbor {a} description {n.description}")
        if n.password:
            lines.append(f"neighbor {a} password {n.password}")
        if n.ebgp_multihop:
            lines.append(f"neighbor {a} ebgp-multihop {n.ebgp_multihop}")
        if n.bfd:
            lines.append(f"neighbor {a} bfd")
        return lines

    def parse(self, running: str) -> BgpIntent:
        asn = 0
        router_id = None
        max_paths = None
        nbrs: dict[str, dict[str, Any]] = {}
        rules = []
        families: set[str] = set()
        timers = None
        names = tuple(POOLS.values())
        for ctx, line in sections(running):
            if not ctx and line.startswith("router bgp ") and len(line.split()) == 3:
                asn = int(line.split()[2])
            elif not ctx and (rule := prefix_rule(line, names)):
                rules.append(rule)  # the one-line form, accepted as input
            elif len(ctx) == 1 and ctx[0].split()[-1] in names and "prefix-list" in ctx[0]:
                if rule := prefix_rule(line, names, ctx[0].split()[-1]):
                    rules.append(rule)
            elif not ctx and line.startswith("route-map "):
                families |= {f for f, n in IMPORT.items() if line.startswith(f"route-map {n} ")}
            elif ctx == ("router bfd",) and (m := BFD_INTERVAL.match(line)):
                tx, rx, mult = (int(x) for x in m.groups())
                timers = BfdTimers(min_rx=rx, min_tx=tx, multiplier=mult)
            elif asn and ctx == (f"router bgp {asn}",):
                if line.startswith("router-id "):
                    router_id = line.split()[1]
                elif line.startswith("maximum-paths "):
                    max_paths = int(line.split()[1])
                elif m := NB_RE.match(line):
                    neighbor_field(nbrs.setdefault(m.group(1).lower(), {}), m.group(2))
        fams = tuple(f for f in ("ipv4", "ipv6") if f in families)
        return BgpIntent(
            asn=asn,
            router_id=router_id,
            neighbors=neighbor_intents(nbrs),
            accept=tuple(rules),
            maximum_paths=max_paths if fams else None,
            bfd_timers=timers,
            families=fams,
        ).normalised()

    def save(self, conn: Any) -> str:
        return str(conn.save_config())
