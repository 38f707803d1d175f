"""The images the lab's cluster runs, as ``tools/images/build`` leaves them (OCI archives
listed in ``images.json`` in its cache)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ironlb.lab.shell import LabError, run

BUILD = Path(__file__).resolve().parents[2] / "tools" / "images" / "build"
# ironlb's own image is not served by the lab's registry: the ironlb role side-loads its
# archive into every node's containerd, as an air-gapped site does.
SIDE_LOADED = ("ironlb",)


def cache_dir() -> Path:
    return Path(os.environ.get("IRONLB_IMAGE_CACHE", "/var/cache/ironlb/images"))


def manifest() -> list[dict[str, str]]:
    """Every image ``make image`` builds (building what is missing or stale first)."""
    if not BUILD.exists():
        raise LabError(f"{BUILD} is missing: the lab needs a checkout of the repository")
    run([str(BUILD)], timeout=3600)
    path = cache_dir() / "images.json"
    try:
        return list(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise LabError(f"{path}: {exc} (run `make image`)") from exc


def lab_archives(entries: list[dict[str, str]] | None = None) -> list[tuple[Path, str]]:
    """(archive, image reference) of the images the lab's registry serves."""
    entries = manifest() if entries is None else entries
    return [(Path(e["archive"]), e["ref"]) for e in entries if e["name"] not in SIDE_LOADED]


def archive_of(name: str, entries: list[dict[str, str]]) -> Path:
    for entry in entries:
        if entry["name"] == name:
            return Path(entry["archive"])
    raise LabError(f"tools/images/build made no {name} image")
