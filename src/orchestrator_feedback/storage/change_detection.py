"""Sequential change detection on one worker's outcomes: a CUSUM per measure that raises
``degraded`` when the outcomes turn worse than the worker's own history and ``recovered``
when they turn back. Pure functions and plain state (``alerts.py`` runs them on committed
entries and keeps their state in the store); ``docs/alerts.md`` has the formulas.

- CUSUM (Page, E. S. (1954), "Continuous inspection schemes", Biometrika 41(1/2)):
  ``S_t = max(0, S_{t-1} + log(f1(x_t) / f0(x_t)))``, an alarm when ``S_t >= h``. The
  change point is estimated as the first outcome after ``S`` last left 0.
- Threshold: ``h = ln(ARL)``. For a CUSUM of log-likelihood ratios the average number of
  in-control observations between false alarms is at least ``e**h`` (Lorden, G. (1971),
  "Procedures for reacting to a change in distribution", Ann. Math. Statist. 42(6)), so
  ``h = ln(ARL)`` gives at most one false alarm per ``ARL`` outcomes when the reference
  is the worker's true rate.
- Success (a Bernoulli CUSUM, Reynolds, M. R. and Stoumbos, Z. G. (1999), "A CUSUM chart
  for monitoring a proportion when inspecting continuously", J. Quality Technology 31(1)):
  the in-control failure rate ``q0`` is the worker's decayed history (an outcome ``k``
  outcomes old weighs ``0.5 ** (k / BASELINE_HALF_LIFE)``), ``(failures + 1/2) /
  (outcomes + 1)``; the rate to detect is ``q1`` with failure odds ``ODDS_RATIO`` times
  ``q0``'s. A failure adds ``ln(q1 / q0)``, a success ``ln((1 - q1) / (1 - q0))``.
- Ratings (a normal CUSUM for a fall of the mean by ``delta``): the reference mean ``mu0``
  and spread ``sigma`` (at least ``RATING_SPREAD_FLOOR``) from the decayed history,
  ``delta = sigma``; a rating ``x`` adds ``delta / sigma**2 * (mu0 - x) - delta**2 / (2
  sigma**2)``, with ``x - mu0`` clipped to ``3 sigma`` so that one stray rating cannot
  raise an alarm alone.
- Recovery: once degraded, the reference is the rate since the change point (decayed the
  same way) and the alternative the healthy reference frozen at the alarm (for success, at
  least ``ODDS_RATIO`` times lower failure odds; for ratings, at least ``sigma`` higher);
  the same CUSUM, the same threshold.
"""

from __future__ import annotations

import math
from datetime import datetime

import attrs

__all__ = [
    "BASELINE_HALF_LIFE",
    "DEGRADED",
    "MEASURES",
    "ODDS_RATIO",
    "RATING",
    "RATING_SPREAD_FLOOR",
    "RECOVERED",
    "SUCCESS",
    "Change",
    "Detector",
    "Sums",
    "threshold",
]

SUCCESS = "success"
"""The success rate (an outcome is 1 for a success, 0 for a failure)."""
RATING = "rating"
"""The mean rating (1-5)."""
MEASURES = (SUCCESS, RATING)
DEGRADED = "degraded"
RECOVERED = "recovered"

BASELINE_HALF_LIFE = 200.0
"""Outcomes after which an outcome weighs half as much in the reference."""
ODDS_RATIO = 4.0
"""How much larger the failure odds the success detector is tuned to find."""
RATING_SPREAD_FLOOR = 0.75
"""The least spread of ratings assumed (ratings are whole numbers from 1 to 5)."""
_KEEP = 0.5 ** (1 / BASELINE_HALF_LIFE)
_CLIP = 3.0
_LOWEST_RATE, _HIGHEST_RATE = 0.005, 0.5


def threshold(average_run_length: float) -> float:
    """The CUSUM threshold ``h`` for at most one false alarm per ``average_run_length``
    in-control outcomes (Lorden's bound, above)."""
    return math.log(average_run_length)


@attrs.define
class Sums:
    """Decayed sums of a measure: weight, values, squared values."""

    weight: float = 0.0
    total: float = 0.0
    squares: float = 0.0

    def add(self, value: float, keep: float = _KEEP) -> None:
        """Decay the sums by ``keep`` and add ``value``."""
        self.weight = self.weight * keep + 1.0
        self.total = self.total * keep + value
        self.squares = self.squares * keep + value * value

    def copy(self) -> Sums:
        """An independent copy."""
        return Sums(self.weight, self.total, self.squares)

    @property
    def mean(self) -> float:
        """The weighted mean (0 without weight)."""
        return self.total / self.weight if self.weight else 0.0

    @property
    def spread(self) -> float:
        """The weighted standard deviation, at least ``RATING_SPREAD_FLOOR``."""
        if not self.weight:
            return RATING_SPREAD_FLOOR
        variance = max(self.squares / self.weight - self.mean**2, 0.0)
        return max(math.sqrt(variance), RATING_SPREAD_FLOOR)

    @property
    def failure_rate(self) -> float:
        """The failure rate, ``(failures + 1/2) / (outcomes + 1)``, kept within 0.5% to 50%
        so that a spotless history still lets a change show."""
        rate = (self.weight - self.total + 0.5) / (self.weight + 1.0)
        return min(max(rate, _LOWEST_RATE), _HIGHEST_RATE)


@attrs.frozen
class Change:
    """A detector's alarm: ``kind`` (``degraded`` or ``recovered``) of ``measure`` since
    ``since`` (the estimated change point); ``before`` and ``after`` are the sums of the
    outcomes before and since it (``after`` undecayed: ``outcomes`` of them)."""

    kind: str
    measure: str
    since: datetime
    before: Sums
    after: Sums
    outcomes: int
    statistic: float
    threshold: float


def _bernoulli_step(value: float, q0: float, q1: float) -> float:
    failed = value < 0.5
    return math.log(q1 / q0) if failed else math.log((1 - q1) / (1 - q0))


def _normal_step(value: float, mu0: float, mu1: float, sigma: float) -> float:
    delta = mu1 - mu0
    shift = min(max(value - mu0, -_CLIP * sigma), _CLIP * sigma)
    return (delta * shift - delta * delta / 2) / (sigma * sigma)


@attrs.define
class Detector:
    """One measure's CUSUM for one worker (and task type), with everything it needs to go
    on after a restart (the store keeps it as JSON)."""

    measure: str
    degraded: bool = False
    outcomes: int = 0
    statistic: float = 0.0
    history: Sums = attrs.Factory(Sums)
    """The reference while healthy (every outcome, decayed)."""
    healthy: Sums | None = None
    """While degraded: the reference frozen at the alarm."""
    since_change: Sums | None = None
    """While degraded: the outcomes since the change point (decayed)."""
    run_start: datetime | None = None
    run: Sums = attrs.Factory(Sums)
    """The outcomes since the statistic last left 0 (undecayed)."""
    run_outcomes: int = 0
    history_at_run: Sums | None = None
    """The reference as it was when the run began (the ``before`` of an alarm)."""

    def _step(self, value: float) -> float:
        """The log-likelihood ratio of ``value``: changed against as things stand."""
        if self.degraded:
            assert self.healthy is not None and self.since_change is not None
            if self.measure == SUCCESS:
                q0 = self.since_change.failure_rate
                odds = q0 / (1 - q0) / ODDS_RATIO
                return _bernoulli_step(value, q0, min(self.healthy.failure_rate, odds / (1 + odds)))
            sigma = self.healthy.spread
            mu0 = self.since_change.mean
            return _normal_step(value, mu0, max(self.healthy.mean, mu0 + sigma), sigma)
        if self.measure == SUCCESS:
            q0 = self.history.failure_rate
            odds = ODDS_RATIO * q0 / (1 - q0)
            return _bernoulli_step(value, q0, odds / (1 + odds))
        sigma = self.history.spread
        return _normal_step(value, self.history.mean, self.history.mean - sigma, sigma)

    def hear(
        self, value: float, at: datetime, h: float, min_outcomes: int, may_raise: bool = True
    ) -> Change | None:
        """Count one outcome (``value``: 1 or 0 for success, the rating for ratings) made
        at ``at``; the alarm it raises, if any. No ``degraded`` alarm before the reference
        rests on ``min_outcomes`` outcomes, nor when ``may_raise`` is False."""
        before = self.statistic
        self.statistic = max(0.0, before + self._step(value))
        if self.statistic > 0.0:
            if before == 0.0:
                reference = self.since_change if self.degraded else self.history
                assert reference is not None
                self.run_start, self.run, self.run_outcomes = at, Sums(), 0
                self.history_at_run = reference.copy()
            self.run.add(value, 1.0)
            self.run_outcomes += 1
        else:
            self.run_start, self.run, self.run_outcomes, self.history_at_run = None, Sums(), 0, None
        self.outcomes += 1
        if self.degraded:
            assert self.since_change is not None
            self.since_change.add(value)
        else:
            self.history.add(value)
        if self.statistic < h or self.run_start is None:
            return None
        if not self.degraded and (
            not may_raise or self.outcomes - self.run_outcomes < min_outcomes
        ):
            return None
        return self._alarm(h)

    def _alarm(self, h: float) -> Change:
        assert self.run_start is not None and self.history_at_run is not None
        change = Change(
            RECOVERED if self.degraded else DEGRADED,
            self.measure,
            self.run_start,
            self.history_at_run,
            self.run,
            self.run_outcomes,
            self.statistic,
            h,
        )
        if self.degraded:
            assert self.healthy is not None
            # Back to the healthy reference, with the recovered outcomes counted in it.
            self.history = self.healthy
            for _ in range(self.run_outcomes):
                self.history.add(self.run.mean)
            self.degraded, self.healthy, self.since_change = False, None, None
        else:
            self.degraded = True
            self.healthy = self.history_at_run.copy()
            self.since_change = Sums(self.run.weight, self.run.total, self.run.squares)
        self.statistic = 0.0
        self.run_start, self.run, self.run_outcomes, self.history_at_run = None, Sums(), 0, None
        return change
