"""A store's worker scores and allocation advice: checks the caller's arguments, answers
from the score book's pages (``score_book.py``), or from the rollup when a window is asked
for (``since``, or a ``now`` earlier than the newest entry).

The book hears this store's commits as they happen (a listener) and, from its first page
on, every process's new entries by following the store (``follow``, every ``FOLLOW_POLL``
seconds, on a thread of its own): an entry another process commits counts within a poll.
An entry this store commits is seen both ways and counted once (``SeenOnce``)."""

from __future__ import annotations

import logging
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.rules import RATED_TYPES
from orchestrator_feedback.storage.backends.values import FeedbackChange, ScoreWindow
from orchestrator_feedback.storage.listeners import Events, Listeners
from orchestrator_feedback.storage.options import check_optional_text, check_time
from orchestrator_feedback.storage.ranking import OBJECTIVES, POLICIES, check_load, rank
from orchestrator_feedback.storage.score_book import Page, ScoreBook
from orchestrator_feedback.storage.scores import (
    Tally,
    best_first,
    check_confidence,
    check_half_life,
    score_of,
    tallies_of,
)
from orchestrator_feedback.storage.transactions import Transactions
from orchestrator_feedback.summaries import WorkerScore

__all__ = ["FOLLOW_POLL", "Scoring", "SeenOnce"]

logger = logging.getLogger("orchestrator_feedback.storage")

FOLLOW_POLL = 0.2
"""Seconds between two looks for entries other processes committed."""


class SeenOnce:
    """Entries heard from two sources (this store's listener, and following the store),
    each let through once: the first sighting counts, the second is dropped. Holds the
    ``limit`` newest ids (an entry another process wrote is only ever heard once)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._limit = limit
        self._heard: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, entry_ids: Iterable[str], source: str) -> set[str]:
        """The ids of ``entry_ids`` not heard before from the other source."""
        new = set()
        with self._lock:
            heard = self._heard
            for entry_id in entry_ids:
                earlier = heard.get(entry_id)
                if earlier is None:
                    heard[entry_id] = source
                    new.add(entry_id)
                elif earlier != source:
                    del heard[entry_id]
            while len(heard) > self._limit:
                heard.popitem(last=False)
        return new


def _candidates(candidates: object) -> list[str]:
    if isinstance(candidates, str | bytes) or not isinstance(candidates, Iterable):
        raise FeedbackValidationError(
            "candidates", candidates, "must be a list of worker ids, such as ['w1', 'w2']"
        )
    distinct = list(dict.fromkeys(candidates))
    if not distinct:
        raise FeedbackValidationError("candidates", candidates, "must name at least one worker")
    for worker in distinct:
        if not isinstance(worker, str):
            raise FeedbackValidationError("candidates", worker, "must be worker ids (strings)")
    return distinct


class Scoring:
    """Scores and advice from one store's backend, through ``transactions``; ``listeners``
    is where the score book hears of commits once it has a page; ``rated_types`` are the
    store's rating types."""

    def __init__(
        self,
        transactions: Transactions,
        listeners: Listeners,
        refresh: float = 5.0,
        rated_types: frozenset[FeedbackType] = RATED_TYPES,
        follow: Callable[[], Iterator[FeedbackEntry]] | None = None,
    ) -> None:
        if isinstance(refresh, bool) or not isinstance(refresh, int | float) or not refresh >= 0:
            raise FeedbackValidationError("score_refresh", refresh, "must be seconds, 0 or more")
        self._transactions = transactions
        self._listeners = listeners
        backend = transactions.backend
        self.book = ScoreBook(
            lambda task_type, window, per_worker: transactions.read(
                lambda connection: backend.score_days(connection, task_type, window, per_worker)
            ),
            lambda: transactions.read(backend.newest_created_at),
            refresh,
            rated_types,
            lambda task_type, half_life, today, build: transactions.read(
                lambda connection: backend.decayed_sums(
                    connection, task_type, half_life, today, build
                )
            ),
        )
        self._listening = False
        self._follow = follow
        self._following = False
        self._seen = SeenOnce()
        # Held from an entry's first sighting until the book has counted it: the other
        # source, dropping it as seen, then finds it counted.
        self._hearing = threading.Lock()
        self._rng = random.Random()

    def after_fork_in_child(self) -> None:
        """In a forked child: no page, lock or follower of the parent's (the next page
        starts a follower of the child's own)."""
        self.book.forget()
        self._seen = SeenOnce()
        self._hearing = threading.Lock()
        self._following = False

    def _hear_own(self, changes: Events) -> None:
        """This store's commits (the listener)."""
        recorded = [entry.id for change, entry in changes if change is FeedbackChange.RECORDED]
        with self._hearing:
            new = self._seen.first(recorded, "own")
            self.book.hear(
                [
                    (change, entry)
                    for change, entry in changes
                    if change is not FeedbackChange.RECORDED or entry.id in new
                ]
            )

    def _start_following(self) -> None:
        """Follow every process's new entries into the book (once per process: a forked
        child starts its own, ``after_fork_in_child``)."""
        if self._follow is None or self._following:
            return
        self._following = True
        entries = self._follow()  # from the current head: nothing committed later is missed
        threading.Thread(
            target=self._hear_followed, args=(entries,), name="feedback-score-follow", daemon=True
        ).start()

    def _hear_followed(self, entries: Iterator[FeedbackEntry]) -> None:
        try:
            for entry in entries:
                with self._hearing:
                    if self._seen.first([entry.id], "followed"):
                        self.book.hear([(FeedbackChange.RECORDED, entry)])
        except Exception:  # the store closed or the database went away: the refresh remains
            logger.debug("following the store for the score book ended", exc_info=True)

    def _page(
        self, task_type: str | None, half_life: float | None, now: datetime, exact: bool
    ) -> Page | None:
        """The score book's page (the book hears of commits from its first page on)."""
        if not self._listening:
            self._listeners.add(self._hear_own, batched=True)
            self._listening = True
        self._start_following()
        return self.book.page(task_type, half_life, now, exact=exact)

    def _tallies(
        self,
        task_type: str | None,
        since: datetime | None,
        half_life: float | None,
        now: datetime,
        exact: bool,
    ) -> tuple[dict[str, Tally], float]:
        """Every worker's tallies and the factor that decays them to ``now``."""
        if since is None:
            page = self._page(task_type, half_life, now, exact)
            if page is not None:
                return page.tallies, page.factor(now)
        return self._read_window(task_type, since, half_life, now, exact), 1.0

    def _read_window(
        self,
        task_type: str | None,
        since: datetime | None,
        half_life: float | None,
        now: datetime,
        exact: bool,
    ) -> dict[str, Tally]:
        """Every worker's tallies at ``now`` from the entries from ``since`` on, read from
        the scores rollup (not the score book): up to ``now`` when ``exact`` (a ``now`` the
        caller chose), else every entry (as the score book counts one stamped by a clock
        ahead of this one's), so that no partial last day is read from the entries."""
        backend = self._transactions.backend
        window = ScoreWindow(since, now if exact else None)
        # Undecayed, a worker's days only add up: one row a worker is enough.
        per_worker = half_life is None
        days = self._transactions.read(
            lambda connection: backend.score_days(connection, task_type, window, per_worker)
        )
        return tallies_of(days, now, half_life)

    def worker_scores(
        self,
        task_type: str | None,
        since: datetime | None,
        half_life: timedelta | None,
        confidence: float,
        now: datetime | None,
    ) -> list[WorkerScore]:
        """See ``FeedbackStorage.worker_scores``."""
        z = check_confidence(confidence)
        days = check_half_life(half_life)
        at = datetime.now(UTC) if now is None else check_time("now", now)
        start = None if since is None else check_time("since", since)
        tallies, factor = self._tallies(
            check_optional_text("task_type", task_type), start, days, at, now is not None
        )
        return best_first(
            score_of(worker, tally.scaled(factor), z)
            for worker, tally in tallies.items()
            if tally.successes or tally.failures or tally.ratings
        )

    def recommend(
        self,
        candidates: Iterable[str],
        task_type: str | None,
        policy: str,
        half_life: timedelta | None,
        confidence: float,
        now: datetime | None,
        rng: random.Random | None,
        objective: str,
        load: Mapping[str, float] | None,
    ) -> list[str]:
        """See ``FeedbackStorage.recommend``."""
        workers = _candidates(candidates)
        if policy not in POLICIES:
            raise FeedbackValidationError("policy", policy, f"must be one of {', '.join(POLICIES)}")
        if objective not in OBJECTIVES:
            raise FeedbackValidationError(
                "objective", objective, f"must be one of {', '.join(OBJECTIVES)}"
            )
        ahead = check_load(load)
        z = check_confidence(confidence)
        days = check_half_life(half_life)
        at = datetime.now(UTC) if now is None else check_time("now", now)
        if rng is not None and not isinstance(rng, random.Random):
            raise FeedbackValidationError("rng", rng, "must be a random.Random (or None)")
        tallies, factor = self._tallies(
            check_optional_text("task_type", task_type), None, days, at, now is not None
        )
        return rank(workers, tallies, policy, rng or self._rng, factor, z, objective, ahead)
