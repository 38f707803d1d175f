"""The lab node agent: kubelet + kube-proxy for one node (and, on one node, the controllers).

``python -m ironlb.lab.agent --prefix ilb-lab --node node1 [--controllers]``

Watches only wake it; each pass lists what it needs and converges (level-triggered): pods
bound to the node run as processes (``kubelet.py``), the node's nftables table is rewritten
when the Services or EndpointSlices change (``proxy_rules.py``). With ``--controllers`` it
also plays kube-controller-manager: Deployments/DaemonSets → Pods (``workloads.py``) and
Services → EndpointSlices/Endpoints (``endpoints.py``).
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes.client.rest import ApiException

from ironlb.lab import endpoints, proxy_rules, workloads
from ironlb.lab.kubelet import Kubelet
from ironlb.lab.layout import Layout, Node
from ironlb.lab.podspec import decode_secret
from ironlb.lab.rest import Rest
from ironlb.lab.shell import LabError, in_netns, run
from ironlb.log import configure_logging, get_logger

Obj = dict[str, Any]
log = get_logger("ironlb.lab.agent")
PROCESS_CHECK = 0.25  # how often dead containers are noticed (seconds)
RESYNC = 10.0  # full relist even without watch events


def node_object(node: Node, pod_cidr: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/lab": "",
            },
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
    }


def node_status(node: Node) -> Obj:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "addresses": [
            {"type": "InternalIP", "address": node.ipv4},
            {"type": "InternalIP", "address": node.ipv6},
            {"type": "Hostname", "address": node.name},
        ],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "lab agent is posting ready status",
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }
        ],
        "nodeInfo": {
            "kubeletVersion": "v1.32.0-ironlb-lab",
            "kubeProxyVersion": "v1.32.0",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def _status_view(status: Obj | None) -> Obj:
    """The parts of a Pod status that matter for change detection (no timestamps)."""
    status = status or {}
    return {
        "phase": status.get("phase"),
        "podIP": status.get("podIP"),
        "conds": sorted((c.get("type"), c.get("status")) for c in status.get("conditions") or []),
        "containers": sorted(
            (c.get("name"), c.get("ready"), c.get("restartCount"), "running" in c.get("state", {}))
            for c in status.get("containerStatuses") or []
        ),
    }


class Agent:
    def __init__(self, layout: Layout, node: Node, rest: Rest, controllers: bool) -> None:
        self.layout = layout
        self.node = node
        self.rest = rest
        self.controllers = controllers
        self.kubelet = Kubelet(layout, node, Path(sys.executable).parent)
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.pods: list[Obj] = []
        self.applied_rules: str | None = None
        self.last_list = 0.0

    # ----- main loop ---------------------------------------------------------------------
    def run(self) -> None:
        self.register_node()
        kinds = ["pods", "services", "endpointslices", "nodes"]
        if self.controllers:
            kinds += ["deployments", "daemonsets"]
        for kind in kinds:
            threading.Thread(
                target=self.rest.watch_forever, args=(kind, self.wake.set, self.stop), daemon=True
            ).start()
        try:
            while not self.stop.is_set():
                woke = self.wake.wait(PROCESS_CHECK)
                self.wake.clear()
                now = time.monotonic()
                try:
                    if woke or now - self.last_list >= RESYNC:
                        self.last_list = now
                        self.reconcile(now)
                    else:
                        self.check_processes(now)
                except (ApiException, LabError, OSError) as exc:
                    log.warning("reconcile.failed", node=self.node.name, error=str(exc)[:300])
                    self.stop.wait(0.5)
        finally:
            self.kubelet.stop_all()
            self.flush_rules()

    def register_node(self) -> None:
        existing = self.rest.call("GET", "/api/v1/nodes").get("items", [])
        if not any(n["metadata"]["name"] == self.node.name for n in existing):
            self.rest.call("POST", "/api/v1/nodes", node_object(self.node, self.node.pod_cidr))
        self.rest.call(
            "PATCH",
            f"/api/v1/nodes/{self.node.name}/status",
            {"status": node_status(self.node)},
            content_type="application/merge-patch+json",
        )

    def reconcile(self, now: float) -> None:
        pods = self.rest.list("pods")
        services = self.rest.list("services")
        if self.controllers:
            nodes = self.rest.list("nodes")
            if self.run_controllers(pods, nodes, services):
                pods = self.rest.list("pods")
        self.pods = pods
        self.sync_pods(now)
        self.sync_proxy(services, self.rest.list("endpointslices"))

    def check_processes(self, now: float) -> None:
        before = {k: _status_view(self.kubelet.status_of(k, now)) for k in self.kubelet.pods}
        self.kubelet.sync(self._bound(), self.lookup, now)
        after = {k: _status_view(self.kubelet.status_of(k, now)) for k in self.kubelet.pods}
        if before != after:
            self.wake.set()

    def _bound(self) -> list[Obj]:
        return [p for p in self.pods if p.get("spec", {}).get("nodeName") == self.node.name]

    # ----- kubelet -----------------------------------------------------------------------
    def lookup(self, kind: str, namespace: str, name: str, key: str) -> str | None:
        plural = "secrets" if kind == "Secret" else "configmaps"
        obj = self.rest.get(plural, namespace, name)
        if obj is None:
            return None
        if kind == "Secret":
            return decode_secret(obj, key)
        return (obj.get("data") or {}).get(key)

    def sync_pods(self, now: float) -> None:
        bound = self._bound()
        self.kubelet.sync(bound, self.lookup, now)
        for pod in bound:
            meta = pod["metadata"]
            key = (meta["namespace"], meta["name"])
            status = self.kubelet.status_of(key, now)
            if status is None or _status_view(status) == _status_view(pod.get("status")):
                continue
            try:
                self.rest.merge_patch("pods", *key, {"status": status}, sub="status")
            except ApiException as exc:
                if exc.status != 404:
                    raise

    # ----- kube-proxy --------------------------------------------------------------------
    def sync_proxy(self, services: list[Obj], slices: list[Obj]) -> None:
        script = proxy_rules.render(self.layout.prefix, self.node.name, services, slices)
        if script == self.applied_rules:
            return
        in_netns(self.node.netns, ["nft", "-f", "-"], stdin=script)
        self.applied_rules = script
        log.info("proxy.applied", node=self.node.name, services=len(services))

    def flush_rules(self) -> None:
        table = proxy_rules.table_name(self.layout.prefix)
        run(
            ["ip", "netns", "exec", self.node.netns, "nft", "delete", "table", "ip", table],
            check=False,
        )

    # ----- controllers -------------------------------------------------------------------
    def run_controllers(self, pods: list[Obj], nodes: list[Obj], services: list[Obj]) -> bool:
        deployments = self.rest.list("deployments")
        daemonsets = self.rest.list("daemonsets")
        plan = workloads.plan_workloads(
            deployments, daemonsets, pods, nodes, lambda: secrets.token_hex(3)[:5]
        )
        for ns, name in plan.delete:
            self.rest.delete("pods", ns, name)
            log.info("pod.deleted", pod=f"{ns}/{name}")
        for pod in plan.create:
            self.rest.create("pods", pod)
            log.info(
                "pod.created",
                pod=f"{pod['metadata']['namespace']}/{pod['metadata']['name']}",
                node=pod["spec"].get("nodeName"),
            )
        changed = bool(plan.delete or plan.create)
        if changed:
            pods = self.rest.list("pods")
        self.sync_workload_status(deployments, daemonsets, pods, nodes)
        self.sync_endpoints(services, pods)
        return changed

    def sync_workload_status(
        self, deployments: list[Obj], daemonsets: list[Obj], pods: list[Obj], nodes: list[Obj]
    ) -> None:
        owned: dict[str, list[Obj]] = {}
        for pod in pods:
            uid = workloads.owner_uid(pod)
            if uid:
                owned.setdefault(uid, []).append(pod)
        ready_nodes = sum(1 for n in nodes if workloads.node_ready(n))
        for dep in deployments:
            want = workloads.deployment_status(dep, owned.get(dep["metadata"]["uid"], []))
            self._patch_status("deployments", dep, want)
        for ds in daemonsets:
            want = workloads.daemonset_status(ds, owned.get(ds["metadata"]["uid"], []), ready_nodes)
            self._patch_status("daemonsets", ds, want)

    def _patch_status(self, kind: str, obj: Obj, want: Obj) -> None:
        have = obj.get("status") or {}
        if all(have.get(k) == v for k, v in want.items()):
            return
        meta = obj["metadata"]
        try:
            self.rest.merge_patch(
                kind, meta["namespace"], meta["name"], {"status": want}, sub="status"
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    def sync_endpoints(self, services: list[Obj], pods: list[Obj]) -> None:
        slices = {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s
            for s in self.rest.list("endpointslices")
        }
        eps = {
            (e["metadata"]["namespace"], e["metadata"]["name"]): e
            for e in self.rest.list("endpoints")
        }
        wanted_slices: set[tuple[str, str]] = set()
        for svc in services:
            want = endpoints.desired_slice(svc, pods)
            if want is None:
                continue
            key = (want["metadata"]["namespace"], want["metadata"]["name"])
            wanted_slices.add(key)
            self._put(slices.get(key), want, "endpointslices", ("endpoints", "ports"))
            want_ep = endpoints.desired_endpoints(want)
            ep_key = (want_ep["metadata"]["namespace"], want_ep["metadata"]["name"])
            self._put(eps.get(ep_key), want_ep, "endpoints", ("subsets",))
        for key, have in slices.items():
            labels = have["metadata"].get("labels") or {}
            if labels.get("endpointslice.kubernetes.io/managed-by") == endpoints.MANAGED_BY and (
                key not in wanted_slices
            ):
                self.rest.delete("endpointslices", *key)

    def _put(self, have: Obj | None, want: Obj, kind: str, fields: tuple[str, ...]) -> None:
        if have is None:
            self.rest.create(kind, want)
        elif not endpoints.same_content(have, want, fields):
            want["metadata"]["resourceVersion"] = have["metadata"].get("resourceVersion")
            self.rest.replace(kind, want)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ironlb.lab.agent")
    parser.add_argument("--prefix", default="ilb-lab")
    parser.add_argument("--state-dir", default=None)
    parser.add_argument("--node", required=True)
    parser.add_argument("--controllers", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("info")
    layout = Layout.for_prefix(args.prefix, Path(args.state_dir) if args.state_dir else None)
    agent = Agent(layout, layout.node(args.node), Rest(str(layout.kubeconfig)), args.controllers)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop.set())
    signal.signal(signal.SIGINT, lambda *_: agent.stop.set())
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
