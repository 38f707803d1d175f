"""Desired L2 ownership vs what the responder holds → claims and releases, each with a reason.

Level-triggered: `apply()` is given the whole desired state every time and only acts on
the difference. The reason for taking an address decides how careful to be:

* `owner-left`   the previous owner said goodbye (SIGTERM, drain): announce at once;
* `owner-failed` the previous owner fell silent: fence first (a short probe that the old
  owner no longer answers on the wire), so a speaker cut off from its peers but still on
  the LAN never leaves two nodes answering;
* `rebalance`    the previous owner is alive but the election moved the address: fence;
* `elected`      a new address (or this speaker just started): full duplicate probe.

Pure: no I/O; time is `now`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from speaker.desired import DesiredL2, L2Announcement
from speaker.l2.probe import DUPLICATE, FENCE, ProbeSettings
from speaker.l2.responder import ClaimState, Responder
from speaker.membership.protocol import DownReason


class Reason(enum.StrEnum):
    ELECTED = "elected"
    OWNER_LEFT = "owner-left"
    OWNER_FAILED = "owner-failed"
    REBALANCE = "rebalance"
    OWNER_CHANGED = "owner-changed"
    NOT_ELIGIBLE = "not-eligible"
    WITHDRAWN = "withdrawn"  # no longer an L2 address (Service or pool gone)
    DRAINING = "draining"


_PROBE: dict[Reason, ProbeSettings | None] = {
    Reason.ELECTED: DUPLICATE,
    Reason.OWNER_LEFT: None,
    Reason.OWNER_FAILED: FENCE,
    Reason.REBALANCE: FENCE,
}


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    ip: str
    acquired: bool
    reason: Reason
    previous: str | None  # the owner before (acquire) / the new owner (release)
    services: tuple[str, ...]


class L2Reconciler:
    def __init__(
        self,
        node: str,
        responder: Responder,
        all_interfaces: Callable[[], Iterable[str]],
    ) -> None:
        self.node = node
        self._responder = responder
        self._all_interfaces = all_interfaces
        self._last_owner: dict[str, str | None] = {}
        self._owned: dict[str, L2Announcement] = {}
        self._reasons: dict[str, Reason] = {}
        self.draining = False

    def owned(self) -> dict[str, L2Announcement]:
        return dict(self._owned)

    def fenced(self, ip: str) -> bool:
        """Was `ip` taken over from another speaker (so a conflict means "it still answers")?"""
        return self._reasons.get(ip) in (Reason.OWNER_FAILED, Reason.REBALANCE)

    def apply(
        self, desired: DesiredL2, now: float, down: Mapping[str, DownReason]
    ) -> list[OwnershipChange]:
        """`down`: the latest MemberDown reason of each peer that is currently down."""
        changes: list[OwnershipChange] = []
        mine = {} if self.draining else desired.owned_by(self.node)
        for ip in sorted(self._owned.keys() - mine.keys()):
            ann = desired.announcements.get(ip)
            if self.draining:
                reason = Reason.DRAINING
            elif ann is None:
                reason = Reason.WITHDRAWN
            elif self.node in ann.ranked:
                reason = Reason.OWNER_CHANGED
            else:
                reason = Reason.NOT_ELIGIBLE
            self._responder.release(ip)
            self._reasons.pop(ip, None)
            old = self._owned.pop(ip)
            changes.append(
                OwnershipChange(ip, False, reason, ann.owner if ann else None, old.services)
            )
        for ip, ann in sorted(mine.items()):
            ifaces = self._interfaces(ann)
            if ip in self._owned:
                self._responder.claim(ip, ifaces, now, probe=None)  # interface changes only
                self._owned[ip] = ann
                continue
            previous = self._last_owner.get(ip)
            reason = self._acquire_reason(previous, down)
            self._responder.claim(ip, ifaces, now, probe=_PROBE[reason])
            self._owned[ip] = ann
            self._reasons[ip] = reason
            changes.append(OwnershipChange(ip, True, reason, previous, ann.services))
        self._last_owner = {ip: a.owner for ip, a in desired.announcements.items()}
        return changes

    def _acquire_reason(self, previous: str | None, down: Mapping[str, DownReason]) -> Reason:
        if previous is None or previous == self.node:
            return Reason.ELECTED
        why = down.get(previous)
        if why is DownReason.LEAVE:
            return Reason.OWNER_LEFT
        if why is not None:
            return Reason.OWNER_FAILED
        return Reason.REBALANCE

    def _interfaces(self, ann: L2Announcement) -> frozenset[str]:
        chosen = ann.interfaces.get(self.node)
        available = frozenset(self._all_interfaces())
        return available if chosen is None else chosen & available

    def announced_services(self) -> dict[tuple[str, str], set[str]]:
        """(namespace, name) → interfaces, for addresses actually being answered."""
        out: dict[tuple[str, str], set[str]] = {}
        for ip, ann in self._owned.items():
            if self._responder.state(ip) is not ClaimState.ANNOUNCED:
                continue
            for svc in ann.services:
                ns, _, name = svc.partition("/")
                out.setdefault((ns, name), set()).update(self._interfaces(ann))
        return out
