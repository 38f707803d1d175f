"""The session flow with a fake netmiko connection: check mode sends nothing, candidate
platforms commit (Junos: `commit confirmed`, then confirm) or discard on rejection, the others
exit config mode and revert, and connection errors become one-line failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp import connection
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.connection import (
    SwitchSession,
)
from ansible_collections.ironlb.baremetal.plugins.module_utils.switch_bgp.runner import (
    ModuleFailure,
    run,
)
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
)

from .cases import params_for

FIXTURES = Path(__file__).parent / "fixtures"


class FakeConn:
    """Records what the module does; rejects `bad` lines like netmiko's error_pattern check."""

    def __init__(self, running: str, bad: str | None = None) -> None:
        self.running = running
        self.bad = bad
        self.calls: list[tuple[str, Any]] = []

    def send_command(self, cmd: str, **_: Any) -> str:
        self.calls.append(("command", cmd))
        return self.running if cmd.startswith("show") else ""

    def send_config_set(self, lines: list[str], **kw: Any) -> str:
        for line in lines:
            if self.bad and self.bad in line:
                self.calls.append(("config", lines[: lines.index(line)]))
                raise ConfigInvalidException(
                    f"Invalid input detected at command: {line}, matched error: % Bad thing"
                )
        self.calls.append(("config", lines))
        return ""

    def commit(self, **kw: Any) -> str:
        self.calls.append(("commit", kw))
        return "commit complete"

    def exit_config_mode(self) -> str:
        self.calls.append(("exit", None))
        return ""

    def save_config(self) -> str:
        self.calls.append(("save", None))
        return ""

    def disconnect(self) -> None:
        self.calls.append(("disconnect", None))


def factory(conn: FakeConn):  # type: ignore[no-untyped-def]
    class Session(SwitchSession):
        def open(self) -> None:
            self.conn = conn

    return Session


def params(platform: str, **extra: Any) -> dict[str, Any]:
    return {**params_for("empty"), "platform": platform, "host": "tor", "username": "u",
            "password": "ssh-pass-xyz", **extra}  # fmt: skip


def empty(platform: str) -> str:
    return (FIXTURES / platform / "empty.running").read_text()


def kinds(conn: FakeConn) -> list[str]:
    return [k for k, _ in conn.calls if k != "command"]


@pytest.mark.parametrize("platform", ["frr", "ios", "junos", "vyos"])
def test_check_mode_sends_nothing(platform: str) -> None:
    conn = FakeConn(empty(platform))
    result = run(params(platform), True, factory(conn))
    assert result["changed"] and result["commands"]
    assert kinds(conn) == ["disconnect"]


def test_no_change_sends_nothing() -> None:
    conn = FakeConn((FIXTURES / "eos" / "converged.running").read_text())
    result = run({**params("eos"), **params_for("converged")} | {"platform": "eos"}, False,
                 factory(conn))  # fmt: skip
    assert not result["changed"] and result["commands"] == []
    assert kinds(conn) == ["disconnect"]


def test_junos_commits_confirmed_then_confirms() -> None:
    conn = FakeConn(empty("junos"))
    run(params("junos"), False, factory(conn))
    assert kinds(conn) == ["config", "commit", "commit", "disconnect"]
    commits = [kw for k, kw in conn.calls if k == "commit"]
    assert commits == [{"confirm": True, "confirm_delay": 5}, {"and_quit": True}]


def test_junos_rejection_rolls_back_without_commit() -> None:
    conn = FakeConn(empty("junos"), bad="authentication-key")
    with pytest.raises(ModuleFailure, match=r"rejected .*authentication-key.*: % Bad thing "
                                            r"\(changes reverted\)"):  # fmt: skip
        run(params("junos"), False, factory(conn))
    assert ("command", "rollback 0") in conn.calls
    assert "commit" not in kinds(conn)
    assert "ssh-pass-xyz" not in str(conn.calls)


def test_vyos_commits_then_saves() -> None:
    conn = FakeConn(empty("vyos"))
    run(params("vyos"), False, factory(conn))
    assert kinds(conn) == ["config", "commit", "save", "disconnect"]


def test_ios_rejection_exits_config_mode_and_reverts() -> None:
    conn = FakeConn(empty("ios"), bad="fall-over bfd")
    with pytest.raises(ModuleFailure, match="changes reverted"):
        run(params("ios"), False, factory(conn))
    # exit config mode, re-read (device unchanged in the fake: nothing to revert), no save
    assert kinds(conn) == ["config", "exit", "disconnect"]


def test_secret_never_in_failure() -> None:
    conn = FakeConn(empty("frr"), bad="password")
    with pytest.raises(ModuleFailure) as err:
        run(params("frr"), False, factory(conn))
    assert "s3cr3t-md5" not in str(err.value)
    assert "password ********': % Bad thing" in str(err.value)


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (
            NetmikoAuthenticationException("Authentication failed."),
            "authentication failed for user 'u'",
        ),
        (
            NetmikoTimeoutException("TCP connection to device failed."),
            "connection timed out or was refused",
        ),
        (OSError("No route to host"), "cannot connect: No route to host"),
    ],
)
def test_connection_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, exc: Exception,
                                        text: str) -> None:  # fmt: skip
    def refuse(**_: Any) -> None:
        raise exc

    monkeypatch.setattr(connection, "ConnectHandler", refuse)
    with pytest.raises(ModuleFailure) as err:
        run(params("frr"), False)
    assert str(err.value) == f"tor:22: {text}"
