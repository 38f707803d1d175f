"""Pure diagnostics and status builders."""

from __future__ import annotations

import ipaddress

from controller.allocator import Allocation, PoolCounters, Reason, Refusal
from controller.assign import Decision
from controller.diagnostics import FlapDetector, klipper_services, unannounced_pools
from controller.status import (
    annotation_patch,
    decision_events,
    pool_status,
    same_status,
    status_patch,
)
from ironlb.config import build_config
from tests.unit.controller.helpers import pool_dict, svc

ip = ipaddress.ip_address


def test_unannounced_pools() -> None:
    l2 = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "L2Advertisement",
        "metadata": {"name": "l2", "namespace": "metallb-system"},
        "spec": {"ipAddressPools": ["a"]},
    }
    result = build_config([pool_dict("a", "203.0.113.0/28"), pool_dict("b", "203.0.113.16/28"), l2])
    assert result.ok, result.errors
    assert unannounced_pools(result.config) == {"b"}


def test_klipper_services_from_daemonsets() -> None:
    ds = [
        {
            "metadata": {
                "name": "svclb-web-abc",
                "namespace": "kube-system",
                "labels": {
                    "svccontroller.k3s.cattle.io/svcname": "web",
                    "svccontroller.k3s.cattle.io/svcnamespace": "shop",
                },
            }
        },
        {"metadata": {"name": "coredns", "namespace": "kube-system", "labels": {}}},
        {"metadata": {"name": "svclb-unlabelled", "namespace": "kube-system"}},
    ]
    assert klipper_services(ds) == {"shop/web": "svclb-web-abc"}


def test_flap_detector_warns_once_per_window() -> None:
    f = FlapDetector(window=60, threshold=3)
    assert [f.observe("k", t) for t in (0, 10, 20)] == [False, False, True]
    assert f.observe("k", 30) is False  # already warned in this window
    assert f.observe("other", 30) is False
    assert f.observe("k", 200) is False  # old flaps aged out
    assert [f.observe("k", t) for t in (201, 202)] == [False, True]


def test_status_patch_only_when_different() -> None:
    alloc = Allocation("p", (ip("203.0.113.1"),))
    d = Decision("default/x", alloc, ())
    assert status_patch(svc("x"), d) == {
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}}
    }
    assert status_patch(svc("x", status=["203.0.113.1"]), d) is None
    assert annotation_patch(svc("x"), d) == {
        "metadata": {"annotations": {"metallb.io/ip-allocated-from-pool": "p"}}
    }
    cleared = Decision("default/x", None, (ip("203.0.113.1"),))
    assert status_patch(svc("x", status=["203.0.113.1"]), cleared) == {
        "status": {"loadBalancer": {"ingress": []}}
    }


def test_decision_events() -> None:
    a = Allocation("p", (ip("203.0.113.1"),))
    assert [e.reason for e in decision_events(Decision("k", a, ()))] == ["IPAllocated"]
    moved = Decision("k", a, (ip("203.0.113.9"),), released=Refusal(Reason.POOL_SHRUNK, "left"))
    assert [e.reason for e in decision_events(moved)] == ["AddressReleased", "IPChanged"]
    refused = Decision("k", None, (), refusal=Refusal(Reason.POOL_EXHAUSTED, "full"))
    assert [(e.type, e.reason) for e in decision_events(refused)] == [("Warning", "PoolExhausted")]
    assert decision_events(Decision("k", a, (ip("203.0.113.1"),))) == []


def test_pool_status_clamps_and_compares() -> None:
    s = pool_status(PoolCounters(1, 0, 2**64, 2**64), [])
    assert s["availableIPv4"] == 2**63 - 1
    assert same_status({k: v for k, v in s.items() if k != "conditions"}, s)
    assert not same_status({**s, "assignedIPv4": 2}, s)
