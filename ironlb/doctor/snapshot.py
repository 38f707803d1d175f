"""The objects doctor looks at, read once: from manifest files or from a cluster."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ironlb import yamlio

Obj = dict[str, Any]

# kind → (group, version, plural, namespaced) for what doctor reads from a cluster.
KINDS: dict[str, tuple[str, str, str, bool]] = {
    "IPAddressPool": ("metallb.io", "v1beta1", "ipaddresspools", True),
    "L2Advertisement": ("metallb.io", "v1beta1", "l2advertisements", True),
    "BGPAdvertisement": ("metallb.io", "v1beta1", "bgpadvertisements", True),
    "BGPPeer": ("metallb.io", "v1beta2", "bgppeers", True),
    "BFDProfile": ("metallb.io", "v1beta1", "bfdprofiles", True),
    "Community": ("metallb.io", "v1beta1", "communities", True),
    "ServiceL2Status": ("metallb.io", "v1beta1", "servicel2statuses", True),
    "ServiceBGPStatus": ("metallb.io", "v1beta1", "servicebgpstatuses", True),
    "BGPSessionState": ("metallb.io", "v1beta1", "bgpsessionstates", True),
    "Service": ("", "v1", "services", True),
    "Node": ("", "v1", "nodes", False),
    "ConfigMap": ("", "v1", "configmaps", True),
    "Event": ("", "v1", "events", True),
    "Pod": ("", "v1", "pods", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Deployment": ("apps", "v1", "deployments", True),
}

# Kinds that exist only when a CRD is installed: absence is normal, not an error.
OPTIONAL_KINDS = {k for k, v in KINDS.items() if v[0] == "metallb.io"}


@dataclass
class Snapshot:
    objects: dict[str, list[Obj]] = field(default_factory=dict)
    source: str = ""
    live: bool = False
    errors: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Obj]:
        return self.objects.get(kind, [])

    def add(self, obj: Obj) -> None:
        self.objects.setdefault(obj.get("kind", ""), []).append(obj)

    @classmethod
    def from_objects(cls, objs: Iterable[Obj], source: str = "objects") -> Snapshot:
        snap = cls(source=source)
        for obj in objs:
            if isinstance(obj, dict) and obj.get("kind"):
                snap.add(obj)
        return snap

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> Snapshot:
        snap = cls(source="offline")
        for path in _expand(paths):
            for doc in yamlio.load_all(Path(path).read_text()):
                for obj in _flatten(doc):
                    snap.add(obj)
        return snap

    @classmethod
    def from_cluster(cls, kube: Any) -> Snapshot:
        """Read every kind doctor needs through `ironlb.kube.Kube` (plain dicts)."""
        from ironlb.kube.client import NotFound, Resource, TransportError

        snap = cls(source="cluster", live=True)
        for kind, (group, version, plural, namespaced) in KINDS.items():
            res = Resource(group, version, plural, kind, namespaced)
            try:
                items = kube.list(res)["items"]
            except NotFound:
                if kind not in OPTIONAL_KINDS:
                    snap.errors.append(f"{kind}: the API server does not serve {plural}")
                continue
            except TransportError as exc:
                raise OSError(f"cannot reach the API server: {exc}") from None
            for obj in items:
                obj.setdefault("kind", kind)
                snap.add(obj)
        return snap


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            out.append(path)
    return out


def _flatten(doc: Any) -> list[Obj]:
    if not isinstance(doc, dict):
        return []
    if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
        return [o for o in doc["items"] if isinstance(o, dict)]
    return [doc]


def ref(obj: Obj) -> str:
    """`Kind namespace/name` (or `Kind name` for cluster-scoped objects)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{obj.get('kind', '?')} {ns}/{name}" if ns else f"{obj.get('kind', '?')} {name}"
