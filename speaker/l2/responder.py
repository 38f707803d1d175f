"""Sans-IO L2 responder: the addresses this node owns, times the interfaces they go out on.

`claim(ip, interfaces, now, probe)` starts owning an address: first the optional duplicate
probe / failover fence (`probe.py`), then an announcement burst, and from then on every
ARP request / neighbour solicitation for it on those interfaces is answered with the
interface's MAC. `release(ip)` stops answering at once. Frames that are malformed,
hostile or simply not for us are ignored and counted by reason, never raised.

Announcement burst (gratuitous ARP request / unsolicited NA with Override), per interface:
at 0, 50, 200, 500 and 1000 ms after the address becomes ours. The first moves every
cache that hears it; the rest cover a lost frame and switches that learn late.
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

from speaker.l2 import arp, ndp
from speaker.l2.frames import ETH_P_ARP, ETH_P_IPV6, FrameError, ethertype, mac_text
from speaker.l2.probe import Probe, ProbeSettings, ProbeState

ANNOUNCE_SCHEDULE = (0.0, 0.05, 0.2, 0.5, 1.0)
# Ethertype ARP, then htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request): the hot path.
_ARP_REQUEST_HEAD = b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01"
_ARP_REPLY_HEAD = b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x02"
_PAD = bytes(18)
CONFLICT_RETRY = 1.0  # re-probe a conflicting address this often (the other may go away)

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    mac: bytes
    link_local: IPv6Address | None = None


class ClaimState(enum.Enum):
    PROBING = "probing"
    ANNOUNCED = "announced"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class Announced:
    ip: str


@dataclass(frozen=True, slots=True)
class Conflict:
    ip: str
    interface: str | None
    mac: str


@dataclass(slots=True)
class _Claim:
    ip: IPAddress
    interfaces: frozenset[str]
    probe_settings: ProbeSettings | None
    state: ClaimState = ClaimState.PROBING
    probe: Probe | None = None
    announce_at: list[float] = field(default_factory=list)
    retry_at: float | None = None


class Responder:
    def __init__(
        self, schedule: Iterable[float] = ANNOUNCE_SCHEDULE, conflict_retry: float = CONFLICT_RETRY
    ) -> None:
        self._schedule = tuple(schedule)
        self.conflict_retry = conflict_retry
        self._interfaces: dict[str, Interface] = {}
        self._own_macs: set[bytes] = set()
        self._claims: dict[IPAddress, _Claim] = {}
        self._v4: dict[bytes, _Claim] = {}  # packed IPv4 -> claim, for the ARP fast path
        self._leaving = False
        self._out: list[tuple[str, bytes]] = []
        self._events: deque[Announced | Conflict] = deque()
        self.answered: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.announcements = 0
        self.probes_sent = 0

    # --- configuration ------------------------------------------------------------------

    def set_interfaces(self, interfaces: Mapping[str, Interface]) -> None:
        self._interfaces = dict(interfaces)
        self._own_macs = {i.mac for i in interfaces.values()}

    def claim(
        self, ip: str, interfaces: Iterable[str], now: float, probe: ProbeSettings | None
    ) -> None:
        """Own `ip` on `interfaces` (after `probe`, if given); an owned ip just moves ifaces."""
        addr = ip_address(ip)
        names = frozenset(interfaces)
        current = self._claims.get(addr)
        if current is not None:
            if names - current.interfaces and current.state is ClaimState.ANNOUNCED:
                current.announce_at = [now + d for d in self._schedule]
            current.interfaces = names
            return
        claim = _Claim(addr, names, probe)
        self._claims[addr] = claim
        if isinstance(addr, IPv4Address):
            self._v4[addr.packed] = claim
        self._start(claim, now)

    def release(self, ip: str) -> None:
        addr = ip_address(ip)
        self._claims.pop(addr, None)
        self._v4.pop(addr.packed, None)

    def state(self, ip: str) -> ClaimState | None:
        claim = self._claims.get(ip_address(ip))
        return None if claim is None else claim.state

    def claims(self) -> dict[str, ClaimState]:
        return {str(ip): c.state for ip, c in self._claims.items()}

    # --- frames in ----------------------------------------------------------------------

    def receive_frame(self, ifname: str, frame: bytes, now: float) -> None:
        if frame[12:22] == _ARP_REQUEST_HEAD and len(frame) >= 42 and self._fast_arp(ifname, frame):
            return
        try:
            kind = ethertype(frame)
            if kind == ETH_P_ARP:
                self._on_arp(ifname, arp.parse(frame), now)
            elif kind == ETH_P_IPV6:
                if not ndp.is_candidate(frame):
                    self.ignored["not_ndp"] += 1
                    return
                self._on_ndp(ifname, ndp.parse(frame), now)
            else:
                self.ignored["ethertype"] += 1
        except FrameError as err:
            self.ignored[err.reason] += 1

    def _fast_arp(self, ifname: str, frame: bytes) -> bool:
        """The common ARP request, answered without building objects (a few microseconds).

        Returns False to send the frame down the full path, which handles (and counts)
        everything unusual: senders claiming one of our addresses, our own frames, bad MACs.
        """
        sender_ip, target_ip, sha = frame[28:32], frame[38:42], frame[22:28]
        if sender_ip in self._v4:
            return False
        claim = self._v4.get(target_ip)
        if claim is None:
            self.ignored["not_owned"] += 1
            return True
        iface = self._interfaces.get(ifname)
        if (
            iface is None
            or claim.state is not ClaimState.ANNOUNCED
            or ifname not in claim.interfaces
            or sha[0] & 1
            or sha in self._own_macs
            or frame[6:12] in self._own_macs
        ):
            return False
        mac = iface.mac
        reply = sha + mac + _ARP_REPLY_HEAD + mac + target_ip + sha + sender_ip + _PAD
        self._out.append((ifname, reply))
        self.answered["arp"] += 1
        return True

    def silence(self) -> None:
        """Stop every pending announcement (keep answering requests): a leaving owner's
        late gratuitous ARP would pull clients back from the successor that just took over."""
        self._leaving = True
        for claim in self._claims.values():
            claim.announce_at = []

    def has_events(self) -> bool:
        return bool(self._events)

    def _on_arp(self, ifname: str, pkt: arp.ArpPacket, now: float) -> None:
        if pkt.sender_mac in self._own_macs or pkt.eth_src in self._own_macs:
            self.ignored["own"] += 1
            return
        claimed = self._claims.get(pkt.sender_ip)
        if claimed is not None:  # someone else says it holds our address
            self._heard_claim(claimed, ifname, pkt.sender_mac, now)
        if pkt.op != arp.OP_REQUEST or pkt.sender_ip == pkt.target_ip:
            return  # replies and gratuitous announcements are heard, never answered
        claim = self._answerable(pkt.target_ip, ifname)
        if claim is None:
            return
        mac = self._interfaces[ifname].mac
        self._out.append((ifname, arp.build_reply(mac, pkt.target_ip, pkt)))  # type: ignore[arg-type]
        self.answered["arp"] += 1

    def _on_ndp(self, ifname: str, pkt: ndp.NdpPacket, now: float) -> None:
        if pkt.eth_src in self._own_macs or pkt.lladdr in self._own_macs:
            self.ignored["own"] += 1
            return
        if pkt.type == ndp.NA:
            claimed = self._claims.get(pkt.target)
            if claimed is not None:
                self._heard_claim(claimed, ifname, pkt.lladdr or pkt.eth_src, now)
            return
        claim = self._answerable(pkt.target, ifname)
        if claim is None:
            return
        iface = self._interfaces[ifname]
        src = iface.link_local or pkt.target
        self._out.append((ifname, ndp.build_reply(iface.mac, src, pkt)))
        self.answered["ndp"] += 1

    def _answerable(self, ip: IPAddress, ifname: str) -> _Claim | None:
        claim = self._claims.get(ip)
        if claim is None:
            self.ignored["not_owned"] += 1
            return None
        if claim.state is not ClaimState.ANNOUNCED:
            self.ignored[f"not_{claim.state.value}"] += 1
            return None
        if ifname not in claim.interfaces or ifname not in self._interfaces:
            self.ignored["interface"] += 1
            return None
        return claim

    def _heard_claim(self, claim: _Claim, ifname: str, mac: bytes, now: float) -> None:
        if claim.state is ClaimState.PROBING and claim.probe is not None:
            claim.probe.heard_claim(mac)
            self._conflict(claim, ifname, mac, now)
        elif claim.state is ClaimState.ANNOUNCED and self._leaving:
            # The successor announced it: stop answering, or two replies race at every asker.
            self.release(str(claim.ip))
            self.ignored["handed_over"] += 1
        elif claim.state is ClaimState.ANNOUNCED:
            self.ignored["claimed_by_other"] += 1  # RFC 5227 defence: keep announcing

    # --- timers and frames out ----------------------------------------------------------

    def get_timer(self) -> float | None:
        deadlines: list[float] = []
        for c in self._claims.values():
            if c.probe is not None and (t := c.probe.get_timer()) is not None:
                deadlines.append(t)
            if c.announce_at:
                deadlines.append(c.announce_at[0])
            if c.retry_at is not None:
                deadlines.append(c.retry_at)
        return min(deadlines, default=None)

    def handle_timer(self, now: float) -> None:
        for claim in list(self._claims.values()):
            if claim.state is ClaimState.CONFLICT:
                if claim.retry_at is not None and now >= claim.retry_at:
                    self._start(claim, now)
            else:
                self._tick(claim, now)

    def _tick(self, claim: _Claim, now: float) -> None:
        if claim.state is ClaimState.PROBING and claim.probe is not None:
            for _ in range(claim.probe.due(now)):
                self._send_probes(claim)
            claim.probe.handle_timer(now)
            if claim.probe.state is ProbeState.CLEAR:
                self._announce(claim, now)
        if claim.announce_at and claim.announce_at[0] <= now:
            while claim.announce_at and claim.announce_at[0] <= now:
                claim.announce_at.pop(0)
            self._send_announcements(claim)

    def frames_to_send(self) -> list[tuple[str, bytes]]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> Announced | Conflict | None:
        return self._events.popleft() if self._events else None

    # --- internals ----------------------------------------------------------------------

    def _start(self, claim: _Claim, now: float) -> None:
        claim.retry_at = None
        if claim.probe_settings is None:
            self._announce(claim, now)
        else:
            claim.state = ClaimState.PROBING
            claim.probe = Probe(now, claim.probe_settings)
        self._tick(claim, now)

    def _announce(self, claim: _Claim, now: float) -> None:
        claim.state = ClaimState.ANNOUNCED
        claim.probe = None
        claim.announce_at = [now + d for d in self._schedule]
        self._events.append(Announced(str(claim.ip)))

    def _conflict(self, claim: _Claim, ifname: str, mac: bytes, now: float) -> None:
        claim.state = ClaimState.CONFLICT
        claim.probe = None
        claim.retry_at = now + self.conflict_retry  # the other holder may go away
        self._events.append(Conflict(str(claim.ip), ifname, mac_text(mac)))

    def _ifaces(self, claim: _Claim) -> list[Interface]:
        return [self._interfaces[n] for n in sorted(claim.interfaces) if n in self._interfaces]

    def _send_probes(self, claim: _Claim) -> None:
        for iface in self._ifaces(claim):
            if isinstance(claim.ip, IPv4Address):
                frame = arp.build_probe(iface.mac, claim.ip)
            else:
                frame = ndp.build_dad_probe(iface.mac, claim.ip)
            self._out.append((iface.name, frame))
            self.probes_sent += 1

    def _send_announcements(self, claim: _Claim) -> None:
        for iface in self._ifaces(claim):
            if isinstance(claim.ip, IPv4Address):
                frame = arp.build_announcement(iface.mac, claim.ip)
            else:
                frame = ndp.build_unsolicited(iface.mac, iface.link_local or claim.ip, claim.ip)
            self._out.append((iface.name, frame))
            self.announcements += 1
