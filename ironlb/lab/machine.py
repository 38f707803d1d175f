"""A lab node as a machine of its own: network, mount and UTS namespaces, reached over SSH.

Each node gets what a real server has to itself and Kubernetes writes to: its own ``/etc``
(an overlay on the host's, so Debian's binaries and configuration are there but what the
rollout writes stays on the node), its own ``/run`` (tmpfs), and private data directories for
kubelet, containerd, etcd, CNI and pod logs on disk under ``Layout.data_dir``. ``/sys`` is
remounted for the node's network namespace with the host's cgroup hierarchies moved under it,
so kubelet and runc see the node's interfaces and the real cgroups. Processes stay in the
host's PID namespace, so ``lab down`` finds and stops them by namespace inode and cgroup.

The namespaces are pinned by bind mounts under ``<state_dir>/ns`` (a private mount, so the
pins do not propagate), and every later command enters them with ``nsenter``. The node's
sshd (own host keys, root login with the lab's key only) is how Ansible reaches it, through a
``ProxyCommand`` that opens the TCP connection from inside the node's network namespace: the
root namespace never gets a route to the LAN.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ironlb.lab.layout import Layout, Node
from ironlb.lab.shell import LabError, run

# Paths a node writes that must not be shared with the host or the other nodes (bind mounts
# of directories under the node's data dir; overlayfs cannot sit under containerd's overlays).
PRIVATE_DIRS = (
    "var/lib/kubelet",
    "var/lib/containerd",
    "var/lib/etcd",
    "var/lib/cni",
    "var/lib/kube-proxy",
    "var/log",
    "usr/local/bin",
    "usr/local/lib/ironlb",
    "opt/ironlb",
    "tmp",
)


CGROUP_V1 = Path("/sys/fs/cgroup")
SSHD_CONFIG = "/etc/ssh/sshd_config.lab"


def ns_dir(layout: Layout) -> Path:
    return layout.state_dir / "ns"


def ns_file(layout: Layout, node: Node, kind: str) -> Path:
    return ns_dir(layout) / f"{node.name}.{kind}"


def data_dir(layout: Layout, node: Node) -> Path:
    return layout.data_dir / node.name


def enter_argv(layout: Layout, node: Node) -> list[str]:
    """The prefix that runs a command inside the node (all its namespaces)."""
    return [
        "nsenter",
        f"--net=/run/netns/{node.netns}",
        f"--mount={ns_file(layout, node, 'mnt')}",
        f"--uts={ns_file(layout, node, 'uts')}",
        "--",
    ]


def on_node(layout: Layout, node: Node, argv: list[str], **kwargs: object) -> str:
    return run([*enter_argv(layout, node), *argv], **kwargs)  # type: ignore[arg-type]


def _pin_dir(layout: Layout) -> None:
    """A private bind mount for the namespace pins (unshare refuses a shared parent)."""
    path = ns_dir(layout)
    path.mkdir(parents=True, exist_ok=True)
    if not _is_mountpoint(path):
        run(["mount", "--bind", str(path), str(path)])
    run(["mount", "--make-private", str(path)])


def _is_mountpoint(path: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)], check=False).returncode == 0


def _setup_script(layout: Layout, node: Node) -> str:
    base = data_dir(layout, node)
    binds = "\n".join(
        f"mkdir -p {base}/{d} /{d}; mount --bind {base}/{d} /{d}" for d in PRIVATE_DIRS
    )
    hosts = (
        "127.0.0.1 localhost\n::1 localhost\n"
        + "".join(f"{n.ipv4} {n.name}\n" for n in layout.nodes)
        + f"{layout.tor_lan_v4} {layout.prefix}-tor\n"
    )
    return f"""set -e
hostname {node.name}
mkdir -p {base}/etc.upper {base}/etc.work {base}/cgroup-hold
mount -t overlay overlay -o lowerdir=/etc,upperdir={base}/etc.upper,workdir={base}/etc.work /etc
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/lock /run/sshd /run/netns
{binds}
chmod 1777 /tmp
mount --rbind /sys/fs/cgroup {base}/cgroup-hold
umount -l /sys
mount -t sysfs sysfs /sys
mount --move {base}/cgroup-hold /sys/fs/cgroup
echo {node.name} > /etc/hostname
cat > /etc/hosts <<'EOF'
{hosts}EOF
rm -f /etc/machine-id; cat /proc/sys/kernel/random/uuid | tr -d - > /etc/machine-id
ip link set lo up
"""


def make_cgroup_root(root: str) -> None:
    """kubelet's --cgroup-root must exist in every v1 hierarchy before it starts; cpuset
    needs its cpus and mems filled or no task can join it."""
    for hierarchy in CGROUP_V1.iterdir():
        if not (hierarchy / "cgroup.procs").exists() or hierarchy.name == "unified":
            continue
        path = hierarchy / root.strip("/")
        path.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (path / name).exists() and not (path / name).read_text().strip():
                (path / name).write_text((hierarchy / name).read_text())


def leftover_cgroups(layout: Layout) -> list[str]:
    found = []
    for node in layout.nodes:
        root = layout.cgroup_root(node).strip("/")
        found += [str(h / root) for h in CGROUP_V1.iterdir() if (h / root).is_dir()]
    return found


def create(layout: Layout, node: Node) -> None:
    """Make the node's mount and UTS namespaces (its netns exists already) and set them up."""
    _pin_dir(layout)
    make_cgroup_root(layout.cgroup_root(node))
    data_dir(layout, node).mkdir(parents=True, exist_ok=True)
    for kind in ("mnt", "uts"):
        ns_file(layout, node, kind).touch()
    run(
        [
            "nsenter",
            f"--net=/run/netns/{node.netns}",
            "unshare",
            f"--mount={ns_file(layout, node, 'mnt')}",
            f"--uts={ns_file(layout, node, 'uts')}",
            "--propagation",
            "private",
            "sh",
            "-c",
            _setup_script(layout, node),
        ]
    )


def start_sshd(layout: Layout, node: Node, public_key: str) -> int:
    """The node's own sshd (fresh host keys, root by the lab's key only); returns its pid."""
    conf = """Port 22
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile /etc/ssh/lab_authorized_keys
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""
    script = f"""set -e
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
cat > /etc/ssh/sshd_config.lab <<'EOF'
{conf}EOF
printf '%s\\n' '{public_key}' > /etc/ssh/lab_authorized_keys
chmod 600 /etc/ssh/lab_authorized_keys
"""
    on_node(layout, node, ["sh", "-c", script])
    log = layout.state_dir / "logs" / f"{node.name}-sshd.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                *enter_argv(layout, node),
                "/usr/sbin/sshd",
                "-D",
                "-e",
                "-f",
                "/etc/ssh/sshd_config.lab",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def host_key(layout: Layout, node: Node) -> str:
    return on_node(layout, node, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).strip()


def _ns_inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _pids_in(ns_inodes: dict[str, int]) -> list[int]:
    """Pids whose namespace of a kind matches one of ``ns_inodes`` (kind -> inode)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        for kind, inode in ns_inodes.items():
            try:
                if os.stat(entry / "ns" / kind).st_ino == inode:
                    found.append(int(entry.name))
                    break
            except OSError:
                continue
    return found


def _cgroup_pids(root: str) -> list[int]:
    """Pids in every v1 hierarchy's ``root`` subtree (the node's pods, by kubelet's cgroupRoot)."""
    pids: set[int] = set()
    for hierarchy in CGROUP_V1.iterdir():
        top = hierarchy / root.strip("/")
        if not top.is_dir():
            continue
        for procs in top.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except (OSError, ValueError):
                continue
    return sorted(pids)


def _remove_cgroups(root: str) -> None:
    for hierarchy in CGROUP_V1.iterdir():
        top = hierarchy / root.strip("/")
        if not top.is_dir():
            continue
        for path in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                path.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def _kill(pids: list[int], timeout: float = 5.0) -> None:
    mine = os.getpid()
    pids = [p for p in pids if p != mine]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.05)


def processes(layout: Layout, node: Node) -> list[int]:
    """Every process of the node: in its namespaces or in its pods' cgroups."""
    inodes = {}
    for kind, path in (
        ("mnt", ns_file(layout, node, "mnt")),
        ("net", Path(f"/run/netns/{node.netns}")),
    ):
        inode = _ns_inode(path)
        if inode is not None:
            inodes[kind] = inode
    pids = set(_pids_in(inodes)) if inodes else set()
    pids.update(_cgroup_pids(layout.cgroup_root(node)))
    return sorted(pids)


def destroy(layout: Layout, node: Node) -> None:
    """Stop everything the node runs, drop its namespaces and cgroups, delete its data."""
    for _ in range(3):  # pods' processes can outlive the first pass (shims restarting them)
        pids = processes(layout, node)
        if not pids:
            break
        _kill(pids)
    _remove_cgroups(layout.cgroup_root(node))
    for kind in ("mnt", "uts"):
        pin = ns_file(layout, node, kind)
        if _is_mountpoint(pin):
            run(["umount", "-l", str(pin)], check=False)
        pin.unlink(missing_ok=True)
    base = data_dir(layout, node)
    if base.exists():
        _unmount_under(base)
        shutil.rmtree(base, ignore_errors=True)
    if base.exists():
        raise LabError(f"could not remove {base} (a mount still holds it?)")


def _unmount_under(path: Path) -> None:
    """Host-side mounts under the node's data dir (none expected: all live in its namespace)."""
    mounts = [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4].startswith(str(path))
    ]
    for target in sorted(mounts, key=len, reverse=True):
        run(["umount", "-l", target], check=False)


def remove_pins(layout: Layout) -> None:
    path = ns_dir(layout)
    if _is_mountpoint(path):
        run(["umount", "-l", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)
