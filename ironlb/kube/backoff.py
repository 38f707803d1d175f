"""Exponential backoff with jitter (pure: the random source is injected)."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """``initial * factor**n``, capped at ``maximum``, each stretched by up to ``jitter``.

    With ``jitter=0.5`` a 2 s step becomes a delay in [2, 3) s, so many clients that failed
    together do not retry together.
    """

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum < initial or factor < 1 or jitter < 0:
            raise ValueError("backoff: need 0 < initial <= maximum, factor >= 1, jitter >= 0")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.failures = 0

    def next(self) -> float:
        """Record one more failure and return how long to wait before the next try."""
        step = min(self.maximum, self.initial * self.factor**self.failures)
        self.failures += 1
        return min(self.maximum, step * (1.0 + self.jitter * self.rng.random()))

    def reset(self) -> None:
        """A success: the next failure starts again at ``initial``."""
        self.failures = 0
