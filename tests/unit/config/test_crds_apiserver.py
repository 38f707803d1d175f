"""The CRD files registered in the API emulator: the real client and kubectl use them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from ironlb.config import build_config
from ironlb.yamlio import load_all

SEED = Path(__file__).resolve().parents[2] / "data" / "manifests" / "seed"
GOOD = SEED.parent / "good" / "every-kind.yaml"
PLURALS = {
    "IPAddressPool": "ipaddresspools", "L2Advertisement": "l2advertisements",
    "BGPAdvertisement": "bgpadvertisements", "BGPPeer": "bgppeers", "Community": "communities",
    "BFDProfile": "bfdprofiles", "ServiceL2Status": "servicel2statuses",
    "ServiceBGPStatus": "servicebgpstatuses",
}  # fmt: skip


def objects(*paths: Path) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        out.extend(
            d for d in load_all(path.read_text()) if d and d["apiVersion"].startswith("metallb")
        )
    return out


def create(api: client.CustomObjectsApi, obj: dict[str, Any]) -> dict[str, Any]:
    version = obj["apiVersion"].split("/")[1]
    return api.create_namespaced_custom_object(
        "metallb.io", version, obj["metadata"]["namespace"], PLURALS[obj["kind"]], obj
    )


def ensure_namespace(server: Any) -> None:
    core = client.CoreV1Api(server.api_client())
    core.create_namespace({"metadata": {"name": "metallb-system"}})


def test_seed_and_every_kind_round_trip_through_the_api(apiserver_with_crds: Any) -> None:
    ensure_namespace(apiserver_with_crds)
    api = client.CustomObjectsApi(apiserver_with_crds.api_client())
    for obj in objects(*sorted(SEED.glob("*.yaml")), GOOD):
        create(api, obj)
    listed = []
    for kind, plural in PLURALS.items():
        for version in ("v1beta2",) if kind == "BGPPeer" else ("v1beta1",):
            items = api.list_namespaced_custom_object(
                "metallb.io", version, "metallb-system", plural
            )
            listed.extend(items["items"])
    result = build_config(listed)
    assert result.ok, [str(e) for e in result.errors]
    assert {"default-pool", "bgp-pool", "kind-pool", "public-v4"} <= set(result.config.pools)
    assert result.config.pools["bgp-pool"].auto_assign is True
    assert {"router-peer", "tor-a", "tor-b", "legacy"} == set(result.config.bgp_peers)
    assert len(result.statuses) == 2


def test_wrong_type_is_rejected_with_422(apiserver_with_crds: Any) -> None:
    ensure_namespace(apiserver_with_crds)
    api = client.CustomObjectsApi(apiserver_with_crds.api_client())
    pool = objects(SEED / "kind-l2.yaml")[0]
    pool["spec"]["addresses"] = "172.18.255.200-172.18.255.250"  # a string, not a list
    with pytest.raises(ApiException) as info:
        create(api, pool)
    assert info.value.status == 422
    assert "addresses" in info.value.body


def test_kubectl_shows_metallb_printer_columns(apiserver_with_crds: Any) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl binary not found on PATH")
    ensure_namespace(apiserver_with_crds)
    manifest = (SEED / "ip-address-pool.yaml").read_text()
    base = [kubectl, "--kubeconfig", apiserver_with_crds.kubeconfig]
    applied = subprocess.run(
        [*base, "create", "-f", "-"], input=manifest, capture_output=True, text=True, timeout=60
    )
    assert applied.returncode == 0, applied.stderr
    shown = subprocess.run(
        [*base, "get", "ipaddresspools", "-n", "metallb-system"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    header, row = shown.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "AUTO", "ASSIGN", "AVOID", "BUGGY", "IPS", "ADDRESSES"]
    assert row.split()[:4] == ["default-pool", "true", "false", '["192.168.1.240-192.168.1.250"]']
