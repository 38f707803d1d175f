"""What every platform provides, and the shared behaviour of IOS-like CLIs.

A platform is a class overriding only what differs (netmiko's pattern): the device type and
error pattern, `parse(running) -> BgpIntent`, `render(intent) -> list[str]` (indented one space
per level), `negate(line)`, and how the configuration is made durable (`save`) or thrown away
after a rejected line (`discard`). Platforms never import netmiko: `conn` is duck-typed.
"""

from __future__ import annotations

import ipaddress
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ..model import BgpIntent, Neighbor, PrefixRule


class Platform(ABC):
    name: ClassVar[str] = ""
    device_type: ClassVar[str] = ""
    # A line of device output matching this means the last command was rejected.
    error_pattern: ClassVar[str] = r"(?m)^% .*$"
    show_running: ClassVar[str] = "show running-config"
    exit_line: ClassVar[str | None] = "exit"
    seq_step: ClassVar[int] = 5
    # Candidate-configuration platforms (Junos, VyOS) discard a failed change instead of
    # sending reverting lines.
    transactional: ClassVar[bool] = False

    @abstractmethod
    def parse(self, running: str) -> BgpIntent:
        """The vendor-neutral intent the running configuration holds."""

    def canonical(self, intent: BgpIntent) -> BgpIntent:
        """What `intent` reads back as on this platform (lossy syntaxes override it)."""
        return intent

    @abstractmethod
    def render(self, intent: BgpIntent) -> list[str]:
        """The configuration lines that express `intent`, in push order."""

    def negate(self, line: str) -> str:
        return line[3:] if line.startswith("no ") else f"no {line}"

    def key(self, line: str) -> str:
        """Lines with the same key in the same place overwrite each other."""
        return line

    def covers(self, line: str) -> str | None:
        """Removing `line` also removes the lines (here and below) starting with the result."""
        return None

    def negatable(self, line: str, whole: bool = False) -> bool:
        """Whether a header line can be removed with its subtree in one negation (`whole`: the
        BGP process itself may go, when reverting a change that created it)."""
        return True

    def encrypted(self, password: str) -> bool:
        """Whether the device shows this password only in an encrypted form."""
        return False

    # ----- device operations (conn is a netmiko connection) --------------------------------

    def save(self, conn: Any) -> str:
        return str(conn.save_config())

    def commit(self, conn: Any) -> str:
        """Transactional platforms: make the candidate active (called before save)."""
        return ""

    def confirm(self, conn: Any) -> str:
        """Transactional platforms: confirm a `commit confirmed` once the device still answers."""
        return ""

    def discard(self, conn: Any) -> str:
        """Transactional platforms: throw the candidate away (while still in config mode)."""
        return ""


KEYED_NEIGHBOR = re.compile(
    r"^neighbor (\S+) (remote-as|description|password|ebgp-multihop|bfd profile|bfd interval)\b"
)


class IosLike(Platform):
    """Cisco-style `router bgp N` / `neighbor X ...` / `address-family` CLIs."""

    device_type = "cisco_ios"

    def key(self, line: str) -> str:
        m = KEYED_NEIGHBOR.match(line)
        if m:
            return f"neighbor {m.group(1)} {m.group(2)}"
        for word in ("bgp router-id", "maximum-paths", "detect-multiplier", "receive-interval",
                     "transmit-interval"):  # fmt: skip
            if line.startswith(word + " "):
                return word
        return line

    def covers(self, line: str) -> str | None:
        m = re.match(r"^neighbor (\S+) remote-as ", line)
        return f"neighbor {m.group(1)} " if m else None

    def negate(self, line: str) -> str:
        # `no neighbor X` removes the whole neighbor everywhere (IOS, EOS and FRR alike);
        # `no neighbor X remote-as N` would leave its other settings behind on some of them.
        m = re.match(r"^neighbor (\S+) remote-as ", line)
        return f"no neighbor {m.group(1)}" if m else super().negate(line)

    def negatable(self, line: str, whole: bool = False) -> bool:
        if line.startswith("router bgp "):
            return whole
        return not line.startswith("address-family ")


def blocks(running: str) -> list[tuple[int, str]]:
    """Running-config text → (indent, stripped line), skipping blanks and `!` comments."""
    out = []
    for raw in running.splitlines():
        text = raw.rstrip()
        stripped = text.strip()
        if not stripped or stripped.startswith("!") or stripped.startswith("#"):
            continue
        out.append((len(text) - len(text.lstrip()), stripped))
    return out


def sections(running: str) -> list[tuple[tuple[str, ...], str]]:
    """Running-config text → (parents, line) using indentation (any width)."""
    out: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    for indent, line in blocks(running):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if line.startswith("exit") or line == "end":
            continue
        out.append((tuple(s for _, s in stack), line))
        stack.append((indent, line))
    return out


PREFIX_LINE = re.compile(
    r"^(?:ipv6 |ip )?(?:prefix-list (?P<name>\S+) )?seq (?P<seq>\d+) permit (?P<prefix>\S+)"
    r"(?: ge \d+)?(?: le (?P<le>\d+))?$"
)


def prefix_rule(line: str, names: tuple[str, ...], current: str = "") -> PrefixRule | None:
    """`[ip|ipv6] prefix-list NAME seq N permit P [le L]` (or `seq ...` inside a prefix-list
    block named `current`) → a rule, if the list is one of `names`."""
    m = PREFIX_LINE.match(line)
    if not m or (m.group("name") or current) not in names:
        return None
    le = m.group("le")
    return PrefixRule(
        str(ipaddress.ip_network(m.group("prefix"))), int(le) if le else None, int(m.group("seq"))
    )


def neighbor_intents(nbrs: dict[str, dict[str, Any]]) -> tuple[Neighbor, ...]:
    """Collected per-neighbor fields → Neighbor values (only neighbors with a remote AS)."""
    return tuple(
        Neighbor(
            address=str(ipaddress.ip_address(a)),
            remote_asn=v["remote_asn"],
            description=v.get("description", ""),
            password=v.get("password"),
            bfd=v.get("bfd", False),
            ebgp_multihop=v.get("ebgp_multihop"),
        )
        for a, v in nbrs.items()
        if "remote_asn" in v
    )


def neighbor_field(n: dict[str, Any], rest: str, bfd_words: tuple[str, ...] = ("bfd",)) -> None:
    """One `neighbor X <rest>` (or NX-OS in-block `<rest>`) line into the field dict."""
    word, _, value = rest.partition(" ")
    if word == "remote-as" and value.isdigit():
        n["remote_asn"] = int(value)
    elif word == "description":
        n["description"] = value.strip('"')
    elif word == "password":
        n["password"] = value
    elif rest in bfd_words or any(rest.startswith(w + " ") for w in bfd_words):
        n["bfd"] = True
    elif word == "ebgp-multihop":
        n["ebgp_multihop"] = int(value) if value else 255


class SetStyle(Platform):
    """Flat `set a b c value` configurations with a candidate (Junos, VyOS): no contexts, `set`
    negated by `delete`, single-valued leaves overwrite."""

    exit_line = None
    transactional = True
    # Leaves whose last word is the value: their lines overwrite each other.
    leaves: ClassVar[tuple[str, ...]] = ()
    # Regex whose match on a removed line means "delete this whole object" (group 1).
    whole: ClassVar[tuple[str, ...]] = ()

    def negate(self, line: str) -> str:
        for pattern in self.whole:
            m = re.match(pattern, line)
            if m:
                return "delete " + m.group(1)[4:]
        # A single-valued leaf is deleted by its path; list entries by the whole line.
        return "delete " + self.key(line)[4:]

    def key(self, line: str) -> str:
        for leaf in self.leaves:
            m = re.search(rf"(^| ){re.escape(leaf)} (\"[^\"]*\"|'[^']*'|\S+)$", line)
            if m:
                return line[: m.start(2) - 1]
        return line

    def covers(self, line: str) -> str | None:
        for pattern in self.whole:
            m = re.match(pattern, line)
            if m:
                return m.group(1) + " "
        return None


def set_lines(running: str) -> list[list[str]]:
    """`set ...` lines → word lists with quotes removed (values may be quoted)."""
    out = []
    for raw in running.splitlines():
        line = raw.strip()
        if line.startswith("set "):
            out.append([w.strip("'\"") for w in _split_quoted(line[4:])])
    return out


def _split_quoted(text: str) -> list[str]:
    return re.findall(r"'[^']*'|\"[^\"]*\"|\S+", text)
