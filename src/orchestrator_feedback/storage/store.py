"""``FeedbackStorage``: the one storage API, whatever backend holds the data.

The store checks arguments and hands each call to one of its parts: ``Transactions`` (and
the ``Listeners`` told after each commit), ``EntryWrites``, ``Deletions``,
``BackgroundWrites`` (``submit``), ``BulkTransfer`` (import, export), ``Analysis``
(summaries, trends) and ``Scoring`` (worker scores, advice). Backends only run SQL.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Self, overload

from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.forks import renew_after_fork
from orchestrator_feedback.models import FeedbackEntry, FeedbackType
from orchestrator_feedback.privacy import PrivacyPolicy, RetentionPolicy
from orchestrator_feedback.storage import file_formats
from orchestrator_feedback.storage.alerts import Alerting, AlertListener, AlertSettings
from orchestrator_feedback.storage.analysis import Analysis
from orchestrator_feedback.storage.backends.base import (
    ALL,
    FeedbackFilter,
    QueryRow,
    StorageBackend,
)
from orchestrator_feedback.storage.backends.registry import open_backend
from orchestrator_feedback.storage.background import BackgroundWrites
from orchestrator_feedback.storage.deletions import Deletions
from orchestrator_feedback.storage.following import Following, Since
from orchestrator_feedback.storage.listeners import (
    ChangeListener,
    Listeners,
)
from orchestrator_feedback.storage.options import (
    check_connection_options,
    check_entry,
    check_exit_timeout,
    check_id,
    check_optional_text,
    check_page,
    check_time,
    encode_parameters,
    query_limits,
    writer_options,
)
from orchestrator_feedback.storage.pseudonym_keys import refuse_another_secret
from orchestrator_feedback.storage.rating_types import check_rating_types, settle_rating_types
from orchestrator_feedback.storage.reads import Reads
from orchestrator_feedback.storage.scoring import FOLLOW_POLL, Scoring
from orchestrator_feedback.storage.transactions import Transactions
from orchestrator_feedback.storage.transfer import BulkTransfer, Target
from orchestrator_feedback.storage.writes import EntryWrites
from orchestrator_feedback.summaries import (
    Alert,
    FailureReport,
    FeedbackSummary,
    LifetimeCounts,
    OutcomeTotals,
    TrendPoint,
    WorkerScore,
    WorkerStats,
)

__all__ = ["ChangeListener", "FeedbackStorage"]

# A statement without any of these words changes no entry (over-matching costs a re-read).
_MAY_WRITE = re.compile(r"\b(insert|update|delete|replace|truncate|drop|alter)\b", re.IGNORECASE)


class FeedbackStorage:
    """Stores feedback entries in SQLite (a path, ``":memory:"``, ``sqlite:///...``) or
    PostgreSQL (``postgresql://user@host/db``), or in a ready ``StorageBackend``.

    Thread-safe: a pool of ``pool_size`` connections is shared by all threads; waiting
    more than ``timeout`` seconds for a connection or a lock raises. Use it as a context
    manager to close it at the end.

    ``listeners`` are called as ``listener(change, entry)`` after each commit, never for
    work that was rolled back; an exception in one is logged and ignored.
    ``privacy`` pseudonymises user ids and encrypts chosen metadata values; ``retention``
    is what ``purge()`` applies; ``history`` keeps every version that ``update`` and
    ``delete`` replace. ``queue_size``, ``batch_size``, ``batch_window`` and ``on_full``
    shape background writes (``submit``); ``exit_timeout`` is how long interpreter exit
    waits for them (None: as long as it takes). ``score_refresh``: seconds after which the
    scores ``recommend`` reads from memory are read again (``docs/scores.md``).
    ``rating_types``: the entry types whose rating rates the worker the entry names (None:
    the store's, every type unless set; other ones than the store's are kept in it and
    every rating is counted again by them, ``docs/scores.md``).
    ``alerts``: detect workers whose outcomes change, raising and clearing alerts
    (``docs/alerts.md``; None: no detection here, though ``alerts()`` lists what other
    processes raised).
    ``migrate``: bring an older store's schema up to date on opening (the default, for
    hosts); False refuses one with ``SchemaUpgradeNeeded`` and changes nothing (the command
    line opens stores so, and upgrades only with ``orchestrator-feedback migrate``).
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | StorageBackend = "feedback.db",
        *,
        pool_size: int = 5,
        timeout: float = 30.0,
        synchronous: str = "NORMAL",
        listeners: Iterable[ChangeListener] = (),
        privacy: PrivacyPolicy | None = None,
        retention: RetentionPolicy | None = None,
        history: bool = True,
        queue_size: int = 10_000,
        batch_size: int = 10_000,
        batch_window: float = 0.05,
        on_full: str = "block",
        exit_timeout: float | None = None,
        score_refresh: float = 5.0,
        migrate: bool = True,
        rating_types: Iterable[FeedbackType | str] | None = None,
        alerts: AlertSettings | None = None,
    ) -> None:
        check_connection_options(pool_size, timeout)
        options = writer_options(
            queue_size=queue_size, batch_size=batch_size, batch_window=batch_window, on_full=on_full
        )
        check_exit_timeout(exit_timeout)
        wanted_rating_types = check_rating_types(rating_types)
        backend = (
            db_path
            if isinstance(db_path, StorageBackend)
            else open_backend(
                db_path,
                pool_size=pool_size,
                timeout=float(timeout),
                synchronous=synchronous,
                migrate=migrate,
            )
        )
        self._backend = backend
        self._listeners = Listeners(list(listeners))
        self._transactions = Transactions(backend, self._listeners)
        self._privacy = privacy if privacy is not None and privacy.active else None
        try:
            if self._privacy is not None and self._privacy.anonymize_user_ids:
                refuse_another_secret(backend, self._privacy)
            self.rating_types = settle_rating_types(self._transactions, wanted_rating_types)
            """The entry types whose rating rates the worker the entry names."""
        except BaseException:
            backend.close()
            raise
        self._background = BackgroundWrites(
            self._create_group, self.create, backend.is_transient, options, exit_timeout
        )
        self._writes = EntryWrites(self._transactions, self._privacy, history=history)
        self._bulk = BulkTransfer(self._transactions, self._privacy, history=history)
        self._analysis = Analysis(self._transactions)
        self._reads = Reads(self._transactions, self._privacy)
        self._following = Following(self._transactions, self._reads.reveal)
        self._scoring = Scoring(
            self._transactions,
            self._listeners,
            score_refresh,
            self.rating_types,
            # No other process writes to a database in memory: nothing to follow.
            follow=None if str(db_path) == ":memory:" else lambda: self.follow(poll=FOLLOW_POLL),
        )
        self._alerting = Alerting(self._transactions, self._listeners, alerts)
        self._deletions = Deletions(
            self._transactions,
            privacy=self._privacy,
            retention=retention,
            history=history,
            user_filter=lambda user_id: self._reads.filter(user_id=user_id),
            reveal=self._reads.reveal,
        )
        renew_after_fork(self)  # a forked child leaves the parent's connections alone

    def close(self, timeout: float | None = None) -> None:
        """Commit what the background writer holds (waiting at most ``timeout`` seconds,
        None: as long as it takes; what remains unsaved is logged), then close every
        connection. Any later call raises ``StorageClosedError``."""
        try:
            self._background.stop(timeout)
            self._alerting.close()
        finally:
            self._backend.close()

    def _after_fork_in_child(self) -> None:
        """In a forked child: no transaction or writer of the parent's, new connections."""
        self._transactions.after_fork_in_child()
        self._background.after_fork_in_child()
        self._scoring.after_fork_in_child()
        self._alerting.after_fork_in_child()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def backend(self) -> StorageBackend:
        """The backend holding the data."""
        return self._backend

    @property
    def privacy(self) -> PrivacyPolicy | None:
        """The privacy policy in force (None: user ids and metadata are stored as given)."""
        return self._privacy

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        return self._backend.schema_version

    def add_listener(self, listener: Callable[..., None], *, batched: bool = False) -> None:
        """Call ``listener(change, entry)`` after every committed change from now on;
        ``batched=True``: ``listener(changes)`` once per commit, with its ``(change,
        entry)`` pairs as a sequence (cheaper when a commit holds thousands)."""
        self._listeners.add(listener, batched=batched)

    def remove_listener(self, listener: Callable[..., None]) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Group calls: all commit on exit, all roll back on an exception.

        Nestable: an inner block is a savepoint, undone alone if it raises. Inside the
        block every call from this thread uses the same connection; other threads see
        nothing until the outermost block commits. Listeners hear of the changes then.
        """
        with self._transactions.transaction():
            yield self

    # -- writing (``EntryWrites``) -----------------------------------------------------

    def create(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Store a new entry and return it; ``DuplicateFeedbackError`` if its id exists."""
        return self._writes.create(check_entry(entry))

    def create_many(self, entries: Iterable[FeedbackEntry]) -> list[FeedbackEntry]:
        """Store many entries in one transaction: all of them, or none."""
        return self._writes.create_many([check_entry(entry) for entry in entries])

    def _create_group(self, group: list[FeedbackEntry]) -> list[FeedbackEntry]:
        """``create_many`` as the background writer runs it, on entries already checked."""
        return self._writes.create_group(group)

    def update(self, entry: FeedbackEntry) -> FeedbackEntry:
        """Overwrite the stored entry with the same id; ``FeedbackNotFoundError`` if absent."""
        return self._writes.update(check_entry(entry))

    def delete(self, feedback_id: str) -> bool:
        """Delete one entry; return whether it existed."""
        return self._deletions.delete(check_id(feedback_id)) > 0

    def delete_by_task(self, task_id: str) -> int:
        """Delete every entry of a task; return how many went."""
        return self._deletions.delete(FeedbackFilter(task_id=check_id(task_id)))

    @overload
    def purge(self, older_than: None = None) -> dict[FeedbackType, int]: ...

    @overload
    def purge(self, older_than: timedelta | datetime) -> int: ...

    def purge(
        self, older_than: timedelta | datetime | None = None
    ) -> int | dict[FeedbackType, int]:
        """Delete old feedback (and its history) for retention.

        With ``older_than`` (a timedelta or a datetime) delete entries created before
        then and return the count. Without it apply the configured ``RetentionPolicy``
        (a maximum age, with per-type overrides) and return the counts per type.
        """
        return self._deletions.purge(older_than)

    def retention_preview(self) -> dict[FeedbackType, int]:
        """What ``purge()`` would delete under the retention policy, per type."""
        return self._deletions.by_policy(dry_run=True)

    def forget_user(self, user_id: str) -> int:
        """Erase every entry by ``user_id`` and their history, reclaim the space, and
        return how many entries went. Takes the original user id (also when anonymised).
        """
        return self._deletions.forget_user(check_id(user_id))

    def get_history(self, feedback_id: str) -> list[FeedbackEntry]:
        """Every version of an entry, oldest first: the previous versions kept by
        ``update`` and ``delete``, then the current one if it still exists."""
        return self._reads.history(check_id(feedback_id))

    # -- reading -----------------------------------------------------------------------

    def get(self, feedback_id: str) -> FeedbackEntry | None:
        """Return the entry with this id, or None."""
        return self._reads.get(check_id(feedback_id))

    def get_by_task(self, task_id: str) -> list[FeedbackEntry]:
        """Return every entry of a task, oldest first."""
        return self._reads.select(FeedbackFilter(task_id=check_id(task_id)))

    def get_by_type(self, feedback_type: FeedbackType | str) -> list[FeedbackEntry]:
        """Return every entry of a type, oldest first."""
        return self._reads.select(FeedbackFilter(feedback_type=feedback_type))

    def get_filtered(
        self,
        task_id: str | None = None,
        feedback_type: FeedbackType | str | None = None,
        user_id: str | None = None,
        min_rating: int | None = None,
        max_rating: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[FeedbackEntry]:
        """Return matching entries ordered by ``created_at`` then ``id``, one page at a time.

        ``created_after`` is inclusive, ``created_before`` exclusive; ``limit=None``
        returns every match.
        """
        where = self._reads.filter(
            task_id=task_id,
            feedback_type=feedback_type,
            user_id=user_id,
            min_rating=min_rating,
            max_rating=max_rating,
            created_after=created_after,
            created_before=created_before,
        )
        check_page(limit, offset)
        return self._reads.select(where, limit, offset)

    def count(self, **filters: Any) -> int:
        """Return how many entries match the ``get_filtered`` filters given."""
        return self._reads.count(self._reads.filter(**filters))

    def get_all(self) -> list[FeedbackEntry]:
        """Return every entry, oldest first (see ``iter_all`` for large stores)."""
        return self._reads.select(ALL)

    def iter_all(self, **filters: Any) -> Iterator[FeedbackEntry]:
        """Yield every entry (or the matching ones), oldest first, in constant memory."""
        return self._reads.iterate(self._reads.filter(**filters))

    def follow(
        self,
        *,
        since: Since = None,
        feedback_type: FeedbackType | str | None = None,
        worker_id: str | None = None,
        task_type: str | None = None,
        poll: float = 0.2,
    ) -> Iterator[FeedbackEntry]:
        """Yield each new entry, in commit order, as any process commits it, until the
        caller stops (``close()`` the generator, or break out of its loop).

        ``since`` replays first: an entry or its id (what was committed after it), or a
        datetime (entries created after it); None starts with the next commit. Filters:
        ``feedback_type``, ``worker_id`` and ``task_type`` (``metadata``). New commits are
        looked for every ``poll`` seconds (PostgreSQL is also woken by ``NOTIFY``). Each
        entry is yielded once, when first stored; updates and deletions are not followed.
        The generator ends when the store is closed.
        See docs/follow.md.
        """
        return self._following.follow(since, feedback_type, worker_id, task_type, poll)

    def get_summary(
        self, task_id: str | None = None, since: datetime | None = None
    ) -> FeedbackSummary:
        """Return counts, average rating, rating distribution and counts by type.

        ``task_id=None`` summarises the whole store; ``since`` only the entries created at
        or after it.
        """
        return self._analysis.summary(None if task_id is None else check_id(task_id), since)

    def failures(
        self, *, since: datetime | None = None, task_type: str | None = None
    ) -> FailureReport:
        """Successes, failures and the failures by error type (each with its newest
        message) of the entries created at or after ``since`` (None: all), of one
        ``metadata.task_type`` or all (the outcome rules of docs/scores.md)."""
        return self._analysis.failures(since, task_type)

    def worker_stats(self) -> list[WorkerStats]:
        """Per worker: count, average rating, failures; best first (the seed's)."""
        return self._analysis.worker_stats()

    def trends(self, days: int = 30, by: str = "day") -> list[TrendPoint]:
        """Average rating and count per day or week over the last ``days`` days."""
        return self._analysis.trends(days, by)

    def outcome_totals(self) -> list[OutcomeTotals]:
        """Per worker and task type: successes, failures and ratings over every entry."""
        return self._analysis.outcome_totals()

    def lifetime_counts(self) -> LifetimeCounts:
        """What the store ever created (per type, rating, and worker and task type's
        outcomes) and deleted (per type): counts that deletions never lower, what the
        Prometheus counters export (docs/metrics.md)."""
        return self._analysis.lifetime_counts()

    def newest_created_at(self) -> datetime | None:
        """When the newest entry was created (None in an empty store)."""
        return self._analysis.newest_created_at()

    def worker_scores(
        self,
        *,
        task_type: str | None = None,
        since: datetime | None = None,
        half_life: timedelta | None = None,
        confidence: float = 0.95,
        now: datetime | None = None,
    ) -> list[WorkerScore]:
        """Every worker's ``WorkerScore``, best first, from outcomes of ``task_type`` (None:
        all) from ``since`` to ``now``, weighing ``0.5 ** (age / half_life)``
        (``docs/scores.md``)."""
        return self._scoring.worker_scores(task_type, since, half_life, confidence, now)

    def recommend(
        self,
        candidates: Iterable[str],
        *,
        task_type: str | None = None,
        policy: str = "thompson",
        half_life: timedelta | None = None,
        confidence: float = 0.95,
        now: datetime | None = None,
        rng: random.Random | None = None,
        objective: str = "time",
        load: Mapping[str, float] | None = None,
    ) -> list[str]:
        """Every candidate once, best first by ``objective`` ("time": the expected time to a
        successful result, ``load`` tasks ahead per slot; "success"; "quality") as
        ``policy`` ("thompson", "lower_bound", "mean") estimates it, from the scores in
        memory (``docs/scores.md``)."""
        return self._scoring.recommend(
            candidates, task_type, policy, half_life, confidence, now, rng, objective, load
        )

    @property
    def alert_settings(self) -> AlertSettings | None:
        """How this store detects changes (None: it does not)."""
        return self._alerting.settings

    def alerts(
        self,
        *,
        open_only: bool = False,
        since: datetime | None = None,
        worker_id: str | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        """The alerts raised and cleared, newest first: with ``open_only`` only the
        ``degraded`` ones not yet ``recovered``; raised since ``since``; of one worker; at
        most ``limit`` (``docs/alerts.md``)."""
        if not isinstance(open_only, bool):
            raise FeedbackValidationError("open_only", open_only, "must be True or False")
        start = None if since is None else check_time("since", since)
        worker = check_optional_text("worker_id", worker_id)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise FeedbackValidationError("limit", limit, "must be a whole number, 1 or more")
        return self._alerting.alerts(
            open_only=open_only, since=start, worker_id=worker, limit=limit
        )

    def check_alerts(self) -> list[Alert]:
        """Read every entry committed since detection last read (any process's) now, not
        at the detection thread's next turn; return the alerts raised or cleared (each
        also told to the alert listeners). Nothing when the store does not detect."""
        return self._alerting.check()

    def alerted_workers(self, task_type: str | None = None) -> set[str]:
        """The workers with an open ``degraded`` alert for ``task_type`` or for all of
        their task types (read from the store at most every 5 seconds)."""
        return self._alerting.alerted_workers(check_optional_text("task_type", task_type))

    def add_alert_listener(self, listener: AlertListener) -> None:
        """Call ``listener(alert)`` after the commit of each alert this store raises or
        clears; an exception in it is logged and ignored."""
        self._alerting.add_listener(listener)

    def remove_alert_listener(self, listener: AlertListener) -> None:
        """Stop calling ``listener``."""
        self._alerting.remove_listener(listener)

    def verify_rollups(self) -> list[str]:
        """Recompute the rollups (the aggregates behind the whole-store summary, workers and
        trends) from the entries and return each difference as a line; none: they agree."""
        return self._analysis.verify_rollups()

    def rebuild_rollups(self) -> None:
        """Recompute the rollups from the entries, in one transaction."""
        self._analysis.rebuild_rollups()

    def execute_query(
        self,
        sql: str,
        params: Sequence[Any] | dict[str, Any] = (),
        *,
        read_only: bool = False,
        time_limit: float | None = None,
        max_rows: int | None = None,
    ) -> list[QueryRow]:
        """Run one statement of your own SQL; its rows index by position and column name.

        Datetime parameters are converted to the stored timestamp format; changes made here
        are not told to listeners (the scores this store holds in memory are read again after
        any statement that may write). ``read_only`` refuses a statement that would write,
        ``time_limit`` (seconds) stops a slow one, ``max_rows`` refuses a larger result. A
        statement that would begin, end or save a transaction, attach a file or change a
        connection setting, or more than one statement, raises ``QueryRefusedError``.
        """
        limits = query_limits(time_limit, max_rows)
        backend = self._backend
        encoded = encode_parameters(backend.encode_parameter, params)
        try:
            return self._transactions.read(
                lambda connection: backend.execute(connection, sql, encoded, read_only, **limits)
            )
        finally:
            if not read_only and _MAY_WRITE.search(sql):
                self._scoring.book.mark_stale()

    # -- background writes (the writer thread: ``BackgroundWrites``) --------------------

    def submit(self, entry: FeedbackEntry) -> int | None:
        """Hand ``entry`` to the background writer (a thread committing groups of up to
        ``batch_size`` within ``batch_window`` seconds; listeners run on it) and return a
        ticket for ``wait_committed`` at once; None if the queue was full and ``on_full``
        is "drop" ("block", the default, makes the caller wait for room)."""
        return self._background.submit(check_entry(entry))

    def wait_committed(self, ticket: int, timeout: float | None = None) -> bool:
        """Wait until the entry with this ``submit`` ticket is committed; False on timeout."""
        return self._background.wait_committed(ticket, timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Return once every entry submitted before the call is committed (False on timeout);
        ``FeedbackError`` if some entries could not be stored since the last flush."""
        return self._background.flush(timeout)

    @property
    def queue_depth(self) -> int:
        """Entries waiting in the background queue (the group being written is not counted)."""
        return self._background.queue_depth

    @property
    def dropped_count(self) -> int:
        """Entries dropped because the background queue was full."""
        return self._background.dropped_count

    # -- import and export (``BulkTransfer``) -------------------------------------------

    def export_jsonl(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as JSON Lines (one ``to_dict`` a line); return the count."""
        return self._bulk.export(self.iter_all(**filters), dest, file_formats.JSONL)

    def export_json(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as one JSON array; return the count."""
        return self._bulk.export(self.iter_all(**filters), dest, file_formats.JSON_ARRAY)

    def export_csv(self, dest: Target, **filters: Any) -> int:
        """Write matching entries as CSV (metadata as JSON text); return the count."""
        return self._bulk.export(self.iter_all(**filters), dest, file_formats.CSV)

    def import_jsonl(
        self,
        src: Target,
        on_conflict: str = "error",
        *,
        dry_run: bool = False,
        batch_size: int | None = None,
    ) -> int:
        """Import a JSON Lines file atomically; return how many entries were written.
        ``on_conflict``: "error" (an existing id aborts), "skip" or "replace". A bad record
        aborts it all with an error naming its line and field; ``dry_run`` rolls back.
        ``batch_size``: check every record first (a bad one still imports nothing), then
        commit that many entries a transaction, so that other writers wait at most one
        batch (``src`` a path or a seekable file); an error while writing (an id already
        stored, a full disk) leaves the batches before it, and says how many."""
        return self._bulk.import_file(
            src, on_conflict, file_formats.read_jsonl, dry_run, batch_size
        )

    def import_json(
        self,
        src: Target,
        on_conflict: str = "error",
        *,
        dry_run: bool = False,
        batch_size: int | None = None,
    ) -> int:
        """Import a JSON array file atomically, like ``import_jsonl``."""
        return self._bulk.import_file(
            src, on_conflict, file_formats.read_json_array, dry_run, batch_size
        )

    def import_csv(
        self,
        src: Target,
        on_conflict: str = "error",
        *,
        dry_run: bool = False,
        batch_size: int | None = None,
    ) -> int:
        """Import a CSV file written by ``export_csv`` atomically, like ``import_jsonl``."""
        return self._bulk.import_file(
            src, on_conflict, file_formats.read_csv, dry_run, batch_size
        )

    def import_entries(
        self, entries: Iterable[FeedbackEntry], on_conflict: str = "error", *, dry_run: bool = False
    ) -> int:
        """Store entries from any iterable (another store's ``iter_all()``, say) in one
        transaction, by the bulk path; return how many were written."""
        return self._bulk.import_entries(entries, on_conflict, dry_run=dry_run)
