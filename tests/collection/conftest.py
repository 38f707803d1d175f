"""Fixtures for the switch-automation tests: a namespace with FRR + an sshd whose shell is vtysh."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ironlb.netns.peers.frr import FrrRouter
from ironlb.netns.peers.sshd import SshServer

TOR_ADDRESS = "198.51.100.254"
TOR_ASN = 64512


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def sw_netns() -> Iterator[str]:
    """A private namespace `ilb-sw-<hex>` with `lo` up and the ToR address on it."""
    name = f"ilb-sw-{secrets.token_hex(3)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{TOR_ADDRESS}/32", "dev", "lo")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


@dataclass
class Tor:
    netns: str
    frr: FrrRouter
    ssh: SshServer

    @property
    def address(self) -> str:
        return self.ssh.address


@pytest.fixture
def tor(sw_netns: str) -> Iterator[Tor]:
    """FRR (zebra, bgpd, bfdd) + sshd with a vtysh login user, in `sw_netns`."""
    user = f"ilbsw{secrets.token_hex(3)}"
    with (
        FrrRouter(sw_netns, hostname="tor1") as frr,
        SshServer(
            sw_netns,
            address=TOR_ADDRESS,
            user=user,
            password=secrets.token_urlsafe(12),
            login_argv=frr.vtysh_argv(),
            groups=("frrvty",),
        ) as ssh,
    ):
        yield Tor(sw_netns, frr, ssh)
