"""The values storage exchanges: which entries a query selects (``FeedbackFilter``), what
happened to an entry (``FeedbackChange``), what an insert does with a stored id
(``OnConflict``), and the rows of a caller's own query (``QueryRow``)."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

import attrs

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.models import (
    FeedbackType,
    check_rating,
    text_problem,
    to_feedback_type,
    to_utc,
)

__all__ = [
    "ALL",
    "DecayedSums",
    "FeedbackChange",
    "FeedbackFilter",
    "FollowFilter",
    "FollowPosition",
    "OnConflict",
    "QueryRow",
    "ScoreDay",
    "ScoreWindow",
    "next_whole_hour",
]


class FeedbackChange(enum.Enum):
    """What happened to an entry, as told to committed-change listeners."""

    RECORDED = "recorded"
    UPDATED = "updated"
    DELETED = "deleted"


class OnConflict(enum.Enum):
    """What an insert does with an id that is already stored."""

    ERROR = "error"
    SKIP = "skip"
    REPLACE = "replace"


class QueryRow(Protocol):
    """A row from ``execute_query``: indexable by position and by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


def _optional_type(value: FeedbackType | str | None) -> FeedbackType | None:
    return None if value is None else to_feedback_type(value)


def _optional_created_after(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value, "created_after")


def _optional_created_before(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value, "created_before")


def _check_rating_bound(_filter: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    check_rating(value, attribute.name)


def _check_optional_str(_filter: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and type(value) is not str:
        raise FeedbackValidationError(attribute.name, value, "must be a string")
    problem = None if value is None else text_problem(value)
    if problem is not None:
        raise FeedbackValidationError(attribute.name, value, problem)


@attrs.frozen(kw_only=True)
class FeedbackFilter:
    """Which entries a query selects; every field left None selects everything.

    ``created_after`` is inclusive and ``created_before`` exclusive, so consecutive
    windows never count an entry twice.
    """

    task_id: str | None = attrs.field(default=None, validator=_check_optional_str)
    feedback_type: FeedbackType | None = attrs.field(default=None, converter=_optional_type)
    user_id: str | None = attrs.field(default=None, validator=_check_optional_str)
    min_rating: int | None = attrs.field(default=None, validator=_check_rating_bound)
    max_rating: int | None = attrs.field(default=None, validator=_check_rating_bound)
    created_after: datetime | None = attrs.field(default=None, converter=_optional_created_after)
    created_before: datetime | None = attrs.field(default=None, converter=_optional_created_before)
    ids: tuple[str, ...] | None = None
    """Only these ids (a batch of a long deletion); None: any id."""

    def where(self, placeholder: str, encode_time: Any) -> tuple[str, list[Any]]:
        """Return a SQL ``WHERE`` clause (or "") and its parameters, in ``placeholder`` style."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.ids is not None:
            clauses.append(f"id IN ({', '.join([placeholder] * len(self.ids)) or 'NULL'})")
            params.extend(self.ids)
        for column, operator, value in (
            ("task_id", "=", self.task_id),
            ("feedback_type", "=", self.feedback_type and self.feedback_type.value),
            ("user_id", "=", self.user_id),
            ("rating", ">=", self.min_rating),
            ("rating", "<=", self.max_rating),
            ("created_at", ">=", self.created_after and encode_time(self.created_after)),
            ("created_at", "<", self.created_before and encode_time(self.created_before)),
        ):
            if value is not None:
                clauses.append(f"{column} {operator} {placeholder}")
                params.append(value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


ALL = FeedbackFilter()
"""The filter that selects every entry."""


@attrs.frozen(kw_only=True)
class FollowFilter:
    """Which new entries ``follow`` yields: of one type, worker (``metadata.worker_id``) or
    task type (``metadata.task_type``), created after a moment; None selects every one."""

    feedback_type: FeedbackType | None = attrs.field(default=None, converter=_optional_type)
    worker_id: str | None = attrs.field(default=None, validator=_check_optional_str)
    task_type: str | None = attrs.field(default=None, validator=_check_optional_str)
    created_after: datetime | None = attrs.field(default=None, converter=_optional_created_after)


class FollowPosition(NamedTuple):
    """Where a follower stands in a backend's commit order, opaque to everything above it.

    SQLite: ``major`` is the last rowid read, ``minor`` how many times the newest rows had
    been deleted by then (which lets SQLite hand their rowids out again). PostgreSQL:
    ``major`` is the last commit's number, ``minor`` the entry's place in that commit.
    """

    major: int
    minor: int


def next_whole_hour(since: datetime) -> datetime:
    """The first hour (UTC) that starts after ``since``: where a trend's hourly rollup
    takes over from the entries of its partial first hour."""
    return since.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def next_whole_day(since: datetime) -> datetime:
    """The first midnight (UTC) at or after ``since``: where a period's daily rollup takes
    over from the entries of its partial first day (none when ``since`` is a midnight)."""
    since = since.astimezone(UTC)
    midnight = since.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == since else midnight + timedelta(days=1)


class ScoreDay(NamedTuple):
    """One worker's outcomes on one day (UTC), as the scores rollup sums them: each measure
    with the sums of ``f`` and ``f * f``, ``f`` being an entry's time of day as a fraction
    of the day; ``latest`` is the newest outcome or rating."""

    worker: str
    day: str
    successes: int
    success_f: float
    success_ff: float
    failures: int
    failure_f: float
    failure_ff: float
    rated: int
    rated_f: float
    rated_ff: float
    rating_sum: int
    rating_f: float
    rating_ff: float
    timed: int
    time_sum: float
    latest: datetime | None


class DecayedSums(NamedTuple):
    """A half-life's decayed sums as a store keeps them: the reference day ``t_ref`` (a
    UTC midnight) they are weighed to, the sums per worker (``ScoreDay`` rows whose day and
    moments are unused), the days not yet in them (the tail, or pending deltas) and what
    both count."""

    t_ref: date
    sums: list[ScoreDay]
    pending: list[ScoreDay]
    counts: dict[str, tuple[int, int, int, int, int]]
    """Per worker, what the sums and the pending days count together: entries,
    successes, failures, ratings and timed outcomes."""

    @staticmethod
    def of_rows(t_ref: date, rows: list[tuple[ScoreDay, bool, tuple[Any, ...]]]) -> DecayedSums:
        """From ``(day, kept, counts)`` rows: the kept sums' (``kept``) and the pending
        days', each with its counts (``decayed.COUNTS``)."""
        sums: list[ScoreDay] = []
        pending: list[ScoreDay] = []
        counts: dict[str, list[int]] = {}
        for day, kept, numbers in rows:
            (sums if kept else pending).append(day)
            total = counts.setdefault(day.worker, [0, 0, 0, 0, 0])
            for index, number in enumerate(numbers):
                total[index] += int(number or 0)
        combined = {worker: (a, b, c, d, e) for worker, (a, b, c, d, e) in counts.items()}
        return DecayedSums(t_ref, sums, pending, combined)


@attrs.frozen
class ScoreWindow:
    """The entries a score reads, from ``since`` to ``until`` inclusive (either open).

    Whole days from ``first_day`` to before ``end_day`` come from the rollup; the entries
    from ``since`` to before ``head_end`` and from ``tail_start`` to ``until`` from the
    entries themselves (the partial days at either end).
    """

    since: datetime | None
    until: datetime | None

    @property
    def first_day(self) -> date:
        """The first whole day: ``since``'s when it is a midnight (UTC), else the day after
        (the earliest day without one)."""
        if self.since is None:
            return date(1, 1, 1)
        return next_whole_day(self.since).date()

    @property
    def end_day(self) -> date:
        """The day after the last whole day: ``until``'s (the last day without one); never
        before ``first_day``."""
        if self.until is None:
            return date(9999, 12, 31)
        return max(self.until.astimezone(UTC).date(), self.first_day)

    @property
    def head_end(self) -> datetime:
        """Where the partial first day ends (exclusive): ``first_day``, or past ``until``
        when the window ends before it."""
        first = _midnight(self.first_day)
        if self.until is not None and self.until < first:
            return self.until + timedelta(microseconds=1)
        return first

    @property
    def tail_start(self) -> datetime:
        """Where the partial last day starts: ``end_day``'s midnight."""
        return _midnight(self.end_day)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
