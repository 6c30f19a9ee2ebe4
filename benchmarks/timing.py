"""Timing helpers: interleaved rounds, medians and spreads, so noise hits both sides alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import attrs


@attrs.frozen
class Comparison:
    """Per-operation medians of ours against the raw baseline, over interleaved rounds.

    Two views of the same calls: each round's batch mean (``ours``, ``raw``: the time of the
    round over its calls, which the limits are judged on), and every call timed alone
    (``ours_calls``, ``raw_calls``), whose median is what a user timing one call at a time
    measures. They differ where a few slow calls (a checkpoint, a page split, the garbage
    collector) raise a mean but not a median, or where the per-call clock reads weigh on
    very short calls.
    """

    name: str
    ours: list[float]
    raw: list[float]
    limit: float
    ours_calls: list[float] = attrs.field(factory=list)
    raw_calls: list[float] = attrs.field(factory=list)

    @property
    def ratio(self) -> float:
        """Median of ours over median of raw."""
        return statistics.median(self.ours) / statistics.median(self.raw)

    @property
    def round_ratios(self) -> list[float]:
        """The ratio in each round: its spread says how noisy the machine was."""
        return [ours / raw for ours, raw in zip(self.ours, self.raw, strict=True)]

    @property
    def call_ratio(self) -> float | None:
        """Median call of ours over median call of raw (None without per-call times)."""
        if not self.ours_calls or not self.raw_calls:
            return None
        return statistics.median(self.ours_calls) / statistics.median(self.raw_calls)

    def line(self) -> str:
        """One printable line: the ratio against its limit, medians and spread; then the
        per-call medians with their quartiles."""
        ratios = self.round_ratios
        verdict = "ok" if self.ratio <= self.limit else "OVER"
        text = (
            f"{self.name:<44} ratio {self.ratio:5.2f}x (limit {self.limit}x, {verdict}; "
            f"rounds {min(ratios):.2f}-{max(ratios):.2f})  "
            f"ours {fmt(statistics.median(self.ours))}  raw {fmt(statistics.median(self.raw))}"
        )
        call_ratio = self.call_ratio
        if call_ratio is not None:
            text += (
                f"\n{'':<44} per call: ratio {call_ratio:5.2f}x of medians; ours "
                f"{_quartiles(self.ours_calls)}, raw {_quartiles(self.raw_calls)}"
            )
        return text


def fmt(seconds: float) -> str:
    """Format a duration with a unit that suits it."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def _quartiles(samples: list[float]) -> str:
    low, middle, high = statistics.quantiles(samples, n=4)
    return f"{fmt(middle).strip()} ({fmt(low).strip()}-{fmt(high).strip()})"


def per_call(work: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``work``, over ``calls`` calls."""
    return timed_calls(work, calls)[0]


def timed_calls(work: Callable[[], object], calls: int) -> tuple[float, list[float]]:
    """The batch mean of ``calls`` calls of ``work``, and each call's own duration."""
    clock = time.perf_counter
    durations = []
    start = clock()
    for _ in range(calls):
        began = clock()
        work()
        durations.append(clock() - began)
    return (clock() - start) / calls, durations


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
    ours_calls: list[float] = []
    raw_calls: list[float] = []
    for round_number in range(rounds):
        order = ((raw, raw_times, raw_calls), (ours, ours_times, ours_calls))
        for work, means, each in order if round_number % 2 else reversed(order):
            mean, durations = timed_calls(work, calls)
            means.append(mean)
            each.extend(durations)
    return Comparison(name, ours_times, raw_times, limit, ours_calls, raw_calls)
