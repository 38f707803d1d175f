"""ironlb_controller_* metrics (names are the contract in docs/operations.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from controller.allocator import PoolCounters

_FAMILY = {4: "ipv4", 6: "ipv6"}


class ControllerMetrics:
    """One registry per controller, so two controllers in one process do not collide."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.in_use = Gauge(
            "ironlb_controller_addresses_in_use",
            "Addresses assigned to Services, per pool and family.",
            ["pool", "family"],
            registry=r,
        )
        self.available = Gauge(
            "ironlb_controller_addresses_available",
            "Addresses still free, per pool and family.",
            ["pool", "family"],
            registry=r,
        )
        self.pending = Gauge(
            "ironlb_controller_services_pending",
            "LoadBalancer Services of our class without an address.",
            registry=r,
        )
        self.errors = Counter(
            "ironlb_controller_allocation_errors_total",
            "Allocation decisions that left a Service without its (wanted) address.",
            ["reason"],
            registry=r,
        )
        self.reconcile = Histogram(
            "ironlb_controller_reconcile_seconds",
            "Time to reconcile one Service.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.is_leader = Gauge(
            "ironlb_controller_leader", "1 while this replica is the leader.", registry=r
        )
        self._pools: set[str] = set()

    def set_pool(self, pool: str, counters: PoolCounters) -> None:
        self._pools.add(pool)
        self.in_use.labels(pool, "ipv4").set(counters.assigned_ipv4)
        self.in_use.labels(pool, "ipv6").set(counters.assigned_ipv6)
        # A /64 has more free addresses than a float shows exactly; that is fine for alerts.
        self.available.labels(pool, "ipv4").set(counters.available_ipv4)
        self.available.labels(pool, "ipv6").set(counters.available_ipv6)

    def drop_pool(self, pool: str) -> None:
        if pool not in self._pools:
            return
        self._pools.discard(pool)
        for family in _FAMILY.values():
            self.in_use.remove(pool, family)
            self.available.remove(pool, family)
