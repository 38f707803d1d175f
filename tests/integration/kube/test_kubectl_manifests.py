"""The real kubectl 1.32 applies an ironlb manifest (a namespace, metallb.io objects, a
ConfigMap) to a real kube-apiserver: created, then unchanged, then configured."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: metallb-system
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: kind-pool
  namespace: metallb-system
spec:
  addresses:
  - 203.0.113.200-203.0.113.250
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: kind-l2
  namespace: metallb-system
spec:
  ipAddressPools:
  - kind-pool
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: metallb-system
data:
  mode: l2
"""


def _table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_apply_multidoc_manifest_then_unchanged_then_configured(kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "pool.yaml"
    manifest.write_text(MANIFEST)
    out = kubectl("apply", "-f", str(manifest)).stdout.splitlines()
    assert out == [
        "namespace/metallb-system created",
        "ipaddresspool.metallb.io/kind-pool created",
        "l2advertisement.metallb.io/kind-l2 created",
        "configmap/settings created",
    ]
    out = kubectl("apply", "-f", str(manifest)).stdout.splitlines()
    assert all(line.endswith(" unchanged") for line in out), out
    manifest.write_text(MANIFEST.replace("mode: l2", "mode: bgp").replace(".250", ".240"))
    out = kubectl("apply", "-f", str(manifest)).stdout.splitlines()
    assert "ipaddresspool.metallb.io/kind-pool configured" in out
    assert "configmap/settings configured" in out
    assert "namespace/metallb-system unchanged" in out
    rows = _table(kubectl("get", "ipaddresspools", "-n", "metallb-system").stdout)
    assert rows[0][:2] == ["NAME", "AUTO"]
    assert rows[1][0] == "kind-pool" and rows[1][1] == "true"
    pool = json.loads(
        kubectl("get", "ipaddresspool", "kind-pool", "-n", "metallb-system", "-o", "json").stdout
    )
    assert pool["spec"]["addresses"] == ["203.0.113.200-203.0.113.240"]
