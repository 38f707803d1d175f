"""Golden files: each platform's running config (vendor syntax) + desired → exact commands.

`fixtures/<platform>/<case>.running` is what `show running-config` (or the platform's
equivalent) prints; `<case>.commands` the lines the module must send. Regenerate a missing
or changed expectation with IRONLB_UPDATE_GOLDEN=1, then review it by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.diff import PlanError
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.platforms import (
    PLATFORMS,
    get_platform,
)
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.runner import compute

from .cases import OVERRIDES, params_for

FIXTURES = Path(__file__).parent / "fixtures"
CASES = [
    (platform, case)
    for platform in sorted(PLATFORMS)
    for case in OVERRIDES
    if (FIXTURES / platform / f"{case}.running").exists()
]


def test_every_platform_has_every_case() -> None:
    assert {p for p, _ in CASES} == set(PLATFORMS)
    for platform in PLATFORMS:
        assert {c for p, c in CASES if p == platform} == set(OVERRIDES), platform


@pytest.mark.parametrize(("platform", "case"), CASES)
def test_golden(platform: str, case: str) -> None:
    pf = get_platform(platform)
    running = (FIXTURES / platform / f"{case}.running").read_text()
    expected_file = FIXTURES / platform / f"{case}.commands"
    _, commands = compute(params_for(case), running, pf)
    if os.environ.get("IRONLB_UPDATE_GOLDEN"):
        expected_file.write_text("".join(f"{c}\n" for c in commands))
    assert commands == expected_file.read_text().splitlines()
    if case == "converged":
        assert commands == []


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_other_asn_is_refused(platform: str) -> None:
    pf = get_platform(platform)
    running = (FIXTURES / platform / "converged.running").read_text()
    with pytest.raises(PlanError, match="runs BGP as AS 64512, not 65001"):
        compute({**params_for("converged"), "asn": 65001}, running, pf)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_unowned_neighbors_are_kept(platform: str) -> None:
    """Every converged fixture also holds an uplink neighbor 198.19.0.1 the module must keep.
    (On Junos the uplink sits in another group, which parse does not even read.)"""
    pf = get_platform(platform)
    running = (FIXTURES / platform / "converged.running").read_text()
    seen = {n.address for n in pf.parse(running).neighbors}
    assert ("198.19.0.1" in seen) == (platform != "junos")
    _, commands = compute(params_for("absent"), running, pf)
    assert commands and not any("198.19.0.1" in c for c in commands)
