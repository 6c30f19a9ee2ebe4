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
    "COUNTS",
    "MEASURES",
    "MOST_HALF_LIVES",
    "REBASE_HALF_LIVES",
    "STEP_DAYS",
    "Dialect",
    "day_weights",
    "kept_sums",
    "rebase_due",
    "rebase_statements",
    "verify_statements",
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

COUNTS = (
    "SUM(o.entries), SUM(o.successes), SUM(o.failures), SUM(o.rated), SUM(o.timed)"
)
"""The folded counts a row of kept sums carries (``o``: the outcomes rollup): what
``scores.tallies_from_sums`` needs to tell a measure that has no outcome from rounding."""

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

    def __init__(self, least: str, greatest: str, coalesce: str, age: str) -> None:
        self.least = least
        self.greatest = greatest
        self.coalesce = coalesce
        self.age = age
        """The days from ``{day}`` to ``{t_ref}`` (both dates)."""


SQLITE = Dialect("min", "max", "ifnull", "(julianday({t_ref}) - julianday({day}))")
POSTGRES = Dialect("LEAST", "GREATEST", "coalesce", "({t_ref} - {day})")


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


def kept_sums(dialect: Dialect) -> dict[str, str]:
    """Per measure, the SQL of the sum kept for a worker and task type (``d``) whose outcomes
    rollup row (``o``) counts that measure, 0 where it counts none of it (what is kept there
    is the rounding left by weights added and taken away: no outcome has exactly none)."""
    kept = {
        m: f"CASE WHEN o.{m} = 0 THEN 0.0 ELSE "
        f"{dialect.greatest}({dialect.coalesce}(d.{m}, 0.0), 0.0) END"
        for m in ("successes", "failures", "rated", "rating_sum", "timed")
    }
    kept["time_sum"] = (
        f"CASE WHEN o.timed = 0 THEN 0.0 ELSE {dialect.coalesce}(d.time_sum, 0.0) END"
    )
    return kept


def rebase_statements(parameter: Callable[[str], str]) -> tuple[str, str]:
    """Bring a half-life's sums forward: every sum times ``factor``, the new ``t_ref``
    (``parameter(name)`` spells a parameter)."""
    return (
        "UPDATE feedback_rollup_decayed SET "
        + ", ".join(f"{m} = {m} * {parameter('factor')}" for m in MEASURES)
        + f" WHERE half_life = {parameter('half_life')}",
        f"UPDATE feedback_rollup_decay SET t_ref = {parameter('t_ref')} "
        f"WHERE half_life = {parameter('half_life')}",
    )


def verify_statements(recomputed: str, dialect: Dialect) -> dict[str, tuple[str, str]]:
    """``rollups verify``'s check of the sums against ``recomputed`` (the days weighed
    again): those that differ beyond the rounding of doubles (1e-9 of the half-life's
    largest sum), and those missing (a worker and task type whose days weigh nothing needs
    no row: a day's row left at zero by a deletion, say)."""
    differ = " OR ".join(
        f"abs(k.{m} - {dialect.coalesce}(r.{m}, 0.0)) > 1e-9 * (SELECT max(abs({m})) + 1.0 "
        "FROM feedback_rollup_decayed WHERE half_life = k.half_life)"
        for m in MEASURES
    )
    return {
        "feedback_rollup_decayed": (
            f"""SELECT k.half_life, k.worker, k.task_type FROM feedback_rollup_decayed AS k
                LEFT JOIN ({recomputed}) AS r ON r.half_life = k.half_life
                    AND r.worker = k.worker AND r.task_type = k.task_type
                WHERE {differ} ORDER BY 1, 2, 3""",
            f"""SELECT r.half_life, r.worker, r.task_type FROM ({recomputed}) AS r
                WHERE ({" OR ".join(f"r.{m} <> 0" for m in MEASURES)})
                    AND NOT EXISTS (SELECT 1 FROM feedback_rollup_decayed AS k
                        WHERE k.half_life = r.half_life AND k.worker = r.worker
                            AND k.task_type = r.task_type)""",
        )
    }


def rebase_due(t_ref: date, today: date, half_life: float) -> bool:
    """Whether sums kept at ``t_ref`` are to be brought forward to ``today``."""
    return (today - t_ref).days >= max(1.0, REBASE_HALF_LIVES * half_life)
