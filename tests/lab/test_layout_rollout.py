"""Lab names fit the kernel's limits and the rollout output is read correctly."""

from __future__ import annotations

import ipaddress

from ironlb.lab.layout import Layout
from ironlb.lab.rollout import RolloutResult, _parse
from ironlb.netns.ranges import check_address, check_network


def test_interface_names_fit_and_addresses_stay_in_the_lab_ranges() -> None:
    for prefix in ("ilb-lab", "ilb-lt"):
        layout = Layout.for_prefix(prefix)
        names = [
            layout.lan_if,
            layout.bridge,
            layout.pod_bridge,
            layout.mgmt_if,
            layout.tor_uplink,
            layout.pod_host_if("default", "a-very-long-pod-name-x"),
        ]
        names += [layout.tor_port(n) for n in layout.nodes]
        assert all(len(n) <= 15 and n.startswith(prefix) for n in names), names
        for node in layout.nodes:
            check_address(node.ipv4)
            check_address(node.ipv6)
            check_network(node.pod_cidr)
        for addr in (layout.mgmt_root, layout.mgmt_tor, layout.client_v4, layout.tor_lan_v4):
            check_address(addr)
        assert ipaddress.ip_address(layout.mgmt_root) in ipaddress.ip_network("198.19.0.0/16")
    assert Layout.for_prefix("ilb-lab").mgmt_tor != Layout.for_prefix("ilb-lt").mgmt_tor


def test_recap_and_verify_message_are_parsed() -> None:
    lines = [
        "ok: [localhost] => {",
        '    "msg": [',
        '        "external_ip=203.0.113.7",',
        '        "curl http://203.0.113.7/",',
        '        "<title>Welcome to nginx!</title>"',
        "    ]",
        "}",
        "PLAY RECAP *****",
        "localhost                  : ok=16   changed=2    unreachable=0    failed=0    skipped=9",
        "tor1                       : ok=3    changed=1    unreachable=0    failed=0    skipped=0",
    ]
    result = RolloutResult("l2", 0, 1.0)
    _parse(lines, result)
    assert (result.changed, result.failed, result.external_ip) == (3, 0, "203.0.113.7")
    assert result.curl == ["curl http://203.0.113.7/", "<title>Welcome to nginx!</title>"]
    assert result.ok
