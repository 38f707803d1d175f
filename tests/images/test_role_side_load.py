"""The ironlb role's air-gapped side-load (tasks/image.yml) against a real containerd.

Two "nodes" on this machine (local connection): one kubeadm worker whose containerd is a
containerd of the test's own, one k3s agent whose image directory is a temporary directory.
The archive is the small pause image, so the role is told that is the image the workloads run.
A check-mode run reports the changes and makes none, the first run imports and drops the
archive, the second changes nothing, and an archive that does not hold the configured image is
refused with a message naming both.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .containerd import Containerd, running_containerd

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


@pytest.fixture(scope="module")
def node_containerd(archives: dict[str, Path]) -> Iterator[Containerd]:
    with running_containerd() as daemon:
        yield daemon


def _playbook(tmp: Path, daemon: Containerd, archive: Path, tag: str) -> tuple[Path, Path]:
    local = {"ansible_connection": "local", "ansible_python_interpreter": str(BIN / "python")}
    inventory = {
        "all": {
            "children": {
                "control": {"hosts": {"localhost": local}},
                "kubeadm_workers": {"hosts": {"ilb-im-node-a": local}},
                "k3s_agents": {"hosts": {"ilb-im-node-k": local}},
            }
        }
    }
    play = [
        {
            "name": "Side-load",
            "hosts": "control",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Side-load the archive",
                    "ansible.builtin.import_role": {
                        "name": "ironlb.baremetal.ironlb",
                        "tasks_from": "image",
                    },
                    "vars": {
                        "ironlb_image": "registry.k8s.io/pause",
                        "ironlb_image_tag": tag,
                        "ironlb_image_archive": str(archive),
                        "ironlb_image_archive_socket": daemon.socket,
                        "ironlb_image_archive_become": False,
                        "ironlb_image_archive_k3s_dir": str(tmp / "k3s-images"),
                    },
                }
            ],
        }
    ]
    (tmp / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp / "side-load.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    return tmp / "hosts.yml", tmp / "side-load.yml"


def _run(
    tmp: Path, inventory: Path, playbook: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_HOME=str(tmp / "ansible"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible" / "tmp"),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
    )
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _changed(out: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+:.*changed=(\d+)", out, re.M)}


def test_side_load_imports_once(
    archives: dict[str, Path], node_containerd: Containerd, tmp_path: Path
) -> None:
    if not (BIN / "ansible-playbook").exists():
        pytest.skip("no .venv/bin/ansible-playbook (make venv)")
    (pause,) = [ref for ref in archives if ref.startswith("registry.k8s.io/pause:")]
    archive, tag = archives[pause], pause.rsplit(":", 1)[1]
    inventory, playbook = _playbook(tmp_path, node_containerd, archive, tag)

    dry = _run(tmp_path, inventory, playbook, "--check", "--diff")
    assert dry.returncode == 0, dry.stdout[-4000:]
    assert _changed(dry.stdout)["localhost"] > 0, dry.stdout[-3000:]
    assert pause not in node_containerd.ctr("images", "ls", "-q").stdout, "check mode imported"

    first = _run(tmp_path, inventory, playbook)
    assert first.returncode == 0, first.stdout[-4000:]
    assert _changed(first.stdout)["localhost"] > 0, first.stdout[-3000:]
    listed = node_containerd.ctr("images", "ls", f"name=={pause}").stdout
    assert pause in listed
    assert list((tmp_path / "k3s-images").iterdir()) == [
        tmp_path / "k3s-images" / "registry.k8s.io_pause_3.10.tar"
    ]
    assert not list(Path("/var/tmp").glob("ironlb-image-*.tar")), "the copied archive stayed"

    second = _run(tmp_path, inventory, playbook)
    assert second.returncode == 0, second.stdout[-4000:]
    assert _changed(second.stdout) == {"localhost": 0}, second.stdout[-3000:]

    wrong = _run(tmp_path, *_playbook(tmp_path, node_containerd, archive, "0.0-missing"))
    assert wrong.returncode != 0
    assert f"holds {pause}, not registry.k8s.io/pause:0.0-missing" in wrong.stdout, wrong.stdout[
        -3000:
    ]
