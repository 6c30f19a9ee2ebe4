"""Timing helpers: interleaved rounds, medians and spreads, so noise hits both sides alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import attrs


@attrs.frozen
class Comparison:
    """Per-operation medians of ours against the raw baseline, over interleaved rounds."""

    name: str
    ours: list[float]
    raw: list[float]
    limit: float

    @property
    def ratio(self) -> float:
        """Median of ours over median of raw."""
        return statistics.median(self.ours) / statistics.median(self.raw)

    @property
    def round_ratios(self) -> list[float]:
        """The ratio in each round: its spread says how noisy the machine was."""
        return [ours / raw for ours, raw in zip(self.ours, self.raw, strict=True)]

    def line(self) -> str:
        """One printable line: the ratio against its limit, medians and spread."""
        ratios = self.round_ratios
        verdict = "ok" if self.ratio <= self.limit else "OVER"
        return (
            f"{self.name:<44} ratio {self.ratio:5.2f}x (limit {self.limit}x, {verdict}; "
            f"rounds {min(ratios):.2f}-{max(ratios):.2f})  "
            f"ours {fmt(statistics.median(self.ours))}  raw {fmt(statistics.median(self.raw))}"
        )


def fmt(seconds: float) -> str:
    """Format a duration with a unit that suits it."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def per_call(work: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``work``, over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - start) / calls


def compare(
    name: str,
    ours: Callable[[], object],
    raw: Callable[[], object],
    *,
    calls: int,
    rounds: int,
    limit: float,
) -> Comparison:
    """Time ``ours`` and ``raw`` in alternating rounds (who goes first alternates too)."""
    per_call(ours, max(1, calls // 10))  # warm caches and statement caches
    per_call(raw, max(1, calls // 10))
    ours_times: list[float] = []
    raw_times: list[float] = []
    for round_number in range(rounds):
        if round_number % 2:
            raw_times.append(per_call(raw, calls))
            ours_times.append(per_call(ours, calls))
        else:
            ours_times.append(per_call(ours, calls))
            raw_times.append(per_call(raw, calls))
    return Comparison(name, ours_times, raw_times, limit)
