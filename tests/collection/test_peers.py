"""The FRR + sshd peers themselves: vtysh as an SSH login shell, clean start and stop."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ironlb.netns.peers.frr import CRASH_DIR, FrrRouter, router_bgp_conf

from .conftest import Tor

pytestmark = [pytest.mark.netns, pytest.mark.peers]


def test_frr_runs_bgp_config_and_cleans_up(sw_netns: str) -> None:
    conf = router_bgp_conf(64512, "198.51.100.254", [("198.51.100.1", 64513)])
    router = FrrRouter(sw_netns, bgpd_conf=conf)
    router.start()
    pids = router.pids
    workdir = router.dir
    try:
        assert set(pids) == {"zebra", "bgpd", "bfdd"}
        summary = router.show_json("show bgp ipv4 unicast summary")
        assert summary["as"] == 64512
        assert set(summary["peers"]) == {"198.51.100.1"}
        router.configure(["router bgp 64512", " neighbor 198.51.100.2 remote-as 64514"])
        assert "Configuration saved" in router.vtysh("write memory")
        assert "neighbor 198.51.100.2 remote-as 64514" in (workdir / "bgpd.conf").read_text()
    finally:
        router.stop()
    assert not workdir.exists()
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists()
        assert not (CRASH_DIR / f"{name}.{pid}").exists()


def test_ssh_login_shell_is_vtysh(tor: Tor) -> None:
    res = subprocess.run(
        ["ip", "netns", "exec", tor.netns, "sshpass", "-p", tor.ssh.password, "ssh",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         f"{tor.ssh.user}@{tor.address}", "show version"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "FRRouting 8.4" in res.stdout
    assert "(tor1)" in res.stdout


def test_ssh_wrong_password_is_refused(tor: Tor) -> None:
    res = subprocess.run(
        ["ip", "netns", "exec", tor.netns, "sshpass", "-p", "wrong", "ssh",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "NumberOfPasswordPrompts=1", f"{tor.ssh.user}@{tor.address}", "show version"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert res.returncode != 0
    assert "FRRouting" not in res.stdout
