"""The CLI dispatcher finds every command module and fails cleanly without one."""

from __future__ import annotations

import pytest

from ironlb.cli.main import build_parser, main


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: ironlb" in capsys.readouterr().out


def test_version() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0


def test_parser_builds() -> None:
    assert build_parser().prog == "ironlb"
