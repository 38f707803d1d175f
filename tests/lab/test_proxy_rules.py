"""kube-proxy stand-in: the nft script, loaded into a real kernel and carrying real traffic."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ironlb.lab.proxy_rules import render

PREFIX = "ilb-lt-px"
CLIENT, NODE, POD = f"{PREFIX}-c", f"{PREFIX}-n", f"{PREFIX}-p"


def _svc(policy: str = "Cluster") -> dict:
    return {
        "metadata": {"namespace": "default", "name": "web"},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.0.5",
            "externalTrafficPolicy": policy,
            "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
    }


def _slice(*eps: tuple[str, str]) -> dict:
    return {
        "metadata": {
            "namespace": "default",
            "name": "web-lab",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "ports": [{"name": "", "port": 80}],
        "endpoints": [
            {"addresses": [ip], "conditions": {"ready": True}, "nodeName": node} for ip, node in eps
        ],
    }


def test_render_dispatches_clusterip_lb_and_nodeport_and_balances():
    script = render(
        PREFIX, "node1", [_svc()], [_slice(("198.19.11.2", "node1"), ("198.19.12.2", "node2"))]
    )
    assert "ip daddr 10.96.0.5 tcp dport 80 jump svc_default_web_80" in script
    assert "ip daddr 203.0.113.7 tcp dport 80 jump svc_default_web_80" in script
    assert "fib daddr type local tcp dport 31000 jump svc_default_web_80" in script
    assert "numgen random mod 2" in script


def test_local_policy_uses_only_local_endpoints_without_masquerade():
    script = render(
        PREFIX,
        "node2",
        [_svc("Local")],
        [_slice(("198.19.11.2", "node1"), ("198.19.12.2", "node2"))],
    )
    local = script.split("chain svc_default_web_80_local {")[1].split("}")[0]
    assert "dnat to 198.19.12.2:80" in local
    assert "198.19.11.2" not in local
    assert "mark" not in local


def _sh(*argv: str, stdin: str | None = None) -> str:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=True).stdout


def _curl(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", CLIENT, "curl", "-s", "-m", "2", url],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def pod_behind_node():
    server = None
    try:
        for ns in (CLIENT, NODE, POD):
            _sh("ip", "netns", "add", ns)
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        _sh(
            "ip",
            "link",
            "add",
            "ilb-lt-pxc",
            "netns",
            CLIENT,
            "type",
            "veth",
            "peer",
            "name",
            "ilb-lt-pxn",
            "netns",
            NODE,
        )
        _sh(
            "ip",
            "link",
            "add",
            "ilb-lt-pxq",
            "netns",
            NODE,
            "type",
            "veth",
            "peer",
            "name",
            "ilb-lt-pxp",
            "netns",
            POD,
        )
        _sh(
            "ip",
            "-n",
            CLIENT,
            "-batch",
            "-",
            stdin="addr add 198.51.100.50/24 dev ilb-lt-pxc\n"
            "link set ilb-lt-pxc up\nroute add 203.0.113.0/24 via 198.51.100.51\n",
        )
        _sh(
            "ip",
            "-n",
            NODE,
            "-batch",
            "-",
            stdin="addr add 198.51.100.51/24 dev ilb-lt-pxn\n"
            "link set ilb-lt-pxn up\naddr add 198.19.11.1/24 dev ilb-lt-pxq\n"
            "link set ilb-lt-pxq up\n",
        )
        _sh(
            "ip",
            "-n",
            POD,
            "-batch",
            "-",
            stdin="addr add 198.19.11.2/24 dev ilb-lt-pxp\n"
            "link set ilb-lt-pxp up\nroute add default via 198.19.11.1\n",
        )
        _sh("ip", "netns", "exec", NODE, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                POD,
                sys.executable,
                "-m",
                "ironlb.lab.podserver",
                "--name",
                "web-1",
                "--port",
                "80",
            ]
        )
        deadline = time.monotonic() + 10
        while "LISTEN" not in _sh("ip", "netns", "exec", POD, "ss", "-ltn") and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        yield
    finally:
        if server is not None:
            server.terminate()
            server.wait(5)
        for ns in (CLIENT, NODE, POD):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


@pytest.mark.netns
def test_rules_carry_traffic_to_the_pod_and_local_policy_drops_remote(pod_behind_node):
    assert _curl("http://203.0.113.7/").returncode != 0  # nothing forwards yet
    cluster = render(PREFIX, "n", [_svc()], [_slice(("198.19.11.2", "elsewhere"))])
    _sh("ip", "netns", "exec", NODE, "nft", "-f", "-", stdin=cluster)
    res = _curl("http://203.0.113.7/")
    assert "Welcome to nginx!" in res.stdout
    assert "Welcome to nginx!" in _curl("http://198.51.100.51:31000/").stdout
    # Local policy on a node without a local endpoint: dropped (the same script replaces all).
    local = render(PREFIX, "n", [_svc("Local")], [_slice(("198.19.11.2", "elsewhere"))])
    _sh("ip", "netns", "exec", NODE, "nft", "-f", "-", stdin=local)
    assert _curl("http://203.0.113.7/").returncode != 0
    local_here = render(PREFIX, "n", [_svc("Local")], [_slice(("198.19.11.2", "n"))])
    _sh("ip", "netns", "exec", NODE, "nft", "-f", "-", stdin=local_here)
    assert "Welcome to nginx!" in _curl("http://203.0.113.7/").stdout
