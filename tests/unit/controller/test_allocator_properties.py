"""Property tests: random pool and Service changes keep the allocation sound.

A tiny in-memory "cluster" plays the shell: each decision is written back into the
Service's status (and the ip-allocated-from-pool annotation), and every Service is
re-decided until nothing changes, as the level-triggered shell converges.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.allocator import Allocator
from controller.assign import ALLOCATED_FROM_POOL, Assigner, ServiceView, status_ips
from ironlb.config.model import IPAddressPool
from tests.unit.controller.helpers import pool, svc

NS = {"default": {}, "team": {"tier": "gold"}}
NAMES = [f"s{i}" for i in range(6)]

POOL_VARIANTS: dict[str, list[IPAddressPool | None]] = {
    "p1": [
        pool("p1", "203.0.113.0-203.0.113.3"),
        pool("p1", "203.0.113.0-203.0.113.1"),
        pool("p1", "203.0.112.254-203.0.113.1", avoidBuggyIPs=True),
        None,
    ],
    "p2": [
        pool("p2", "198.51.100.0/30", "2001:db8::/126"),
        pool("p2", "198.51.100.0/31", "2001:db8::/127", autoAssign=False),
        None,
    ],
    "p3": [
        pool(
            "p3",
            "2001:db8:1::/127",
            "198.51.100.8/31",
            serviceAllocation={"priority": 1, "namespaces": ["team"]},
        ),
        None,
    ],
}
UNIVERSE = [
    "203.0.113.1",
    "203.0.113.2",
    "198.51.100.1",
    "2001:db8::1",
    "203.0.113.255",
    "10.9.9.9",
]

service_spec = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES),
        "namespace": st.sampled_from(["default", "team"]),
        "share": st.sampled_from([None, "a", "b"]),
        "ports": st.sets(st.sampled_from([("TCP", 80), ("TCP", 443), ("UDP", 53)]), max_size=2),
        "local": st.booleans(),
        "families": st.sampled_from(
            [
                (["IPv4"], "SingleStack"),
                (["IPv6"], "SingleStack"),
                (["IPv4", "IPv6"], "PreferDualStack"),
                (["IPv6", "IPv4"], "RequireDualStack"),
            ]
        ),
        "request_ip": st.sampled_from([None, None, None, *UNIVERSE]),
        "request_pool": st.sampled_from([None, None, "p1", "p2", "p3", "gone"]),
        "lb": st.sampled_from([True, True, True, False]),
    }
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("svc"), service_spec),
        st.tuples(st.just("delete"), st.sampled_from(NAMES)),
        st.tuples(
            st.just("pools"),
            st.fixed_dictionaries(
                {k: st.integers(0, len(v) - 1) for k, v in POOL_VARIANTS.items()}
            ),
        ),
    ),
    min_size=1,
    max_size=25,
)


def build_service(spec: dict[str, Any], status: list[str], from_pool: str | None) -> dict[str, Any]:
    annotations = {}
    if spec["share"]:
        annotations["metallb.io/allow-shared-ip"] = spec["share"]
    if spec["request_ip"]:
        annotations["metallb.io/loadBalancerIPs"] = spec["request_ip"]
    if spec["request_pool"]:
        annotations["metallb.universe.tf/address-pool"] = spec["request_pool"]
    if from_pool:
        annotations[ALLOCATED_FROM_POOL] = from_pool
    families, policy = spec["families"]
    return svc(
        spec["name"],
        spec["namespace"],
        annotations=annotations,
        ports=sorted(spec["ports"]),
        status=status,
        type="LoadBalancer" if spec["lb"] else "ClusterIP",
        externalTrafficPolicy="Local" if spec["local"] else "Cluster",
        ipFamilies=families,
        ipFamilyPolicy=policy,
    )


class Cluster:
    def __init__(self) -> None:
        self.specs: dict[str, dict[str, Any]] = {}
        self.status: dict[str, list[str]] = {}
        self.from_pool: dict[str, str | None] = {}
        self.pools: dict[str, IPAddressPool] = {}
        self.assigner = Assigner(Allocator())

    def obj(self, name: str) -> dict[str, Any]:
        return build_service(self.specs[name], self.status.get(name, []), self.from_pool.get(name))

    def key(self, name: str) -> str:
        return f"{self.specs[name]['namespace']}/{name}"

    def reconcile(self, name: str) -> bool:
        d = self.assigner.decide(self.obj(name), NS)
        new = [str(i) for i in d.ips]
        changed = new != self.status.get(name, [])
        self.status[name] = new
        self.from_pool[name] = d.allocation.pool if d.allocation else None
        return changed

    def converge(self) -> None:
        for _ in range(6):
            if not any([self.reconcile(n) for n in sorted(self.specs)]):
                return
        raise AssertionError("did not converge in 6 passes")

    def apply(self, op: tuple[str, Any]) -> None:
        kind, arg = op
        if kind == "svc":
            old = self.specs.get(arg["name"])
            if old is not None and old["namespace"] != arg["namespace"]:
                self.assigner.allocator.release(self.key(arg["name"]))
                self.status.pop(arg["name"], None)
            self.specs[arg["name"]] = arg
        elif kind == "delete":
            if arg in self.specs:
                self.assigner.allocator.release(self.key(arg))
                del self.specs[arg]
                self.status.pop(arg, None)
        else:
            chosen = {n: POOL_VARIANTS[n][i] for n, i in arg.items()}
            self.pools = {n: p for n, p in chosen.items() if p is not None}
            self.assigner.set_pools(self.pools)
        self.converge()


def check_sound(c: Cluster) -> None:
    holders: dict[str, list[str]] = {}
    for name in c.specs:
        for ip in c.status.get(name, []):
            holders.setdefault(ip, []).append(name)
            addr = ipaddress.ip_address(ip)
            inside = [
                p
                for p in c.pools.values()
                if any(lo <= int(addr) <= hi and f == addr.version for lo, hi, f in p.ranges)
                and not (p.avoid_buggy_ips and addr.version == 4 and int(addr) % 256 in (0, 255))
            ]
            assert inside, f"{name} holds {ip} outside every pool"
    for ip, names in holders.items():
        views = [ServiceView.from_dict(c.obj(n)) for n in names]
        if len(views) < 2:
            continue
        keys = {v.share for v in views}
        assert len(keys) == 1 and next(iter(keys)).sharing, f"{ip} shared without a common key"
        ports = [p for v in views for p in v.ports]
        assert len(ports) == len(set(ports)), f"{ip} shared with a port clash: {names}"
    recorded = {k: [str(i) for i in a.ips] for k, a in c.assigner.allocator.assignments().items()}
    shown = {c.key(n): c.status[n] for n in c.specs if c.status.get(n)}
    assert recorded == shown


@settings(max_examples=200, deadline=None)
@given(ops)
def test_random_changes_stay_sound_and_survive_rebuild(steps: list[tuple[str, Any]]) -> None:
    c = Cluster()
    for op in steps:
        c.apply(op)
        check_sound(c)
    # A new controller rebuilt from the statuses alone decides exactly the same.
    before = dict(c.status)
    rebuilt = Cluster()
    rebuilt.specs, rebuilt.status = dict(c.specs), dict(c.status)
    rebuilt.from_pool = dict(c.from_pool)
    rebuilt.pools = dict(c.pools)
    rebuilt.assigner.set_pools(rebuilt.pools)
    for name in reversed(sorted(rebuilt.specs)):
        rebuilt.assigner.restore(rebuilt.obj(name))
    for name in sorted(rebuilt.specs):
        assert status_ips(rebuilt.obj(name)) == tuple(
            ipaddress.ip_address(i) for i in before.get(name, [])
        )
        rebuilt.reconcile(name)
    assert rebuilt.status == before
    assert rebuilt.assigner.allocator.assignments() == c.assigner.allocator.assignments()
