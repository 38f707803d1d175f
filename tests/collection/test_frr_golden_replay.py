"""The FRR golden files, replayed on a real FRR 8.4: load `<case>.running`, send
`<case>.commands` through vtysh, and the router must end exactly in the wanted state."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from ironlb.netns.peers.frr import FrrRouter

from .playbook import REPO

COLLECTIONS = REPO / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp import (  # noqa: E402
    diff,
    model,
    runner,
)
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.platforms import (  # noqa: E402
    get_platform,
)

UNIT = COLLECTIONS / "ansible_collections/ironlb/baremetal/tests/unit/plugins/module_utils"
FIXTURES = UNIT / "switch_bgp" / "fixtures" / "frr"
CASES_PY = FIXTURES.parent.parent / "cases.py"
_spec = importlib.util.spec_from_file_location("ironlb_switch_bgp_cases", CASES_PY)
assert _spec and _spec.loader
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
OVERRIDES, params_for = cases.OVERRIDES, cases.params_for

pytestmark = [pytest.mark.netns, pytest.mark.peers]
SKIP = ("Building configuration", "Current configuration", "frr version", "frr defaults", "end")


def config_lines(running: str) -> list[str]:
    return [line for line in running.splitlines()
            if line.strip() and not line.startswith(SKIP) and line.strip() != "!"]  # fmt: skip


@pytest.mark.parametrize("case", sorted(OVERRIDES))
def test_frr_accepts_golden_commands(sw_netns: str, case: str) -> None:
    pf = get_platform("frr")
    running = (FIXTURES / f"{case}.running").read_text()
    commands = (FIXTURES / f"{case}.commands").read_text().splitlines()
    with FrrRouter(sw_netns, hostname="tor1") as frr:
        if config_lines(running):
            frr.configure(config_lines(running))
        have = model.owned(pf.parse(frr.running_config()))
        assert have == model.owned(pf.parse(running))  # the fixture is what FRR shows
        out = frr.configure(commands) if commands else ""
        assert "%" not in out, out
        now = model.owned(pf.parse(frr.running_config()))
        want = runner.desired(params_for(case), have, pf)
        assert now == want
        assert diff.plan(want, now, pf) == []
