"""The ironlb role's RBAC, enforced: the real controller and speaker run with nothing but
their ServiceAccount tokens against a real kube-apiserver (Node,RBAC) and do their whole job
(sufficient), while the promised denials hold (least): the speaker cannot write Services,
the controller cannot read Secrets."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ironlb.kube.errors import ApiError
from ironlb.kube.resources import (
    BGPSESSIONSTATES,
    EVENTS,
    IPADDRESSPOOLS,
    LEASES,
    SECRETS,
    SERVICEBGPSTATUSES,
    SERVICEL2STATUSES,
    SERVICES,
)
from ironlb.netns import wait_until
from tests.integration.rbac.harness import (
    APP_NS,
    CONTROLLER_SA,
    NODE,
    NS,
    PEER_IP,
    SPEAKER_SA,
    RbacLab,
    forbidden_lines,
)
from tests.plugins.kubeapi import KubeApiServer

PREFIX = "ilb-rb"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def lab(
    kube_apiserver: KubeApiServer,
    netns_topology_module: Callable[..., Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RbacLab]:
    if shutil.which("socat") is None:
        pytest.skip("needs socat (Debian package socat) to reach the apiserver from a namespace")
    workdir = tmp_path_factory.mktemp("rbac-lab")
    # the shared server for this whole module: reset when the module is done
    with kube_apiserver.scope() as server:
        lab: RbacLab | None = None
        try:
            topo = netns_topology_module({"lan": (NODE, "peer")}, prefix=PREFIX)
            lab = RbacLab(server, topo, workdir)
            lab.apply_rbac()
            lab.seed()
            lab.start_controller()
            lab.build_network()
            lab.start_speaker()
            yield lab
        finally:
            if lab is not None:
                lab.close()


def _ingress(lab: RbacLab) -> str | None:
    svc = lab.admin.get(SERVICES, "web", APP_NS)
    ingress = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
    return ingress[0].get("ip") if ingress else None


def test_controller_works_with_only_its_service_account(lab: RbacLab) -> None:
    def assigned() -> str | None:
        if lab.controller is not None and lab.controller.poll() is not None:
            return f"controller exited:\n{lab.log('controller')[-3000:]}"
        return None if _ingress(lab) else "no address assigned yet"

    wait_until(assigned, 30, interval=0.2)
    ip = _ingress(lab)
    assert ip is not None and ip.startswith("203.0.113.")

    def pool_annotation() -> str | None:  # written just after the status
        svc = lab.admin.get(SERVICES, "web", APP_NS)
        pool = (svc["metadata"].get("annotations") or {}).get("metallb.io/ip-allocated-from-pool")
        return None if pool == "lan" else f"pool annotation {pool!r}"

    wait_until(pool_annotation, 15, interval=0.2)

    def pool_status() -> str | None:
        status = lab.admin.get(IPADDRESSPOOLS, "lan", NS).get("status") or {}
        return None if status.get("assignedIPv4") == 1 else f"pool status {status}"

    wait_until(pool_status, 15, interval=0.2)

    def allocated_event() -> str | None:  # Events are written in the background
        events = lab.admin.list(EVENTS, APP_NS)["items"]
        reasons = {e.get("reason") for e in events if e["involvedObject"]["name"] == "web"}
        return None if "IPAllocated" in reasons else f"Event reasons so far: {reasons}"

    wait_until(allocated_event, 15, interval=0.2)
    lease = lab.admin.get(LEASES, "ironlb-controller", NS)
    assert lease["spec"]["holderIdentity"] == "controller-0"
    assert forbidden_lines(lab.log("controller")) == []


def test_speaker_works_with_only_its_service_account(lab: RbacLab) -> None:
    wait_until(lambda: None if _ingress(lab) else "no address assigned yet", 30, interval=0.2)

    def reported() -> str | None:
        if lab.speaker is not None and not lab.speaker.alive:
            return f"speaker exited:\n{lab.log('speaker')[-3000:]}"
        # Created first, status patched a moment later: wait for the status too.
        l2 = [o for o in lab.admin.list(SERVICEL2STATUSES, NS)["items"] if o.get("status")]
        sessions = [o for o in lab.admin.list(BGPSESSIONSTATES, NS)["items"] if o.get("status")]
        if not l2:
            return "no ServiceL2Status yet"
        if not sessions:
            return "no BGPSessionState yet"
        if not lab.admin.list(SERVICEBGPSTATUSES, NS)["items"]:
            return "no ServiceBGPStatus yet"
        return None

    wait_until(reported, 40, interval=0.3)
    log = lab.log("speaker")
    assert "speaker.ready" in log  # it read the memberlist Secret (else it would not start)
    l2 = lab.admin.list(SERVICEL2STATUSES, NS)["items"][0]
    assert l2["status"]["node"] == NODE
    assert l2["status"]["serviceName"] == "web"
    session = lab.admin.list(BGPSESSIONSTATES, NS)["items"][0]
    assert session["status"]["peerAddress"] == PEER_IP
    assert session["status"]["bgpStatus"] != "Established"  # nothing listens there
    assert forbidden_lines(log) == []


def _denied(call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as exc:
        call()
    assert exc.value.status == 403, exc.value
    return exc.value


def test_least_privilege_denials(lab: RbacLab) -> None:
    speaker = lab.kube_as(SPEAKER_SA)
    controller = lab.kube_as(CONTROLLER_SA)
    # the speaker reads Services but cannot write them or their status
    assert speaker.get(SERVICES, "web", APP_NS)["metadata"]["name"] == "web"
    err = _denied(
        lambda: speaker.patch(SERVICES, "web", {"metadata": {"labels": {"x": "y"}}}, APP_NS)
    )
    assert (
        'services "web" is forbidden: User "system:serviceaccount:metallb-system:ironlb-speaker"'
        f' cannot patch resource "services" in API group "" in the namespace "{APP_NS}"'
    ) in str(err)
    _denied(lambda: speaker.patch(SERVICES, "web", {"status": {}}, APP_NS, subresource="status"))
    _denied(lambda: speaker.create(IPADDRESSPOOLS, {"metadata": {"name": "x", "namespace": NS}}))
    # the controller reads no Secrets, anywhere, not even by name
    err = _denied(lambda: controller.list(SECRETS, NS))
    assert (
        'secrets is forbidden: User "system:serviceaccount:metallb-system:ironlb-controller"'
        ' cannot list resource "secrets" in API group "" in the namespace "metallb-system"'
    ) in str(err)
    _denied(lambda: controller.get(SECRETS, "memberlist", NS))
    _denied(lambda: controller.list(SECRETS))
    # and it only touches its own namespace's Leases
    _denied(lambda: controller.create(LEASES, {"metadata": {"name": "x", "namespace": "default"}}))


@pytest.mark.parametrize(
    ("account", "args", "answer"),
    [
        (SPEAKER_SA, ("patch", "services", "-n", APP_NS), "no"),
        (SPEAKER_SA, ("update", "services", "--subresource=status", "-A"), "no"),
        (SPEAKER_SA, ("watch", "secrets", "-n", NS), "yes"),
        (SPEAKER_SA, ("get", "secrets", "-n", "default"), "no"),
        (SPEAKER_SA, ("create", "bgpsessionstates.metallb.io", "-n", NS), "yes"),
        (CONTROLLER_SA, ("list", "secrets", "-n", NS), "no"),
        (CONTROLLER_SA, ("patch", "services", "--subresource=status", "-A"), "yes"),
        (CONTROLLER_SA, ("update", "leases.coordination.k8s.io", "-n", NS), "yes"),
        (CONTROLLER_SA, ("update", "leases.coordination.k8s.io", "-n", "kube-system"), "no"),
        (CONTROLLER_SA, ("delete", "ipaddresspools.metallb.io", "-n", NS), "no"),
    ],
)
def test_kubectl_auth_can_i_with_the_role_service_accounts(
    lab: RbacLab, account: str, args: tuple[str, ...], answer: str
) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("needs kubectl on PATH")
    kubeconfig = str(lab.kubeconfigs[account])
    cache = str(lab.workdir / f"kubectl-cache-{account}")
    argv = ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", cache, "auth", "can-i", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == answer, done.stderr


def test_no_403_in_either_log_after_the_whole_run(lab: RbacLab) -> None:
    """Last: Lease renewals, relists and status rewrites since the first checks were allowed."""
    assert lab.controller is not None and lab.controller.poll() is None
    assert lab.speaker is not None and lab.speaker.alive
    lease = lab.admin.get(LEASES, "ironlb-controller", NS)
    assert lease["spec"]["renewTime"] != lease["spec"]["acquireTime"]  # renewed under RBAC
    assert forbidden_lines(lab.log("controller")) == []
    assert forbidden_lines(lab.log("speaker")) == []
