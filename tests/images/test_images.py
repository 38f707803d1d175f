"""The images of tools/images/build, run by a real containerd (Debian's 1.6 + runc).

The module builds (or, warm, only finds) every archive, checks that a second build rebuilds
nothing, starts its own containerd (own root, state, socket and runc root under a temporary
directory; the CRI settings the lab's nodes use, FIELD-NOTES), imports the archives into
namespace k8s.io with tools/images/load (twice: the second time everything is present), and
runs each image with `ctr run`.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .containerd import Containerd, running_containerd

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "images" / "build"
LOAD = REPO / "tools" / "images" / "load"
K8S = re.search(
    r"^require k8s.io/kubernetes (v\S+)$",
    (REPO / "tools/gobuild/kubernetes/go.mod").read_text(),
    re.M,
)
K8S_VERSION = K8S.group(1) if K8S else "unknown"


@pytest.fixture(scope="module")
def containerd(archives: dict[str, Path]) -> Iterator[Containerd]:
    with running_containerd() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def loaded(containerd: Containerd, archives: dict[str, Path]) -> dict[str, Path]:
    first = subprocess.run(
        [str(LOAD), containerd.socket, *map(str, archives.values())],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr
    for ref in archives:
        assert f"{ref}: imported" in first.stdout, first.stdout
    start = time.monotonic()
    again = subprocess.run(
        [str(LOAD), containerd.socket, *map(str, archives.values())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - start
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [f"{ref}: present" for ref in archives], again.stdout
    assert took < 10, f"loading images already present took {took:.1f}s"
    return archives


def ref(archives: dict[str, Path], prefix: str) -> str:
    (found,) = [r for r in archives if r.startswith(prefix)]
    return found


def test_the_lab_has_every_image_kubeadm_asks_for(archives: dict[str, Path]) -> None:
    kubeadm = Path(
        subprocess.run(
            [str(REPO / "tools/gobuild/build"), "--print-dir", "kubernetes"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    wanted = subprocess.run(
        [str(kubeadm / "kubeadm"), "config", "images", "list", "--kubernetes-version", K8S_VERSION],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(wanted) == 7
    for image in wanted:
        assert image in archives, image
    assert "localhost/ironlb:" + _pyproject_version() in archives
    assert "docker.io/library/nginx:latest" in archives


def _pyproject_version() -> str:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_ironlb_runs_the_daemons_as_nobody_without_the_lab(
    loaded: dict[str, Path], containerd: Containerd
) -> None:
    image = ref(loaded, "localhost/ironlb:")
    top = containerd.run(image, "ironlb", "--help", extra=("--read-only",))
    assert "controller" in top and "speaker" in top
    assert not re.search(r"^\s+lab\b", top, re.M), top
    assert "--metrics-port" in containerd.run(
        image, "ironlb", "controller", "--help", extra=("--read-only",)
    )
    assert "--node-name" in containerd.run(
        image, "ironlb", "speaker", "--help", extra=("--read-only",)
    )
    probe = (
        "import importlib.util as u, os, json; "
        "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), "
        "'absent': [m for m in ('ansible', 'netmiko', 'scapy', 'pyroute2', 'ironlb.lab', "
        "'ironlb.netns', 'pytest') if u.find_spec(m) is None]}))"
    )
    facts = json.loads(containerd.run(image, "python3", "-c", probe, extra=("--read-only",)))
    assert facts["uid"] == 65534 and facts["gid"] == 65534
    assert len(facts["absent"]) == 7, facts


@pytest.mark.parametrize(
    ("prefix", "argv", "expected"),
    [
        (
            "registry.k8s.io/kube-apiserver:",
            ["kube-apiserver", "--version"],
            f"Kubernetes {K8S_VERSION}",
        ),
        (
            "registry.k8s.io/kube-controller-manager:",
            ["kube-controller-manager", "--version"],
            f"Kubernetes {K8S_VERSION}",
        ),
        (
            "registry.k8s.io/kube-scheduler:",
            ["kube-scheduler", "--version"],
            f"Kubernetes {K8S_VERSION}",
        ),
        ("registry.k8s.io/etcd:", ["etcd", "--version"], "etcd Version: 3.5."),
        ("registry.k8s.io/coredns/coredns:", ["/coredns", "-version"], "CoreDNS-1.11.3"),
    ],
)
def test_control_plane_binaries_are_on_path(
    loaded: dict[str, Path], containerd: Containerd, prefix: str, argv: list[str], expected: str
) -> None:
    out = containerd.run(ref(loaded, prefix), *argv)
    assert expected in out, out


def test_kube_proxy_has_its_netfilter_tools(
    loaded: dict[str, Path], containerd: Containerd
) -> None:
    out = containerd.run(
        ref(loaded, "registry.k8s.io/kube-proxy:"),
        "sh",
        "-c",
        "kube-proxy --version; iptables --version; ip6tables --version; nft --version;"
        " conntrack --version",
    )
    assert f"Kubernetes {K8S_VERSION}" in out
    for tool in ("iptables v1.8", "ip6tables v1.8", "nftables v1", "conntrack v1"):
        assert tool in out, out


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_pause_stays_up_and_stops_on_signal(
    loaded: dict[str, Path], containerd: Containerd, sig: str
) -> None:
    name = f"ilb-im-pause-{secrets.token_hex(3)}"
    proc = subprocess.Popen(
        [
            "ctr", "-a", containerd.socket, "-n", "k8s.io", "run", "--rm",
            "--runc-root", containerd.runc_root, ref(loaded, "registry.k8s.io/pause:"), name,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while containerd.task_status(name) != "RUNNING":
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "pause never started"
            time.sleep(0.1)
        time.sleep(1.5)
        assert containerd.task_status(name) == "RUNNING", "pause did not stay up"
        start = time.monotonic()
        containerd.ctr("task", "kill", "-s", sig, name)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - start < 5
    finally:
        if proc.poll() is None:
            containerd.ctr("task", "kill", "-s", "SIGKILL", name, check=False)
            proc.wait(timeout=10)


def test_nginx_answers_in_a_namespace_and_logs_to_stdout(
    loaded: dict[str, Path], containerd: Containerd
) -> None:
    netns = f"ilb-im-{secrets.token_hex(3)}"
    name = f"ilb-im-nginx-{secrets.token_hex(3)}"
    log = containerd.root / f"{name}.log"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        containerd.ctr(
            "run", "-d", "--runc-root", containerd.runc_root, "--log-uri", f"file://{log}",
            "--with-ns", f"network:/var/run/netns/{netns}",
            ref(loaded, "docker.io/library/nginx:"), name,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            got = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    netns,
                    "curl",
                    "-sS",
                    "-i",
                    "--max-time",
                    "2",
                    "http://127.0.0.1/",
                ],
                capture_output=True,
                text=True,
            )
            if got.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert got.returncode == 0, got.stderr
        assert got.stdout.startswith("HTTP/1.1 200"), got.stdout[:300]
        assert re.search(r"^Server: nginx", got.stdout, re.M | re.I), got.stdout[:300]
        assert "Welcome to nginx" in got.stdout
        deadline = time.monotonic() + 5
        while '"GET / HTTP/1.1" 200' not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "no access log line on stdout"
            time.sleep(0.1)
    finally:
        containerd.ctr("task", "kill", "-s", "SIGKILL", name, check=False)
        deadline = time.monotonic() + 10
        while containerd.task_status(name) not in ("", "STOPPED") and time.monotonic() < deadline:
            time.sleep(0.1)
        containerd.ctr("task", "delete", "-f", name, check=False)
        containerd.ctr("containers", "rm", name, check=False)
        subprocess.run(["ip", "netns", "del", netns], check=False)
    assert (
        netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    )


def test_pause_is_the_cri_sandbox(loaded: dict[str, Path], containerd: Containerd) -> None:
    """RunPodSandbox through the CRI (crictl of tools/gobuild) starts our pause as the
    sandbox_image, with the restrict_oom_score_adj and cgroupfs settings of the lab's nodes."""
    out = subprocess.run(
        [str(REPO / "tools/gobuild/build"), "--print-dir", "cri-tools"],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    crictl = Path(out.stdout.strip()) / "crictl"
    if out.returncode != 0 or not crictl.exists():
        pytest.skip(f"no crictl from tools/gobuild/build cri-tools: {out.stderr[-300:]}")
    endpoint = f"unix://{containerd.socket}"
    cli = [str(crictl), "--runtime-endpoint", endpoint, "--image-endpoint", endpoint]
    pod = containerd.root / "sandbox.json"
    pod.write_text(
        json.dumps(
            {
                "metadata": {"name": "ilb-im-sandbox", "namespace": "default", "uid": "ilb-im"},
                "linux": {"security_context": {"namespace_options": {"network": 2}}},
                "log_directory": str(containerd.root / "pod-logs"),
            }
        )
    )
    made = subprocess.run([*cli, "runp", str(pod)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    sandbox = made.stdout.strip()
    try:
        listed = subprocess.run(
            [*cli, "pods", "-q", "--state", "ready"], capture_output=True, text=True
        )
        assert sandbox in listed.stdout
        tasks = containerd.ctr("task", "ls").stdout
        assert re.search(rf"^{sandbox}\s+\d+\s+RUNNING", tasks, re.M), tasks
        inspected = json.loads(
            subprocess.run([*cli, "inspectp", sandbox], capture_output=True, text=True).stdout
        )
        assert inspected["status"]["state"] == "SANDBOX_READY"
    finally:
        subprocess.run([*cli, "stopp", sandbox], capture_output=True, timeout=60)
        subprocess.run([*cli, "rmp", sandbox], capture_output=True, timeout=60)
