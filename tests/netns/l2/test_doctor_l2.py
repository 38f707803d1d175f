"""`ironlb doctor` against a live L2 lab: the LAN-level mistakes seen by real speakers.

The doctor runs as a user would run it (the real CLI in a subprocess, against the lab's
kube-apiserver through a kubeconfig) after real speakers in node namespaces have met the mistake
on the wire: a rogue host holding a pool address (the DHCP overlap), and L2 Services that
all land on one node (L2 expected to spread load). A healthy lab reports nothing.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from ironlb.netns import wait_until
from speaker.election import elect
from tests.netns.l2.conftest import dump_logs
from tests.netns.l2.harness import NODES3, REPO, VIP4, L2Lab

pytestmark = [pytest.mark.netns, pytest.mark.timeout(120)]

DUP_IP = "203.0.113.20"  # the rogue host's address, also a pool address
EXIT_WARNINGS, EXIT_ERRORS = 1, 2


def doctor(lab: L2Lab, *args: str, env_kubeconfig: bool = False) -> subprocess.CompletedProcess:
    """Run `ironlb doctor` as a user would: a fresh process, from the root namespace."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    argv = [sys.executable, "-m", "ironlb.cli.main", "doctor", *args]
    if env_kubeconfig:
        env["KUBECONFIG"] = lab.kubeconfig
    else:
        argv += ["--kubeconfig", lab.kubeconfig]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=60)


def doctor_json(lab: L2Lab) -> tuple[int, dict[str, Any]]:
    done = doctor(lab, "-o", "json")
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        out = done.stdout + done.stderr
        raise AssertionError(f"no JSON (exit {done.returncode}):\n{out}") from None


def findings(report: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["code"] == code]


def addresses_owned_by(node: str, count: int, skip: set[str]) -> list[str]:
    """The first `count` pool addresses that rendezvous hashing gives to `node`."""
    pool = ipaddress.ip_network("203.0.113.0/24")
    found = [
        str(ip)
        for ip in pool.hosts()
        if str(ip) not in skip and elect(str(ip), list(NODES3)) == node
    ]
    assert len(found) >= count, f"only {len(found)} pool addresses hash to {node}"
    return found[:count]


def wait_statuses(lab: L2Lab, want: dict[str, str], timeout: float = 15.0) -> None:
    """Wait until the ServiceL2Statuses name exactly the nodes in `want` (ip → node)."""
    expected = sorted(want.values())

    def check() -> str | None:
        nodes = sorted((s.get("status") or {}).get("node", "") for s in lab.l2_statuses())
        return None if nodes == expected else f"statuses on {nodes}, want {expected}"

    try:
        wait_until(check, timeout, interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{dump_logs(lab)}") from None


def test_doctor_reports_a_duplicate_address_a_speaker_met_on_the_lan(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory(extra_hosts=("rogue",))
    lab.topo.add_address("rogue", "lan", f"{DUP_IP}/24")  # a DHCP lease inside the pool
    owner = elect(DUP_IP, list(NODES3))
    lab.service("dup", [DUP_IP])
    try:
        wait_until(lambda: None if lab.events("AddressConflict") else "no Event yet", 15)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{dump_logs(lab)}") from None

    code, report = doctor_json(lab)
    assert code == EXIT_ERRORS, report
    assert report["exitCode"] == EXIT_ERRORS
    (dup,) = findings(report, "duplicate-address")
    assert dup["severity"] == "error"
    assert dup["objects"] == [f"Service {lab.app_ns}/dup", f"Node {owner}"]
    assert DUP_IP in dup["why"] and lab.mac_of("rogue") in dup["why"].lower()
    assert "DHCP scope" in dup["fix"]
    # Nothing else is wrong with this lab: the duplicate is the whole story.
    assert [f["code"] for f in report["findings"]] == ["duplicate-address"], report

    human = doctor(lab, env_kubeconfig=True)
    assert human.returncode == EXIT_ERRORS, human.stderr
    text = human.stdout
    print(text)  # the report a person sees (README material), shown with -s
    assert "ERROR (1)" in text
    assert "A Service address is already used by another host on the LAN" in text
    assert f"object: Service {lab.app_ns}/dup" in text and f"object: Node {owner}" in text
    assert "DHCP scope" in text

    # The LAN is fixed: the speaker's re-probe finds the address free and announces it, and
    # the Event (kept for an hour) no longer counts as a finding.
    lab.topo.del_address("rogue", "lan", f"{DUP_IP}/24")
    wait_statuses(lab, {DUP_IP: owner}, timeout=30)
    code, report = doctor_json(lab)
    assert (code, report["findings"]) == (0, []), report


def test_doctor_shows_l2_addresses_concentrated_on_one_node(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory()
    target = elect(VIP4, list(NODES3))
    assert target is not None
    ips = addresses_owned_by(target, 3, skip={VIP4})
    for i, ip in enumerate(ips):
        lab.service(f"busy{i}", [ip])
    wait_statuses(lab, {ip: target for ip in ips})

    code, report = doctor_json(lab)
    (conc,) = findings(report, "l2-concentration")
    assert conc["severity"] == "warning"  # every L2 address enters through one node
    assert code == EXIT_WARNINGS, report
    assert conc["title"] == f"Node {target} announces 3 of 3 L2 Service addresses"
    assert conc["objects"] == [f"Node {target}"]
    assert f"per node: {target}: 3)" in conc["why"]
    assert "BGP" in conc["fix"] and "ECMP" in conc["fix"]

    # One Service elsewhere: the share now names both nodes, and 3 of 4 is worth telling.
    other = next(n for n in NODES3 if n != target)
    (extra,) = addresses_owned_by(other, 1, skip=set(ips))
    lab.service("elsewhere", [extra])
    wait_statuses(lab, {**{ip: target for ip in ips}, extra: other})
    code, report = doctor_json(lab)
    (conc,) = findings(report, "l2-concentration")
    assert conc["title"] == f"Node {target} announces 3 of 4 L2 Service addresses"
    assert f"per node: {target}: 3, {other}: 1)" in conc["why"]
    assert sorted(conc["objects"]) == sorted([f"Node {target}", f"Node {other}"])
    assert conc["severity"] == "info" and code == 0, report  # information, not a warning

    human = doctor(lab).stdout
    assert f"Node {target} announces 3 of 4 L2 Service addresses" in human
    assert "Use BGP mode" in human


def test_doctor_reports_nothing_for_a_healthy_l2_lab(l2lab_factory) -> None:
    lab: L2Lab = l2lab_factory()
    lab.service("web", [VIP4])
    owner = lab.wait_owner(VIP4)  # announced and reachable from the client's kernel
    wait_statuses(lab, {VIP4: owner})

    code, report = doctor_json(lab)
    assert report["findings"] == [], report
    assert code == 0 and report["exitCode"] == 0
    assert report["source"] == "cluster"
    assert {"duplicate-address", "l2-concentration"} <= set(report["checked"])

    human = doctor(lab)
    assert human.returncode == 0, human.stderr
    assert human.stdout.startswith("No problems found"), human.stdout
