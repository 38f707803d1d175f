"""VyOS 1.4+ (set-style, candidate configuration: `commit`, then `save`).

Syntax: VyOS documentation "BGP" (protocols bgp system-as, parameters router-id, neighbor X
remote-as / description / password / ebgp-multihop / bfd profile / address-family
ipv4-unicast|ipv6-unicast route-map import, address-family ... maximum-paths ebgp), "BFD"
(protocols bfd profile P interval receive|transmit|multiplier) and "Policy" (prefix-list and
prefix-list6 rules with action / prefix / le, route-map rules with match ip|ipv6 address
prefix-list). Read with `show configuration commands`, which sorts lines and quotes values.
"""

from __future__ import annotations

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
from .base import SetStyle, set_lines

POOLS = {"ipv4": POOLS_V4, "ipv6": POOLS_V6}
IMPORT = {"ipv4": IMPORT_V4, "ipv6": IMPORT_V6}
PL = {"ipv4": "prefix-list", "ipv6": "prefix-list6"}
AF = {"ipv4": "ipv4-unicast", "ipv6": "ipv6-unicast"}
B = "set protocols bgp"


class Vyos(SetStyle):
    name = "vyos"
    device_type = "vyos"
    error_pattern = r"(?m)^\s*(Invalid command:.*|.*is not valid.*|Set failed.*|Commit failed.*)$"
    show_running = "show configuration commands"
    leaves = (
        "system-as",
        "router-id",
        "remote-as",
        "description",
        "password",
        "ebgp-multihop",
        "receive",
        "transmit",
        "multiplier",
        "ebgp",
        "le",
        "import",
    )
    whole = (
        rf"^({B} neighbor \S+) remote-as \S+$",
        r"^(set policy (?:prefix-list6?|route-map) \S+ rule \d+) action \S+$",
        rf"^(set protocols bfd profile {BFD_PROFILE}) interval multiplier \S+$",
    )

    def render(self, intent: BgpIntent) -> list[str]:
        out: list[str] = []
        for fam in intent.families:
            for r in intent.accept_for(fam):
                rule = f"set policy {PL[fam]} {POOLS[fam]} rule {r.seq}"
                out += [f"{rule} action 'permit'", f"{rule} prefix '{r.prefix}'"]
                if r.le is not None:
                    out.append(f"{rule} le '{r.le}'")
        for fam in intent.families:
            kw = "ip" if fam == "ipv4" else "ipv6"
            rm = f"set policy route-map {IMPORT[fam]} rule 10"
            out += [f"{rm} action 'permit'", f"{rm} match {kw} address prefix-list '{POOLS[fam]}'"]
        if intent.bfd_timers:
            t = intent.bfd_timers
            p = f"set protocols bfd profile {BFD_PROFILE} interval"
            out += [
                f"{p} multiplier '{t.multiplier}'",
                f"{p} receive '{t.min_rx}'",
                f"{p} transmit '{t.min_tx}'",
            ]
        if not intent.asn:
            return out
        out.append(f"{B} system-as '{intent.asn}'")
        if intent.router_id:
            out.append(f"{B} parameters router-id '{intent.router_id}'")
        if intent.maximum_paths:
            out += [
                f"{B} address-family {AF[f]} maximum-paths ebgp '{intent.maximum_paths}'"
                for f in intent.families
            ]
        for n in intent.neighbors:
            out += self._neighbor(n, intent.families)
        return out

    @staticmethod
    def _neighbor(n: Neighbor, families: tuple[str, ...]) -> list[str]:
        nb = f"{B} neighbor {n.address}"
        lines = [f"{nb} remote-as '{n.remote_asn}'"]
        if n.description:
            lines.append(f"{nb} description '{n.description}'")
        if n.password:
            lines.append(f"{nb} password '{n.password}'")
        if n.bfd:
            lines.append(f"{nb} bfd profile '{BFD_PROFILE}'")
        if n.ebgp_multihop:
            lines.append(f"{nb} ebgp-multihop '{n.ebgp_multihop}'")
        lines += [f"{nb} address-family {AF[f]} route-map import '{IMPORT[f]}'" for f in families]
        return lines

    def parse(self, running: str) -> BgpIntent:
        asn = 0
        router_id = None
        max_paths = None
        nbrs: dict[str, dict[str, Any]] = {}
        pl: dict[tuple[str, int], dict[str, str]] = {}
        families: set[str] = set()
        bfd: dict[str, int] = {}
        for w in set_lines(running):
            if w[:3] == ["protocols", "bgp", "system-as"]:
                asn = int(w[3])
            elif w[:4] == ["protocols", "bgp", "parameters", "router-id"]:
                router_id = w[4]
            elif w[:3] == ["protocols", "bgp", "address-family"] and "maximum-paths" in w:
                max_paths = int(w[-1])
            elif w[:3] == ["protocols", "bgp", "neighbor"] and len(w) >= 6:
                _neighbor_field(nbrs.setdefault(w[3], {}), w[4:])
            elif w[:1] == ["policy"] and len(w) >= 7 and w[1] in PL.values():
                if w[2] in POOLS.values() and w[3] == "rule":
                    pl.setdefault((w[2], int(w[4])), {})[w[5]] = w[6]
            elif w[:2] == ["policy", "route-map"] and len(w) >= 3:
                families |= {f for f, n in IMPORT.items() if w[2] == n}
            elif w[:4] == ["protocols", "bfd", "profile", BFD_PROFILE] and len(w) == 7:
                bfd[w[5]] = int(w[6])
        rules = tuple(
            PrefixRule(v["prefix"], int(v["le"]) if "le" in v else None, seq)
            for (_, seq), v in pl.items()
            if v.get("action") == "permit" and "prefix" in v
        )
        timers = None
        if bfd:
            timers = BfdTimers(
                bfd.get("receive", 300), bfd.get("transmit", 300), bfd.get("multiplier", 3)
            )
        fams = tuple(f for f in ("ipv4", "ipv6") if f in families)
        neighbors = tuple(
            Neighbor(
                a,
                v["remote_asn"],
                v.get("description", ""),
                v.get("password"),
                v.get("bfd", False),
                v.get("ebgp_multihop"),
            )
            for a, v in nbrs.items()
            if "remote_asn" in v
        )
        return BgpIntent(
            asn=asn,
            router_id=router_id,
            neighbors=neighbors,
            accept=rules,
            maximum_paths=max_paths if fams else None,
            bfd_timers=timers,
            families=fams,
        ).normalised()

    # ----- candidate configuration ---------------------------------------------------------

    def commit(self, conn: Any) -> str:
        return str(conn.commit())

    def save(self, conn: Any) -> str:
        return str(conn.save_config())

    def discard(self, conn: Any) -> str:
        return str(conn.send_command("discard", expect_string=r"#"))


def _neighbor_field(n: dict[str, Any], rest: list[str]) -> None:
    if rest[0] == "remote-as":
        n["remote_asn"] = int(rest[1])
    elif rest[0] == "description":
        n["description"] = rest[1]
    elif rest[0] == "password":
        n["password"] = rest[1]
    elif rest[0] == "bfd":
        n["bfd"] = True
    elif rest[0] == "ebgp-multihop":
        n["ebgp_multihop"] = int(rest[1])
