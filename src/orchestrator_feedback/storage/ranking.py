"""Ranking candidates for an allocation: what is estimated (the policy) and what is
optimised (the objective). Pure functions over tallies (``docs/scores.md`` has the
formulas).

Per candidate, a policy estimates its success probability ``p``, its duration ``d`` and the
quality ``q`` of its results:

- ``"thompson"``: one draw from each posterior (Thompson, 1933; Russo et al., "A Tutorial
  on Thompson Sampling", 2018). ``p ~ Beta(1 + successes, 1 + failures)``. ``d = k / beta``
  with ``beta ~ Gamma(k (1 + timed), m + time_sum)`` (shape, rate): the conjugate posterior
  of the rate of a Gamma-distributed duration of known shape ``k = DURATION_SHAPE``, with one
  pseudo-observation of ``m``, the candidates' pooled mean time (Fink, "A Compendium of
  Conjugate Priors", 1997, for the Gamma likelihood of known shape).
  ``q ~ Beta(1 + x, 1 + ratings - x)`` with ``x`` the ratings' sum on the scale
  ``(r - 1) / 4``: the fractional Bernoulli posterior of Agrawal and Goyal ("Analysis of
  Thompson Sampling for the Multi-armed Bandit Problem", COLT 2012).
- ``"lower_bound"``: the Wilson lower bounds of ``p`` and ``q``, and the mean time.
- ``"mean"``: the plain rates and the mean time (for comparison only).

Without evidence a lower bound or mean is unknown, and the candidate goes last. When no
candidate has a timed outcome, ``d`` is 1 for all.

The objective turns the estimates into an order:

- ``"time"``: the expected time until the task has a successful result there,
  ``T = load * d + d / p``, shortest first: the queue wait (``load`` tasks ahead of it per
  slot, each taking ``d``) plus the attempts until one succeeds (geometric: ``1 / p`` of
  them, each taking ``d``).
- ``"success"``: ``p``, highest first.
- ``"quality"``: ``q * p``, highest first (the rating a result gets, if it succeeds).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.storage.scores import Tally, wilson

__all__ = ["DURATION_SHAPE", "OBJECTIVES", "POLICIES", "check_load", "rank", "tasks_ahead"]

POLICIES = ("thompson", "lower_bound", "mean")
"""How ``recommend`` estimates each candidate."""

OBJECTIVES = ("time", "success", "quality")
"""What ``recommend`` ranks by."""

DURATION_SHAPE = 2.0
"""The shape ``k`` the time objective's posterior gives a worker's durations: a coefficient
of variation of ``1 / sqrt(k)``, 0.71, between an exponential's 1 (``k = 1``, which
explored the durations of steady task types far longer than they needed) and the steady
times of most task types. The rollups keep no second moment of the times to estimate it."""

_UNSEEN = Tally()
_WORST = math.inf


def tasks_ahead(in_flight: int, slots: int) -> float:
    """The ``load`` of a worker running ``slots`` tasks at once with ``in_flight`` tasks
    sent to it and not finished: the next task starts at once while a slot is free (0);
    otherwise it waits for ``in_flight - slots + 1`` of them to finish, ``slots`` at a
    time."""
    return max(in_flight - slots + 1, 0) / max(slots, 1)


def check_load(load: object) -> dict[str, float]:
    """``load`` (worker -> tasks ahead of this one per slot, 0 or more) as a dict; a clear
    error for anything else."""
    if load is None:
        return {}
    if not isinstance(load, Mapping):
        raise FeedbackValidationError(
            "load", load, "must map worker ids to tasks ahead per slot, such as {'w1': 2}"
        )
    checked = {}
    for worker, ahead in load.items():
        if (
            not isinstance(worker, str)
            or isinstance(ahead, bool)
            or not isinstance(ahead, int | float)
            or not 0 <= ahead < math.inf
        ):
            raise FeedbackValidationError(
                "load", {worker: ahead}, "must map worker ids to a number of tasks, 0 or more"
            )
        checked[worker] = float(ahead)
    return checked


def _pooled_time(candidates: Sequence[str], tallies: Mapping[str, Tally]) -> float | None:
    """The candidates' mean time over all their timed outcomes (None: none is timed)."""
    timed = time_sum = 0.0
    for worker in candidates:
        tally = tallies.get(worker)
        if tally is not None:
            timed += tally.timed
            time_sum += tally.time_sum
    return time_sum / timed if timed > 0 else None


def _drawn(
    objective: str, tally: Tally, factor: float, pooled: float | None, rng: random.Random
) -> tuple[float, float, float]:
    """``(p, d, q)`` drawn from the posteriors (``"thompson"``); only what ``objective``
    uses is drawn (``d`` is 1 and ``q`` 0 otherwise)."""
    p = rng.betavariate(1.0 + tally.successes * factor, 1.0 + tally.failures * factor)
    d, q = 1.0, 0.0
    if objective == "time" and pooled is not None:
        # beta ~ Gamma(k (1 + timed), m + time_sum) as Gamma(shape, 1) / rate; d = k / beta
        drawn = rng.gammavariate(DURATION_SHAPE * (1.0 + tally.timed * factor), 1.0)
        d = DURATION_SHAPE * (pooled + tally.time_sum * factor) / drawn if drawn > 0 else _WORST
    elif objective == "quality":
        ratings = tally.ratings * factor
        x = min(max((tally.rating_sum * factor - ratings) / 4, 0.0), ratings)
        q = rng.betavariate(1.0 + x, 1.0 + ratings - x)
    return p, d, q


def _estimated(
    tally: Tally, factor: float, pooled: float | None, policy: str, z: float
) -> tuple[float | None, float, float | None]:
    """``(p, d, q)`` by the lower bounds or the means (None: no evidence)."""
    attempts = (tally.successes + tally.failures) * factor
    ratings = tally.ratings * factor
    x = (tally.rating_sum * factor - ratings) / 4
    if policy == "lower_bound":
        p, _ = wilson(tally.successes * factor, attempts, z)
        q, _ = wilson(x, ratings, z)
    else:
        p = tally.successes * factor / attempts if attempts > 0 else None
        q = x / ratings if ratings > 0 else None
    d = 1.0 if pooled is None else pooled
    if tally.timed > 0:
        d = tally.time_sum / tally.timed
    return p, d, q


def _key(
    objective: str, p: float | None, d: float, q: float | None, ahead: float
) -> tuple[float, bool]:
    """What sorts first is best: the time, or minus the success or quality; then a known
    estimate before an unknown one (a worker that never succeeded before one never seen,
    as the lower bound ranks them)."""
    if p is None or (objective == "quality" and q is None):
        return _WORST, True
    if objective == "time":
        return (ahead * d + d / p if p > 0 else _WORST), False
    if objective == "success":
        return -p, False
    return -(q or 0.0) * p, False


def rank(
    candidates: Sequence[str],
    tallies: Mapping[str, Tally],
    policy: str,
    rng: random.Random,
    factor: float,
    z: float,
    objective: str = "success",
    load: Mapping[str, float] | None = None,
) -> list[str]:
    """``candidates`` (distinct) best first by ``objective`` over estimates made by
    ``policy`` from their ``tallies`` (each times ``factor``, the decay since they were
    counted; ``z`` for "lower_bound") and ``load`` (tasks ahead per slot; absent: 0). Ties
    keep the given order."""
    ahead = load or {}
    # Only the time objective uses a duration.
    pooled = _pooled_time(candidates, tallies) if objective == "time" else None
    keys: dict[str, tuple[float, bool]] = {}
    for worker in candidates:
        tally = tallies.get(worker, _UNSEEN)
        if policy == "thompson":
            p, d, q = _drawn(objective, tally, factor, pooled, rng)
            keys[worker] = _key(objective, p, d, q, ahead.get(worker, 0.0))
        else:
            estimate_p, d, estimate_q = _estimated(tally, factor, pooled, policy, z)
            keys[worker] = _key(objective, estimate_p, d, estimate_q, ahead.get(worker, 0.0))
    return sorted(candidates, key=keys.__getitem__)
