"""A set of integers stored as sorted, disjoint, non-adjacent closed intervals.

Addresses are integers (IPv4 and IPv6 alike), so a pool of a /8 or a /64 is one
interval, and a set of assigned addresses costs memory per run of consecutive
addresses, not per address of the pool. Lookups bisect two parallel lists of
starts and ends, so membership and "first free address at or after x" are
O(log n) in the number of runs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator


class IntervalSet:
    """Integers as closed intervals `[lo, hi]`; adjacent intervals are always merged."""

    __slots__ = ("_count", "_ends", "_starts")

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._count = 0
        for lo, hi in intervals:
            self.add(lo, hi)

    def add(self, lo: int, hi: int | None = None) -> None:
        """Add every integer in `[lo, hi]` (one integer when `hi` is omitted)."""
        hi = lo if hi is None else hi
        if hi < lo:
            raise ValueError(f"empty interval [{lo}, {hi}]")
        # Intervals that overlap or touch [lo, hi] are merged into one.
        i = bisect_left(self._ends, lo - 1)
        j = bisect_right(self._starts, hi + 1)
        if i < j:
            lo = min(lo, self._starts[i])
            hi = max(hi, self._ends[j - 1])
            self._count -= self._size(i, j)
        self._starts[i:j] = [lo]
        self._ends[i:j] = [hi]
        self._count += hi - lo + 1

    def remove(self, lo: int, hi: int | None = None) -> None:
        """Remove every integer in `[lo, hi]`; integers not present are ignored."""
        hi = lo if hi is None else hi
        if hi < lo:
            raise ValueError(f"empty interval [{lo}, {hi}]")
        i = bisect_left(self._ends, lo)
        j = bisect_right(self._starts, hi)
        if i >= j:
            return
        first_start, last_end = self._starts[i], self._ends[j - 1]
        self._count -= self._size(i, j)
        starts: list[int] = []
        ends: list[int] = []
        if first_start < lo:
            starts.append(first_start)
            ends.append(lo - 1)
        if last_end > hi:
            starts.append(hi + 1)
            ends.append(last_end)
        self._starts[i:j] = starts
        self._ends[i:j] = ends
        self._count += sum(ends) - sum(starts) + len(starts)

    def __contains__(self, x: object) -> bool:
        if not isinstance(x, int):
            return False
        i = bisect_right(self._starts, x) - 1
        return i >= 0 and self._ends[i] >= x

    def contains(self, x: int) -> bool:
        return x in self

    def covers(self, lo: int, hi: int) -> bool:
        """True if every integer in `[lo, hi]` is in the set."""
        i = bisect_right(self._starts, lo) - 1
        return i >= 0 and self._ends[i] >= hi

    def first_free_in(self, lo: int, hi: int) -> int | None:
        """The smallest integer in `[lo, hi]` that is NOT in the set, or None."""
        if hi < lo:
            return None
        i = bisect_right(self._starts, lo) - 1
        # Merged intervals never touch, so the end of the covering interval + 1 is free.
        x = self._ends[i] + 1 if i >= 0 and self._ends[i] >= lo else lo
        return x if x <= hi else None

    def first_in(self, lo: int, hi: int) -> int | None:
        """The smallest integer in `[lo, hi]` that IS in the set, or None."""
        if hi < lo:
            return None
        i = bisect_left(self._ends, lo)
        if i == len(self._starts):
            return None
        x = max(lo, self._starts[i])
        return x if x <= hi else None

    def count_in(self, lo: int, hi: int) -> int:
        """How many integers of `[lo, hi]` are in the set."""
        if hi < lo:
            return 0
        i = bisect_left(self._ends, lo)
        j = bisect_right(self._starts, hi)
        if i >= j:
            return 0
        inside = self._size(i, j)
        # Trim the parts of the first and last intervals that stick out of [lo, hi].
        return inside - max(0, lo - self._starts[i]) - max(0, self._ends[j - 1] - hi)

    def _size(self, i: int, j: int) -> int:
        """Total integers in stored intervals i..j-1."""
        return sum(self._ends[i:j]) - sum(self._starts[i:j]) + (j - i)

    @property
    def count(self) -> int:
        """Number of integers in the set (may exceed sys.maxsize, unlike len())."""
        return self._count

    def intervals(self) -> Iterator[tuple[int, int]]:
        return zip(self._starts, self._ends, strict=True)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return self.intervals()

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self._starts == other._starts and self._ends == other._ends

    __hash__ = None  # type: ignore[assignment]

    @property
    def runs(self) -> int:
        """Number of stored intervals: the memory cost of the set."""
        return len(self._starts)

    def copy(self) -> IntervalSet:
        new = IntervalSet()
        new._starts = list(self._starts)
        new._ends = list(self._ends)
        new._count = self._count
        return new

    def __repr__(self) -> str:
        shown = ", ".join(f"[{s}, {e}]" for s, e in self.intervals())
        return f"IntervalSet({shown})"
