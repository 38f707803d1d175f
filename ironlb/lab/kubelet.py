"""The lab kubelet: runs the Pods bound to one node as processes, and reports their status.

Host-network Pods run in the node's namespace; the others get a namespace of their own with a
veth on the node's pod bridge and an address from the node's pod CIDR. A container whose
process exits is restarted (``restartCount`` goes up), a Pod that disappears from the API is
stopped and its namespace removed. Every process gets its own session, so only this agent
signals it, by pid.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironlb.emulator.kubeconfig import service_account_kubeconfig
from ironlb.lab.layout import Layout, Node
from ironlb.lab.podspec import Launch, Lookup, PodSpecError, launches
from ironlb.lab.shell import LabError, ip_batch, run

Obj = dict[str, Any]
RESTART_BACKOFF = 1.0  # seconds between a container's exit and its restart
IRONLB_READY_AFTER = 1.0  # an ironlb process alive this long counts as ready


@dataclass
class Container:
    launch: Launch
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    started_at: str = ""
    exited_at: float | None = None
    restarts: int = 0
    last_exit: int | None = None


@dataclass
class PodRun:
    namespace: str
    name: str
    uid: str
    netns: str
    ip: str
    own_netns: bool
    ready_dir: Path
    containers: dict[str, Container] = field(default_factory=dict)
    forwarder: subprocess.Popen[bytes] | None = None
    error: str | None = None
    kubeconfig: Path | None = None  # the pod's ServiceAccount credentials


def _now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Kubelet:
    def __init__(self, layout: Layout, node: Node, bin_dir: Path) -> None:
        self.layout = layout
        self.node = node
        self.bin_dir = bin_dir
        self.pods: dict[tuple[str, str], PodRun] = {}
        self.run_dir = layout.state_dir / "pods" / node.name
        self.run_dir.mkdir(parents=True, exist_ok=True)

    # ----- reconcile ---------------------------------------------------------------------
    def sync(self, bound: list[Obj], lookup: Lookup, now: float) -> None:
        """Make the running pods match ``bound`` (the API's pods for this node)."""
        wanted = {
            (p["metadata"]["namespace"], p["metadata"]["name"]): p
            for p in bound
            if not p["metadata"].get("deletionTimestamp")
        }
        for key, run_ in list(self.pods.items()):
            pod = wanted.get(key)
            if pod is None or pod["metadata"].get("uid") != run_.uid:
                self.stop_pod(key)
        for key, pod in wanted.items():
            if key not in self.pods:
                self.start_pod(pod, lookup, now, taken=self._taken_ips(bound))
        for run_ in self.pods.values():
            self._restart_exited(run_, now)

    def _taken_ips(self, bound: list[Obj]) -> set[str]:
        ips = {r.ip for r in self.pods.values()}
        ips |= {p.get("status", {}).get("podIP") or "" for p in bound}
        return ips

    def _alloc_ip(self, taken: set[str]) -> str:
        net = ipaddress.ip_network(self.node.pod_cidr)
        for host in list(net.hosts())[1:]:
            if str(host) not in taken:
                return str(host)
        raise LabError(f"node {self.node.name}: pod CIDR {net} is full")

    def start_pod(self, pod: Obj, lookup: Lookup, now: float, taken: set[str]) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        host = bool(pod.get("spec", {}).get("hostNetwork"))
        ready_dir = self.run_dir / f"{meta['namespace']}_{meta['name']}"
        ready_dir.mkdir(parents=True, exist_ok=True)
        if host:
            run_ = PodRun(
                *key, meta.get("uid", ""), self.node.netns, self.node.ipv4, False, ready_dir
            )
        else:
            ip = self._alloc_ip(taken)
            netns = self.layout.pod_netns(*key)
            run_ = PodRun(*key, meta.get("uid", ""), netns, ip, True, ready_dir)
        self.pods[key] = run_
        try:
            if run_.own_netns:
                self._setup_pod_network(run_)
            specs = launches(pod, lookup, run_.ip, self.node.ipv4, self.bin_dir)
            if any(s.ironlb for s in specs):
                run_.kubeconfig = self._service_account_kubeconfig(pod, ready_dir)
            if run_.own_netns and any(s.ironlb for s in specs):
                run_.forwarder = self._start_forwarder(run_.netns)
            for spec in specs:
                container = Container(spec)
                run_.containers[spec.container] = container
                self._start_container(run_, container, now)
        except (PodSpecError, LabError, OSError) as exc:
            run_.error = str(exc)

    def _service_account_kubeconfig(self, pod: Obj, ready_dir: Path) -> Path:
        """What a kubelet projects into the pod: a token for its ServiceAccount (TokenRequest),
        here as a kubeconfig, so ironlb runs with exactly the rights the role gave it."""
        ns = pod["metadata"]["namespace"]
        account = pod.get("spec", {}).get("serviceAccountName") or "default"
        path = ready_dir / "kubeconfig"
        try:
            service_account_kubeconfig(str(self.layout.kubeconfig), ns, account, path)
        except (OSError, KeyError, ValueError) as exc:  # urllib's HTTPError is an OSError
            raise LabError(f"serviceaccount {ns}/{account}: no token: {exc}") from None
        return path

    def _setup_pod_network(self, run_: PodRun) -> None:
        layout, node = self.layout, self.node
        host_if = layout.pod_host_if(run_.namespace, run_.name)
        with contextlib.suppress(LabError):
            run(["ip", "netns", "del", run_.netns])
        run(["ip", "netns", "add", run_.netns])
        run(
            [
                "ip",
                "link",
                "add",
                host_if,
                "netns",
                node.netns,
                "type",
                "veth",
                "peer",
                "name",
                layout.lan_if,
                "netns",
                run_.netns,
            ]
        )
        ip_batch(
            node.netns, [f"link set {host_if} master {layout.pod_bridge}", f"link set {host_if} up"]
        )
        ip_batch(
            run_.netns,
            [
                "link set lo up",
                f"link set {layout.lan_if} up",
                f"addr add {run_.ip}/24 dev {layout.lan_if}",
                f"route add default via {node.pod_gateway}",
            ],
        )

    def _start_forwarder(self, netns: str) -> subprocess.Popen[bytes]:
        """The API at 127.0.0.1:<port> inside the pod's namespace, like in the node's."""
        port = self.layout.api_port
        argv = [
            "ip",
            "netns",
            "exec",
            netns,
            "socat",
            f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
            f"UNIX-CONNECT:{self.layout.api_socket}",
        ]
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _start_container(self, run_: PodRun, c: Container, now: float) -> None:
        spec = c.launch
        argv = list(spec.argv)
        ready_file = run_.ready_dir / f"{spec.container}.ready"
        with contextlib.suppress(FileNotFoundError):
            ready_file.unlink()
        if not spec.ironlb:
            argv.append(f"--ready-file={ready_file}")
        env = {
            **os.environ,
            **spec.env,
            "KUBECONFIG": str(run_.kubeconfig or self.layout.kubeconfig),
            "PYTHONUNBUFFERED": "1",
        }
        log = (run_.ready_dir / f"{spec.container}.log").open("ab")
        c.proc = subprocess.Popen(
            ["ip", "netns", "exec", run_.netns, *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        c.started = now
        c.started_at = _now_rfc3339()
        c.exited_at = None

    def _restart_exited(self, run_: PodRun, now: float) -> None:
        for c in run_.containers.values():
            if c.proc is None or c.proc.poll() is None:
                continue
            if c.exited_at is None:
                c.exited_at = now
                c.last_exit = c.proc.returncode
            if now - c.exited_at >= RESTART_BACKOFF:
                c.restarts += 1
                self._start_container(run_, c, now)

    def stop_pod(self, key: tuple[str, str]) -> None:
        run_ = self.pods.pop(key, None)
        if run_ is None:
            return
        procs = [c.proc for c in run_.containers.values() if c.proc is not None]
        if run_.forwarder is not None:
            procs.append(run_.forwarder)
        stop_processes(procs)
        if run_.own_netns:
            with contextlib.suppress(LabError):
                run(["ip", "netns", "del", run_.netns])

    def stop_all(self) -> None:
        for key in list(self.pods):
            self.stop_pod(key)

    def pids(self) -> list[int]:
        out = []
        for run_ in self.pods.values():
            out += [c.proc.pid for c in run_.containers.values() if c.proc is not None]
            if run_.forwarder is not None:
                out.append(run_.forwarder.pid)
        return out

    # ----- status ------------------------------------------------------------------------
    def status_of(self, key: tuple[str, str], now: float) -> Obj | None:
        run_ = self.pods.get(key)
        if run_ is None:
            return None
        statuses = []
        all_ready = bool(run_.containers) and run_.error is None
        for name, c in run_.containers.items():
            alive = c.proc is not None and c.proc.poll() is None
            if c.launch.ironlb:
                ready = alive and now - c.started >= IRONLB_READY_AFTER
            else:
                ready = alive and (run_.ready_dir / f"{name}.ready").exists()
            all_ready = all_ready and ready
            state: Obj
            if alive:
                state = {"running": {"startedAt": c.started_at}}
            else:
                state = {
                    "waiting": {"reason": "CrashLoopBackOff" if c.restarts else "ContainerCreating"}
                }
            entry: Obj = {
                "name": name,
                "ready": ready,
                "started": alive,
                "restartCount": c.restarts,
                "state": state,
                "image": "",
                "imageID": "",
                "containerID": f"lab://{c.proc.pid if c.proc else 0}",
            }
            if c.last_exit is not None:
                entry["lastState"] = {"terminated": {"exitCode": c.last_exit}}
            statuses.append(entry)
        cond = "True" if all_ready else "False"
        status: Obj = {
            "phase": "Running" if run_.error is None else "Pending",
            "hostIP": self.node.ipv4,
            "hostIPs": [{"ip": self.node.ipv4}],
            "podIP": run_.ip,
            "podIPs": [{"ip": run_.ip}],
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": cond},
                {"type": "Ready", "status": cond},
            ],
            "containerStatuses": statuses,
        }
        if run_.error:
            status["message"] = run_.error
            status["reason"] = "CreateContainerConfigError"
        return status


def stop_processes(procs: list[subprocess.Popen[bytes]], timeout: float = 3.0) -> None:
    """SIGTERM each (by pid), wait a bounded time, SIGKILL what is left."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
