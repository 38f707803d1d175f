"""Log lines are key=value, one per event, and never show secrets."""

from __future__ import annotations

import io
import logging

from ironlb.log import Secret, configure_logging, format_fields, get_logger


def test_secret_never_prints() -> None:
    s = Secret("hunter2")
    assert "hunter2" not in f"{s} {s!r} {s:>10}"
    assert s.reveal() == "hunter2"


def test_fields_named_like_secrets_are_redacted() -> None:
    line = format_fields({"peer": "198.51.100.1", "password": "hunter2", "hmac_key": "k"})
    assert "hunter2" not in line and "=k" not in line
    assert "peer=198.51.100.1" in line


def test_values_with_spaces_are_quoted() -> None:
    assert format_fields({"reason": "node down"}) == 'reason="node down"'


def test_logger_writes_one_line() -> None:
    buf = io.StringIO()
    configure_logging("debug", stream=buf)
    try:
        get_logger("ironlb.test").info("owner.change", ip="203.0.113.1", secret=Secret("x"))
    finally:
        configure_logging("warning", stream=io.StringIO())
    out = buf.getvalue()
    assert out.count("\n") == 1
    assert "event=owner.change" in out and "ip=203.0.113.1" in out and "=x" not in out
    logging.getLogger().handlers.clear()
