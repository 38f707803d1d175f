"""The lab's state file: what `lab up` made, so `lab down` and `lab status` find it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class LabState:
    prefix: str
    api_port: int
    kubeconfig: str
    tor_host: str
    tor_user: str
    tor_password_file: str
    tor_frr_dir: str
    client_netns: str
    mode: str = "l2"
    pids: dict[str, int] = field(default_factory=dict)
    # What the rollout installs on the nodes: the pinned kubeadm/kubelet and their checksums,
    # and the image archives (by image name) the registry was filled from.
    k8s_bin_dir: str = ""
    k8s_sha256: dict[str, str] = field(default_factory=dict)
    image_archives: dict[str, str] = field(default_factory=dict)
    ironlb_image_archive: str = ""
    ssh_dir: str = ""

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LabState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
