"""The whole lab on real Kubernetes, end to end: `lab up` (machines, ToR, registry), site.yml in
L2 mode provisioning the cluster with kubeadm and reaching the Service from the client, the
cluster's real kubelets, containerd and ironlb pods from its image, a second run with
changed=0, the seed's hands-on with the real kubectl and real nginx, a deleted speaker pod and
a dead node with their recovery figures printed, BGP mode with BFD and the doctor, and
`lab down` leaving no namespace, mount, cgroup or process behind.

One lab for the module (kubeadm and each site.yml run take minutes on 2 cores).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ironlb.lab import cluster, machine, rollout
from ironlb.lab.layout import Layout
from ironlb.lab.shell import LabError
from ironlb.lab.tor import vtysh_argv
from ironlb.netns.process import netns_inode, pids_in_netns

pytestmark = [pytest.mark.netns, pytest.mark.peers, pytest.mark.slow, pytest.mark.timeout(900)]

LAYOUT = Layout.for_prefix("ilb-lt")

SEED_CONFIG = """\
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: kind-pool
  namespace: metallb-system
spec:
  addresses:
  - 203.0.113.200-203.0.113.250
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: kind-l2
  namespace: metallb-system
spec:
  ipAddressPools:
  - kind-pool
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[Layout]:
    cluster.down(LAYOUT)  # a previous run killed mid-way
    cluster.up(LAYOUT)
    try:
        yield LAYOUT
    finally:
        # The playbook and daemon logs outlive the lab, for a failed run's post-mortem.
        keep = Path(f"/tmp/{LAYOUT.prefix}-logs")
        shutil.rmtree(keep, ignore_errors=True)
        with contextlib.suppress(OSError):
            shutil.copytree(LAYOUT.state_dir / "logs", keep)
        cluster.down(LAYOUT)


def kubectl(*args: str, stdin: str | None = None) -> str:
    res = subprocess.run(
        ["kubectl", "--kubeconfig", str(LAYOUT.kubeconfig), *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert res.returncode == 0, f"kubectl {' '.join(args)}: {res.stderr}"
    return res.stdout


def client_curl(ip: str, timeout: float = 3) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", LAYOUT.client_netns, "curl", "-sS", "-m", str(timeout),
         f"http://{ip}/"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def external_ip(namespace: str, name: str) -> str | None:
    svc = json.loads(kubectl("get", "svc", "-n", namespace, name, "-o", "json"))
    ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress") or []
    return ingress[0]["ip"] if ingress else None


def test_failed_up_leaves_nothing_behind() -> None:
    # Runs before the module's lab exists: both test labs use the same management /32 pair.
    other = Layout.for_prefix("ilb-lt2")
    cluster.down(other)

    def boom(msg: str) -> None:
        if msg.startswith("API forwarder"):  # after the nodes, the registry and the ToR
            raise LabError("injected failure")

    with pytest.raises(LabError, match="injected"):
        cluster.up(other, step=boom)
    assert cluster.leftovers(other) == []


def test_lab_status_shows_every_process_running(lab: Layout, capsys) -> None:  # type: ignore[no-untyped-def]
    from ironlb.cli.main import main

    assert main(["lab", "--prefix", "ilb-lt", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["up"] and all(status["processes"].values())
    assert {"registry", "sshd", "sshd-node1", "api-forwarder", "frr-bgpd"} <= set(
        status["processes"]
    )
    assert set(LAYOUT.all_netns()) <= set(status["namespaces"])


def test_rollout_l2_reaches_the_service_from_the_client(lab: Layout) -> None:
    result = rollout.run_site(lab, "l2")
    assert result.ok, "\n".join(result.tail)
    assert result.external_ip and result.external_ip.startswith("203.0.113.")
    assert any("Welcome to nginx!" in line for line in result.curl)
    print(
        f"\nsite.yml l2: {result.seconds:.1f} s, changed={result.changed}, "
        f"external IP {result.external_ip}"
    )


def test_the_cluster_is_real_kubernetes(lab: Layout) -> None:
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["node1", "node2", "node3"]
    for node in nodes:
        info = node["status"]["nodeInfo"]
        assert info["kubeletVersion"] == "v1.32.13"
        assert info["containerRuntimeVersion"].startswith("containerd://")
        conds = {c["type"]: c["status"] for c in node["status"]["conditions"]}
        assert conds["Ready"] == "True"
        assert any(a["address"].startswith("198.51.100.") for a in node["status"]["addresses"])
    print("\n" + kubectl("get", "nodes", "-o", "wide"))
    pods = json.loads(kubectl("get", "pods", "-n", "metallb-system", "-o", "json"))["items"]
    speakers = [p for p in pods if "speaker" in p["metadata"]["name"]]
    controllers = [p for p in pods if "controller" in p["metadata"]["name"]]
    assert len(speakers) == 3 and len(controllers) >= 1
    assert {p["spec"]["nodeName"] for p in speakers} == {"node1", "node2", "node3"}
    for pod in speakers + controllers:
        assert pod["status"]["phase"] == "Running"
        [status] = pod["status"]["containerStatuses"]
        assert status["containerID"].startswith("containerd://")
        assert status["image"].startswith("localhost/ironlb:")
    print(kubectl("get", "pods", "-n", "metallb-system", "-o", "wide"))


def test_kubectl_logs_exec_and_port_forward_work(lab: Layout) -> None:
    pods = json.loads(kubectl("get", "pods", "-n", "kube-system", "-o", "json"))["items"]
    [dns, *_] = [p for p in pods if p["metadata"]["name"].startswith("coredns")]
    assert kubectl("logs", "-n", "kube-system", dns["metadata"]["name"]).strip()
    [speaker, *_] = [
        p
        for p in json.loads(kubectl("get", "pods", "-n", "metallb-system", "-o", "json"))["items"]
        if "speaker" in p["metadata"]["name"]
    ]
    name = speaker["metadata"]["name"]
    assert "usage" in kubectl("exec", "-n", "metallb-system", name, "--", "ironlb", "--help")
    port = 17000 + os.getpid() % 1000
    forward = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(LAYOUT.kubeconfig), "port-forward", "-n", "kube-system",
         f"pod/{dns['metadata']['name']}", f"{port}:8080"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def health() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                return None

        assert wait_for(health, 30, "CoreDNS /health through kubectl port-forward") == "OK"
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_second_site_run_changes_nothing(lab: Layout) -> None:
    result = rollout.run_site(lab, "l2")
    assert result.ok, "\n".join(result.tail)
    assert result.changed == 0, result.changed_tasks


def test_seed_hands_on_with_kubectl_and_curl(lab: Layout) -> None:
    kubectl("apply", "-f", "-", stdin=SEED_CONFIG)
    kubectl("create", "deployment", "web", "--image=nginx", "--port=80")
    kubectl("expose", "deployment", "web", "--type=LoadBalancer", "--port=80")
    ip = wait_for(lambda: external_ip("default", "web"), 60, "EXTERNAL-IP of svc web")
    table = kubectl("get", "svc", "web")
    assert ip in table and "<pending>" not in table
    print(f"\n{table}")
    res = wait_for(lambda: (r := client_curl(ip)).returncode == 0 and r, 60, f"curl {ip}")
    assert "Welcome to nginx!" in res.stdout
    head = subprocess.run(
        ["ip", "netns", "exec", LAYOUT.client_netns, "curl", "-sSI", "-m", "5", f"http://{ip}/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Server: nginx/1.22.1" in head  # Debian bookworm's nginx, not an imitation


def _web_pods() -> list[dict]:
    return json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]


def _ready(pod: dict) -> bool:
    conds = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def test_a_killed_pod_is_restarted_and_a_deleted_one_replaced(lab: Layout) -> None:
    [pod] = _web_pods()
    name = pod["metadata"]["name"]
    kubectl("exec", name, "--", "sh", "-c", "kill 1")  # nginx's master stops: container exits

    def restarted() -> bool:
        [now] = _web_pods()
        return now["status"]["containerStatuses"][0]["restartCount"] >= 1 and _ready(now)

    wait_for(restarted, 60, "the stopped container to be restarted")
    kubectl("delete", "pod", name, "--wait=false")

    def replaced() -> bool:
        pods = _web_pods()
        return any(p["metadata"]["name"] != name and _ready(p) for p in pods)

    wait_for(replaced, 60, "the Deployment to replace the deleted Pod")
    ip = external_ip("default", "web")
    assert ip
    wait_for(lambda: "Welcome to nginx!" in client_curl(ip).stdout, 60, "curl after replacement")


def _owner_node(ip: str) -> str:
    """The node whose LAN MAC the ToR has for ``ip`` (the L2 owner)."""
    subprocess.run(
        ["ip", "netns", "exec", LAYOUT.client_netns, "curl", "-s", "-m", "2", f"http://{ip}/"],
        capture_output=True,
        check=False,
    )
    neigh = subprocess.run(
        ["ip", "-n", LAYOUT.tor_netns, "-j", "neigh", "show", ip],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    mac = json.loads(neigh)[0]["lladdr"]
    for node in LAYOUT.nodes:
        link = subprocess.run(
            ["ip", "-n", node.netns, "-j", "link", "show", LAYOUT.lan_if],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if json.loads(link)[0]["address"] == mac:
            return node.name
    raise AssertionError(f"no node has MAC {mac}")


_PROBE = """
import socket, sys, time
ip, limit = sys.argv[1], float(sys.argv[2])
last_ok = first_fail = None
start = time.monotonic()
while time.monotonic() - start < limit:
    t = time.monotonic()
    try:
        with socket.create_connection((ip, 80), timeout=0.2) as s:
            s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            ok = b"nginx" in s.recv(4096)
    except OSError:
        ok = False
    if ok and first_fail is not None:
        print(f"{t - last_ok:.3f}"); sys.exit(0)
    if ok:
        last_ok = t
    elif first_fail is None and last_ok is not None:
        first_fail = t
    time.sleep(max(0.0, 0.02 - (time.monotonic() - t)))
print("none" if first_fail is None else "norecovery"); sys.exit(0)
"""


def _speakers() -> dict[str, dict]:
    pods = json.loads(kubectl("get", "pods", "-n", "metallb-system", "-o", "json"))["items"]
    return {p["spec"]["nodeName"]: p for p in pods if "speaker" in p["metadata"]["name"]}


def _probe(ip: str, seconds: int) -> subprocess.Popen[str]:
    """The client requests ``ip`` every 20 ms; prints the outage once traffic recovers."""
    return subprocess.Popen(
        ["ip", "netns", "exec", LAYOUT.client_netns, sys.executable, "-c", _PROBE, ip,
         str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _all_speakers_ready() -> bool:
    speakers = _speakers()
    return len(speakers) == 3 and all(_ready(p) for p in speakers.values())


def test_a_deleted_speaker_pod_comes_back_and_traffic_recovers(lab: Layout) -> None:
    ip = external_ip("default", "web")
    assert ip, "the seed hands-on test runs first"
    owner = _owner_node(ip)
    old = _speakers()[owner]
    probe = _probe(ip, 30)
    time.sleep(1.0)
    kubectl("delete", "pod", "-n", "metallb-system", old["metadata"]["name"], "--wait=false")
    out, _ = probe.communicate(timeout=60)
    outage = out.strip()
    print(f"\nspeaker pod on {owner} deleted: client outage {outage} s "
          "('none': the planned hand-over lost no 20 ms probe)")  # fmt: skip
    assert outage != "norecovery"

    def replaced() -> bool:
        new = _speakers().get(owner)
        return bool(new) and new["metadata"]["uid"] != old["metadata"]["uid"] and _ready(new)

    wait_for(replaced, 120, f"the DaemonSet to bring the speaker back on {owner}")
    assert "Welcome to nginx!" in client_curl(ip).stdout


def _node_power_off(node_name: str) -> None:
    """Everything the node runs dies at once (kubelet, containerd, shims, every pod), and its
    LAN port goes dark: what a power cut looks like from the LAN. Its sshd stays, so the
    node can be started again."""
    state = cluster.LabState.load(LAYOUT.state_file)
    assert state is not None
    node = LAYOUT.node(node_name)
    keep = state.pids[f"sshd-{node.name}"]
    pids = [p for p in machine.processes(LAYOUT, node) if p != keep and not _child_of(p, keep)]
    subprocess.run(["ip", "-n", LAYOUT.tor_netns, "link", "set", LAYOUT.tor_port(node), "down"],
                   check=True)  # fmt: skip
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _child_of(pid: int, parent: int) -> bool:
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return False
    return ppid == parent or (ppid > 1 and _child_of(ppid, parent))


def _node_power_on(node_name: str) -> None:
    node = LAYOUT.node(node_name)
    subprocess.run(["ip", "-n", LAYOUT.tor_netns, "link", "set", LAYOUT.tor_port(node), "up"],
                   check=True)  # fmt: skip
    ssh = cluster.ssh_argv(LAYOUT, node)
    subprocess.run([*ssh, "/etc/init.d/containerd start && /etc/init.d/kubelet start"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip


def _web_on_every_worker() -> bool:
    """A ready web replica on every node that takes pods (kubeadm taints the control plane)."""
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    workers = {
        n["metadata"]["name"]
        for n in nodes
        if not any(t.get("effect") == "NoSchedule" for t in n["spec"].get("taints") or [])
    }
    pods = [p for p in _web_pods() if _ready(p)]
    return bool(workers) and workers <= {p["spec"].get("nodeName") for p in pods}


def test_l2_failover_when_the_owner_node_dies(lab: Layout) -> None:
    ip = external_ip("default", "web")
    assert ip, "the seed hands-on test runs first"
    # With one replica the dead node may hold the only endpoint, and no load balancer can help
    # until Kubernetes reschedules it (minutes): replicas on every worker, as a real Service has.
    kubectl("scale", "deployment", "web", "--replicas=3")
    wait_for(_web_on_every_worker, 120, "a ready web replica on every worker node")
    wait_for(_all_speakers_ready, 120, "three ready speakers")
    owner = _owner_node(ip)
    probe = _probe(ip, 30)
    time.sleep(1.0)
    _node_power_off(owner)
    try:
        out, _ = probe.communicate(timeout=60)
    finally:
        _node_power_on(owner)
    outage = out.strip()
    print(f"\nL2 failover in the lab (owner {owner} lost power): client outage {outage} s "
          "(to the first answer; the dead node's endpoint stays until NotReady)")  # fmt: skip
    assert outage not in ("none", "norecovery"), outage
    assert _owner_node(ip) != owner
    wait_for(_all_speakers_ready, 180, f"{owner} and its speaker to come back")


def test_rollout_bgp_reaches_the_service_over_ecmp(lab: Layout) -> None:
    kubectl("delete", "-f", "-", stdin=SEED_CONFIG)
    # Keep verify.yml's Service, so its route can be checked on the ToR.
    result = rollout.run_playbook(
        lab, "site.yml", "bgp", extra=["-e", "ironlb_verify_cleanup=false"]
    )
    assert result.ok, "\n".join(result.tail)
    # The BFDProfile is applied before the BGPPeer naming it: the controller never saw it missing.
    events = json.loads(kubectl("get", "events", "-n", "metallb-system", "-o", "json"))["items"]
    assert [e["message"] for e in events if "bfdProfile" in e.get("message", "")] == []
    ip = result.external_ip
    assert ip and any("Welcome to nginx!" in line for line in result.curl)
    # The ToR reaches it through BGP routes to the nodes, not through an ARP entry.
    subprocess.run(
        ["ip", "-n", LAYOUT.tor_netns, "neigh", "flush", "to", LAYOUT.pool_v4], check=False
    )

    def bgp_hops() -> set[str] | None:
        out = subprocess.run(
            [*vtysh_argv(LAYOUT), "-c", f"show ip route {ip}/32 json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for entry in json.loads(out or "{}").get(f"{ip}/32", []):
            if entry.get("protocol") == "bgp" and entry.get("selected"):
                return {h["ip"] for h in entry.get("nexthops", []) if h.get("active")}
        return None

    hops = wait_for(bgp_hops, 60, f"a BGP route for {ip} on the ToR")
    print(f"\nToR route for {ip}: BGP next hops {sorted(hops)}")
    assert hops <= {n.ipv4 for n in LAYOUT.nodes}
    assert "Welcome to nginx!" in client_curl(ip).stdout


EXCLUDED = "node.kubernetes.io/exclude-from-external-load-balancers"


def _lb_nodes() -> list:  # type: ignore[type-arg]
    """The lab nodes that may announce: kubeadm labels its control plane with EXCLUDED, and
    speakers there announce nothing (as MetalLB's do)."""
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    excluded = {n["metadata"]["name"] for n in nodes if EXCLUDED in n["metadata"].get("labels", {})}
    return [n for n in LAYOUT.nodes if n.name not in excluded]


def _session_states() -> dict[str, dict]:
    out = kubectl("get", "bgpsessionstates", "-n", "metallb-system", "-o", "json")
    return {i["status"]["node"]: i["status"] for i in json.loads(out)["items"]}


def _doctor(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "ironlb.cli.main", "doctor"]
    argv += ["--kubeconfig", str(LAYOUT.kubeconfig)]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60, check=False)


def _doctor_codes(code: str) -> list[dict]:
    report = json.loads(_doctor("-o", "json").stdout)
    return [f for f in report["findings"] if f["code"] == code]


def _tor_neighbor(address: str, shutdown: bool) -> None:
    line = f"{'' if shutdown else 'no '}neighbor {address} shutdown"
    conf = ["-c", "configure terminal", "-c", "router bgp 64512", "-c", line]
    subprocess.run([*vtysh_argv(LAYOUT), *conf], capture_output=True, check=True)


def test_bgp_session_states_and_doctor_follow_the_router(lab: Layout) -> None:
    def all_up() -> dict[str, dict] | None:
        states = _session_states()
        ok = set(states) == {n.name for n in _lb_nodes()} and all(
            s["bgpStatus"] == "Established" for s in states.values()
        )
        return states if ok else None

    states = wait_for(all_up, 60, "three Established BGPSessionStates")
    assert {(s["peer"], s["peerAddress"], s["bfdStatus"]) for s in states.values()} == {
        ("lab-tor", "198.51.100.1", "Up")  # BGP mode runs native BFD with the ToR
    }
    assert _doctor_codes("bgp-session-down") == []
    node = _lb_nodes()[0]
    _tor_neighbor(node.ipv4, shutdown=True)  # the switch side shuts the neighbor down
    try:
        wait_for(
            lambda: _session_states()[node.name]["bgpStatus"] != "Established",
            30,
            f"{node.name}'s session to leave Established",
        )
        [down] = wait_for(lambda: _doctor_codes("bgp-session-down"), 30, "the doctor's finding")
        assert down["title"].startswith(f"BGP session {node.name} -> lab-tor (198.51.100.1)")
        assert "Last down: " in down["why"]  # the latest reason: the Cease, or a refused retry
        human = _doctor()
        assert human.returncode == 2 and "bgp-session-down" in human.stdout
        print(f"\n$ ironlb doctor   # ToR neighbor {node.ipv4} shut down\n{human.stdout}")
        events = json.loads(kubectl("get", "events", "-n", "metallb-system", "-o", "json"))
        assert any(
            e["reason"] == "BGPSessionDown"
            and e["involvedObject"]["kind"] == "BGPPeer"
            and "received CEASE/ADMIN_SHUTDOWN (6/2)" in e["message"]
            for e in events["items"]
        )
    finally:
        _tor_neighbor(node.ipv4, shutdown=False)
    wait_for(all_up, 60, "the session to come back")
    wait_for(lambda: _doctor_codes("bgp-session-down") == [], 30, "the finding to clear")


def _tor(*commands: str) -> str:
    argv = [*vtysh_argv(LAYOUT)]
    for command in commands:
        argv += ["-c", command]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout


def _all_up_with_bfd() -> dict[str, dict] | None:
    states = _session_states()
    ok = set(states) == {n.name for n in _lb_nodes()} and all(
        s["bgpStatus"] == "Established" and s["bfdStatus"] == "Up" for s in states.values()
    )
    return states if ok else None


def _lb_services() -> list[dict]:
    items = json.loads(kubectl("get", "svc", "-A", "-o", "json"))["items"]
    return [
        s
        for s in items
        if s["spec"].get("type") == "LoadBalancer"
        and (s.get("status", {}).get("loadBalancer", {}).get("ingress") or [])
    ]


def _kernel_hops(ip: str) -> set[str]:
    """The ToR's forwarding next hops for ``ip``/32 (the kernel route zebra installed)."""
    out = subprocess.run(
        ["ip", "-n", LAYOUT.tor_netns, "-j", "route", "show", f"{ip}/32"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    hops: set[str] = set()
    for route in json.loads(out or "[]"):
        hops |= {h["gateway"] for h in route.get("nexthops", []) if "gateway" in h}
        if "gateway" in route:
            hops.add(route["gateway"])
    return hops


def _events(reason: str, node: str) -> list[dict]:
    items = json.loads(kubectl("get", "events", "-n", "metallb-system", "-o", "json"))["items"]
    return [
        e
        for e in items
        if e["reason"] == reason
        and e["involvedObject"]["kind"] == "BGPPeer"
        and e["involvedObject"]["name"] == "lab-tor"
        and (e.get("source") or {}).get("host") == node
    ]


def _new_events(reason: str, node: str, before: list[dict]) -> list[dict]:
    """Events recorded (or repeated: the recorder counts repeats) since ``before``."""

    def key(event: dict) -> tuple[str, int]:
        return event["metadata"]["name"], event.get("count", 1)

    seen = {key(e) for e in before}
    return [e for e in _events(reason, node) if key(e) not in seen]


BFD_TABLE = "ilb-lt-bfd"


def _block_bfd(address: str) -> None:
    """The ToR drops BFD (single-hop 3784, echo 3785, multihop 4784) to and from ``address``."""
    bfd = "udp dport { 3784, 3785, 4784 } drop;"
    rules = (
        f"table inet {BFD_TABLE} {{\n"
        f"  chain in {{ type filter hook input priority 0; ip saddr {address} {bfd} }}\n"
        f"  chain out {{ type filter hook output priority 0; ip daddr {address} {bfd} }}\n"
        "}\n"
    )
    subprocess.run(
        ["ip", "netns", "exec", LAYOUT.tor_netns, "nft", "-f", "-"],
        input=rules, capture_output=True, text=True, check=True,
    )  # fmt: skip


def _unblock_bfd() -> None:
    subprocess.run(
        ["ip", "netns", "exec", LAYOUT.tor_netns, "nft", "delete", "table", "inet", BFD_TABLE],
        capture_output=True, check=False,
    )  # fmt: skip


def test_bfd_down_on_the_router_side_is_reported_and_clears(lab: Layout) -> None:
    wait_for(_all_up_with_bfd, 60, "three Established sessions with BFD Up")
    [svc, *_] = _lb_services()
    ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
    node = _lb_nodes()[1]  # not the node the previous test shut down: its Events are its own
    wait_for(lambda: node.ipv4 in _kernel_hops(ip), 60, f"{node.ipv4} as a next hop for {ip}")
    before = _events("BGPSessionDown", node.name)
    _block_bfd(node.ipv4)
    start = time.monotonic()
    try:
        withdrawn = None
        while time.monotonic() - start < 20:  # BFD detects in 3 x 300 ms, then BGP withdraws
            if node.ipv4 not in _kernel_hops(ip):
                withdrawn = time.monotonic() - start
                break
            time.sleep(0.01)
        assert withdrawn is not None, f"the ToR kept {node.ipv4} as a next hop for {ip}"
        print(f"\nBFD blocked for {node.name}: ToR dropped it as next hop for {ip} "
              f"after {withdrawn:.3f} s")  # fmt: skip
        wait_for(
            lambda: _session_states()[node.name]["bfdStatus"] != "Up",
            30,
            f"{node.name}'s BFD to leave Up",
        )
        # BFD took BGP down with it: whichever side saw BFD fail first sent Cease/BFD-down (6/10).
        # (The session may re-establish over TCP while BFD stays down, as FRR's does.)
        [bgp_down] = wait_for(lambda: _new_events("BGPSessionDown", node.name, before), 30, "BGP")
        print(f"\n{node.name}: BGPSessionDown {bgp_down['message']!r}")
        assert _session_states()[node.name].get("lastDownReason")
        findings = wait_for(lambda: _doctor_codes("bfd-down"), 30, "the doctor's bfd-down")
        [finding] = findings
        assert finding["title"].startswith(f"BFD session {node.name} -> lab-tor (198.51.100.1) is ")
        assert f"BGPSessionState metallb-system/{node.name}-lab-tor" in finding["objects"]
        bfd_events = wait_for(lambda: _events("BFDDown", node.name), 30, "the BFDDown Event")
        assert {(e["type"], e["message"]) for e in bfd_events} == {
            ("Warning", "BFD with 198.51.100.1 went Down")
        }
        human = _doctor()
        assert human.returncode == 2 and "bfd-down" in human.stdout
        print(f"\n$ ironlb doctor   # ToR drops BFD from {node.ipv4}\n{human.stdout}")
    finally:
        _unblock_bfd()
    wait_for(_all_up_with_bfd, 60, "BFD and BGP to come back")
    wait_for(lambda: node.ipv4 in _kernel_hops(ip), 60, f"{node.ipv4} back as a next hop")
    wait_for(lambda: _doctor_codes("bfd-down") == [], 30, "the bfd-down finding to clear")


def _tor_prefixes(address: str) -> tuple[str, int]:
    peers = json.loads(_tor("show bgp ipv4 unicast summary json") or "{}").get("peers", {})
    peer = peers.get(address, {})
    return peer.get("state", ""), int(peer.get("pfxRcd", 0))


def _max_prefix(address: str, on: bool) -> None:
    line = f"{'' if on else 'no '}neighbor {address} maximum-prefix 1"
    _tor("configure terminal", "router bgp 64512", "address-family ipv4 unicast", line)


def test_a_router_refusing_the_prefixes_is_reported(lab: Layout) -> None:
    wait_for(_all_up_with_bfd, 60, "three Established sessions with BFD Up")
    running = _tor("show running-config")
    node = _lb_nodes()[-1]
    created = None
    services = _lb_services()
    if len(services) < 2:  # a second Service address, so that a limit of 1 is exceeded
        first = services[0]
        created = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ilb-lt-second", "namespace": first["metadata"]["namespace"]},
            "spec": {
                "type": "LoadBalancer",
                "selector": first["spec"]["selector"],
                "ports": [{"port": p["port"], "targetPort": p.get("targetPort", p["port"])}
                          for p in first["spec"]["ports"]],
            },
        }  # fmt: skip
        kubectl("apply", "-f", "-", stdin=json.dumps(created))
    try:
        wait_for(lambda: _tor_prefixes(node.ipv4)[1] >= 2, 60, f"2 prefixes from {node.ipv4}")
        _max_prefix(node.ipv4, on=True)  # the router now takes 1 prefix from this node: Cease 6/1
        try:
            events = wait_for(
                lambda: _events("PrefixesRejected", node.name), 30, "the PrefixesRejected Event"
            )
            assert all("received CEASE/MAX_PREFIXES (6/1)" in e["message"] for e in events)
            findings = wait_for(
                lambda: _doctor_codes("prefixes-rejected"), 30, "the doctor's prefixes-rejected"
            )
            [finding] = [f for f in findings if f"Node {node.name}" in f["objects"]]
            assert node.name in finding["title"]
            assert "maximum-prefix" in finding["fix"]
            human = _doctor()
            assert human.returncode == 2 and "prefixes-rejected" in human.stdout
            print(f"\n$ ironlb doctor   # ToR: neighbor {node.ipv4} maximum-prefix 1\n"
                  f"{human.stdout}")  # fmt: skip
        finally:
            _max_prefix(node.ipv4, on=False)

        def established() -> bool:
            state, _ = _tor_prefixes(node.ipv4)
            if "PfxCt" in state:  # FRR keeps an overflowed neighbor down until cleared
                _tor(f"clear bgp {node.ipv4}")
            return state == "Established"

        wait_for(established, 60, f"the ToR's session with {node.ipv4} to be Established")
    finally:
        if created is not None:
            meta = created["metadata"]
            kubectl("delete", "svc", "-n", meta["namespace"], meta["name"], "--wait=false")
    wait_for(_all_up_with_bfd, 60, "all sessions Established with BFD Up")
    assert _tor("show running-config") == running  # as the tor_bgp role left it


def test_ironlb_runs_with_only_its_service_accounts_rights(lab: Layout) -> None:
    """The cluster's API server authorizes with RBAC and every pod runs as its ServiceAccount:
    everything above ran with the role's least-privilege RBAC, and nothing was refused."""
    pods = json.loads(kubectl("get", "pods", "-n", "metallb-system", "-o", "json"))["items"]
    accounts = {p["spec"].get("serviceAccountName") for p in pods}
    assert accounts == {"ironlb-controller", "ironlb-speaker"}
    for account, allowed in (("ironlb-controller", "yes"), ("ironlb-speaker", "no")):
        user = f"system:serviceaccount:metallb-system:{account}"
        can = subprocess.run(
            ["kubectl", "--kubeconfig", str(LAYOUT.kubeconfig), "auth", "can-i", "patch",
             "services", "--as", user],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert can.stdout.strip() == allowed, (account, can.stdout, can.stderr)
    for pod in pods:
        logs = kubectl("logs", "-n", "metallb-system", pod["metadata"]["name"])
        assert logs and "Forbidden" not in logs and " 403" not in logs, pod["metadata"]["name"]
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    url = f"https://127.0.0.1:{LAYOUT.api_port}/api/v1/secrets"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, context=ctx, timeout=10)  # no credentials: anonymous
    assert refused.value.code in (401, 403)


def _last_mode() -> str:
    """The mode the lab was last rolled out in (BGP only when the extended tests ran)."""
    peers = json.loads(kubectl("get", "bgppeers", "-n", "metallb-system", "-o", "json"))
    return "bgp" if peers["items"] else "l2"


def test_check_mode_with_diff_predicts_no_change(lab: Layout) -> None:
    result = rollout.run_playbook(lab, "site.yml", _last_mode(), extra=["--check", "--diff"])
    assert result.ok, "\n".join(result.tail)
    assert result.changed == 0, "\n".join(result.tail)


def test_reset_removes_ironlb_and_the_peering(lab: Layout) -> None:
    # ironlb and the peering only: the cluster stays for the checks below (kubeadm reset of the
    # nodes is the playbook's last play).
    result = rollout.run_playbook(
        lab, "reset.yml", _last_mode(), extra=["--limit", "control,switches"]
    )
    assert result.ok, "\n".join(result.tail)
    left = json.loads(
        kubectl("get", "daemonsets,deployments", "-n", "metallb-system", "-o", "json")
    )["items"]
    assert [o["metadata"]["name"] for o in left] == []
    running = subprocess.run(
        [*vtysh_argv(LAYOUT), "-c", "show running-config"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "neighbor 198.51.100.11" not in running
    assert "profile ironlb" not in running  # the ToR's BFD profile went with the peering
    gone = kubectl("get", "bgppeers,bfdprofiles", "-n", "metallb-system", "-o", "json")
    assert json.loads(gone)["items"] == []


def test_lab_down_leaves_no_namespace_or_process(lab: Layout) -> None:
    inodes = {i for i in (netns_inode(n) for n in LAYOUT.all_netns()) if i}
    removed = cluster.down(lab)
    assert removed
    assert cluster.leftovers(lab) == []
    assert pids_in_netns(inodes) == []
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(lab.state_dir) not in mounts and str(lab.data_dir) not in mounts
