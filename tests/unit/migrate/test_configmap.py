"""Golden tests: MetalLB ConfigMap configurations → metallb.io manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ironlb import yamlio
from ironlb.cli.main import main
from ironlb.migrate.configmap import MigrationError, migrate_configmap

DATA = Path(__file__).parents[2] / "data" / "configmaps"
CASES = sorted(p.stem for p in DATA.glob("*.yaml") if not p.stem.endswith(".expected"))


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    result = migrate_configmap((DATA / f"{case}.yaml").read_text())
    expected = list(yamlio.load_all((DATA / f"{case}.expected.yaml").read_text()))
    assert result.manifests == expected


def test_cases_exist() -> None:
    assert {"l2", "bgp-communities-localpref", "multi-pool-no-autoassign"} <= set(CASES)


def test_password_warning_does_not_show_the_password() -> None:
    result = migrate_configmap((DATA / "bgp-communities-localpref.yaml").read_text())
    assert any("passwordSecret" in w for w in result.warnings)
    assert not any("hunter2" in w for w in result.warnings)


def test_layer2_pool_gets_an_l2advertisement() -> None:
    result = migrate_configmap((DATA / "l2.yaml").read_text())
    kinds = [(m["kind"], m["metadata"]["name"]) for m in result.manifests]
    assert kinds == [("IPAddressPool", "default"), ("L2Advertisement", "default-l2")]


def test_bgp_pool_without_advertisements_gets_a_default_one() -> None:
    result = migrate_configmap((DATA / "multi-pool-no-autoassign.yaml").read_text())
    adverts = [m for m in result.manifests if m["kind"] == "BGPAdvertisement"]
    assert adverts == [
        {
            "apiVersion": "metallb.io/v1beta1",
            "kind": "BGPAdvertisement",
            "metadata": {"name": "public-bgp", "namespace": "lb"},
            "spec": {"ipAddressPools": ["public"]},
        }
    ]


def test_unknown_options_warn_instead_of_vanishing() -> None:
    text = "address-pools:\n- name: p\n  protocol: layer2\n  addresses: [203.0.113.0/28]\n  x: 1\n"
    result = migrate_configmap(text)
    assert result.warnings == ["address-pools[0].x: no metallb.io equivalent, not migrated"]


def test_unknown_protocol_warns_about_missing_advertisement() -> None:
    text = "address-pools:\n- name: p\n  protocol: arp\n  addresses: [203.0.113.0/28]\n"
    result = migrate_configmap(text)
    assert "never announced" in result.warnings[0]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("address-pools:\n- protocol: layer2\n  addresses: [203.0.113.0/28]\n", "[0].name"),
        ("address-pools:\n- name: p\n  protocol: layer2\n", "[0].addresses"),
        ("peers:\n- peer-address: 198.51.100.1\n  my-asn: 64512\n", "peers[0].peer-asn"),
        ("kind: ConfigMap\nmetadata: {name: config}\ndata: {}\n", "data.config"),
    ],
)
def test_errors_name_the_field(text: str, where: str) -> None:
    with pytest.raises(MigrationError, match=r".*" + where.replace("[", r"\[").replace("]", r"\]")):
        migrate_configmap(text)


def test_cli_writes_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.yaml"
    assert main(["migrate-configmap", str(DATA / "l2.yaml"), "-o", str(out)]) == 0
    assert len(list(yamlio.load_all(out.read_text()))) == 2


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("address-pools:\n- protocol: layer2\n")
    assert main(["migrate-configmap", str(bad)]) == 2
    assert "address-pools[0].name: missing" in capsys.readouterr().err


@pytest.mark.parametrize("case", CASES)
def test_output_is_valid_metallb_config(case: str) -> None:
    from ironlb.config import build_config

    result = migrate_configmap((DATA / f"{case}.yaml").read_text())
    built = build_config(result.manifests)
    assert built.errors == []
    assert len(built.config.pools) >= 1
