"""Backoff growth and jitter (seeded), and HTTP Status bodies → typed errors."""

from __future__ import annotations

import random

import pytest

from ironlb.kube.backoff import Backoff
from ironlb.kube.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    error_from_status,
)


def test_backoff_doubles_caps_jitters_and_resets() -> None:
    no_jitter = Backoff(initial=1, maximum=10, jitter=0)
    assert [no_jitter.next() for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    no_jitter.reset()
    assert no_jitter.next() == 1
    jittered = Backoff(initial=1, maximum=100, jitter=0.5, rng=random.Random(7))
    delays = [jittered.next() for _ in range(5)]
    for step, delay in zip([1, 2, 4, 8, 16], delays, strict=True):
        assert step <= delay < step * 1.5
    assert len(set(round(d / s, 6) for d, s in zip(delays, [1, 2, 4, 8, 16], strict=True))) > 1


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(initial=0)


@pytest.mark.parametrize(
    ("status", "reason", "cls"),
    [
        (404, "NotFound", NotFound),
        (409, "Conflict", Conflict),
        (409, "AlreadyExists", AlreadyExists),
        (410, "Gone", Gone),
        (410, "Expired", Gone),
        (422, "Invalid", Invalid),
        (500, "InternalError", ApiError),
    ],
)
def test_status_bodies_map_to_typed_errors(status: int, reason: str, cls: type) -> None:
    body = {"kind": "Status", "code": status, "reason": reason, "message": "m"}
    err = error_from_status(status, body)
    assert type(err) is cls
    assert (err.status, err.reason, err.message) == (status, reason, "m")


def test_non_json_bodies_still_give_a_message() -> None:
    err = error_from_status(502, b"<html>bad gateway</html>")
    assert err.status == 502 and "bad gateway" in err.message
    assert error_from_status(404, None).message == "HTTP 404"


def test_invalid_keeps_the_field_causes() -> None:
    body = {
        "code": 422,
        "reason": "Invalid",
        "message": "bad",
        "details": {"causes": [{"field": "spec.addresses[0]", "message": "bad cidr"}]},
    }
    err = error_from_status(422, body)
    assert err.details["causes"][0]["field"] == "spec.addresses[0]"
