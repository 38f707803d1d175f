"""Sans-IO duplicate probe, also used as the failover fence.

Before a speaker first answers for an address it sends `count` probes `spacing` apart
(ARP probes from 0.0.0.0, RFC 5227 §2.1.1; DAD-style NS from :: for IPv6) and listens
until `wait` after the last one. Anyone else claiming the address meanwhile (an ARP packet
with that sender IP, an NA for that target) is a conflict: the address is not announced.

RFC 5227's own timings (3 probes 1 to 2 s apart, then 2 s) would blow a 500 ms failover
budget, so ironlb keeps the shape and shortens the clock: a LAN answer takes micro- to
milliseconds, and 3 probes guard against one lost frame. The same probe fences failover:
a successor whose predecessor merely fell silent on the membership network checks that the
predecessor no longer answers on the wire before taking the address over.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    count: int
    spacing: float
    wait: float

    @property
    def duration(self) -> float:
        return (self.count - 1) * self.spacing + self.wait


# A new address: nobody is in a hurry, be thorough (~240 ms).
DUPLICATE = ProbeSettings(count=3, spacing=0.02, wait=0.2)
# Taking over from a silent owner: inside the failover budget (~60 ms).
FENCE = ProbeSettings(count=2, spacing=0.01, wait=0.05)


class ProbeState(enum.Enum):
    PROBING = "probing"
    CLEAR = "clear"
    CONFLICT = "conflict"


class Probe:
    def __init__(self, now: float, settings: ProbeSettings) -> None:
        self.settings = settings
        self.state = ProbeState.PROBING
        self.conflict_mac: bytes | None = None
        self._sends = [now + i * settings.spacing for i in range(settings.count)]
        self._deadline = self._sends[-1] + settings.wait

    def due(self, now: float) -> int:
        """How many probes to send now (the shell builds one frame per interface each)."""
        if self.state is not ProbeState.PROBING:
            return 0
        n = sum(1 for t in self._sends if t <= now)
        self._sends = self._sends[n:]
        return n

    def heard_claim(self, mac: bytes) -> None:
        """Another host claimed the address (answered, or announced it) while we probed."""
        if self.state is ProbeState.PROBING:
            self.state = ProbeState.CONFLICT
            self.conflict_mac = mac

    def get_timer(self) -> float | None:
        if self.state is not ProbeState.PROBING:
            return None
        return self._sends[0] if self._sends else self._deadline

    def handle_timer(self, now: float) -> None:
        if self.state is ProbeState.PROBING and not self._sends and now >= self._deadline:
            self.state = ProbeState.CLEAR
