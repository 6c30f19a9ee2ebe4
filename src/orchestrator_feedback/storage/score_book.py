"""The score book: every worker's decayed tallies, kept in memory so that ``recommend``
(asked before every allocation) never reads the store.

A page holds, for one task type (or all) and one half-life, each worker's tallies decayed
to the page's reference time ``t_ref``; at a later ``now`` every tally is the same factor,
``0.5 ** ((now - t_ref) / half_life)``, smaller. A page is read when first asked for: a
decayed one from the decayed sums the store keeps (``backends/decayed.py``: a row a worker
and task type, ``t_ref`` their reference day), else from the scores rollup's days
(``tallies_of``), and while a half-life's sums are not whole (its first ask in the store's
life) a thread builds them; then:

- an entry this store commits is added to every page at once (the store's listener), so the
  next answer counts it;
- an update or deletion this store commits marks every page to be read again at the next
  answer (the old outcome cannot be taken back exactly);
- a page older than ``refresh`` seconds is read again in the background (the old page
  answers meanwhile), which brings in what other processes wrote (and this process's
  writes through other stores). What this store commits during that read is added to the
  new page too: an entry committed in the instant the read begins can be counted twice
  until the next read, never missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as datetime_time

import attrs

from orchestrator_feedback import rules
from orchestrator_feedback.forks import fork_gate
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.storage.backends.values import (
    DecayedSums,
    FeedbackChange,
    ScoreDay,
    ScoreWindow,
)
from orchestrator_feedback.storage.listeners import Events
from orchestrator_feedback.storage.scores import Tally, tallies_from_sums, tallies_of

__all__ = ["Outcome", "Page", "ScoreBook", "outcome_of"]

logger = logging.getLogger("orchestrator_feedback.storage")

_DAY = 86_400.0
_MOST_PAGES = 256
"""Pages kept (one per task type and half-life asked for); past it the oldest goes."""


Outcome = tuple[str, str, bool, bool, bool]
"""``(worker, task_type, success, failure, rated)``."""


def outcome_of(
    entry: FeedbackEntry, rated_types: frozenset[FeedbackType] = rules.RATED_TYPES
) -> Outcome | None:
    """``(worker, task_type, success, failure, rated)`` for an entry that counts for a
    worker's scores, None for one that does not (the rules of ``rules``, as the scores
    rollup applies them, for a store whose rating types are ``rated_types``)."""
    worker = rules.worker_of(entry.metadata)
    if worker is None:
        return None
    success, failure = rules.outcome_of(entry)
    rated = rules.is_rated(entry, rated_types)
    if not (success or failure or rated):
        return None
    return worker, rules.task_type_of(entry.metadata), success, failure, rated


@attrs.define
class Page:
    """One task type's (None: all) tallies for one half-life (days; None: no decay),
    decayed to ``t_ref``."""

    task_type: str | None
    half_life: float | None
    t_ref: datetime
    tallies: dict[str, Tally]
    newest: datetime | None
    read_at: float
    stale: bool = False

    def factor(self, now: datetime) -> float:
        """How much smaller every tally is at ``now`` than at ``t_ref``."""
        if self.half_life is None:
            return 1.0
        return float(0.5 ** ((now - self.t_ref).total_seconds() / _DAY / self.half_life))

    def add(self, entry: FeedbackEntry, outcome: Outcome) -> None:
        """Count one committed entry."""
        worker, task_type, success, failure, rated = outcome
        if self.task_type is not None and task_type != self.task_type:
            return
        created = entry.created_at
        weight = 1.0
        if self.half_life is not None:
            weight = 2.0 ** ((created - self.t_ref).total_seconds() / _DAY / self.half_life)
        tally = self.tallies.get(worker)
        if tally is None:
            tally = self.tallies[worker] = Tally()
        tally.successes += weight * success
        tally.failures += weight * failure
        if rated:
            tally.ratings += weight
            tally.rating_sum += weight * (entry.rating or 0)
        elapsed = entry.metadata.get("execution_time")
        if isinstance(elapsed, int | float) and not isinstance(elapsed, bool):
            tally.timed += weight
            tally.time_sum += weight * elapsed
        if tally.latest is None or created > tally.latest:
            tally.latest = created
        if self.newest is None or created > self.newest:
            self.newest = created


class ScoreBook:
    """Pages of tallies, read with ``read_days`` (the backend's ``score_days``: a task
    type, a window and whether one row a worker is enough), ``read_sums`` (its
    ``decayed_sums``: a task type, a half-life, today and whether to build them first;
    None to read the days) and
    ``newest`` (the newest ``created_at`` stored), kept current by ``hear`` (a batched
    listener of the store)."""

    def __init__(
        self,
        read_days: Callable[[str | None, ScoreWindow, bool], list[ScoreDay]],
        newest: Callable[[], datetime | None],
        refresh: float = 5.0,
        rated_types: frozenset[FeedbackType] = rules.RATED_TYPES,
        read_sums: Callable[[str | None, float, date, bool], DecayedSums | None] = (
            lambda *_: None
        ),
    ) -> None:
        self._read_days = read_days
        self._read_sums = read_sums
        self._building: set[float] = set()  # half-lives whose sums a thread here builds
        self.rated_types = rated_types
        """The store's rating types (``rules.is_rated``)."""
        self._newest = newest
        self.refresh = refresh
        """Seconds after which a page is read again (in the background)."""
        self._pages: dict[tuple[str | None, float | None], Page] = {}
        # Pages being read again in the background, and what this store committed
        # meanwhile (added to the new page once it is read).
        self._heard_meanwhile: dict[
            tuple[str | None, float | None], list[tuple[FeedbackEntry, Outcome]]
        ] = {}
        self._lock = threading.Lock()

    def page(
        self, task_type: str | None, half_life: float | None, now: datetime, *, exact: bool = True
    ) -> Page | None:
        """The page for ``task_type`` and ``half_life`` at ``now``; with ``exact`` (a
        ``now`` the caller chose), None when entries newer than ``now`` are stored (the
        caller reads the rollup up to ``now`` instead). Without it (``now`` is the current
        time) the page answers all the same: an entry stamped by a clock running ahead of
        this one's counts, weighing a little more than 1.

        A missing page, or one this store's update or deletion made stale, is read now; one
        older than ``refresh`` seconds is read again in the background while this one
        answers."""
        key = (task_type, half_life)
        page = self._pages.get(key)
        if page is None or page.stale:
            page = self._install(key, self._read(task_type, half_life, now), [])
        elif time.monotonic() - page.read_at > self.refresh:
            self._refresh_in_background(key, now)
        if exact and page.newest is not None and page.newest > now:
            return None
        return page

    def _read(self, task_type: str | None, half_life: float | None, now: datetime) -> Page:
        read_at = time.monotonic()
        newest = self._newest()
        if half_life is not None:
            # Decayed, the sums the store keeps (a row a worker and task type) when it does.
            today = now.astimezone(UTC).date()
            kept = self._read_sums(task_type, half_life, today, False)
            if kept is None:
                self._build_in_background(half_life, today)
            else:
                t_ref = datetime.combine(kept.t_ref, datetime_time(), UTC)
                tallies = tallies_from_sums(
                    kept.sums, kept.pending, kept.counts, t_ref, half_life
                )
                return Page(task_type, half_life, t_ref, tallies, newest, read_at)
        # Undecayed, a worker's days only add up: one row a worker is enough.
        days = self._read_days(task_type, ScoreWindow(None, None), half_life is None)
        t_ref = max(now, newest) if newest is not None else now
        tallies = tallies_of(days, t_ref, half_life)
        return Page(task_type, half_life, t_ref, tallies, newest, read_at)

    def _build_in_background(self, half_life: float, today: date) -> None:
        """Have the store build ``half_life``'s decayed sums (seconds at a year of days)
        while this answer, and those until they are whole, read the days."""
        with self._lock:
            if half_life in self._building:
                return
            self._building.add(half_life)

        def build() -> None:
            try:
                with fork_gate.working():
                    self._read_sums(None, half_life, today, True)
            except Exception:  # the store closed, or the database is away: the next ask
                logger.debug("building decayed sums failed", exc_info=True)
            finally:
                with self._lock:
                    self._building.discard(half_life)

        threading.Thread(target=build, name="feedback-decayed-sums", daemon=True).start()

    def _install(
        self,
        key: tuple[str | None, float | None],
        page: Page,
        heard: list[tuple[FeedbackEntry, Outcome]],
    ) -> Page:
        with self._lock:
            for entry, outcome in heard:
                page.add(entry, outcome)
            if len(self._pages) >= _MOST_PAGES and key not in self._pages:
                self._pages.pop(next(iter(self._pages)))
            self._pages[key] = page
            return page

    def _refresh_in_background(self, key: tuple[str | None, float | None], now: datetime) -> None:
        with self._lock:
            if key in self._heard_meanwhile:
                return
            self._heard_meanwhile[key] = []
        threading.Thread(
            target=self._refresh, args=(key, now), name="feedback-score-book", daemon=True
        ).start()

    def _refresh(self, key: tuple[str | None, float | None], now: datetime) -> None:
        old = self._pages.get(key)
        try:
            with fork_gate.working():
                page = self._read(key[0], key[1], now)
        except Exception:  # the store closed, or the database is away: try again later
            logger.debug("reading the score book again failed", exc_info=True)
            with self._lock:
                self._heard_meanwhile.pop(key, None)
                if old is not None:
                    old.read_at = time.monotonic()
            return
        with self._lock:
            heard = self._heard_meanwhile.pop(key, [])
            page.stale = old is not None and old.stale
        self._install(key, page, heard)

    def mark_stale(self) -> None:
        """Have every page read again at its next use (the store changed in a way the book
        does not hear of: the caller's own SQL)."""
        with self._lock:
            for page in self._pages.values():
                page.stale = True

    def forget(self) -> None:
        """Drop every page (in a forked child: the parent's reads in flight are not its)."""
        self._lock = threading.Lock()
        self._pages = {}
        self._heard_meanwhile = {}
        self._building = set()

    def hear(self, changes: Events) -> None:
        """Count the entries of one commit in every page; an update or deletion marks
        every page to be read again."""
        if not self._pages:
            return
        with self._lock:
            for change, entry in changes:
                if change is not FeedbackChange.RECORDED:
                    for page in self._pages.values():
                        page.stale = True
                    return
                outcome = outcome_of(entry, self.rated_types)
                if outcome is None:
                    continue
                for page in self._pages.values():
                    page.add(entry, outcome)
                for heard in self._heard_meanwhile.values():
                    heard.append((entry, outcome))
