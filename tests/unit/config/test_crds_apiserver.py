"""The CRD files installed in a real kube-apiserver: the real client and kubectl use them."""

from __future__ import annotations

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
    server.ensure_namespace("metallb-system")


def test_seed_and_every_kind_round_trip_through_the_api(apiserver: Any) -> None:
    ensure_namespace(apiserver)
    api = client.CustomObjectsApi(apiserver.api_client())
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


def test_wrong_type_is_rejected_with_422(apiserver: Any) -> None:
    ensure_namespace(apiserver)
    api = client.CustomObjectsApi(apiserver.api_client())
    pool = objects(SEED / "kind-l2.yaml")[0]
    pool["spec"]["addresses"] = "172.18.255.200-172.18.255.250"  # a string, not a list
    with pytest.raises(ApiException) as info:
        create(api, pool)
    assert info.value.status == 422
    assert "addresses" in info.value.body


def test_kubectl_shows_metallb_printer_columns(apiserver: Any, kubectl: Any) -> None:
    ensure_namespace(apiserver)
    manifest = (SEED / "ip-address-pool.yaml").read_text()
    kubectl("create", "-f", "-", input=manifest)
    shown = kubectl("get", "ipaddresspools", "-n", "metallb-system")
    header, row = shown.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "AUTO", "ASSIGN", "AVOID", "BUGGY", "IPS", "ADDRESSES"]
    assert row.split()[:4] == ["default-pool", "true", "false", '["192.168.1.240-192.168.1.250"]']
