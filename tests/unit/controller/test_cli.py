"""`ironlb controller` flags and its handling of a broken kubeconfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from ironlb.cli.main import build_parser, main


def test_flags_parse() -> None:
    args = build_parser().parse_args(
        [
            "controller",
            "--namespace",
            "lb",
            "--lb-class",
            "ironlb.io/lb",
            "--metrics-port",
            "0",
            "--leader-elect",
            "--identity",
            "pod-a",
        ]
    )
    assert (args.namespace, args.lb_class, args.metrics_port) == ("lb", "ironlb.io/lb", 0)
    assert args.leader_elect and args.identity == "pod-a"


def test_defaults() -> None:
    args = build_parser().parse_args(["controller"])
    assert args.metrics_port == 7472 and not args.leader_elect and args.lb_class is None


def test_broken_kubeconfig_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("not: [a kubeconfig")
    assert main(["controller", "--kubeconfig", str(bad), "--metrics-port", "0"]) == 2
    err = capsys.readouterr().err
    assert "controller.kubeconfig" in err and "Traceback" not in err
