"""`ironlb validate` on the seed, the good examples and one broken file per rule."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from ironlb.cli.commands.validate import validate_paths
from ironlb.cli.main import main

MANIFESTS = Path(__file__).resolve().parents[2] / "data" / "manifests"
SEED = MANIFESTS / "seed"
BROKEN = sorted((MANIFESTS / "broken").glob("*.yaml"))
LOC = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<message>.*)$")


def expectations(path: Path) -> tuple[list[str], int]:
    text = path.read_text()
    expects = re.findall(r"^# expect: (.*)$", text, re.M)
    exit_code = re.search(r"^# expect-exit: (\d+)$", text, re.M)
    return expects, int(exit_code.group(1)) if exit_code else 1


def test_seed_manifests_validate_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(SEED.glob("*.yaml"))
    assert len(files) == 3
    assert main(["validate", *map(str, files)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"OK {SEED}/bgp-mode.yaml: 3 objects",
        f"OK {SEED}/ip-address-pool.yaml: 2 objects",
        f"OK {SEED}/kind-l2.yaml: 2 objects",
    ]


def test_directory_of_good_manifests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(MANIFESTS / "good"), str(SEED)]) == 0
    out = capsys.readouterr().out
    assert "SKIP" in out and "v1 Secret metallb-system/tor-a-password" in out
    assert "OK " in out and "error" not in out


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_manifest_names_object_and_field(path: Path) -> None:
    expects, exit_code = expectations(path)
    report = validate_paths([str(path)])
    assert report.exit_code == exit_code, report.lines
    if exit_code == 2:
        assert re.match(rf"^ERROR {re.escape(str(path))}:\d+:\d+: invalid YAML: ", report.lines[0])
        return
    assert expects, f"{path.name} declares no '# expect:' line"
    errors = [LOC.match(line) for line in report.lines[:-1]]
    assert all(errors), report.lines
    assert sorted(m["message"] for m in errors if m) == sorted(expects)
    n_lines = len(path.read_text().splitlines())
    for m in errors:
        assert m is not None and m["file"] == str(path) and 1 <= int(m["line"]) <= n_lines
    assert report.lines[-1] == f"{len(expects)} error(s) in 1 file(s)"


def test_every_rule_has_a_broken_file() -> None:
    stems = {p.stem for p in BROKEN}
    for rule in (
        "malformed-cidr", "reversed-range", "mixed-family-range", "overlapping-pools",
        "missing-pool-l2", "missing-pool-bgp", "missing-community", "missing-bfd-profile",
        "missing-peer", "asn-out-of-range", "hold-time-too-short", "keepalive-above-hold",
        "selector-bad-operator", "selector-in-without-values", "selector-exists-with-values",
        "selector-bad-label", "community-bad-standard", "community-bad-large",
        "community-alias-bad-value", "invalid-yaml",
    ):  # fmt: skip
        assert rule in stems


def test_error_line_points_at_the_field() -> None:
    path = MANIFESTS / "broken" / "reversed-range.yaml"
    (line, _) = validate_paths([str(path)]).lines
    number = int(line.split(":")[1])
    assert "10.0.0.9-10.0.0.1" in path.read_text().splitlines()[number - 1]


def test_stdin_and_cross_file_references(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The advertisement on stdin refers to a pool defined in a seed file.
    adv = (
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
        "metadata: {name: extra, namespace: metallb-system}\n"
        "spec: {ipAddressPools: [kind-pool, nope]}\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(adv))
    assert main(["validate", str(SEED / "kind-l2.yaml"), "-"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"OK {SEED}/kind-l2.yaml: 2 objects",
        "<stdin>:4: L2Advertisement metallb-system/extra: spec.ipAddressPools[1]: "
        'IPAddressPool "nope" does not exist',
        "1 error(s) in 2 file(s)",
    ]


def test_list_kind_is_expanded(tmp_path: Path) -> None:
    f = tmp_path / "list.yaml"
    f.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n"
        "  metadata: {name: a, namespace: metallb-system}\n"
        "  spec: {addresses: [203.0.113.0/28]}\n"
        "- apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n"
        "  metadata: {name: b, namespace: metallb-system}\n"
        "  spec: {addresses: [203.0.113.8/29]}\n"
    )
    report = validate_paths([str(f)])
    assert report.exit_code == 1
    assert report.lines[0].startswith(f"{f}:11: IPAddressPool metallb-system/b: spec.addresses[0]:")


def test_unreadable_and_empty_inputs(tmp_path: Path) -> None:
    assert validate_paths([str(tmp_path / "missing.yaml")]).exit_code == 2
    assert validate_paths([str(tmp_path)]).lines[0].endswith("no *.yaml, *.yml or *.json files")
    (tmp_path / "scalar.yaml").write_text("just a string\n")
    report = validate_paths([str(tmp_path / "scalar.yaml")])
    assert report.exit_code == 1 and "document is not an object" in report.lines[0]


def test_quiet_prints_only_problems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-q", str(SEED)]) == 0
    assert capsys.readouterr().out == ""
