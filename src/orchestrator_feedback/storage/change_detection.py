"""Sequential change detection on one worker's outcomes: a CUSUM per measure that raises
``degraded`` when the outcomes turn worse than the worker's own history and ``recovered``
when they turn back. Pure functions and plain state (``alerts.py`` runs them on committed
entries and keeps their state in the store); ``docs/alerts.md`` has the formulas.

- CUSUM (Page, E. S. (1954), "Continuous inspection schemes", Biometrika 41(1/2)):
  ``S_t = max(0, S_{t-1} + log(f1(x_t) / f0(x_t)))``, an alarm when ``S_t >= h``. The
  change point is estimated as the first outcome after ``S`` last left 0.
- Threshold: the ``h`` whose in-control average run length (outcomes between false
  alarms) is ``ARL``, by Wald's approximation for a CUSUM of log-likelihood ratios,
  ``ARL0 = (e**h - h - 1) / K`` with ``K`` the Kullback-Leibler divergence of the
  in-control law from the alternative, the mean fall of the statistic per in-control
  outcome (Siegmund, D. (1985), "Sequential Analysis", Springer, ch. II; the overshoot it
  leaves out makes false alarms rarer still). ``h`` follows the reference, so the rate
  of false alarms stays at the configured one whatever a worker's usual rate; ``make
  bench`` measures it.
- A new worker: until its own history rests on ``PEER_OUTCOMES`` outcomes, its reference
  takes the rest from its peers' (every worker's outcomes of the task type, decayed
  alike), so that a worker failing from its first task is a change from what is usual.
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

import functools
import math
from datetime import datetime

import attrs

from orchestrator_feedback.serialization import parse_timestamp

__all__ = [
    "BASELINE_HALF_LIFE",
    "DEGRADED",
    "ODDS_RATIO",
    "PEER_OUTCOMES",
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
DEGRADED = "degraded"
RECOVERED = "recovered"

BASELINE_HALF_LIFE = 200.0
"""Outcomes after which an outcome weighs half as much in the reference."""
ODDS_RATIO = 8.0
"""How much larger the failure odds the success detector is tuned to find."""
RATING_SPREAD_FLOOR = 0.75
"""The least spread of ratings assumed (ratings are whole numbers from 1 to 5)."""
_KEEP = 0.5 ** (1 / BASELINE_HALF_LIFE)
_LEAST_THRESHOLD = 2.0
PEER_OUTCOMES = 20.0
"""The outcomes a new worker's reference borrows from its peers until it has its own."""
SETTLE_EVERY = 8
"""Outcomes between two workings-out of a detector's constants from its reference (which
moves by at most 3% in as many); every outcome while it borrows from its peers."""
WALD_MARGIN = 2.0
"""How much longer than Wald's approximation the in-control run is taken to be: its
overshoot and the reference that follows the outcomes each lengthen it (at least 1.6
times for a fixed reference; ``make bench`` measures the false alarms)."""
_CLIP = 3.0
_LOWEST_RATE, _HIGHEST_RATE = 0.005, 0.5


@functools.lru_cache(maxsize=4096)
def _solve_threshold(average_run_length: float, log_divergence: int) -> float:
    target = average_run_length * math.exp(log_divergence / 100)
    h = math.log(target + 1.0)
    for _ in range(6):  # h = ln(ARL K + h + 1): a contraction, settled in a few steps
        h = math.log(target + h + 1.0)
    return max(h, _LEAST_THRESHOLD)


def threshold(average_run_length: float, divergence: float) -> float:
    """The CUSUM threshold ``h`` for one false alarm per ``average_run_length`` in-control
    outcomes when the statistic falls by ``divergence`` per in-control outcome on average
    (Wald's approximation, above)."""
    # The divergence to 1% (the threshold moves by 0.01 at most): a handful of solutions.
    return _solve_threshold(
        float(average_run_length) / WALD_MARGIN, round(math.log(divergence) * 100)
    )


def _bernoulli_divergence(q0: float, q1: float) -> float:
    return q0 * math.log(q0 / q1) + (1 - q0) * math.log((1 - q0) / (1 - q1))


@attrs.define
class Sums:
    """Decayed sums of a measure: weight, values, squared values."""

    weight: float = 0.0
    total: float = 0.0
    squares: float = 0.0

    def add(self, value: float) -> None:
        """Decay the sums by one outcome's keep and add ``value``."""
        self.weight = self.weight * _KEEP + 1.0
        self.total = self.total * _KEEP + value
        self.squares = self.squares * _KEEP + value * value

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

    settle_in: int = 0
    """Outcomes until the constants below are worked out again from the reference."""
    constants: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    """Success: the steps of a failure and of a success, the divergence and ``h``.
    Ratings: the reference mean, the spread, the shift looked for and ``h``."""

    def reference(self, peers: Sums | None = None) -> Sums:
        """The healthy reference: the worker's history, and while that rests on fewer
        than ``PEER_OUTCOMES`` outcomes, as many of its peers' (``peers``: every worker's
        outcomes of the same task type, decayed alike) as make up the difference."""
        history = self.history
        if peers is None or not peers.weight or history.weight >= PEER_OUTCOMES:
            return history
        borrowed = min(PEER_OUTCOMES - history.weight, peers.weight) / peers.weight
        return Sums(
            history.weight + borrowed * peers.weight,
            history.total + borrowed * peers.total,
            history.squares + borrowed * peers.squares,
        )

    def _settle(self, average_run_length: float, peers: Sums | None) -> None:
        """Work the CUSUM's constants out from the reference as it stands (every
        ``SETTLE_EVERY`` outcomes, and after an alarm)."""
        if self.measure == SUCCESS:
            if self.degraded:
                assert self.healthy is not None and self.since_change is not None
                q0 = self.since_change.failure_rate
                odds = q0 / (1 - q0) / ODDS_RATIO
                q1 = min(self.healthy.failure_rate, odds / (1 + odds))
            else:
                q0 = self.reference(peers).failure_rate
                odds = ODDS_RATIO * q0 / (1 - q0)
                q1 = odds / (1 + odds)
            divergence = _bernoulli_divergence(q0, q1)
            self.constants = (
                math.log(q1 / q0),
                math.log((1 - q1) / (1 - q0)),
                divergence,
                threshold(average_run_length, divergence),
            )
        else:
            if self.degraded:
                assert self.healthy is not None and self.since_change is not None
                sigma = self.healthy.spread
                mu0 = self.since_change.mean
                delta = max(self.healthy.mean, mu0 + sigma) - mu0
            else:
                reference = self.reference(peers)
                sigma = reference.spread
                mu0 = reference.mean
                delta = -sigma
            divergence = delta * delta / (2 * sigma * sigma)
            self.constants = (mu0, sigma, delta, threshold(average_run_length, divergence))
        # A reference still borrowing from its peers moves with them: settled each time.
        self.settle_in = SETTLE_EVERY if self.history.weight >= PEER_OUTCOMES else 1

    def hear(
        self,
        value: float,
        at: datetime | str,
        average_run_length: float,
        min_outcomes: int,
        may_raise: bool = True,
        peers: Sums | None = None,
    ) -> Change | None:
        """Count one outcome (``value``: 1 or 0 for success, the rating for ratings) made
        at ``at`` (a datetime, or its ISO text, read only when a run begins); return the
        alarm it raises, if any, at one false alarm per ``average_run_length`` steady
        outcomes. No ``degraded`` alarm before the reference rests on ``min_outcomes``
        outcomes (``peers``' included, ``reference``), nor when ``may_raise`` is False; no
        ``recovered`` one before the recovery has lasted ``min_outcomes`` outcomes (a short
        lucky run of a degraded worker is not a recovery)."""
        if self.settle_in <= 0:
            self._settle(average_run_length, peers)
        self.settle_in -= 1
        first, second, third, h = self.constants
        if self.measure == SUCCESS:
            step = first if value < 0.5 else second
        else:  # first: mu0, second: sigma, third: delta
            shift = min(max(value - first, -_CLIP * second), _CLIP * second)
            step = (third * shift - third * third / 2) / (second * second)
        before = self.statistic
        statistic = self.statistic = before + step if before + step > 0.0 else 0.0
        if statistic > 0.0:
            run = self.run
            if before == 0.0:
                reference = self.since_change if self.degraded else self.reference(peers)
                assert reference is not None
                self.run_start = parse_timestamp(at)
                run = self.run = Sums()
                self.run_outcomes = 0
                self.history_at_run = reference.copy()
            run.weight += 1.0
            run.total += value
            run.squares += value * value
            self.run_outcomes += 1
        elif self.run_start is not None:
            self.run_start, self.run, self.run_outcomes, self.history_at_run = None, Sums(), 0, None
        self.outcomes += 1
        reference = self.since_change if self.degraded else self.history
        assert reference is not None
        reference.weight = reference.weight * _KEEP + 1.0
        reference.total = reference.total * _KEEP + value
        reference.squares = reference.squares * _KEEP + value * value
        if statistic < h or self.run_start is None:
            return None
        assert self.history_at_run is not None
        if self.degraded:
            if self.run_outcomes < min_outcomes:  # a recovery shows itself at length
                return None
        elif not may_raise or self.history_at_run.weight < min_outcomes - 1e-9:
            return None
        change = self._alarm(h)
        self.settle_in = 0
        return change

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
