"""Worker scores from the scores rollup's days: decayed counts and Wilson score intervals
(``ranking.py`` ranks candidates with them). Pure functions (``docs/scores.md`` has the formulas).

- Decay: an outcome of age ``a`` weighs ``0.5 ** (a / half_life)``. A day's ``n`` outcomes
  at times of day ``f_i`` (fractions of a day) weigh ``sum(exp(lam * (f_i - a0)))`` with
  ``lam = ln 2 / half_life`` and ``a0`` the age of the day's start. From the day's moments
  (``mean`` and ``var`` of ``f``) that sum is ``n * exp(lam * (mean - a0) + lam**2 * var / 2)``:
  exact for one outcome or one instant, and within 0.6% of the per-entry sum for any spread
  within the day when ``half_life`` is a day or more (the cumulant expansion of
  ``log E[exp(lam f)]`` stopped at the variance; the worst case, outcomes split between the
  two ends of a day, is 0.53% at a half-life of one day; a day's even spread, 0.008%).
- Wilson score interval (Wilson, E. B. (1927), "Probable inference, the law of succession,
  and statistical inference", JASA 22(158)): for ``p`` observed over ``n``, centre
  ``(p + z**2 / (2n)) / (1 + z**2 / n)``, half width
  ``z / (1 + z**2 / n) * sqrt(p (1 - p) / n + z**2 / (4 n**2))``; ``n`` is the sum of the
  weights, ``z = NormalDist().inv_cdf((1 + confidence) / 2)``.
- Ratings: ``r`` maps to ``(r - 1) / 4``; the interval of the weighted mean on that scale,
  mapped back to 1-5.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

import attrs

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.storage.backends.values import ScoreDay
from orchestrator_feedback.summaries import WorkerScore

__all__ = [
    "Tally",
    "best_first",
    "check_confidence",
    "check_half_life",
    "score_of",
    "tallies_from_sums",
    "tallies_of",
    "wilson",
]

_DAY = 86_400.0


@attrs.define
class Tally:
    """One worker's weighted sums: successes, failures, ratings and their sum, timed
    outcomes and their time, and the newest outcome or rating."""

    successes: float = 0.0
    failures: float = 0.0
    ratings: float = 0.0
    rating_sum: float = 0.0
    timed: float = 0.0
    time_sum: float = 0.0
    latest: datetime | None = None

    def scaled(self, factor: float) -> Tally:
        """Every weighted sum times ``factor`` (decay to a later time)."""
        return Tally(
            self.successes * factor,
            self.failures * factor,
            self.ratings * factor,
            self.rating_sum * factor,
            self.timed * factor,
            self.time_sum * factor,
            self.latest,
        )


def check_half_life(half_life: object) -> float | None:
    """``half_life`` (a ``timedelta`` or None) in days; a clear error otherwise."""
    if half_life is None:
        return None
    if not isinstance(half_life, timedelta) or half_life <= timedelta(0):
        raise FeedbackValidationError("half_life", half_life, "must be a positive timedelta")
    return half_life.total_seconds() / _DAY


@functools.lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    return NormalDist().inv_cdf((1 + confidence) / 2)


def check_confidence(confidence: object) -> float:
    """``z`` for a two-sided ``confidence`` strictly between 0 and 1."""
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0 < confidence < 1
    ):
        raise FeedbackValidationError(
            "confidence", confidence, "must be a number between 0 and 1, such as 0.95"
        )
    return _z(float(confidence))


_MOST_EXPONENT = 700.0
"""Below ``log(sys.float_info.max)``: a weight of an entry dated in the future (a host's
clock ahead) stays a finite, very large number rather than an overflow."""


def _weight(count: float, f: float, ff: float, age0: float, rate: float | None) -> float:
    """The decayed weight of ``count`` outcomes of one day with moments ``f``, ``ff``."""
    if not count:
        return 0.0
    if rate is None:
        return float(count)
    mean = f / count
    variance = max(ff / count - mean * mean, 0.0)
    # No outcome is younger than the day's end or now (f <= min(1, a0)), so the sum is at
    # most count * exp(rate * (min(1, a0) - a0)): a cap that the expansion can overshoot
    # when the half-life is far below a day (and then would overflow).
    cap = rate * (min(1.0, age0) - age0) if age0 > 0 else _MOST_EXPONENT
    exponent = rate * (mean - age0) + rate * rate * variance / 2
    return count * math.exp(min(exponent, cap, _MOST_EXPONENT))


def _day_start(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def tallies_of(
    days: Iterable[ScoreDay], now: datetime, half_life_days: float | None
) -> dict[str, Tally]:
    """Every worker's tally at ``now`` from its days (``half_life_days`` None: no decay)."""
    rate = None if half_life_days is None else math.log(2) / half_life_days
    tallies: dict[str, Tally] = {}
    starts: dict[str, float] = {}
    for row in days:
        age0 = starts.get(row.day)
        if age0 is None:
            age0 = starts[row.day] = (now - _day_start(row.day)).total_seconds() / _DAY
        tally = tallies.get(row.worker)
        if tally is None:
            tally = tallies[row.worker] = Tally()
        tally.successes += _weight(row.successes, row.success_f, row.success_ff, age0, rate)
        tally.failures += _weight(row.failures, row.failure_f, row.failure_ff, age0, rate)
        tally.ratings += _weight(row.rated, row.rated_f, row.rated_ff, age0, rate)
        tally.rating_sum += _weight(row.rating_sum, row.rating_f, row.rating_ff, age0, rate)
        if row.timed:
            # No moments for times: weighed at the middle of the day.
            middle = 1.0 if rate is None else math.exp(min(rate * (0.5 - age0), _MOST_EXPONENT))
            tally.timed += row.timed * middle
            tally.time_sum += row.time_sum * middle
        if row.latest is not None and (tally.latest is None or row.latest > tally.latest):
            tally.latest = row.latest
    return tallies


def tallies_from_sums(
    sums: Iterable[ScoreDay],
    pending: Iterable[ScoreDay],
    counts: dict[str, tuple[int, int, int, int, int]],
    t_ref: datetime,
    half_life_days: float,
) -> dict[str, Tally]:
    """Every worker's tally at ``t_ref`` from decayed sums kept at ``t_ref`` (a row a worker:
    its day and moments unused) and the days not yet in them (``tallies_of``). ``counts``
    (per worker: entries, successes, failures, ratings, timed outcomes, of both together)
    tell what the sums cannot: a worker no entry names any more is left out, and a measure
    with no outcome is exactly 0 (the sums keep the rounding of weights added and taken
    away, and pending deletions are negative)."""
    tallies = {
        row.worker: Tally(
            row.successes,
            row.failures,
            row.rated,
            row.rating_sum,
            row.timed,
            row.time_sum,
            row.latest,
        )
        for row in sums
    }
    for worker, extra in tallies_of(pending, t_ref, half_life_days).items():
        tally = tallies.setdefault(worker, Tally())
        tally.successes += extra.successes
        tally.failures += extra.failures
        tally.ratings += extra.ratings
        tally.rating_sum += extra.rating_sum
        tally.timed += extra.timed
        tally.time_sum += extra.time_sum
        if extra.latest is not None and (tally.latest is None or extra.latest > tally.latest):
            tally.latest = extra.latest
    for worker in list(tallies):
        entries, successes, failures, ratings, timed = counts.get(worker, (0, 0, 0, 0, 0))
        if entries <= 0:
            del tallies[worker]
            continue
        tally = tallies[worker]
        tally.successes = max(tally.successes, 0.0) if successes > 0 else 0.0
        tally.failures = max(tally.failures, 0.0) if failures > 0 else 0.0
        if ratings <= 0:
            tally.ratings = tally.rating_sum = 0.0
        if timed <= 0:
            tally.timed = tally.time_sum = 0.0
    return tallies


def wilson(successes: float, n: float, z: float) -> tuple[float | None, float | None]:
    """The Wilson score interval of ``successes / n`` (None, None when ``n`` is 0)."""
    if n <= 0:
        return None, None
    p = min(max(successes / n, 0.0), 1.0)
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At p = 0 or 1 an end is exactly 0 or 1; floating point would leave 1e-16 off.
    low = 0.0 if p == 0.0 else max(centre - half, 0.0)
    high = 1.0 if p == 1.0 else min(centre + half, 1.0)
    return low, high


def rating_interval(mean: float, ratings: float, z: float) -> tuple[float | None, float | None]:
    """The interval of a mean rating on the 1-5 scale: Wilson on ``(mean - 1) / 4`` with
    the number of ratings as n (docs/scores.md); (None, None) without ratings."""
    low, high = wilson((mean - 1) / 4 * ratings, ratings, z)
    return (None if low is None else 1 + 4 * low, None if high is None else 1 + 4 * high)


def score_of(worker: str, tally: Tally, z: float) -> WorkerScore:
    """A ``WorkerScore`` from a worker's tally and ``z``."""
    attempts = tally.successes + tally.failures
    success_lower, success_upper = wilson(tally.successes, attempts, z)
    mean_rating = rating_lower = rating_upper = None
    if tally.ratings > 0:
        mean_rating = tally.rating_sum / tally.ratings
        rating_lower, rating_upper = rating_interval(mean_rating, tally.ratings, z)
    return WorkerScore(
        worker_id=worker,
        attempts=attempts,
        successes=tally.successes,
        failures=tally.failures,
        success_rate=tally.successes / attempts if attempts > 0 else None,
        success_lower=success_lower,
        success_upper=success_upper,
        ratings=tally.ratings,
        mean_rating=mean_rating,
        rating_lower=rating_lower,
        rating_upper=rating_upper,
        mean_execution_time=tally.time_sum / tally.timed if tally.timed > 0 else None,
        last_seen=tally.latest,
    )


def best_first(scores: Iterable[WorkerScore]) -> list[WorkerScore]:
    """By ``success_lower``, then ``rating_lower`` (both highest first, missing last),
    then ``worker_id``."""
    return sorted(
        scores,
        key=lambda s: (
            s.success_lower is None,
            -(s.success_lower or 0.0),
            s.rating_lower is None,
            -(s.rating_lower or 0.0),
            s.worker_id,
        ),
    )
