"""Decayed sums kept by the store: per half-life, worker and task type, the scores rollup's
days weighed to a reference day, so that a decayed score reads a row a worker and task type
(milliseconds at any size) instead of every day of every worker (seconds at a year).

- ``feedback_rollup_decay``: the half-lives kept (in days), each with its reference day
  ``t_ref`` (a UTC midnight) and ``built_through``, the last day of the scores rollup its
  sums hold (``COMPLETE`` once every day is in).
- ``feedback_rollup_decayed``: per half-life, worker and task type, the sum over the scores
  rollup's days of each day's weight at ``t_ref`` (``scores._weight``: the day's moments, the
  same rule the days are read with; ``day_weights`` renders it in SQL). At a later ``now`` each
  sum is ``0.5 ** ((now - t_ref) / half_life)`` smaller: one multiplication.

A change to a day's row changes the sums by the row's new weight less its old one, in the
transaction that changes the row (SQLite: triggers on the scores rollup; PostgreSQL: the
fold, the one writer of that rollup), so the sums are the days' weights whatever the order
of changes, to the rounding of doubles. A half-life is added the first time it is asked for
(up to ``MOST_HALF_LIVES``), its sums built from the days a few weeks a transaction; when
``t_ref`` falls more than ``REBASE_HALF_LIVES`` half-lives behind, every sum is brought
forward (the weights of new days would otherwise grow without bound).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

__all__ = [
    "COMPLETE",
    "MEASURES",
    "MOST_HALF_LIVES",
    "REBASE_HALF_LIVES",
    "STEP_DAYS",
    "Dialect",
    "day_weights",
    "rebase_due",
]

COMPLETE = "9999-12-31"
"""``built_through`` of a half-life whose sums hold every day."""
MOST_HALF_LIVES = 4
"""Half-lives kept; one asked for beyond them is read from the days each time."""
REBASE_HALF_LIVES = 16.0
"""Half-lives (and at least a day) that ``t_ref`` may fall behind before the sums are
brought forward: the weight of a new day is then at most ``2 ** 16`` times an old one's."""
STEP_DAYS = 14
"""Days of the scores rollup summed in one transaction of a build (about 56,000 rows at 200
workers and 20 task types)."""
_MOST_EXPONENT = 700.0  # as scores._MOST_EXPONENT: a finite weight for a far-future day
_LN2 = math.log(2)

MEASURES = ("successes", "failures", "rated", "rating_sum", "timed", "time_sum")
"""The decayed sums of a worker and task type, as the scores rollup names them."""
_MOMENTS = {
    "successes": ("success_f", "success_ff"),
    "failures": ("failure_f", "failure_ff"),
    "rated": ("rated_f", "rated_ff"),
    "rating_sum": ("rating_f", "rating_ff"),
}


class Dialect:
    """What the two databases spell differently in these statements."""

    def __init__(self, least: str, greatest: str, age: str) -> None:
        self.least = least
        self.greatest = greatest
        self.age = age
        """The days from ``{day}`` to ``{t_ref}`` (both dates)."""


SQLITE = Dialect("min", "max", "(julianday({t_ref}) - julianday({day}))")
POSTGRES = Dialect("LEAST", "GREATEST", "({t_ref} - {day})")


def day_weights(
    column: Callable[[str], str], day: str, t_ref: str, half_life: str, dialect: Dialect
) -> dict[str, str]:
    """Per measure, the SQL of one day's weight at ``t_ref`` for a half-life of
    ``half_life`` days: ``scores._weight`` (the day's count ``n`` and moments ``f``, ``ff``:
    ``n * exp(lam * (f / n - a0) + lam**2 * var / 2)``, capped as there) for the counted
    measures, the middle of the day for times. ``column(name)`` is the SQL of a scores
    rollup column of the day's row."""
    age0 = dialect.age.format(t_ref=t_ref, day=day)
    rate = f"({_LN2!r} / {half_life})"
    least, greatest = dialect.least, dialect.greatest
    weights = {}
    for measure, (f_name, ff_name) in _MOMENTS.items():
        n, f, ff = column(measure), column(f_name), column(ff_name)
        mean = f"(({f}) / ({n}))"
        variance = f"{greatest}(({ff}) / ({n}) - {mean} * {mean}, 0.0)"
        cap = f"CASE WHEN {age0} > 0 THEN {rate} * ({least}(1.0, {age0}) - {age0}) ELSE 700.0 END"
        exponent = f"{rate} * ({mean} - {age0}) + {rate} * {rate} * {variance} / 2"
        weights[measure] = (
            f"CASE WHEN ({n}) = 0 THEN 0.0 ELSE ({n}) * "
            f"exp({least}({exponent}, {cap}, {_MOST_EXPONENT!r})) END"
        )
    middle = f"exp({least}({rate} * (0.5 - {age0}), {_MOST_EXPONENT!r}))"
    weights["timed"] = f"({column('timed')}) * {middle}"
    weights["time_sum"] = f"({column('time_sum')}) * {middle}"
    return weights


def rebase_due(t_ref: date, today: date, half_life: float) -> bool:
    """Whether sums kept at ``t_ref`` are to be brought forward to ``today``."""
    return (today - t_ref).days >= max(1.0, REBASE_HALF_LIVES * half_life)
