"""The images of tools/images/build, run by a real containerd (Debian's 1.6 + runc).

The module builds (or, warm, only finds) every archive, checks that a second build rebuilds
nothing, starts its own containerd (own root, state, socket and runc root under a temporary
directory; the CRI settings the lab's nodes use, FIELD-NOTES), imports the archives into
namespace k8s.io with tools/images/load (twice: the second time everything is present), and
runs each image with `ctr run`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "images" / "build"
LOAD = REPO / "tools" / "images" / "load"
TOOLS = ("buildah", "debootstrap", "gcc", "containerd", "ctr", "runc", "ip", "curl")
K8S = re.search(
    r"^require k8s.io/kubernetes (v\S+)$",
    (REPO / "tools/gobuild/kubernetes/go.mod").read_text(),
    re.M,
)
K8S_VERSION = K8S.group(1) if K8S else "unknown"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (buildah mounts, containerd, network namespaces)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"not installed: {' '.join(missing)} (apt-get install buildah debootstrap ...)"
    return None


@pytest.fixture(scope="module")
def archives() -> dict[str, Path]:
    """{image ref: archive}, built or found in the cache; a warm build must rebuild nothing."""
    if reason := _skip_reason():
        pytest.skip(reason)
    first = subprocess.run(
        [str(BUILD), "--print-archives"], capture_output=True, text=True, timeout=1700
    )
    assert first.returncode == 0, first.stderr[-3000:]
    refs = dict(line.split(" ", 1) for line in first.stdout.splitlines() if line.strip())
    warm = subprocess.run(
        [str(BUILD), "--print-archives"], capture_output=True, text=True, timeout=300
    )
    assert warm.returncode == 0, warm.stderr[-3000:]
    assert "0 image(s) rebuilt (all cached)" in warm.stderr, warm.stderr[-3000:]
    assert warm.stdout == first.stdout
    return {ref: Path(path) for ref, path in refs.items()}


class Containerd:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = str(root / "containerd.sock")
        self.runc_root = str(root / "runc")
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        r = self.root
        return f"""version = 2
root = "{r}/root"
state = "{r}/state"
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{self.runc_root}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{r}/cni"
"""

    def start(self) -> None:
        (self.root / "config.toml").write_text(self.config())
        log = open(self.root / "containerd.log", "w")  # noqa: SIM115 (lives with the process)
        self.proc = subprocess.Popen(
            ["containerd", "--config", str(self.root / "config.toml")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"containerd exited: {self.log()[-2000:]}")
            if (
                subprocess.run(
                    ["ctr", "-a", self.socket, "version"], capture_output=True
                ).returncode
                == 0
            ):
                return
            time.sleep(0.2)
        raise AssertionError(f"containerd did not answer in 30s: {self.log()[-2000:]}")

    def log(self) -> str:
        return (self.root / "containerd.log").read_text(errors="replace")

    def ctr(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["ctr", "-a", self.socket, "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"ctr {' '.join(args)}: {proc.returncode}\n{proc.stderr}{proc.stdout}"
            )
        return proc

    def run(self, ref: str, *argv: str, extra: tuple[str, ...] = ()) -> str:
        """`ctr run --rm` in the foreground: the command's output; asserts exit status 0."""
        name = f"ilb-im-{secrets.token_hex(4)}"
        proc = self.ctr("run", "--rm", "--runc-root", self.runc_root, *extra, ref, name, *argv)
        return proc.stdout

    def task_status(self, name: str) -> str:
        out = self.ctr("task", "ls").stdout
        for line in out.splitlines()[1:]:
            parts = line.split()
            if parts and parts[0] == name:
                return parts[-1]
        return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            for line in self.ctr("task", "ls", check=False).stdout.splitlines()[1:]:
                name = line.split()[0]
                self.ctr("task", "kill", "-s", "SIGKILL", name, check=False)
                time.sleep(0.2)
                self.ctr("task", "delete", "-f", name, check=False)
            for name in self.ctr("containers", "ls", "-q", check=False).stdout.split():
                self.ctr("containers", "rm", name, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        # Whatever is still mounted under our directory (a crashed task's rootfs).
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for mnt in sorted((m for m in mounts if m.startswith(str(self.root))), reverse=True):
            subprocess.run(["umount", "-l", mnt], capture_output=True)


@pytest.fixture(scope="module")
def containerd(archives: dict[str, Path]) -> Iterator[Containerd]:
    root = Path(tempfile.mkdtemp(prefix="ilb-im-", dir="/var/tmp"))
    daemon = Containerd(root)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


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
    names = {r.rsplit(":", 1)[0] for r in archives}
    for image in wanted:  # etcd's tag is the pinned build's, which the lab configures
        assert image.rsplit(":", 1)[0] in names, image
        if "/etcd:" not in image:
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
        "'ironlb.emulator', 'ironlb.netns', 'pytest') if u.find_spec(m) is None]}))"
    )
    facts = json.loads(containerd.run(image, "python3", "-c", probe, extra=("--read-only",)))
    assert facts["uid"] == 65534 and facts["gid"] == 65534
    assert len(facts["absent"]) == 8, facts


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
