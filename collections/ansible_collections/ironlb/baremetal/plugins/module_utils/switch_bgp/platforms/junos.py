"""Juniper Junos (set-style, candidate configuration with `commit confirmed`).

Syntax: Junos OS "BGP User Guide" (protocols bgp group G type external / peer-as /
description / authentication-key / multihop ttl / import / family inet|inet6 unicast /
multipath / bfd-liveness-detection minimum-receive-interval, transmit-interval
minimum-interval, multiplier), "Routing Policies" (policy-statement terms with `from family`,
`route-filter P exact|upto /L`, `then accept|reject`, `load-balance per-packet` exported to the
forwarding table) and `routing-options autonomous-system|router-id`. Read with
`show configuration | display set`. Junos shows keys as `"$9$..."` (encrypted).

The neighbors live in group `ironlb` (all of it is owned). `multipath` has no count: any
maximum_paths > 1 reads back as 64 (the module compares it that way too). BFD is set on the
group, so every node session has it or none does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..model import BfdTimers, BgpIntent, Neighbor, PrefixRule
from .base import SetStyle, set_lines

GROUP = "ironlb"
POLICY = "IRONLB-IMPORT"
ECMP = "IRONLB-ECMP"
TERM = {"ipv4": "ipv4", "ipv6": "ipv6"}
JFAM = {"ipv4": "inet", "ipv6": "inet6"}
MULTIPATH = 64
G = f"set protocols bgp group {GROUP}"
P = f"set policy-options policy-statement {POLICY}"


class Junos(SetStyle):
    name = "junos"
    device_type = "juniper_junos"
    error_pattern = r"(?m)^\s*(error: .*|syntax error.*|unknown command.*|missing argument.*)$"
    show_running = "show configuration | display set | no-more"
    seq_step = 0
    leaves = (
        "peer-as",
        "description",
        "authentication-key",
        "ttl",
        "router-id",
        "autonomous-system",
        "minimum-receive-interval",
        "minimum-interval",
        "multiplier",
    )
    whole = (
        rf"^({G}) type external$",
        rf"^({G} neighbor \S+) peer-as \d+$",
        rf"^(set policy-options policy-statement {ECMP}) then load-balance per-packet$",
        rf"^({P}) then reject$",
    )

    def encrypted(self, password: str) -> bool:
        return password.startswith("$9$")

    def canonical(self, intent: BgpIntent) -> BgpIntent:
        mp = MULTIPATH if intent.maximum_paths and intent.maximum_paths > 1 else None
        on = intent.bfd_timers is not None
        return replace(
            intent,
            maximum_paths=mp if intent.families else None,
            neighbors=tuple(replace(n, bfd=on) for n in intent.neighbors),
            accept=tuple(replace(r, seq=0) for r in intent.accept),
        ).normalised()

    def render(self, intent: BgpIntent) -> list[str]:
        out: list[str] = []
        if intent.asn:
            out.append(f"set routing-options autonomous-system {intent.asn}")
        if intent.router_id:
            out.append(f"set routing-options router-id {intent.router_id}")
        if intent.families:
            out.append(f"{P} then reject")  # first: deleting the policy covers its terms
            for fam in intent.families:
                t = f"{P} term {TERM[fam]}"
                out.append(f"{t} from family {JFAM[fam]}")
                out += [f"{t} from route-filter {_filter(r)}" for r in intent.accept_for(fam)]
                out.append(f"{t} then accept")
        if intent.maximum_paths and intent.families:
            out += [
                f"set policy-options policy-statement {ECMP} then load-balance per-packet",
                f"set routing-options forwarding-table export {ECMP}",
            ]
        if intent.neighbors or intent.families:
            out.append(f"{G} type external")
            if intent.families:
                out.append(f"{G} import {POLICY}")
            out += [f"{G} family {JFAM[f]} unicast" for f in intent.families]
            if intent.maximum_paths and intent.families:
                out.append(f"{G} multipath")
            if intent.bfd_timers:
                t = intent.bfd_timers
                b = f"{G} bfd-liveness-detection"
                out += [
                    f"{b} minimum-receive-interval {t.min_rx}",
                    f"{b} transmit-interval minimum-interval {t.min_tx}",
                    f"{b} multiplier {t.multiplier}",
                ]
            for n in intent.neighbors:
                out += self._neighbor(n)
        return out

    @staticmethod
    def _neighbor(n: Neighbor) -> list[str]:
        base = f"{G} neighbor {n.address}"
        lines = [f"{base} peer-as {n.remote_asn}"]
        if n.description:
            lines.append(f'{base} description "{n.description}"')
        if n.password:
            lines.append(f'{base} authentication-key "{n.password}"')
        if n.ebgp_multihop:
            lines.append(f"{base} multihop ttl {n.ebgp_multihop}")
        return lines

    def parse(self, running: str) -> BgpIntent:
        asn = 0
        router_id = None
        nbrs: dict[str, dict[str, Any]] = {}
        rules: list[PrefixRule] = []
        families: list[str] = []
        multipath = False
        bfd: dict[str, int] = {}
        for w in set_lines(running):
            if w[:2] == ["routing-options", "autonomous-system"]:
                asn = int(w[2])
            elif w[:2] == ["routing-options", "router-id"]:
                router_id = w[2]
            elif w[:4] == ["policy-options", "policy-statement", POLICY, "term"] and len(w) >= 9:
                if w[6:7] == ["route-filter"]:
                    rules.append(_rule(w[7], w[8:]))
            elif w[:4] == ["protocols", "bgp", "group", GROUP]:
                rest = w[4:]
                if rest[:1] == ["family"]:
                    families += [f for f, j in JFAM.items() if rest[1] == j]
                elif rest == ["multipath"]:
                    multipath = True
                elif rest[:1] == ["bfd-liveness-detection"]:
                    bfd[rest[-2]] = int(rest[-1])
                elif rest[:1] == ["neighbor"] and len(rest) >= 4:
                    _neighbor_field(nbrs.setdefault(rest[1], {}), rest[2:])
        timers = None
        if bfd:
            timers = BfdTimers(
                min_rx=bfd.get("minimum-receive-interval", 300),
                min_tx=bfd.get("minimum-interval", 300),
                multiplier=bfd.get("multiplier", 3),
            )
        neighbors = tuple(
            Neighbor(
                address=a,
                remote_asn=v["remote_asn"],
                description=v.get("description", ""),
                password=v.get("password"),
                bfd=timers is not None,
                ebgp_multihop=v.get("ttl"),
            )
            for a, v in nbrs.items()
            if "remote_asn" in v
        )
        return BgpIntent(
            asn=asn,
            router_id=router_id,
            neighbors=neighbors,
            accept=tuple(rules),
            maximum_paths=MULTIPATH if multipath else None,
            bfd_timers=timers,
            families=tuple(families),
        ).normalised()

    # ----- candidate configuration ---------------------------------------------------------

    def commit(self, conn: Any) -> str:
        # Rolls itself back unless confirmed: a change that cuts us off undoes itself.
        out = str(conn.commit(confirm=True, confirm_delay=5))
        return out

    def confirm(self, conn: Any) -> str:
        out = str(conn.commit(and_quit=True))
        return out

    def discard(self, conn: Any) -> str:
        return str(conn.send_command("rollback 0", expect_string=r"#"))

    def save(self, conn: Any) -> str:
        return ""  # a commit is persistent


def _filter(rule: PrefixRule) -> str:
    return f"{rule.prefix} upto /{rule.le}" if rule.le is not None else f"{rule.prefix} exact"


def _rule(prefix: str, rest: list[str]) -> PrefixRule:
    if rest[:1] == ["upto"] and len(rest) > 1:
        return PrefixRule(prefix, int(rest[1].lstrip("/")))
    return PrefixRule(prefix)


def _neighbor_field(n: dict[str, Any], rest: list[str]) -> None:
    if rest[0] == "peer-as":
        n["remote_asn"] = int(rest[1])
    elif rest[0] == "description":
        n["description"] = " ".join(rest[1:])
    elif rest[0] == "authentication-key":
        n["password"] = rest[1]
    elif rest[:2] == ["multihop", "ttl"]:
        n["ttl"] = int(rest[2])
