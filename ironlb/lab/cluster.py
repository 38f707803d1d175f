"""`ironlb lab up|down|status`: the lab's lifecycle.

``up`` builds the machines a user would have: the namespaces and links, the ToR (FRR + sshd),
an image registry on the ToR filled from ``make image``'s archives, and three nodes that are
machines of their own (network, mount and UTS namespaces, own /etc, /run and disks, an sshd
Ansible reaches them through; ``machine.py``), plus a forwarder from 127.0.0.1:<api_port> in
the root namespace to node1's API server port. Kubernetes itself is not started here: the
rollout's ``kubeadm`` role installs containerd's configuration, kubelet and kubeadm on the
nodes and runs ``kubeadm init``/``join``, as on a real site.
Every pid goes into the state file as soon as it exists, so ``down`` — also after a failed
``up`` — stops everything (each node by its namespaces and cgroups), deletes the namespaces,
the ToR's login user, the state directory and the nodes' disks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ironlb.lab import gobuild, images, machine, registry, topology
from ironlb.lab.layout import Layout, Node
from ironlb.lab.shell import LabError, run
from ironlb.lab.state import LabState
from ironlb.lab.tor import start_tor
from ironlb.netns.process import kill_pids, netns_inode, pids_in_netns

REPO = Path(__file__).resolve().parents[2]
REQUIRED_TOOLS = (
    "ip",
    "nft",
    "socat",
    "/usr/sbin/sshd",
    "/usr/lib/frr/zebra",
    "vtysh",
    "curl",
    "containerd",
    "runc",
    "skopeo",
    "/usr/bin/docker-registry",
    "/usr/lib/cni/bridge",
    "nsenter",
)
Step = Callable[[str], None]


def missing_tools() -> list[str]:
    return [t for t in REQUIRED_TOOLS if not (shutil.which(t) or Path(t).exists())]


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives `lab up` and a Ctrl-C on its terminal
            env={**os.environ, **(env or {})},
        )
    return proc.pid


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = ""
            if log is not None and log.exists():
                tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise LabError(f"timed out after {timeout:g} s waiting for {what}{tail}")
        time.sleep(0.05)


def up(layout: Layout, step: Step = lambda _msg: None) -> LabState:
    """Build the lab; on any failure tear down what was made and re-raise."""
    missing = missing_tools()
    if missing:
        raise LabError(
            f"missing tools: {', '.join(missing)} — install the Debian packages "
            "(`make setup` as root installs them: nftables socat frr openssh-server curl)"
        )
    if layout.state_file.exists() or topology.existing_netns(layout.prefix):
        raise LabError(f"a lab with prefix {layout.prefix} exists; run `ironlb lab down` first")
    layout.state_dir.mkdir(parents=True, exist_ok=True)
    state = LabState(
        prefix=layout.prefix,
        api_port=layout.api_port,
        kubeconfig=str(layout.kubeconfig),
        tor_host=layout.mgmt_tor,
        tor_user=layout.ssh_user,
        tor_password_file=str(layout.state_dir / "tor-password"),
        tor_frr_dir=str(layout.state_dir / "tor" / "frr"),
        client_netns=layout.client_netns,
    )
    state.save(layout.state_file)
    try:
        _up(layout, state, step)
    except BaseException:
        step("failed: tearing down")
        down(layout)
        raise
    return state


def _up(layout: Layout, state: LabState, step: Step) -> None:
    logs = layout.state_dir / "logs"
    logs.mkdir(exist_ok=True)
    timer = _Phases(step)
    timer.start("pinned Kubernetes binaries (tools/gobuild; cached after the first build)")
    bins = gobuild.bin_dir("kubernetes")
    state.k8s_bin_dir = str(bins)
    state.k8s_sha256 = gobuild.sha256sums("kubernetes", ("kubeadm", "kubelet"))
    timer.start("images (tools/images; cached after the first build)")
    built = images.manifest()
    archives = images.lab_archives(built)
    state.ironlb_image_archive = str(images.archive_of("ironlb", built))
    timer.start("network namespaces (3 nodes, ToR, client)")
    topology.build(layout)
    timer.start("ToR router: FRR and sshd (vtysh login shell)")
    tor = start_tor(layout)
    state.pids.update(tor.pids)
    state.save(layout.state_file)
    timer.start("image registry on the ToR (mirror of registry.k8s.io and docker.io)")
    state.pids["registry"] = registry.start(layout)
    state.save(layout.state_file)
    registry.push(layout, archives, progress=step)
    state.image_archives = {name: str(path) for path, name in archives}
    state.ssh_dir = str(layout.state_dir / "ssh")
    timer.start("nodes: own mount/UTS namespaces, /etc, /run, disks, cgroups, sshd")
    key = _ssh_key(layout)
    known_hosts = []
    for node in layout.nodes:
        machine.create(layout, node)
        state.pids[f"sshd-{node.name}"] = machine.start_sshd(layout, node, key)
        state.save(layout.state_file)
        known_hosts.append(f"{node.ipv4} {machine.host_key(layout, node)}")
    (layout.state_dir / "ssh" / "known_hosts").write_text("\n".join(known_hosts) + "\n")
    _write_proxy(layout)
    _wait(lambda: all(_ssh_ok(layout, n) for n in layout.nodes), 20, "sshd on every node")
    timer.start("API forwarder (127.0.0.1 -> node1:6443, through a unix socket)")
    node1 = layout.nodes[0]
    with contextlib.suppress(FileNotFoundError):
        layout.api_socket.unlink()
    state.pids["api-forwarder-node1"] = _spawn(
        [
            "ip",
            "netns",
            "exec",
            node1.netns,
            "socat",
            f"UNIX-LISTEN:{layout.api_socket},fork,mode=600",
            "TCP:127.0.0.1:6443",
        ],
        logs / "forwarder.log",
    )
    _wait(layout.api_socket.exists, 10, "the API socket")
    state.pids["api-forwarder"] = _spawn(
        [
            "socat",
            f"TCP-LISTEN:{layout.api_port},bind=127.0.0.1,fork,reuseaddr",
            f"UNIX-CONNECT:{layout.api_socket}",
        ],
        logs / "forwarder.log",
    )
    state.save(layout.state_file)
    timer.done()


class _Phases:
    """Prints each phase and, when the next starts, how long the last one took."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self.name: str | None = None
        self.began = 0.0

    def start(self, name: str) -> None:
        self.done()
        self.name, self.began = name, time.monotonic()
        self.step(name)

    def done(self) -> None:
        if self.name is not None:
            self.step(f"  {time.monotonic() - self.began:.1f} s")
        self.name = None


def _ssh_key(layout: Layout) -> str:
    """The lab's root key for the nodes (Ansible's connection); returns the public half."""
    folder = layout.state_dir / "ssh"
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "id_ed25519"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", layout.prefix, "-f", str(key)])
    return key.with_suffix(".pub").read_text().strip()


def _write_proxy(layout: Layout) -> None:
    """ssh's ProxyCommand for the nodes: open the TCP connection inside the namespace of the
    node that owns the address ssh asks for (the root namespace has no route to the LAN)."""
    cases = "".join(f"  {n.ipv4}) ns={n.netns} ;;\n" for n in layout.nodes)
    proxy = layout.state_dir / "ssh" / "proxy"
    proxy.write_text(
        "#!/bin/sh\n"
        "# ProxyCommand for the lab's nodes: proxy ADDRESS\n"
        f'case "$1" in\n{cases}  *) echo "not a lab node: $1" >&2; exit 1 ;;\nesac\n'
        'exec ip netns exec "$ns" socat STDIO TCP:127.0.0.1:22\n'
    )
    proxy.chmod(0o755)


def ssh_argv(layout: Layout, node: Node) -> list[str]:
    """ssh to ``node`` as Ansible does (through its namespace; no root-namespace route)."""
    folder = layout.state_dir / "ssh"
    return [
        "ssh",
        "-i",
        str(folder / "id_ed25519"),
        "-o",
        f"UserKnownHostsFile={folder / 'known_hosts'}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"ProxyCommand={folder / 'proxy'} %h",
        "-o",
        "BatchMode=yes",
        f"root@{node.ipv4}",
    ]


def _ssh_ok(layout: Layout, node: Node) -> bool:
    try:
        run([*ssh_argv(layout, node), "true"], timeout=10)
    except (LabError, subprocess.TimeoutExpired):
        return False
    return True


def kubectl(layout: Layout, *args: str, check: bool = True) -> str:
    return run(["kubectl", "--kubeconfig", str(layout.kubeconfig), *args], check=check)


def _ready_nodes(layout: Layout) -> int:
    try:
        out = kubectl(layout, "get", "nodes", "-o", "json")
    except LabError:
        return 0
    count = 0
    for node in json.loads(out).get("items", []):
        for cond in node.get("status", {}).get("conditions", []) or []:
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                count += 1
    return count


def down(layout: Layout, step: Step = lambda _msg: None) -> list[str]:
    """Remove every namespace and process the lab made; return what was removed."""
    removed: list[str] = []
    state = LabState.load(layout.state_file)
    pids = dict(state.pids) if state else {}
    # Agents first: they stop their pods (and pod namespaces) themselves.
    agents = [pid for name, pid in pids.items() if name.startswith("agent-")]
    if agents:
        step("stopping node agents")
        kill_pids(agents, timeout=8.0)
        removed += [f"agent pid {p}" for p in agents]
    for node in layout.nodes:
        if machine.processes(layout, node) or machine.data_dir(layout, node).exists():
            step(f"stopping {node.name} (kubelet, containerd, pods) and removing its disks")
            machine.destroy(layout, node)
            removed.append(f"node {node.name}")
    machine.remove_pins(layout)
    others = [pid for name, pid in pids.items() if not name.startswith("agent-")]
    if others:
        step("stopping the ToR, the registry and the forwarder")
        kill_pids(others, timeout=5.0)
        removed += [f"pid {p}" for p in others]
    for name, pid in pids.items():
        if name.startswith("frr-"):
            shutil.rmtree(Path("/var/tmp/frr") / f"{name[4:]}.{pid}", ignore_errors=True)
    inodes = {i for i in (netns_inode(n) for n in topology.existing_netns(layout.prefix)) if i}
    stray = pids_in_netns(inodes) if inodes else []
    if stray:
        step(f"stopping {len(stray)} leftover process(es) in lab namespaces")
        kill_pids(stray, timeout=5.0)
        removed += [f"stray pid {p}" for p in stray]
    step("deleting namespaces")
    removed += topology.destroy(layout)
    if _user_exists(layout.ssh_user):
        run(["userdel", layout.ssh_user], check=False)
        removed.append(f"user {layout.ssh_user}")
    if layout.state_dir.exists():
        shutil.rmtree(layout.state_dir, ignore_errors=True)
        removed.append(str(layout.state_dir))
    if layout.data_dir.exists():
        shutil.rmtree(layout.data_dir, ignore_errors=True)
        removed.append(str(layout.data_dir))
    return removed


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def leftovers(layout: Layout) -> list[str]:
    """What of a lab still exists (empty after a clean `down`)."""
    found = list(topology.existing_netns(layout.prefix))
    if Path(f"/sys/class/net/{layout.mgmt_if}").exists():
        found.append(layout.mgmt_if)
    if _user_exists(layout.ssh_user):
        found.append(f"user {layout.ssh_user}")
    if layout.state_dir.exists():
        found.append(str(layout.state_dir))
    if layout.data_dir.exists():
        found.append(str(layout.data_dir))
    found += [f"cgroup {c}" for c in machine.leftover_cgroups(layout)]
    found += [f"pid {p}" for n in layout.nodes for p in machine.processes(layout, n)]
    return found


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.split(") ", 1)[1].startswith("Z"):
            return False
    return True
