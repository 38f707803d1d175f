from __future__ import annotations

from ironlb.config import annotation
from ironlb.config.annotations import ADDRESS_POOL, LOADBALANCER_IPS, split_list


def svc(**annotations: str) -> dict:
    return {"metadata": {"name": "web", "annotations": annotations}}


def test_new_prefix_wins_over_legacy() -> None:
    s = svc(**{"metallb.io/address-pool": "new", "metallb.universe.tf/address-pool": "old"})
    assert annotation(s, ADDRESS_POOL) == "new"


def test_legacy_prefix_is_read() -> None:
    assert annotation(svc(**{"metallb.universe.tf/address-pool": "old"}), ADDRESS_POOL) == "old"


def test_missing_annotation() -> None:
    assert annotation(svc(), ADDRESS_POOL) is None
    assert annotation({"metadata": {}}, ADDRESS_POOL) is None


def test_loadbalancer_ips_list() -> None:
    value = annotation(
        svc(**{"metallb.io/loadBalancerIPs": "203.0.113.5, 2001:db8::5"}), LOADBALANCER_IPS
    )
    assert split_list(value) == ["203.0.113.5", "2001:db8::5"]
