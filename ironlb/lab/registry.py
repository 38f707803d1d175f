"""The lab's image mirror: Debian's docker-registry on the ToR, filled from local archives.

Nothing in the lab can reach a public registry, yet a user's ``kubectl create deployment web
--image=nginx`` asks kubelet to pull ``nginx:latest`` every time (``imagePullPolicy: Always``
for ``:latest``). So the site's switch namespace runs a registry that every node's containerd
uses as the mirror of ``registry.k8s.io`` and ``docker.io`` (the kubeadm role writes the
``hosts.toml``), filled with ``skopeo`` from the OCI archives ``make image`` built. It listens
on the ToR's LAN address for the nodes and on its management address for the root namespace,
which pushes over the management /32 pair and never gets a route to the LAN.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ironlb.lab.layout import Layout
from ironlb.lab.shell import LabError, run

PORT = 5000
REGISTRY_BIN = "/usr/bin/docker-registry"


def lan_endpoint(layout: Layout) -> str:
    """What the nodes' containerd uses as the mirror (plain HTTP inside the lab)."""
    return f"http://{layout.tor_lan_v4}:{PORT}"


def push_endpoint(layout: Layout) -> str:
    return f"{layout.mgmt_tor}:{PORT}"


def start(layout: Layout) -> int:
    """Start the registry in the ToR's namespace; returns its pid once it answers."""
    base = layout.state_dir / "registry"
    storage = layout.data_dir / "registry"
    storage.mkdir(parents=True, exist_ok=True)
    base.mkdir(parents=True, exist_ok=True)
    config = base / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {storage}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '0.0.0.0:{PORT}'}}\n"
    )
    log = layout.state_dir / "logs" / "registry.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", layout.tor_netns, REGISTRY_BIN, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 20
    while not _answers(layout):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace").splitlines()[-10:]
            raise LabError("the lab's image registry did not start:\n" + "\n".join(tail))
        time.sleep(0.1)
    return proc.pid


def _answers(layout: Layout) -> bool:
    res = subprocess.run(
        ["curl", "-sf", "-o", "/dev/null", f"http://{push_endpoint(layout)}/v2/"],
        capture_output=True,
        check=False,
        timeout=5,
    )
    return res.returncode == 0


def repository(image: str) -> str:
    """``registry.k8s.io/pause:3.10`` -> ``pause:3.10``; ``docker.io/library/nginx:latest``
    -> ``library/nginx:latest``: a mirror serves a registry's repositories under their paths."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return image


def push(
    layout: Layout,
    images: Iterable[tuple[Path, str]],
    progress: Callable[[str], None] = lambda _m: None,
) -> None:
    """Copy each (OCI archive, image name) into the registry; layers already there are skipped."""
    for archive, image in images:
        if not archive.exists():
            raise LabError(f"image archive {archive} for {image} is missing: run `make image`")
        progress(f"registry: {image}")
        run(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                f"oci-archive:{archive}",
                f"docker://{push_endpoint(layout)}/{repository(image)}",
            ],
            timeout=600,
        )
