"""wait_until: converge, or fail with the last diff (no real clock needed)."""

from __future__ import annotations

import pytest

from ironlb.netns import WaitTimeout, async_wait_until, wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_returns_the_number_of_checks_once_converged() -> None:
    answers = iter(["a", "b", None])
    clock = FakeClock()
    assert wait_until(lambda: next(answers), 5, clock=clock, sleep=clock.sleep) == 3
    assert clock.now == pytest.approx(0.1)


def test_raises_with_the_last_diff() -> None:
    clock = FakeClock()
    calls = []

    def check() -> object:
        calls.append(clock.now)
        return {"missing": len(calls)}

    with pytest.raises(WaitTimeout) as info:
        wait_until(check, 1.0, interval=0.3, clock=clock, sleep=clock.sleep)
    assert info.value.diff == {"missing": len(calls)}
    assert calls[-1] == pytest.approx(1.0)  # a last look at the deadline
    assert "not converged after 1 s" in str(info.value)


def test_check_errors_propagate() -> None:
    def boom() -> None:
        raise RuntimeError("crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        wait_until(boom, 1.0)


async def test_async_variant_accepts_coroutines() -> None:
    answers = iter([1, None])

    async def check() -> object:
        return next(answers)

    assert await async_wait_until(check, 5, interval=0.001) == 2
    with pytest.raises(WaitTimeout):
        await async_wait_until(lambda: "never", 0.01, interval=0.001)
