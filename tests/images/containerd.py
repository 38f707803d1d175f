"""A containerd of its own for the image tests: own root, state, socket and runc root under
a temporary directory, the CRI settings of the lab's nodes (FIELD-NOTES: restrict_oom_score_adj,
cgroupfs, runc v2, overlayfs, our pause as the sandbox image)."""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TOOLS = ("buildah", "debootstrap", "gcc", "containerd", "ctr", "runc", "ip", "curl")


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


@contextmanager
def running_containerd() -> Iterator[Containerd]:
    root = Path(tempfile.mkdtemp(prefix="ilb-im-", dir="/var/tmp"))
    daemon = Containerd(root)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)
