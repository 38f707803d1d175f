"""`ironlb status` rows: addresses, pool, mode, announcers, utilisation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ironlb.cli.main import main
from ironlb.doctor.snapshot import Snapshot
from ironlb.doctor.status import PoolRow, pool_rows, service_rows, session_rows
from tests.unit.doctor import objects as o

OBJS = [
    o.pool("web", "203.0.113.10-203.0.113.19", "2001:db8::/126"),
    o.l2adv("web-l2", "web"),
    o.service("shop", "203.0.113.10", "2001:db8::1", pool_name="web"),
    o.service("waiting"),
    o.l2status("shop", "node2"),
    o.event("Service", "shop", "IPAllocated", "Assigned IP 203.0.113.10", lastTimestamp="t1"),
]


def test_service_rows() -> None:
    rows = {r.service: r for r in service_rows(Snapshot.from_objects(OBJS))}
    shop = rows["default/shop"]
    assert (shop.addresses, shop.pool, shop.mode, shop.announced_by) == (
        "203.0.113.10,2001:db8::1",
        "web",
        "L2",
        "node2",
    )
    assert shop.last_change == "IPAllocated: Assigned IP 203.0.113.10" and shop.since == "t1"
    assert rows["default/waiting"].addresses == "<pending>"


def test_pool_rows_per_family() -> None:
    assert pool_rows(Snapshot.from_objects(OBJS)) == [
        PoolRow("web", "IPv4", 1, 10),
        PoolRow("web", "IPv6", 1, 4),
    ]


def test_cli_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all(OBJS))
    assert main(["status", "--offline", str(path)]) == 0
    out = capsys.readouterr().out
    assert "shop" in out and "203.0.113.10" in out and "25.0%" in out
    assert "BGP sessions" not in out  # no BGP: no empty table


def test_bgp_sessions_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from speaker.bgp.session_state import PeerState, build_object

    down = PeerState("tor", "198.51.100.1", "Active", "N/A", "connect-failed: refused")
    states = [
        build_object("node2", "metallb-system", down),
        build_object("node1", "metallb-system", PeerState("tor", "198.51.100.1", "Established")),
    ]
    rows = session_rows(Snapshot.from_objects([*OBJS, *states]))
    assert [(r.node, r.bgp, r.last_down) for r in rows] == [
        ("node1", "Established", "-"),
        ("node2", "Active", "connect-failed: refused"),
    ]
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all([*OBJS, *states]))
    assert main(["status", "--offline", str(path)]) == 0
    out = capsys.readouterr().out
    assert "BGP sessions" in out and "connect-failed: refused" in out
