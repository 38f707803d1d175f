"""The netmiko session: the only module that imports netmiko.

`SwitchSession(platform, params)` connects (auth and timeout become `ConnectError` with one
line), reads the running configuration, pushes lines with the platform's `error_pattern`, and
on a rejected line leaves config mode, puts the device back as it was and raises
`SwitchError(host, line, device_text)`. Secrets never appear in messages.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from .platforms.base import Platform

try:
    from netmiko import ConnectHandler
    from netmiko.exceptions import (
        ConfigInvalidException,
        NetmikoAuthenticationException,
        NetmikoBaseException,
        NetmikoTimeoutException,
    )

    HAS_NETMIKO = True
    NETMIKO_IMPORT_ERROR: Exception | None = None
except ImportError as exc:  # reported by the module as a missing requirement
    HAS_NETMIKO = False
    NETMIKO_IMPORT_ERROR = exc

REJECTED_RE = re.compile(r"at command: (?P<line>.*?), matched error: (?P<text>.*)$", re.S)


class ConnectError(RuntimeError):
    """Could not reach or log in to the switch; the message is one line."""


class SwitchError(RuntimeError):
    """The switch rejected a line; the device was put back as it was."""

    def __init__(self, host: str, line: str, device_text: str, revert_error: str = "") -> None:
        state = (
            f"REVERT FAILED: {revert_error}; check the device"
            if revert_error
            else "changes reverted"
        )
        super().__init__(f"{host} rejected {line!r}: {device_text.strip()} ({state})")
        self.host = host
        self.line = line
        self.device_text = device_text
        self.reverted = not revert_error


class SwitchSession:
    def __init__(self, platform: Platform, params: dict[str, Any]) -> None:
        self.platform = platform
        self.host = str(params["host"])
        self.params = params
        self.conn: Any = None

    def __enter__(self) -> SwitchSession:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        p = self.params
        device = {
            "device_type": p.get("device_type") or self.platform.device_type,
            "host": self.host,
            "port": int(p.get("port") or 22),
            "username": p.get("username"),
            "password": p.get("password"),
            "conn_timeout": float(p.get("timeout") or 10),
            "auth_timeout": float(p.get("timeout") or 10),
            "banner_timeout": float(p.get("timeout") or 10),
            "fast_cli": False,
            "ssh_config_file": p.get("ssh_config_file"),
            "allow_agent": False,
            "use_keys": False,
        }
        where = f"{self.host}:{device['port']}"
        try:
            self.conn = ConnectHandler(**device)
        except NetmikoAuthenticationException:
            user = p.get("username")
            raise ConnectError(f"{where}: authentication failed for user {user!r}") from None
        except NetmikoTimeoutException:
            raise ConnectError(f"{where}: connection timed out or was refused") from None
        except (NetmikoBaseException, OSError, EOFError) as exc:
            raise ConnectError(f"{where}: cannot connect: {_one_line(exc)}") from None

    def close(self) -> None:
        if self.conn is not None:
            # Closing a dead session must not mask the result.
            with contextlib.suppress(Exception):
                self.conn.disconnect()
            self.conn = None

    def running(self) -> str:
        return str(self.conn.send_command(self.platform.show_running, read_timeout=60))

    def push(self, lines: list[str], revert: Callable[[str], list[str]]) -> str:
        """Send `lines` in config mode, commit/save them. On rejection: discard (candidate
        platforms) or send `revert(running_now)` (the lines that restore the old state)."""
        pf = self.platform
        try:
            out = self.conn.send_config_set(
                lines,
                error_pattern=pf.error_pattern,
                exit_config_mode=not pf.transactional,
                read_timeout=60,
            )
            if pf.transactional:
                try:
                    out += pf.commit(self.conn)
                except ValueError as exc:  # netmiko's "Commit failed with the following errors"
                    raise SwitchError(
                        self.host, "commit", _one_line(exc), self._undo(revert)
                    ) from None
        except ConfigInvalidException as exc:
            line, text = _rejected(exc)
            raise SwitchError(self.host, line, text, self._undo(revert)) from None
        except (NetmikoBaseException, OSError, EOFError) as exc:
            raise ConnectError(f"{self.host}: session failed while configuring: "
                               f"{_one_line(exc)}") from None  # fmt: skip
        return out

    def confirm_and_save(self) -> str:
        out = self.platform.confirm(self.conn)
        return out + self.platform.save(self.conn)

    def _undo(self, revert: Callable[[str], list[str]]) -> str:
        """Put the device back; returns "" or why that failed (one line)."""
        pf = self.platform
        try:
            if pf.transactional:
                pf.discard(self.conn)
                self.conn.exit_config_mode()
                return ""
            self.conn.exit_config_mode()
            back = revert(self.running())
            if back:
                self.conn.send_config_set(back, error_pattern=pf.error_pattern, read_timeout=60)
            return ""
        except Exception as exc:  # reported in the failure message
            return _one_line(exc)


def _rejected(exc: Exception) -> tuple[str, str]:
    m = REJECTED_RE.search(str(exc))
    if not m:
        return ("?", _one_line(exc))
    return (m.group("line").strip(), m.group("text").strip())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
