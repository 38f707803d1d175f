"""The lab's ToR router: FRR in the tor namespace, configured like a switch over SSH.

sshd listens on the ToR's management address (reachable from the root namespace over the one
/32 veth pair) and the login shell of its user is vtysh, so netmiko drives it as ``cisco_ios``
(FIELD-NOTES). BGP configuration is left to the rollout (the ``tor_bgp`` role): the router
starts with zebra/bgpd/bfdd and no ``router bgp``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ironlb.lab.layout import Layout
from ironlb.netns.peers.frr import FrrRouter
from ironlb.netns.peers.sshd import SshServer


@dataclass(frozen=True)
class TorHandles:
    pids: dict[str, int]
    frr_dir: str
    ssh_dir: str


def start_tor(layout: Layout) -> TorHandles:
    """Start FRR and sshd; write the SSH password into the state dir (mode 0600)."""
    base = layout.state_dir / "tor"
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # the vtysh login user must traverse it
    router = FrrRouter(layout.tor_netns, hostname=f"{layout.prefix}-tor", workdir=base / "frr")
    router.start()
    password = secrets.token_urlsafe(12)
    pw_file = layout.state_dir / "tor-password"
    pw_file.write_text(password)
    pw_file.chmod(0o600)
    ssh = SshServer(
        layout.tor_netns,
        address=layout.mgmt_tor,
        user=layout.ssh_user,
        password=password,
        login_argv=router.vtysh_argv(),
        groups=("frrvty",),
        workdir=base / "ssh",
    )
    ssh.start()
    pids = {f"frr-{name}": pid for name, pid in router.pids.items()}
    if ssh.pid is not None:
        pids["sshd"] = ssh.pid
    return TorHandles(pids=pids, frr_dir=str(router.dir), ssh_dir=str(ssh.dir))


def vtysh_argv(layout: Layout) -> list[str]:
    frr_dir = str(layout.state_dir / "tor" / "frr")
    return [
        "ip",
        "netns",
        "exec",
        layout.tor_netns,
        "vtysh",
        "--vty_socket",
        frr_dir,
        "--config_dir",
        frr_dir,
    ]
