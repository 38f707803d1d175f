"""The address allocator: which Service holds which address, from which pool.

Pure and synchronous. A pool is a set of integer intervals per family; the
addresses in use are another interval set, so a /8 or /64 pool costs memory for
what is assigned, and the next free address is a bisect away. Sharing follows
MetalLB: Services may hold the same address when they carry the same
`allow-shared-ip` key, do not use the same port/protocol, and have the same
backend key (same externalTrafficPolicy; for Local also the same selector).

The allocator never decides *which* pool a Service should use (that is
`controller.assign`); it answers "is this address free or shareable for this
Service", "what is the next usable address of this pool", and records the result.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from ironlb.ipranges import IntervalSet

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressRange = tuple[int, int, int]
"""`(first, last, family)` with inclusive integer bounds, as `ironlb.config.addresses`."""

FAMILIES = (4, 6)


class Reason(enum.Enum):
    """Why an address could not be given; the value is the Event reason."""

    NO_POOLS = "NoPools"
    POOL_MISSING = "RequestedPoolMissing"
    POOL_NOT_ALLOWED = "PoolNotAllowed"
    POOL_EXHAUSTED = "PoolExhausted"
    NO_SUITABLE_POOL = "NoSuitablePool"
    IP_INVALID = "RequestedIPInvalid"
    IP_NOT_IN_POOL = "RequestedIPNotInPool"
    IP_TAKEN = "RequestedIPTaken"
    IP_WRONG_FAMILY = "RequestedIPWrongFamily"
    PORT_CLASH = "SharedIPPortClash"
    POOL_DELETED = "PoolDeleted"
    POOL_SHRUNK = "AddressLeftPool"


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Reason
    message: str


class Port(NamedTuple):
    # NamedTuples, not dataclasses: built for every Service on every decision.
    protocol: str
    port: int


class ShareKey(NamedTuple):
    """`sharing` is the allow-shared-ip value ("" = exclusive); `backend` must match too."""

    sharing: str = ""
    backend: str = ""


EXCLUSIVE = ShareKey()


@dataclass(frozen=True, slots=True)
class PoolDef:
    """What the allocator needs of an IPAddressPool."""

    name: str
    ranges: tuple[AddressRange, ...]
    avoid_buggy_ips: bool = False


@dataclass(frozen=True, slots=True)
class Allocation:
    pool: str
    ips: tuple[IPAddress, ...]
    ports: frozenset[Port] = frozenset()
    key: ShareKey = EXCLUSIVE


@dataclass(frozen=True, slots=True)
class Eviction:
    """An assignment taken back because its pool changed under it."""

    service: str
    allocation: Allocation
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class PoolCounters:
    assigned_ipv4: int
    assigned_ipv6: int
    available_ipv4: int
    available_ipv6: int


def is_buggy(value: int, family: int) -> bool:
    """IPv4 addresses ending in .0 or .255 confuse some CPE firmwares (MetalLB's rule)."""
    return family == 4 and (value & 0xFF) in (0, 0xFF)


def _count_congruent(lo: int, hi: int, residue: int, modulus: int) -> int:
    return (hi - residue) // modulus - (lo - 1 - residue) // modulus


def buggy_count(lo: int, hi: int) -> int:
    return _count_congruent(lo, hi, 0, 256) + _count_congruent(lo, hi, 255, 256)


def to_ip(value: int, family: int) -> IPAddress:
    return ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value)


class _PoolState:
    """One pool: its ranges, the occupied addresses, and counts per family."""

    __slots__ = ("defn", "in_use", "occupied", "ranges", "size")

    def __init__(self, defn: PoolDef) -> None:
        self.defn = defn
        self.ranges = {f: IntervalSet() for f in FAMILIES}
        for first, last, family in defn.ranges:
            self.ranges[family].add(first, last)
        # Addresses in use, plus .0/.255 addresses met while searching (never usable),
        # so a search does not walk over them again.
        self.occupied = {f: IntervalSet() for f in FAMILIES}
        self.in_use = dict.fromkeys(FAMILIES, 0)
        self.size = {f: self._usable(f) for f in FAMILIES}

    def _usable(self, family: int) -> int:
        total = self.ranges[family].count
        if family == 4 and self.defn.avoid_buggy_ips:
            total -= sum(buggy_count(lo, hi) for lo, hi in self.ranges[4])
        return total

    def holds(self, ip: IPAddress) -> bool:
        value = int(ip)
        if self.defn.avoid_buggy_ips and is_buggy(value, ip.version):
            return False
        return value in self.ranges[ip.version]

    def first_unoccupied(self, family: int) -> IPAddress | None:
        occupied = self.occupied[family]
        avoid = self.defn.avoid_buggy_ips and family == 4
        for lo, hi in self.ranges[family]:
            x: int | None = lo
            while x is not None and x <= hi:
                x = occupied.first_free_in(x, hi)
                if x is None:
                    break
                if avoid and is_buggy(x, family):
                    occupied.add(x)
                    continue
                return to_ip(x, family)
        return None


@dataclass(slots=True)
class _IPUse:
    pool: str
    key: ShareKey
    users: set[str] = field(default_factory=set)
    ports: dict[Port, str] = field(default_factory=dict)


class Allocator:
    """Pools and the current assignments; every method is synchronous and pure."""

    def __init__(self) -> None:
        self._pools: dict[str, _PoolState] = {}
        self._assigned: dict[str, Allocation] = {}
        self._ips: dict[IPAddress, _IPUse] = {}
        self._shared: dict[tuple[str, str], set[IPAddress]] = {}

    # -- pools ------------------------------------------------------------------

    def set_pools(self, pools: Iterable[PoolDef]) -> list[Eviction]:
        """Replace the pools; assignments that no longer fit a pool are taken back."""
        new = {p.name: p for p in pools}
        if {n: s.defn for n, s in self._pools.items()} == new:
            return []
        self._pools = {name: _PoolState(defn) for name, defn in new.items()}
        previous = self._assigned
        self._assigned, self._ips, self._shared = {}, {}, {}
        evicted: list[Eviction] = []
        for svc, alloc in previous.items():
            pool = self.pool_for(alloc.ips)
            if pool is None:
                evicted.append(Eviction(svc, alloc, self._eviction_reason(alloc)))
                continue
            self._record(svc, Allocation(pool, alloc.ips, alloc.ports, alloc.key))
        return evicted

    def _eviction_reason(self, alloc: Allocation) -> Refusal:
        ips = ", ".join(map(str, alloc.ips))
        if alloc.pool not in self._pools:
            return Refusal(Reason.POOL_DELETED, f"IPAddressPool {alloc.pool} was deleted; {ips}")
        return Refusal(Reason.POOL_SHRUNK, f"{ips} no longer in IPAddressPool {alloc.pool}")

    @property
    def pools(self) -> Mapping[str, PoolDef]:
        return {name: state.defn for name, state in self._pools.items()}

    def pool_for(self, ips: Iterable[IPAddress]) -> str | None:
        """The pool holding all of `ips`, or None."""
        ips = tuple(ips)
        for name, state in self._pools.items():
            if all(state.holds(ip) for ip in ips):
                return name
        return None

    def pool_families(self, pool: str) -> set[int]:
        state = self._pools.get(pool)
        return {f for f in FAMILIES if state and state.size[f] > 0}

    def counters(self, pool: str) -> PoolCounters:
        state = self._pools[pool]
        return PoolCounters(
            assigned_ipv4=state.in_use[4],
            assigned_ipv6=state.in_use[6],
            available_ipv4=state.size[4] - state.in_use[4],
            available_ipv6=state.size[6] - state.in_use[6],
        )

    # -- queries ----------------------------------------------------------------

    def allocation(self, svc: str) -> Allocation | None:
        return self._assigned.get(svc)

    def assignments(self) -> dict[str, Allocation]:
        return dict(self._assigned)

    def services_on(self, ip: IPAddress) -> frozenset[str]:
        use = self._ips.get(ip)
        return frozenset(use.users) if use else frozenset()

    def services_in_pool(self, pool: str) -> list[str]:
        return [svc for svc, a in self._assigned.items() if a.pool == pool]

    def check(
        self, svc: str, ip: IPAddress, ports: frozenset[Port], key: ShareKey
    ) -> Refusal | None:
        """None if `svc` may hold `ip` next to its current users."""
        use = self._ips.get(ip)
        if use is None:
            return None
        others = use.users - {svc}
        if not others:
            return None
        holder = min(others)
        if not key.sharing or not use.key.sharing:
            return Refusal(Reason.IP_TAKEN, f"{ip} is in use by {holder} (sharing not allowed)")
        if key.sharing != use.key.sharing:
            return Refusal(
                Reason.IP_TAKEN, f"{ip} is in use by {holder} with another allow-shared-ip key"
            )
        if key.backend != use.key.backend:
            return Refusal(
                Reason.IP_TAKEN,
                f"{ip} is shared by {holder} with a different externalTrafficPolicy or selector",
            )
        for port in sorted(ports):
            owner = use.ports.get(port)
            if owner is not None and owner != svc:
                return Refusal(
                    Reason.PORT_CLASH,
                    f"{ip} port {port.port}/{port.protocol} is already used by {owner}",
                )
        return None

    def next_free(
        self, pool: str, family: int, svc: str, ports: frozenset[Port], key: ShareKey
    ) -> IPAddress | None:
        """The address `svc` would get from `pool` in `family`: shareable first, else free."""
        state = self._pools.get(pool)
        if state is None:
            return None
        if key.sharing:
            shared = self._shared.get((pool, key.sharing), ())
            for ip in sorted(ip for ip in shared if ip.version == family):
                if self.check(svc, ip, ports, key) is None:
                    return ip
        return state.first_unoccupied(family)

    # -- changes ----------------------------------------------------------------

    def assign(
        self,
        svc: str,
        ips: Iterable[IPAddress],
        ports: frozenset[Port] = frozenset(),
        key: ShareKey = EXCLUSIVE,
    ) -> Allocation | Refusal:
        """Give `svc` exactly `ips` (replacing what it held) if the pools and sharing allow."""
        ips = tuple(ips)
        if not ips or len(ips) > 2 or len({ip.version for ip in ips}) != len(ips):
            shown = ", ".join(map(str, ips)) or "none"
            return Refusal(Reason.IP_WRONG_FAMILY, f"need one address per family, got {shown}")
        pool = self.pool_for(ips)
        if pool is None:
            shown = ", ".join(map(str, ips))
            return Refusal(Reason.IP_NOT_IN_POOL, f"{shown} is not inside any IPAddressPool")
        for ip in ips:
            refusal = self.check(svc, ip, ports, key)
            if refusal is not None:
                return refusal
        self.release(svc)
        alloc = Allocation(pool, ips, frozenset(ports), key)
        self._record(svc, alloc)
        return alloc

    def release(self, svc: str) -> Allocation | None:
        alloc = self._assigned.pop(svc, None)
        if alloc is None:
            return None
        for ip in alloc.ips:
            use = self._ips[ip]
            use.users.discard(svc)
            for port in alloc.ports:
                if use.ports.get(port) == svc:
                    del use.ports[port]
            if not use.users:
                self._forget_ip(ip, use)
        return alloc

    def _record(self, svc: str, alloc: Allocation) -> None:
        self._assigned[svc] = alloc
        for ip in alloc.ips:
            use = self._ips.get(ip)
            if use is None:
                use = self._ips[ip] = _IPUse(alloc.pool, alloc.key)
                state = self._pools[alloc.pool]
                state.occupied[ip.version].add(int(ip))
                state.in_use[ip.version] += 1
                if alloc.key.sharing:
                    self._shared.setdefault((alloc.pool, alloc.key.sharing), set()).add(ip)
            use.users.add(svc)
            for port in alloc.ports:
                use.ports[port] = svc

    def _forget_ip(self, ip: IPAddress, use: _IPUse) -> None:
        del self._ips[ip]
        state = self._pools.get(use.pool)
        if state is not None:
            state.occupied[ip.version].remove(int(ip))
            state.in_use[ip.version] -= 1
        if use.key.sharing:
            shared = self._shared.get((use.pool, use.key.sharing))
            if shared is not None:
                shared.discard(ip)
                if not shared:
                    del self._shared[(use.pool, use.key.sharing)]
