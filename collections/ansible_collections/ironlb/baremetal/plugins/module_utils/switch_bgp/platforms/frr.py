"""FRRouting (vtysh), driven through netmiko as `cisco_ios` (FIELD-NOTES: no FRR type exists).

Syntax: FRR user guide, "BGP" (router bgp, neighbor ... bfd profile, address-family),
"Filtering" (ip prefix-list ... seq N permit P le L), "Route Maps" and "BFD" (profile timers).
FRR hides defaults in `show running-config`: BFD profile timers 300/300/3 and `neighbor X
activate` in IPv4 unicast are not displayed, so `parse` fills them in.
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
    PrefixRule,
)
from .base import IosLike, neighbor_field, neighbor_intents, prefix_rule, sections

POOLS = {"ipv4": POOLS_V4, "ipv6": POOLS_V6}
IMPORT = {"ipv4": IMPORT_V4, "ipv6": IMPORT_V6}
PL_RE = re.compile(r"^ipv?6? ?prefix-list (\S+) seq (\d+) permit (\S+)(?: ge \d+)?(?: le (\d+))?$")
NB_RE = re.compile(r"^neighbor (\S+) (.+)$")


class Frr(IosLike):
    name = "frr"
    device_type = "cisco_ios"
    error_pattern = r"(?m)^(% .*|BGP is already running.*)$"

    def render(self, intent: BgpIntent) -> list[str]:
        out: list[str] = []
        for fam in intent.families:
            kw = "ip" if fam == "ipv4" else "ipv6"
            for r in intent.accept_for(fam):
                le = f" le {r.le}" if r.le is not None else ""
                out.append(f"{kw} prefix-list {POOLS[fam]} seq {r.seq} permit {r.prefix}{le}")
        for fam in intent.families:
            kw = "ip" if fam == "ipv4" else "ipv6"
            out += [f"route-map {IMPORT[fam]} permit 10",
                    f" match {kw} address prefix-list {POOLS[fam]}"]  # fmt: skip
        if intent.bfd_timers:
            t = intent.bfd_timers
            out += ["bfd", f" profile {BFD_PROFILE}"]
            out += [f"  detect-multiplier {t.multiplier}", f"  receive-interval {t.min_rx}"]
            out.append(f"  transmit-interval {t.min_tx}")
        if not intent.asn:
            return out  # no BGP process on the device
        out.append(f"router bgp {intent.asn}")
        if intent.router_id:
            out.append(f" bgp router-id {intent.router_id}")
        for n in intent.neighbors:
            out += [f" {line}" for line in self._neighbor(n)]
        for fam in intent.families:
            body = [f"  maximum-paths {intent.maximum_paths}"] if intent.maximum_paths else []
            for n in intent.neighbors:
                if fam == "ipv6":
                    body.append(f"  neighbor {n.address} activate")
                body.append(f"  neighbor {n.address} route-map {IMPORT[fam]} in")
            if body:
                out += [f" address-family {fam} unicast", *body]
        return out

    @staticmethod
    def _neighbor(n: Neighbor) -> list[str]:
        a = n.address
        lines = [f"neighbor {a} remote-as {n.remote_asn}"]
        if n.description:
            lines.append(f"neighbor {a} description {n.description}")
        if n.password:
            lines.append(f"neighbor {a} password {n.password}")
        if n.bfd:
            lines += [f"neighbor {a} bfd profile {BFD_PROFILE}", f"neighbor {a} bfd"]
        if n.ebgp_multihop:
            lines.append(f"neighbor {a} ebgp-multihop {n.ebgp_multihop}")
        return lines

    def parse(self, running: str) -> BgpIntent:
        asn = 0
        router_id = None
        nbrs: dict[str, dict[str, Any]] = {}
        rules: list[PrefixRule] = []
        families: set[str] = set()
        max_paths: dict[str, int] = {}
        timers: BfdTimers | None = None
        bfd_fields: dict[str, int] = {}
        for ctx, line in sections(running):
            top = ctx[0] if ctx else line
            if not ctx and line.startswith("router bgp "):
                parts = line.split()
                if len(parts) == 3:  # the default VRF only
                    asn = int(parts[2])
            elif not ctx and (rule := prefix_rule(line, tuple(POOLS.values()))):
                rules.append(rule)
            elif not ctx and line.startswith("route-map "):
                for fam, name in IMPORT.items():
                    if line.startswith(f"route-map {name} permit "):
                        families.add(fam)
            elif top == "bfd" and ctx[1:] == (f"profile {BFD_PROFILE}",):
                word, _, value = line.partition(" ")
                bfd_fields[word] = int(value)
            elif top == "bfd" and line == f"profile {BFD_PROFILE}":
                timers = BfdTimers()
            elif ctx == (f"router bgp {asn}",) and asn:
                if line.startswith("bgp router-id "):
                    router_id = line.split()[2]
                elif m := NB_RE.match(line):
                    neighbor_field(nbrs.setdefault(m.group(1), {}), m.group(2))
            elif len(ctx) == 2 and ctx[0] == f"router bgp {asn}" and asn:
                fam = ctx[1].split()[1] if ctx[1].startswith("address-family ") else ""
                if line.startswith("maximum-paths ") and fam:
                    max_paths[fam] = int(line.split()[1])
        if timers is not None:
            timers = BfdTimers(
                min_rx=bfd_fields.get("receive-interval", 300),
                min_tx=bfd_fields.get("transmit-interval", 300),
                multiplier=bfd_fields.get("detect-multiplier", 3),
            )
        fams = tuple(f for f in ("ipv4", "ipv6") if f in families)
        mp = next((max_paths[f] for f in fams if f in max_paths), None)
        neighbors = neighbor_intents(nbrs)
        return BgpIntent(
            asn=asn,
            router_id=router_id,
            neighbors=neighbors,
            accept=tuple(rules),
            maximum_paths=mp,
            bfd_timers=timers,
            families=fams,
        ).normalised()

    def negatable(self, line: str, whole: bool = False) -> bool:
        return line != "bfd" and super().negatable(line, whole)

    def save(self, conn: Any) -> str:
        return str(conn.send_command("write memory", expect_string=r"#"))
