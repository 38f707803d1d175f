"""End to end: ansible-playbook playbooks/switches.yml configures FRR through sshd + vtysh."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from .conftest import TOR_ADDRESS, Tor
from .playbook import recap, run_playbook, write_inventory

pytestmark = [pytest.mark.netns, pytest.mark.peers, pytest.mark.slow]

NODES = {"node1": "198.51.100.11", "node2": "198.51.100.12", "node3": "198.51.100.13"}
MD5 = "md5-" + secrets.token_hex(4)


def inventory(tor: Tor, nodes: dict[str, str] = NODES, **switch_vars: Any) -> dict[str, Any]:
    switch = {
        "ansible_host": tor.address,
        "tor_bgp_platform": "frr",
        "tor_bgp_asn": 64512,
        "tor_bgp_router_id": TOR_ADDRESS,
        "tor_bgp_username": tor.ssh.user,
        "tor_bgp_password": tor.ssh.password,
        "tor_bgp_timeout": 5,
        **switch_vars,
    }
    return {
        "all": {
            "vars": {
                "ironlb_bgp_asn": 64513,
                "ironlb_bgp_password": MD5,
                "ironlb_bfd_enabled": True,
                "ironlb_bfd_min_rx": 200,
                "ironlb_pools": [
                    {"name": "public", "addresses": ["203.0.113.0/28", "2001:db8:100::/120"]}
                ],
            },
            "children": {
                "nodes": {"hosts": {n: {"ansible_host": a} for n, a in nodes.items()}},
                "switches": {
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        "tor_bgp_address_families": ["ipv4", "ipv6"],
                    },
                    "hosts": {"tor1": switch},
                },
            },
        }
    }


def neighbors(tor: Tor) -> set[str]:
    return set(tor.frr.show_json("show bgp neighbors"))


def test_playbook_configures_peering_then_changes_nothing(tor: Tor, tmp_path: Path) -> None:
    inv = write_inventory(tmp_path / "inv", inventory(tor))
    first = run_playbook(tor.netns, inv, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout, "tor1")["changed"] == 1
    running = tor.frr.running_config()
    for addr, name in (("198.51.100.11", "node1"), ("198.51.100.13", "node3")):
        assert f"neighbor {addr} remote-as 64513" in running
        assert f"neighbor {addr} description ironlb {name}" in running
        assert f"neighbor {addr} password {MD5}" in running
        assert f"neighbor {addr} bfd profile ironlb" in running
        assert f"neighbor {addr} route-map IRONLB-IMPORT-V4 in" in running
        assert f"neighbor {addr} route-map IRONLB-IMPORT-V6 in" in running
    assert "ip prefix-list IRONLB-POOLS-V4 seq 5 permit 203.0.113.0/28 le 32" in running
    assert "ipv6 prefix-list IRONLB-POOLS-V6 seq 5 permit 2001:db8:100::/120 le 128" in running
    assert "maximum-paths 8" in running
    assert "receive-interval 200" in running
    assert neighbors(tor) == set(NODES.values())
    # Saved the FRR way: bgpd.conf on disk holds the peering.
    assert "neighbor 198.51.100.12 remote-as 64513" in (tor.frr.dir / "bgpd.conf").read_text()
    # The MD5 password never shows in Ansible's output.
    assert MD5 not in first.stdout + first.stderr

    second = run_playbook(tor.netns, inv, tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap(second.stdout, "tor1")["changed"] == 0
    assert tor.frr.running_config() == running


def test_check_mode_diff_shows_lines_and_changes_nothing(tor: Tor, tmp_path: Path) -> None:
    before = tor.frr.running_config()
    inv = write_inventory(tmp_path / "inv", inventory(tor))
    res = run_playbook(tor.netns, inv, tmp_path, "--check", "--diff")
    assert res.returncode == 0, res.stdout + res.stderr
    assert recap(res.stdout, "tor1")["changed"] == 1
    assert tor.frr.running_config() == before
    for line in (
        "router bgp 64512",
        " neighbor 198.51.100.12 remote-as 64513",
        " neighbor 198.51.100.12 bfd profile ironlb",
        "ip prefix-list IRONLB-POOLS-V4 seq 5 permit 203.0.113.0/28 le 32",
        "  maximum-paths 8",
    ):
        assert f"\n{line}\n" in res.stdout, line
    assert MD5 not in res.stdout  # the diff would carry the password line: it must not
    assert "neighbor 198.51.100.12 password" in res.stdout


def test_removing_a_node_removes_exactly_that_neighbor(tor: Tor, tmp_path: Path) -> None:
    # An uplink the role does not own must survive.
    tor.frr.configure(["router bgp 64512", " neighbor 198.19.0.1 remote-as 65000"])
    inv = write_inventory(tmp_path / "inv", inventory(tor))
    assert run_playbook(tor.netns, inv, tmp_path).returncode == 0
    before = tor.frr.running_config().splitlines()
    fewer = {k: v for k, v in NODES.items() if k != "node2"}
    inv2 = write_inventory(tmp_path / "inv2", inventory(tor, fewer))
    res = run_playbook(tor.netns, inv2, tmp_path, "--diff")
    assert res.returncode == 0, res.stdout + res.stderr
    assert recap(res.stdout, "tor1")["changed"] == 1
    after = tor.frr.running_config().splitlines()
    removed = [line for line in before if line not in after]
    assert removed and all("198.51.100.12 " in line for line in removed), removed
    assert [line for line in after if line not in before] == []
    assert neighbors(tor) == {"198.51.100.11", "198.51.100.13", "198.19.0.1"}


def test_wrong_password_and_unreachable_fail_clearly_and_change_nothing(
    tor: Tor, tmp_path: Path
) -> None:
    before = tor.frr.running_config()
    wrong = "wrong-" + secrets.token_hex(4)
    data = inventory(tor, tor_bgp_password=wrong)
    switches = data["all"]["children"]["switches"]["hosts"]
    good = {**switches["tor1"], "tor_bgp_password": tor.ssh.password}
    switches["tor2"] = {**good, "tor_bgp_port": 2222}  # nothing listens there
    switches["tor3"] = {**good, "ansible_host": "198.19.77.1"}  # no route in the namespace
    inv = write_inventory(tmp_path / "inv", data)
    res = run_playbook(tor.netns, inv, tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    for host in ("tor1", "tor2", "tor3"):
        assert recap(res.stdout, host)["failed"] == 1, host
    assert f"{TOR_ADDRESS}:22: authentication failed for user '{tor.ssh.user}'" in out
    assert f"{TOR_ADDRESS}:2222: connection timed out or was refused" in out
    assert "198.19.77.1:22: " in out
    assert "Traceback" not in out
    assert wrong not in out and tor.ssh.password not in out
    assert tor.frr.running_config() == before


def test_rejected_line_reverts_and_reports_device_text(tor: Tor, tmp_path: Path) -> None:
    before = tor.frr.running_config()
    # FRR refuses its own address as a neighbor, after the earlier lines went in.
    nodes = {"node1": "198.51.100.11", "self": TOR_ADDRESS}
    inv = write_inventory(tmp_path / "inv", inventory(tor, nodes))
    res = run_playbook(tor.netns, inv, tmp_path)
    assert res.returncode != 0
    assert f"rejected 'neighbor {TOR_ADDRESS} remote-as 64513'" in res.stdout
    assert "local system as neighbor" in res.stdout
    assert "changes reverted" in res.stdout
    # bfdd keeps showing an empty `bfd` node once entered; no configuration is left in it.
    assert tor.frr.running_config().replace("bfd\nexit\n!\n", "") == before
