"""Structured `key=value` logging with secret redaction.

One line per decision: `ts=... level=info logger=speaker.l2 event=owner.change ip=... reason=...`.
Any field whose name suggests a secret is redacted, and `Secret` values never print,
so a password cannot leak through a log line by accident.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

REDACTED = "<redacted>"
_SECRET_WORDS = ("password", "secret", "token", "key", "credential")
# Names that contain "key" but are not secrets.
_NOT_SECRET = frozenset({"key", "sharing_key", "keepalive", "keepalive_time", "monkey"})


class Secret(str):
    """A string that refuses to show itself; `.reveal()` gives the value."""

    __slots__ = ()

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __format__(self, spec: str) -> str:
        return REDACTED

    def reveal(self) -> str:
        return str.__str__(self)


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    if lowered in _NOT_SECRET:
        return False
    return any(word in lowered for word in _SECRET_WORDS)


def _quote(value: Any) -> str:
    if isinstance(value, Secret):
        return REDACTED
    text = value if isinstance(value, str) else repr(value) if value is None else str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


def format_fields(fields: dict[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        shown = REDACTED if is_secret_field(name) and value not in (None, "") else value
        parts.append(f"{name}={_quote(shown)}")
    return " ".join(parts)


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        head = {
            "ts": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line = format_fields(head)
        fields = getattr(record, "kv", None)
        if fields:
            line += " " + format_fields(fields)
        if record.exc_info:
            line += " exc=" + _quote(self.formatException(record.exc_info).splitlines()[-1])
        return line


class StructLogger:
    """`log.info("event.name", field=value, ...)` over a stdlib logger."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    @property
    def name(self) -> str:
        return self._logger.name

    def _log(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={"kv": fields}, exc_info=exc_info)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields, exc_info=True)

    def is_enabled(self, level: str) -> bool:
        return self._logger.isEnabledFor(logging.getLevelName(level.upper()))


def get_logger(name: str) -> StructLogger:
    return StructLogger(logging.getLogger(name))


def configure_logging(level: str = "info", stream: Any = None) -> None:
    """Install the key=value formatter on the root logger (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_ironlb", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_KeyValueFormatter())
    handler._ironlb = True  # type: ignore[attr-defined]
    root.addHandler(handler)
