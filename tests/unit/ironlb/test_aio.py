"""TimerDriver keeps one timer armed at the core's deadline and re-arms after firing."""

from __future__ import annotations

import asyncio

from ironlb.aio import TimerDriver


class Core:
    def __init__(self, deadlines: list[float]) -> None:
        self.deadlines = deadlines
        self.fired: list[float] = []

    def get_timer(self) -> float | None:
        return self.deadlines[0] if self.deadlines else None

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        self.deadlines.pop(0)


async def test_driver_fires_each_deadline_in_order() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    core = Core([start + 0.01, start + 0.02])
    done = asyncio.Event()
    seen: list[float] = []

    def on_fire(now: float) -> None:
        seen.append(now)
        if not core.deadlines:
            done.set()

    driver = TimerDriver(core, on_fire)
    driver.rearm()
    await asyncio.wait_for(done.wait(), 2)
    assert len(core.fired) == 2 and seen == core.fired
    assert core.fired[0] >= start + 0.01
    driver.close()


async def test_closed_driver_does_not_fire() -> None:
    loop = asyncio.get_running_loop()
    core = Core([loop.time() + 0.01])
    driver = TimerDriver(core, lambda now: None)
    driver.rearm()
    driver.close()
    await asyncio.sleep(0.03)
    assert core.fired == []
