"""Real speakers in namespaces, a real kernel client: ARP/NDP ownership and failover."""

from __future__ import annotations

import pytest

from ironlb.netns import wait_until
from speaker.election import elect
from tests.netns.l2.conftest import dump_logs
from tests.netns.l2.harness import NODES3, VIP4, VIP6, L2Lab

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]


def owner_of(ip: str, alive=NODES3) -> str:
    owner = elect(ip, list(alive))
    assert owner is not None
    return owner


def test_client_reaches_service_v4_v6_on_elected_node_only(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory(bgp=True, pods=True)  # the whole speaker, as a DaemonSet runs it
    lab.service("web", [VIP4, VIP6])
    try:
        assert lab.wait_owner(VIP4) == owner_of(VIP4)
        assert lab.wait_owner(VIP6) == owner_of(VIP6)
    except AssertionError:
        raise AssertionError(dump_logs(lab)) from None
    # Only the elected node's MAC ever answers; the others never do.
    assert lab.arping(VIP4) == [lab.mac_of(owner_of(VIP4))]
    assert lab.neighbour_mac(VIP6) == lab.mac_of(owner_of(VIP6))
    # An address nobody owns (on every node's lo, but in no Service) is not answered at all.
    assert lab.arping("203.0.113.30") == []

    # ServiceL2Status like MetalLB's, written by the owner.
    def status_ok() -> str | None:
        nodes = sorted(s["status"]["node"] for s in lab.l2_statuses())
        want = sorted({owner_of(VIP4), owner_of(VIP6)})
        return None if nodes == want else f"statuses on {nodes}, want {want}"

    wait_until(status_ok, 10)
    for st in lab.l2_statuses():
        (ref,) = st["metadata"]["ownerReferences"]
        assert ref["kind"] == "Pod" and ref["name"] == f"speaker-{st['status']['node']}"
        assert ref["uid"]


def test_kill9_moves_the_address_and_traffic_resumes(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory()
    lab.service("web", [VIP4, VIP6])
    first = lab.wait_owner(VIP4)
    assert lab.wait_owner(VIP6) == owner_of(VIP6)
    lab.kill9(first)
    lab.servers[first].kill()  # the node is gone as far as the Service is concerned
    survivors = [n for n in NODES3 if n != first]
    successor = owner_of(VIP4, survivors)

    def moved() -> str | None:
        node = lab.request(VIP4, timeout=0.2)
        return None if node == successor else f"served by {node}, want {successor}"

    wait_until(moved, 5, interval=0.05)
    assert lab.neighbour_mac(VIP4) == lab.mac_of(successor)
    owner6 = owner_of(VIP6, survivors)
    if owner_of(VIP6) == first:
        wait_until(lambda: None if lab.request(VIP6, 0.2) == owner6 else "v6 not moved", 5)
    assert "reason=owner-failed" in lab.speaker_log(successor)


def test_sigterm_hands_over_without_a_failed_request(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory()
    lab.service("web", [VIP4])
    first = lab.wait_owner(VIP4)
    successor = owner_of(VIP4, [n for n in NODES3 if n != first])
    loop = lab.start_client_loop(VIP4, count=150, interval=0.01, timeout=0.5)
    wait_until(lambda: None if lab.neighbour_mac(VIP4) else "client not started", 5)
    lab.sigterm(first)
    assert lab.speakers[first].wait(10) == 0
    out, _ = loop.popen.communicate(timeout=30)
    import json

    results = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(results) == 150
    assert all(r["ok"] for r in results), [r for r in results if not r["ok"]][:5]
    served = [r["node"] for r in results]
    assert successor in served, served
    # One clean move: once the successor serves, the leaving owner never pulls clients back.
    assert set(served[served.index(successor) :]) == {successor}, served
    wait_until(lambda: None if lab.request(VIP4) == successor else "not handed over", 5)
    assert lab.neighbour_mac(VIP4) == lab.mac_of(successor)
    assert "reason=owner-left" in lab.speaker_log(successor)
    assert "drain.done" in lab.speaker_log(first)


def test_local_policy_moves_address_to_node_with_endpoint(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory()
    non_owner = [n for n in NODES3 if n != owner_of(VIP4)]
    lab.endpoints("web", [non_owner[0]])
    lab.service("web", [VIP4], local=True)
    assert lab.wait_owner(VIP4) == non_owner[0]
    lab.endpoints("web", [non_owner[1]])

    def moved() -> str | None:
        node = lab.request(VIP4, timeout=0.3)
        return None if node == non_owner[1] else f"served by {node}, want {non_owner[1]}"

    wait_until(moved, 10, interval=0.1)
    assert lab.arping(VIP4) == [lab.mac_of(non_owner[1])]


def test_duplicate_address_on_the_lan_is_detected_and_not_announced(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory(extra_hosts=("rogue",))
    lab.topo.add_address("rogue", "lan", "203.0.113.20/24")  # another host already has it
    rogue_mac = lab.mac_of("rogue")
    owner = owner_of("203.0.113.20")
    lab.service("dup", ["203.0.113.20"])

    def conflict_logged() -> str | None:
        return None if "l2.conflict" in lab.speaker_log(owner) else "no conflict logged yet"

    wait_until(conflict_logged, 10)
    assert rogue_mac in lab.speaker_log(owner)
    assert lab.arping("203.0.113.20") == [rogue_mac]  # only the rogue, never a speaker
    wait_until(lambda: None if lab.events("AddressConflict") else "no Event", 10)
    assert "203.0.113.20" in lab.events("AddressConflict")[0]["message"]
    assert lab.l2_statuses() == []


def test_exclude_label_hands_the_address_over(l2lab_factory) -> None:
    from ironlb.kube.resources import NODES

    lab: L2Lab = l2lab_factory()
    lab.service("web", [VIP4])
    first = lab.wait_owner(VIP4)
    successor = owner_of(VIP4, [n for n in NODES3 if n != first])
    label = {"node.kubernetes.io/exclude-from-external-load-balancers": "true"}
    lab.kube.patch(NODES, first, {"metadata": {"labels": label}})

    def moved() -> str | None:
        node = lab.request(VIP4, timeout=0.3)
        return None if node == successor else f"served by {node}, want {successor}"

    wait_until(moved, 10, interval=0.1)
    assert lab.arping(VIP4) == [lab.mac_of(successor)]
    assert "reason=not-eligible" in lab.speaker_log(first)


def test_fence_keeps_a_cut_off_owner_from_being_doubled(l2lab_factory) -> None:
    """The owner loses the heartbeats but not the wire: nobody else may start answering."""
    lab: L2Lab = l2lab_factory()
    lab.service("web", [VIP4])
    owner = lab.wait_owner(VIP4)
    successor = owner_of(VIP4, [n for n in NODES3 if n != owner])
    rules = (
        "table inet ilbl2fence {\n"
        " chain i { type filter hook input priority 0; udp dport 7946 drop; }\n"
        " chain o { type filter hook output priority 0; udp dport 7946 drop; }\n"
        "}\n"
    )
    lab.topo.exec(owner, ["nft", "-f", "-"], input=rules)

    def fenced() -> str | None:
        text = lab.speaker_log(successor)
        return None if "l2.fenced" in text else "successor has not tried to take over yet"

    wait_until(fenced, 10)
    assert f"member.down node={owner} reason=timeout" in lab.speaker_log(successor)
    assert lab.arping(VIP4) == [lab.mac_of(owner)]  # still exactly one answer: the owner's
    assert lab.request(VIP4) == owner
    assert lab.events("AddressConflict") == []  # the fence working is not a duplicate address
    # Heartbeats come back: everyone agrees again and the successor stands down for good.
    lab.topo.exec(owner, ["nft", "delete", "table", "inet", "ilbl2fence"])
    wait_until(lambda: None if lab.arping(VIP4) == [lab.mac_of(owner)] else "split", 5)
