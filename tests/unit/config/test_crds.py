"""The CRD files: current with their generator, structural, and accepting the seed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ironlb.config.crds import CRD_DIR, crd_files, load_crds, schema_for
from ironlb.config.crds.generate import all_crds, file_name, render
from ironlb.yamlio import load_all

MANIFESTS = Path(__file__).resolve().parents[2] / "data" / "manifests"
KINDS = {
    "BFDProfile", "BGPAdvertisement", "BGPPeer", "Community", "IPAddressPool",
    "L2Advertisement", "ServiceBGPStatus", "ServiceL2Status", "BGPSessionState",
}  # fmt: skip


def seed_objects() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((MANIFESTS / "seed").glob("*.yaml")):
        docs.extend(d for d in load_all(path.read_text()) if d)
    return docs


def validate(obj: dict[str, Any]) -> None:
    kind = obj["kind"]
    version = obj["apiVersion"].split("/", 1)[1]
    jsonschema.validate(obj, schema_for(kind, version), cls=jsonschema.Draft7Validator)


def test_files_are_what_the_generator_writes() -> None:
    expected = {file_name(doc): render(doc) for doc in all_crds()}
    on_disk = {p.name: p.read_text() for p in crd_files()}
    assert on_disk == expected, "run: python -m ironlb.config.crds.generate"


def test_every_kind_has_one_namespaced_crd_with_status() -> None:
    crds = load_crds()
    assert {c["spec"]["names"]["kind"] for c in crds} == KINDS
    for crd in crds:
        spec = crd["spec"]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        assert spec["group"] == "metallb.io" and spec["scope"] == "Namespaced"
        assert crd["metadata"]["name"] == f"{spec['names']['plural']}.metallb.io"
        assert [v["name"] for v in spec["versions"] if v["storage"]] in (["v1beta1"], ["v1beta2"])
        assert all(v["subresources"] == {"status": {}} for v in spec["versions"])


def test_bgppeer_serves_both_versions_and_stores_v1beta2() -> None:
    (crd,) = [c for c in load_crds() if c["spec"]["names"]["kind"] == "BGPPeer"]
    assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [
        ("v1beta1", True, False),
        ("v1beta2", True, True),
    ]


def test_pool_printer_columns_and_status() -> None:
    (crd,) = [c for c in load_crds() if c["spec"]["names"]["kind"] == "IPAddressPool"]
    version = crd["spec"]["versions"][0]
    assert [c["name"].upper() for c in version["additionalPrinterColumns"]] == [
        "AUTO ASSIGN",
        "AVOID BUGGY IPS",
        "ADDRESSES",
    ]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert set(status) == {
        "assignedIPv4",
        "assignedIPv6",
        "availableIPv4",
        "availableIPv6",
        "conditions",
    }


def _structural(node: dict[str, Any], path: str) -> None:
    # A real API server rejects schemas with untyped nodes or additionalProperties: false.
    assert "type" in node or "x-kubernetes-int-or-string" in node, path
    assert node.get("additionalProperties") is not False, path
    for key, child in node.get("properties", {}).items():
        _structural(child, f"{path}.{key}")
    if "items" in node:
        _structural(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        _structural(node["additionalProperties"], f"{path}{{}}")


def test_schemas_are_structural_and_valid_json_schema() -> None:
    for crd in load_crds():
        for v in crd["spec"]["versions"]:
            schema = v["schema"]["openAPIV3Schema"]
            _structural(schema, crd["metadata"]["name"])
            jsonschema.Draft7Validator.check_schema(schema)


def test_seed_manifests_match_the_schemas() -> None:
    objs = seed_objects()
    assert {o["kind"] for o in objs} == {
        "IPAddressPool",
        "L2Advertisement",
        "BGPPeer",
        "BGPAdvertisement",
    }
    for o in objs:
        validate(o)


def test_good_manifests_match_the_schemas() -> None:
    for path in sorted((MANIFESTS / "good").glob("*.yaml")):
        for o in load_all(path.read_text()):
            if o and o["apiVersion"].startswith("metallb.io/"):
                validate(o)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("IPAddressPool", ("spec", "addresses"), "10.0.0.0/24"),
        ("IPAddressPool", ("spec", "autoAssign"), "yes"),
        ("BGPPeer", ("spec", "myASN"), "64500"),
        ("BGPPeer", ("spec", "myASN"), 4294967296),
        ("BGPPeer", ("spec", "peerPort"), 20000),
        ("L2Advertisement", ("spec", "ipAddressPools"), [1]),
    ],
)
def test_wrong_types_are_rejected(kind: str, path: tuple[str, ...], value: Any) -> None:
    obj = next(o for o in seed_objects() if o["kind"] == kind)
    bad = copy.deepcopy(obj)
    node = bad
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    validate(obj)
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_missing_required_field_is_rejected() -> None:
    pool = copy.deepcopy(next(o for o in seed_objects() if o["kind"] == "IPAddressPool"))
    del pool["spec"]["addresses"]
    with pytest.raises(jsonschema.ValidationError):
        validate(pool)


def test_crd_dir_is_inside_the_package() -> None:
    assert CRD_DIR.name == "crds" and (CRD_DIR / "metallb.io_ipaddresspools.yaml").is_file()
