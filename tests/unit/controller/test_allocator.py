"""The allocator alone: pools as interval sets, sharing rules, pool changes, counters."""

from __future__ import annotations

import ipaddress

from controller.allocator import (
    Allocation,
    Allocator,
    PoolDef,
    Port,
    Reason,
    Refusal,
    ShareKey,
    buggy_count,
)
from ironlb.config.addresses import parse_range

ip = ipaddress.ip_address
TCP80 = frozenset({Port("TCP", 80)})
TCP443 = frozenset({Port("TCP", 443)})


def pooldef(name: str, *addresses: str, avoid: bool = False) -> PoolDef:
    return PoolDef(name, tuple(parse_range(a) for a in addresses), avoid)


def test_next_free_is_first_address_then_next() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "172.18.255.200-172.18.255.250")])
    first = a.next_free("p", 4, "ns/a", TCP80, ShareKey())
    assert first == ip("172.18.255.200")
    assert isinstance(a.assign("ns/a", [first], TCP80), Allocation)
    assert a.next_free("p", 4, "ns/b", TCP80, ShareKey()) == ip("172.18.255.201")


def test_huge_pools_cost_memory_per_assignment() -> None:
    a = Allocator()
    a.set_pools([pooldef("v4", "10.0.0.0/8"), pooldef("v6", "2001:db8::/64")])
    for i in range(500):
        for pool, fam in (("v4", 4), ("v6", 6)):
            addr = a.next_free(pool, fam, f"ns/{pool}{i}", TCP80, ShareKey())
            assert addr is not None
            assert isinstance(a.assign(f"ns/{pool}{i}", [addr], TCP80), Allocation)
    state = a._pools["v6"]
    assert state.occupied[6].runs == 1  # 500 consecutive addresses: one run
    c = a.counters("v6")
    assert c.assigned_ipv6 == 500
    assert c.available_ipv6 == 2**64 - 500
    assert a.counters("v4").available_ipv4 == 2**24 - 500


def test_release_frees_for_reuse() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.10-203.0.113.11")])
    assert isinstance(a.assign("ns/a", [ip("203.0.113.10")]), Allocation)
    assert isinstance(a.assign("ns/b", [ip("203.0.113.11")]), Allocation)
    assert a.next_free("p", 4, "ns/c", frozenset(), ShareKey()) is None
    a.release("ns/a")
    assert a.next_free("p", 4, "ns/c", frozenset(), ShareKey()) == ip("203.0.113.10")


def test_avoid_buggy_ips_skips_dot0_and_dot255() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.254-203.0.114.1", avoid=True)])
    got = []
    for n in range(3):
        addr = a.next_free("p", 4, f"ns/{n}", frozenset(), ShareKey())
        if addr is None:
            break
        a.assign(f"ns/{n}", [addr])
        got.append(str(addr))
    assert got == ["203.0.113.254", "203.0.114.1"]
    refusal = a.assign("ns/x", [ip("203.0.114.0")])
    assert isinstance(refusal, Refusal) and refusal.reason is Reason.IP_NOT_IN_POOL
    assert a.counters("p").available_ipv4 == 0


def test_buggy_count_matches_enumeration() -> None:
    for lo, hi in [(0, 0), (0, 255), (1, 254), (250, 770), (255, 256)]:
        assert buggy_count(lo, hi) == sum(1 for x in range(lo, hi + 1) if x % 256 in (0, 255))


def test_sharing_needs_same_key_and_no_port_clash() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.0/24")])
    shared = ip("203.0.113.5")
    k = ShareKey("k", "Cluster")
    assert isinstance(a.assign("ns/a", [shared], TCP80, k), Allocation)
    assert isinstance(a.assign("ns/b", [shared], TCP443, k), Allocation)
    assert a.services_on(shared) == {"ns/a", "ns/b"}
    clash = a.assign("ns/c", [shared], TCP80, k)
    assert isinstance(clash, Refusal) and clash.reason is Reason.PORT_CLASH
    other_key = a.assign("ns/d", [shared], frozenset({Port("UDP", 53)}), ShareKey("x", "Cluster"))
    assert isinstance(other_key, Refusal) and other_key.reason is Reason.IP_TAKEN
    no_key = a.assign("ns/e", [shared], frozenset({Port("UDP", 53)}))
    assert isinstance(no_key, Refusal) and no_key.reason is Reason.IP_TAKEN
    local = a.assign("ns/f", [shared], frozenset({Port("UDP", 53)}), ShareKey("k", "Local:app=f"))
    assert isinstance(local, Refusal) and "externalTrafficPolicy" in local.message
    # Same protocol+port with a different protocol is fine.
    assert isinstance(a.assign("ns/g", [shared], frozenset({Port("UDP", 80)}), k), Allocation)


def test_next_free_prefers_a_shareable_address() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.0/24")])
    a.assign("ns/x", [ip("203.0.113.1")])
    a.assign("ns/a", [ip("203.0.113.9")], TCP80, ShareKey("k", "Cluster"))
    assert a.next_free("p", 4, "ns/b", TCP443, ShareKey("k", "Cluster")) == ip("203.0.113.9")
    assert a.next_free("p", 4, "ns/c", TCP80, ShareKey("k", "Cluster")) == ip("203.0.113.0")


def test_exclusive_address_not_shared() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.0/24")])
    a.assign("ns/a", [ip("203.0.113.7")], TCP80)
    refusal = a.assign("ns/b", [ip("203.0.113.7")], TCP443)
    assert isinstance(refusal, Refusal)
    assert "ns/a" in refusal.message


def test_dual_stack_needs_distinct_families() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.0/24", "2001:db8::/120")])
    both = a.assign("ns/a", [ip("203.0.113.1"), ip("2001:db8::1")])
    assert isinstance(both, Allocation) and both.pool == "p"
    same = a.assign("ns/b", [ip("203.0.113.2"), ip("203.0.113.3")])
    assert isinstance(same, Refusal) and same.reason is Reason.IP_WRONG_FAMILY


def test_pool_deleted_and_shrunk_evict_with_reasons() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.0/24"), pooldef("q", "198.51.100.0/24")])
    a.assign("ns/keep", [ip("203.0.113.1")])
    a.assign("ns/out", [ip("203.0.113.200")])
    a.assign("ns/gone", [ip("198.51.100.1")])
    evicted = a.set_pools([pooldef("p", "203.0.113.0/25")])
    reasons = {e.service: e.refusal.reason for e in evicted}
    assert reasons == {"ns/out": Reason.POOL_SHRUNK, "ns/gone": Reason.POOL_DELETED}
    assert set(a.assignments()) == {"ns/keep"}
    assert a.counters("p").assigned_ipv4 == 1


def test_address_moves_to_the_pool_that_now_holds_it() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.0/24")])
    a.assign("ns/a", [ip("203.0.113.1")])
    assert (
        a.set_pools([pooldef("q", "203.0.113.0/24")])
        == [
            # a deleted pool whose addresses live on in another pool: not evicted
        ]
    )
    alloc = a.allocation("ns/a")
    assert alloc is not None and alloc.pool == "q"


def test_reassign_same_service_is_idempotent() -> None:
    a = Allocator()
    a.set_pools([pooldef("p", "203.0.113.0/24")])
    a.assign("ns/a", [ip("203.0.113.1")], TCP80)
    a.assign("ns/a", [ip("203.0.113.1")], TCP443)
    assert a.counters("p").assigned_ipv4 == 1
    alloc = a.allocation("ns/a")
    assert alloc is not None and alloc.ports == TCP443
