"""Each classic mistake produces its finding naming the objects and the fix; a healthy
setup produces none."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest

from ironlb.cli.main import main
from ironlb.doctor import diagnose
from ironlb.doctor.checks import Options
from ironlb.doctor.findings import Severity
from ironlb.doctor.render import render_json, render_text
from ironlb.doctor.snapshot import Snapshot
from tests.unit.doctor import objects as o

HEALTHY = [
    o.pool("web", "203.0.113.10-203.0.113.19"),
    o.l2adv("web-l2", "web"),
    o.service("shop", "203.0.113.10", pool_name="web"),
    o.node("node1"),
    o.node("node2"),
]


def codes(objs: list[dict], opts: Options | None = None) -> dict[str, list]:
    report = diagnose(Snapshot.from_objects(objs), opts)
    out: dict[str, list] = {}
    for f in report.findings:
        out.setdefault(f.code, []).append(f)
    return out


def test_healthy_setup_reports_nothing() -> None:
    report = diagnose(Snapshot.from_objects(HEALTHY))
    assert report.findings == []
    assert report.exit_code() == 0


def test_pool_without_advertisement_names_pool_and_holders() -> None:
    objs = [
        o.pool("web", "203.0.113.10-203.0.113.19"),
        o.pool("dark", "203.0.113.64/28"),
        o.l2adv("web-l2", "web"),
        o.service("hidden", "203.0.113.65"),
    ]
    [finding] = codes(objs)["pool-not-advertised"]
    assert finding.objects == ("IPAddressPool metallb-system/dark", "Service default/hidden")
    assert finding.severity.label == "error"
    assert "ipAddressPools: [dark]" in finding.fix


def test_advertisement_without_pool_list_selects_every_pool() -> None:
    objs = [o.pool("a", "203.0.113.0/28"), o.pool("b", "203.0.113.16/28"), o.l2adv("all")]
    assert "pool-not-advertised" not in codes(objs)


def test_pool_selected_by_labels_is_advertised() -> None:
    adv = o.l2adv("sel")
    adv["spec"] = {"ipAddressPoolSelectors": [{"matchLabels": {"tier": "edge"}}]}
    objs = [o.pool("a", "203.0.113.0/28", labels={"tier": "edge"}), o.pool("b", "203.0.113.16/28")]
    found = codes([*objs, adv])["pool-not-advertised"]
    assert [f.objects[0] for f in found] == ["IPAddressPool metallb-system/b"]


def test_legacy_configmap() -> None:
    cm = o.configmap("config", "metallb-system", {"config": "address-pools:\n- name: x\n"})
    [finding] = codes([*HEALTHY, cm])["legacy-configmap"]
    assert finding.objects == ("ConfigMap metallb-system/config",)
    assert "ironlb migrate-configmap --from-cluster" in finding.fix


def test_metallb_installed() -> None:
    ds = o.daemonset("speaker", "metallb-system", image="quay.io/metallb/speaker:v0.14.8")
    [finding] = codes([*HEALTHY, ds])["metallb-installed"]
    assert finding.objects == ("DaemonSet metallb-system/speaker",)


@pytest.mark.parametrize(
    ("args", "active"),
    [
        (["server", "--cluster-init"], True),
        (["server", "--disable", "traefik"], True),
        (["server", "--disable", "servicelb"], False),
        (["server", "--disable=traefik,servicelb"], False),
        (["server", "--no-deploy", "servicelb,traefik"], False),
        (["agent", "--server", "https://198.51.100.10:6443"], False),
    ],
)
def test_klipper_from_k3s_server_node_args(args: list[str], active: bool) -> None:
    node = o.node("cp1")
    node["metadata"]["annotations"] = {"k3s.io/node-args": json.dumps(args)}
    found = codes([*HEALTHY, node]).get("klipper-active", [])
    assert [f.objects for f in found] == ([("Node cp1",)] if active else [])


def test_klipper_svclb_daemonset() -> None:
    ds = o.daemonset("svclb-traefik-1234", "kube-system", image="rancher/klipper-lb:v0.4.9")
    [finding] = codes([*HEALTHY, ds])["klipper-active"]
    assert "DaemonSet kube-system/svclb-traefik-1234" in finding.objects
    assert "--disable servicelb" in finding.fix


def test_foreign_status_writer() -> None:
    svc = o.service("klippered", "198.51.100.21")
    [finding] = codes([*HEALTHY, svc])["foreign-status-writer"]
    assert finding.objects == ("Service default/klippered",)


def test_pool_exhausted_and_nearly() -> None:
    objs = [
        o.pool("tiny", "203.0.113.1-203.0.113.2"),
        o.pool("big", "203.0.113.64-203.0.113.73"),
        o.l2adv("all"),
        o.service("a", "203.0.113.1"),
        o.service("b", "203.0.113.2"),
        *[o.service(f"s{i}", f"203.0.113.{64 + i}") for i in range(8)],
    ]
    found = codes(objs)
    assert [f.title for f in found["pool-exhausted"]] == [
        "IPAddressPool tiny IPv4: 2 of 2 addresses in use"
    ]
    assert [f.title for f in found["pool-nearly-exhausted"]] == [
        "IPAddressPool big IPv4: 8 of 10 addresses in use"
    ]
    assert "pool-nearly-exhausted" not in codes(objs, Options(exhaustion_threshold=0.9))


def test_pending_service_explained_by_its_event() -> None:
    svc = o.service("waiting")
    ev = o.event("Service", "waiting", "AllocationFailed", "no available IPs in pool web")
    [finding] = codes([*HEALTHY, svc, ev])["service-pending"]
    assert finding.why == "AllocationFailed: no available IPs in pool web"


def test_duplicate_address_from_speaker_event() -> None:
    ev = o.event(
        "Service",
        "shop",
        "DuplicateAddress",
        "203.0.113.10 answered by 02:00:00:00:00:09",
        source={"host": "node2"},
    )
    [finding] = codes([*HEALTHY, ev, dict(ev)])["duplicate-address"]
    assert finding.objects == ("Service default/shop", "Node node2")
    assert "DHCP" in finding.fix


def test_duplicate_address_resolved_since_is_history() -> None:
    ev = o.event("Service", "shop", "AddressConflict", "203.0.113.10 in use by 02:00:00:00:00:09")
    ev["lastTimestamp"] = "2026-12-03T14:00:00Z"
    announced = o.l2status("shop", "node2")
    announced["metadata"]["creationTimestamp"] = "2026-12-03T14:00:05Z"  # after the conflict
    assert "duplicate-address" not in codes([*HEALTHY, ev, announced])
    announced["metadata"]["creationTimestamp"] = "2026-12-03T13:59:00Z"  # before: still open
    assert "duplicate-address" in codes([*HEALTHY, ev, announced])
    other = o.l2status("cart", "node2")
    other["metadata"]["creationTimestamp"] = "2026-12-03T14:00:05Z"
    assert "duplicate-address" in codes([*HEALTHY, ev, other])


def test_l2_concentration_suggests_bgp() -> None:
    statuses = [o.l2status(f"s{i}", "node1") for i in range(4)] + [o.l2status("t", "node2")]
    [finding] = codes([*HEALTHY, *statuses])["l2-concentration"]
    assert finding.title == "Node node1 announces 4 of 5 L2 Service addresses"
    assert "BGP" in finding.fix


def test_bgp_session_state() -> None:
    state = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "BGPSessionState",
        "metadata": {"name": "node1-tor", "namespace": "metallb-system"},
        "status": {
            "node": "node1",
            "peer": "198.51.100.1",
            "bgpStatus": "Active",
            "bfdStatus": "Down",
        },
    }
    found = codes([*HEALTHY, state])
    assert found["bgp-session-down"][0].title == "BGP session node1 -> 198.51.100.1 is Active"
    assert found["bfd-down"][0].title == "BFD session node1 -> 198.51.100.1 is Down"
    state["status"] |= {"peer": "tor", "peerAddress": "198.51.100.1", "bfdStatus": "N/A"}
    state["status"]["lastDownReason"] = "open-rejected: sent OPEN_MESSAGE/BAD_PEER_AS (2/2)"
    [down] = codes([*HEALTHY, state])["bgp-session-down"]
    assert down.title == "BGP session node1 -> tor (198.51.100.1) is Active"
    assert "BAD_PEER_AS" in down.why
    assert down.objects == (
        "BGPSessionState metallb-system/node1-tor",
        "BGPPeer metallb-system/tor",
    )
    state["status"]["bgpStatus"] = "Established"
    assert "bgp-session-down" not in codes([*HEALTHY, state])
    state["status"]["bfdStatus"] = "Down"  # BGP back over TCP, BFD still down
    [bfd] = codes([*HEALTHY, state])["bfd-down"]
    assert "hold timer" in bfd.why


def test_router_refusing_our_prefixes_is_an_error_with_the_switch_fix() -> None:
    message = "peer 198.51.100.1 (AS 64512) refused our routes: received CEASE/MAX_PREFIXES (6/1)"
    ev = o.event("BGPPeer", "tor", "PrefixesRejected", message, source={"host": "node2"})
    [finding] = codes([*HEALTHY, ev, dict(ev)])["prefixes-rejected"]
    assert finding.severity is Severity.ERROR and "node2" in finding.title
    assert "maximum-prefix" in finding.fix and "MAX_PREFIXES" in finding.why
    down = o.event("BGPPeer", "tor", "BGPSessionDown", "session down", source={"host": "node1"})
    assert codes([*HEALTHY, down])["bgp-event"][0].title.startswith("BGPSessionDown on node node1")
    # The same message from two nodes is two findings: each node has its own session.
    other = {**down, "source": {"host": "node2"}}
    assert len(codes([*HEALTHY, down, other, dict(down)])["bgp-event"]) == 2


@pytest.mark.parametrize(("strict", "expected"), [(False, True), (True, False)])
def test_ipvs_without_strict_arp(strict: bool, expected: bool) -> None:
    conf = f"mode: ipvs\nipvs:\n  strictARP: {str(strict).lower()}\n"
    cm = o.configmap("kube-proxy", "kube-system", {"config.conf": conf})
    assert ("ipvs-without-strictarp" in codes([*HEALTHY, cm])) is expected


def test_invalid_config_is_an_error() -> None:
    bad = o.pool("rev", "203.0.113.9-203.0.113.1")
    [finding] = codes([*HEALTHY, bad])["config-invalid"]
    assert "spec.addresses[0]" in finding.why


def test_render_text_and_json() -> None:
    report = diagnose(Snapshot.from_objects([*HEALTHY, o.pool("dark", "203.0.113.64/28")]))
    text = StringIO()
    render_text(report, text)
    assert "WARNING (1)" in text.getvalue() and "fix:" in text.getvalue()
    data = StringIO()
    render_json(report, data)
    assert json.loads(data.getvalue())["findings"][0]["code"] == "pool-not-advertised"


def test_cli_offline_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump_all(HEALTHY))
    assert main(["doctor", "--offline", str(good)]) == 0
    assert "No problems found" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all([o.pool("dark", "203.0.113.64/28")]))
    assert main(["doctor", "--offline", str(bad), "-o", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["exitCode"] == 1
    cm = o.configmap("config", "metallb-system", {"config": "peers: []\n"})
    (tmp_path / "cm.yaml").write_text(yaml.safe_dump(cm))
    assert main(["doctor", "--offline", str(tmp_path)]) == 2
