"""A real kube-apiserver (RBAC enforced) holding the ironlb role's rendered RBAC,
ServiceAccount kubeconfigs (bound TokenRequest tokens), and the real controller (root
namespace) and speaker (its own network namespace) running with nothing but those credentials.

The speaker opens raw sockets on its interfaces, so it only ever runs inside the `ilb-rb-node1`
namespace: `lan` (198.51.100.11/24) on a bridge shared with `ilb-rb-peer` (198.51.100.2, the
BGP peer address, where nothing listens). The apiserver listens on 127.0.0.1 in the root
namespace; a socat unix-socket forwarder makes the same 127.0.0.1:<port> reach it from the
node (as tests/netns/l2/harness.py does).
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jinja2

from ironlb import yamlio
from ironlb.kube.client import Kube
from ironlb.kube.errors import AlreadyExists
from ironlb.kube.resources import (
    BGPADVERTISEMENTS,
    BGPPEERS,
    ENDPOINTSLICES,
    IPADDRESSPOOLS,
    L2ADVERTISEMENTS,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    Resource,
)
from ironlb.netns import Proc, Topology, wait_until

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "collections/ansible_collections/ironlb/baremetal/roles/ironlb"
NS = "metallb-system"
NODE = "node1"
NODE_IP = "198.51.100.11"
PEER_IP = "198.51.100.2"
POOL = "203.0.113.0/28"
APP_NS = "rbac-web"  # where the Service the controller and speaker serve lives
PYTHON = sys.executable
CONTROLLER_SA = "ironlb-controller"
SPEAKER_SA = "ironlb-speaker"


def rendered_rbac() -> list[dict[str, Any]]:
    """The role's rbac.yml.j2 as the playbook renders it (tests/playbook/test_rbac.py)."""
    text = (ROLE / "templates" / "rbac.yml.j2").read_text()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    out = env.from_string(text).render(ironlb_namespace=NS)
    return [d for d in yamlio.load_all(out) if d]


_RBAC = "rbac.authorization.k8s.io"
KINDS: dict[str, Resource] = {
    "ServiceAccount": Resource("", "v1", "serviceaccounts", "ServiceAccount", True),
    "Role": Resource(_RBAC, "v1", "roles", "Role", True),
    "RoleBinding": Resource(_RBAC, "v1", "rolebindings", "RoleBinding", True),
    "ClusterRole": Resource(_RBAC, "v1", "clusterroles", "ClusterRole", False),
    "ClusterRoleBinding": Resource(_RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False),
}
# a 403 as urllib3 logs it at debug level, or a Status message/reason anywhere else
FORBIDDEN_MARKERS = ('" 403 ', "forbidden", "Forbidden")


class RbacLab:
    def __init__(self, server: Any, topo: Topology, workdir: Path) -> None:
        """`server`: the kube-apiserver (a tests.plugins.kubeapi scope or server)."""
        self.server = server
        self.topo = topo
        self.workdir = workdir
        self.admin = Kube(server.api_client())
        self.port = urlparse(server.url).port
        self.controller: subprocess.Popen[bytes] | None = None
        self.speaker: Proc | None = None
        self._helpers: list[subprocess.Popen[bytes]] = []
        self._node_forwarder: Proc | None = None
        self.kubeconfigs: dict[str, Path] = {}

    # ---------------------------------------------------------------- API objects
    def create(self, resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        with contextlib.suppress(AlreadyExists):
            return self.admin.create(resource, obj)
        meta = obj["metadata"]
        return self.admin.get(resource, meta["name"], meta.get("namespace"))

    def apply_rbac(self) -> None:
        self.server.ensure_namespace(NS)
        for doc in rendered_rbac():
            self.create(KINDS[doc["kind"]], doc)
        for sa in (CONTROLLER_SA, SPEAKER_SA):
            path = self.workdir / f"{sa}.kubeconfig"
            self.kubeconfigs[sa] = self.server.service_account_kubeconfig(NS, sa, path)

    def kube_as(self, account: str) -> Kube:
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfigs[account]), client_configuration=configuration
        )
        return Kube(client.ApiClient(configuration))

    def seed(self) -> None:
        key = base64.b64encode(b"rbac-lab-heartbeat-key").decode()
        self.create(
            SECRETS,
            {"metadata": {"name": "memberlist", "namespace": NS}, "data": {"secretkey": key}},
        )
        self.create(
            IPADDRESSPOOLS,
            {"metadata": {"name": "lan", "namespace": NS}, "spec": {"addresses": [POOL]}},
        )
        self.create(L2ADVERTISEMENTS, {"metadata": {"name": "l2", "namespace": NS}, "spec": {}})
        self.create(
            BGPPEERS,
            {
                "metadata": {"name": "tor", "namespace": NS},
                "spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": PEER_IP},
            },
        )
        self.create(BGPADVERTISEMENTS, {"metadata": {"name": "bgp", "namespace": NS}, "spec": {}})
        self.create(
            NODES,
            {
                "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
                "status": {
                    "addresses": [{"type": "InternalIP", "address": NODE_IP}],
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            },
        )
        self.admin.patch(
            NODES,
            NODE,
            {"status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}},
            subresource="status",
        )
        pod = {
            "metadata": {"name": f"speaker-{NODE}", "namespace": NS},
            "spec": {"nodeName": NODE, "containers": [{"name": "speaker", "image": "ironlb"}]},
        }
        self.create(PODS, pod)
        self.server.ensure_namespace(APP_NS)
        self.create(
            SERVICES,
            {
                "metadata": {"name": "web", "namespace": APP_NS},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
            },
        )
        self.create(
            ENDPOINTSLICES,
            {
                "metadata": {
                    "name": "web-1",
                    "namespace": APP_NS,
                    "labels": {"kubernetes.io/service-name": "web"},
                },
                "addressType": "IPv4",
                "endpoints": [
                    {"addresses": ["10.244.1.5"], "nodeName": NODE, "conditions": {"ready": True}}
                ],
                "ports": [{"port": 80, "protocol": "TCP"}],
            },
        )

    # ---------------------------------------------------------------- processes
    def start_controller(self) -> None:
        log = open(self.workdir / "controller.log", "wb")  # noqa: SIM115 - handed to the child
        argv = [PYTHON, "-m", "ironlb.cli.main", "controller"]
        argv += ["--kubeconfig", str(self.kubeconfigs[CONTROLLER_SA]), "--namespace", NS]
        argv += ["--metrics-port", "0", "--metrics-host", "127.0.0.1"]
        argv += ["--leader-elect", "--identity", "controller-0", "--log-level", "debug"]
        self.controller = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        log.close()

    def build_network(self) -> None:
        self.topo.add_address(NODE, "lan", f"{NODE_IP}/24")
        self.topo.add_address("peer", "lan", f"{PEER_IP}/24")
        sock = self.workdir / "api.sock"
        root = subprocess.Popen(
            ["socat", f"UNIX-LISTEN:{sock},fork,mode=600", f"TCP:127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._helpers.append(root)
        wait_until(lambda: None if sock.exists() else "api socket missing", 10)
        listen = f"TCP-LISTEN:{self.port},bind=127.0.0.1,fork,reuseaddr"
        self._node_forwarder = self.topo.start(NODE, ["socat", listen, f"UNIX-CONNECT:{sock}"])

    def start_speaker(self) -> None:
        log = open(self.workdir / "speaker.log", "wb")  # noqa: SIM115 - handed to the child
        argv = [PYTHON, "-m", "ironlb.cli.main", "speaker", "--node-name", NODE]
        argv += ["--kubeconfig", str(self.kubeconfigs[SPEAKER_SA]), "--namespace", NS]
        argv += ["--bind-address", NODE_IP, "--interface", "lan", "--metrics-port", "7472"]
        argv += ["--pod-name", f"speaker-{NODE}", "--realtime-priority", "0"]
        argv += ["--log-level", "debug"]
        self.speaker = self.topo.start(
            NODE, argv, {"PYTHONPATH": str(REPO)}, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
        log.close()

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        """Stop what this lab started, by pid (the topology teardown follows)."""
        procs = [p for p in (self.speaker, self._node_forwarder) if p is not None]
        for proc in procs:
            if proc.alive:
                with contextlib.suppress(Exception):
                    proc.stop(timeout=5)
        for popen in [*([self.controller] if self.controller else []), *self._helpers]:
            if popen.poll() is None:
                popen.terminate()
                try:
                    popen.wait(5)
                except subprocess.TimeoutExpired:
                    popen.kill()
                    popen.wait(5)


def forbidden_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(m in line for m in FORBIDDEN_MARKERS)]
