"""An independent reader: the vendor collections' own running-config parsers (the engines
behind their offline `state: parsed`, shipped in the `ansible` package) must read what our
renderers write as the same ASN, router ID and neighbors.

Junos is absent: junipernetworks.junos parses NETCONF XML, not `display set` text.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.diff import align
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.model import (
    BgpIntent,
    from_params,
)
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.platforms import (
    get_platform,
)

from .cases import params_for

RM = "ansible_collections.{}.plugins.module_utils.network.{}.rm_templates.{}"
ORACLES = {
    "ios": (RM.format("cisco.ios", "ios", "bgp_global"), "Bgp_globalTemplate"),
    "nxos": (RM.format("cisco.nxos", "nxos", "bgp_global"), "Bgp_globalTemplate"),
    "eos": (RM.format("arista.eos", "eos", "bgp_global"), "Bgp_globalTemplate"),
    "vyos": (RM.format("vyos.vyos", "vyos", "bgp_global_14"), "Bgp_globalTemplate14"),
}


def vendor_parse(platform: str, lines: list[str]) -> dict[str, Any]:
    module, cls = ORACLES[platform]
    template = getattr(importlib.import_module(module), cls)
    if platform == "vyos":  # as vyos.vyos's facts do before parsing
        lines = [re.sub("'", "", line) for line in lines if "address-family" not in line]
    return template(lines=lines, module=None).parse()


@pytest.mark.parametrize("platform", sorted(ORACLES))
def test_vendor_parser_reads_our_rendering(platform: str) -> None:
    pf = get_platform(platform)
    want = align(from_params(params_for("empty")), BgpIntent(asn=64512), seq_step=pf.seq_step)
    parsed = vendor_parse(platform, pf.render(want))
    scope = parsed.get("vrfs", {}).get("vrf_", parsed)
    neighbors = scope.get("neighbors") or scope.get("neighbor") or {}
    assert sorted(neighbors) == sorted(n.address for n in want.neighbors)
    assert parsed["as_number"] == 64512
    router_id = (
        scope.get("bgp", {}).get("router_id", {}).get("address")
        or scope.get("router_id")
        or scope.get("bgp_params", {}).get("router_id")
    )
    assert router_id == "198.51.100.254"
    for address, n in neighbors.items():
        if "remote_as" in n:
            assert n["remote_as"] == 64513, address
