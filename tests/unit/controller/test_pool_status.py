"""IPAddressPool status and conditions as the PoolReconciler computes them."""

from __future__ import annotations

from controller.metrics import ControllerMetrics
from controller.reconcilers.pool import PoolReconciler
from controller.state import ControllerState
from ironlb.kube import Cache
from tests.unit.controller.helpers import pool_dict, svc

L2 = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "L2Advertisement",
    "metadata": {"name": "l2", "namespace": "metallb-system"},
    "spec": {"ipAddressPools": ["announced"]},
}


def conditions(status: dict) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_unannounced_pool_condition_and_counts() -> None:
    state = ControllerState()
    pools = [pool_dict("lonely", "203.0.113.0/30"), pool_dict("announced", "198.51.100.0/30")]
    outcome = state.load_config([*pools, L2])
    assert outcome.applied
    state.assigner.decide(svc("a", annotations={"metallb.io/address-pool": "lonely"}), {})
    state.assigner.decide(svc("b", annotations={"metallb.io/address-pool": "announced"}), {})
    metrics = ControllerMetrics()
    rec = PoolReconciler(None, Cache(), state, metrics)  # type: ignore[arg-type]
    lonely = rec.desired_status(pools[0])
    assert lonely["assignedIPv4"] == 1 and lonely["availableIPv4"] == 3
    assert conditions(lonely)["Announced"] == ("False", "NoAdvertisement")
    assert conditions(lonely)["Valid"] == ("True", "Valid")
    assert conditions(rec.desired_status(pools[1]))["Announced"] == ("True", "Advertised")
    assert metrics.in_use.labels("lonely", "ipv4")._value.get() == 1


def test_invalid_config_keeps_last_valid_and_marks_pool() -> None:
    state = ControllerState()
    l2_all = {**L2, "spec": {}}
    good = pool_dict("good", "203.0.113.0/24")
    assert state.load_config([good, l2_all]).applied
    bad = pool_dict("bad", "203.0.113.128/25")  # overlaps "good"
    outcome = state.load_config([good, bad, l2_all])
    assert not outcome.applied and outcome.new_errors
    assert state.config is not None and set(state.config.pools) == {"good"}
    # Reported once: the same errors again are not new.
    assert state.load_config([good, bad, l2_all]).new_errors == []
    rec = PoolReconciler(None, Cache(), state, ControllerMetrics())  # type: ignore[arg-type]
    valid = conditions(rec.desired_status(bad))["Valid"]
    assert valid == ("False", "ConfigError")
