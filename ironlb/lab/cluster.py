"""`ironlb lab up|down|status`: the lab's lifecycle.

``up`` builds the namespaces, starts the ToR (FRR + sshd), the API emulator (root namespace,
127.0.0.1) with a unix-socket forwarder that makes the same 127.0.0.1:<port> reach it from
every node namespace, and one node agent per node; it waits until the three Nodes are Ready.
Every pid goes into the state file as soon as it exists, so ``down`` — also after a failed
``up`` — stops everything by pid, sweeps any process left in a lab namespace, deletes the
namespaces, the ToR's login user and the state directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ironlb.lab import topology
from ironlb.lab.layout import Layout
from ironlb.lab.shell import LabError, run
from ironlb.lab.state import LabState
from ironlb.lab.tor import start_tor
from ironlb.netns.process import kill_pids, netns_inode, pids_in_netns

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "ironlb" / "config" / "crds"
REQUIRED_TOOLS = ("ip", "nft", "socat", "/usr/sbin/sshd", "/usr/lib/frr/zebra", "vtysh", "curl")
Step = Callable[[str], None]
# ClusterIPs come from the emulator's default 198.19.128.0/17: inside the lab's ranges, as they
# appear in the nodes' nft rules.


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
    step("network namespaces (3 nodes, ToR, client)")
    topology.build(layout)
    step("ToR router: FRR and sshd (vtysh login shell)")
    tor = start_tor(layout)
    state.pids.update(tor.pids)
    state.save(layout.state_file)
    step("Kubernetes API emulator")
    argv = [
        sys.executable,
        "-m",
        "ironlb.emulator",
        "--port",
        str(layout.api_port),
        "--kubeconfig",
        str(layout.kubeconfig),
        "--state",
        str(layout.state_dir / "emulator-state.json"),
        # RBAC enforced, as on a real cluster: pods get their ServiceAccount's token, so the
        # rollout proves the ironlb role's least-privilege RBAC is enough (and kubectl sends
        # bearer tokens only over HTTPS).
        "--authorization",
        "rbac",
        "--tls",
    ]
    if CRDS.is_dir():
        argv += ["--crds", str(CRDS)]
    state.pids["emulator"] = _spawn(argv, logs / "emulator.log")
    state.save(layout.state_file)
    _wait(
        lambda: _port_open(layout.api_port) and layout.kubeconfig.exists(),
        30,
        "the API emulator",
        logs / "emulator.log",
    )
    step("API forwarders into the node namespaces")
    with contextlib.suppress(FileNotFoundError):
        layout.api_socket.unlink()
    state.pids["api-forwarder"] = _spawn(
        [
            "socat",
            f"UNIX-LISTEN:{layout.api_socket},fork,mode=600",
            f"TCP:127.0.0.1:{layout.api_port}",
        ],
        logs / "forwarder.log",
    )
    _wait(layout.api_socket.exists, 10, "the API socket")
    for node in layout.nodes:
        state.pids[f"forwarder-{node.name}"] = _spawn(
            [
                "ip",
                "netns",
                "exec",
                node.netns,
                "socat",
                f"TCP-LISTEN:{layout.api_port},bind=127.0.0.1,fork,reuseaddr",
                f"UNIX-CONNECT:{layout.api_socket}",
            ],
            logs / "forwarder.log",
        )
    state.save(layout.state_file)
    step("node agents (kubelet + kube-proxy stand-ins)")
    for node in layout.nodes:
        argv = [
            sys.executable,
            "-m",
            "ironlb.lab.agent",
            "--prefix",
            layout.prefix,
            "--state-dir",
            str(layout.state_dir),
            "--node",
            node.name,
        ]
        if node.index == 1:
            argv.append("--controllers")
        state.pids[f"agent-{node.name}"] = _spawn(argv, logs / f"agent-{node.name}.log")
    state.save(layout.state_file)
    _wait(
        lambda: _ready_nodes(layout) == len(layout.nodes),
        30,
        "three Ready nodes",
        logs / "agent-node1.log",
    )


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
    others = [pid for name, pid in pids.items() if not name.startswith("agent-")]
    if others:
        step("stopping the ToR, the emulator and the forwarders")
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
