"""A store's alerts: change detection on every committed outcome, per worker and task type
and per worker over all its task types (``change_detection.py``), with the alerts it
raises kept in the store (``backends/alert_tables.py``).

Detection reads committed entries in commit order, from every process, on a thread of its
own: woken by this store's commits and every ``AlertSettings.poll`` seconds for other
processes' (it never runs on the caller's write path). A batch is read and run through the
detectors outside any write transaction; one short transaction then stores the detectors,
the alerts raised and the position read to, if that position is still the one the batch
began at (the row locked). Whichever process stores a batch first is the only one to: each
alert is raised once, by one process, and told to that process's alert listeners after its
commit. The detectors' state lives in the store: a restart, or another process, goes on
from it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs

from orchestrator_feedback import rules
from orchestrator_feedback.errors import FeedbackValidationError
from orchestrator_feedback.serialization import converter
from orchestrator_feedback.storage.backends import alert_tables
from orchestrator_feedback.storage.backends.values import (
    FeedbackChange,
    FollowPosition,
)
from orchestrator_feedback.storage.change_detection import (
    RATING,
    SUCCESS,
    Change,
    Detector,
)
from orchestrator_feedback.storage.listeners import Events, Listeners
from orchestrator_feedback.storage.options import is_number
from orchestrator_feedback.storage.scores import rating_interval, wilson
from orchestrator_feedback.storage.transactions import Transactions
from orchestrator_feedback.summaries import Alert

__all__ = ["AlertListener", "AlertSettings", "Alerting"]

logger = logging.getLogger("orchestrator_feedback.storage")

AlertListener = Callable[[Alert], None]
"""Called as ``listener(alert)`` after the commit that raised or cleared the alert."""

_BATCH = 10_000
"""Entries read in one batch (its write transaction stores only what changed)."""
_SPACING = 0.2
"""The least time between two readings on the detection thread."""
_SHARE = 0.05
"""The most of the host's time the detection thread takes: after a reading that took
``t`` seconds it rests ``t / _SHARE - t``. A host that commits outcomes faster than
detection reads them at that share (thousands a second) gets its alerts later, never
fewer: detection catches up when the rate falls, and ``close`` reads what is left."""
_Z95 = 1.959963984540054
_OPEN_ALERTS_FOR = 5.0
"""Seconds the advice keeps the set of workers with an open alert before reading it again."""


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not is_number(value) or not value > 0:
        raise FeedbackValidationError(attribute.name, value, "must be a number above 0")


def _whole(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FeedbackValidationError(attribute.name, value, "must be a whole number, 0 or more")


def _false_alarm_every(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 10:
        raise FeedbackValidationError(
            attribute.name, value, "must be a whole number of outcomes, 10 or more"
        )


def _task_types(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, tuple) or not all(isinstance(name, str) for name in value):
        raise FeedbackValidationError(attribute.name, value, "must be a list of task types")


def _names_or_none(value: Any) -> Any:
    if isinstance(value, list | set | frozenset):
        return tuple(value)
    return value


@attrs.frozen(kw_only=True)
class AlertSettings:
    """How a store detects changes (``docs/alerts.md``)."""

    false_alarm_every: int = attrs.field(default=100_000, validator=_false_alarm_every)
    """On average at most one false alarm per this many outcomes of a steady worker, per
    detector (``change_detection.threshold``)."""
    min_outcomes: int = attrs.field(default=20, validator=_whole)
    """The outcomes a detector's reference must rest on (its peers' included) before it
    raises ``degraded``, and a recovery must last before it raises ``recovered``."""
    task_types: tuple[str, ...] | None = attrs.field(
        default=None,
        converter=_names_or_none,
        validator=_task_types,
    )
    """The task types watched (None: every one)."""
    poll: float = attrs.field(default=1.0, validator=_positive)
    """Seconds between two looks for other processes' commits."""


Key = tuple[str | None, str | None, str]
"""A detector's ``(worker, task type or None for all, measure)``; with no worker, the
peers of a task type (every worker's outcomes of it, ``Detector.reference``)."""


def _peers_key(task_type: str | None, measure: str) -> Key:
    return (None, task_type, measure)


def _stored_key(key: Key) -> str:
    return json.dumps(key)


def _columns(json_sql: rules.JsonSQL) -> str:
    """What detection reads of each entry, by the rules of ``rules`` in the dialect's SQL:
    worker, task type, success, failure, rated, rating, created_at."""
    return ", ".join(
        (
            rules.worker_sql(json_sql),
            rules.task_type_sql(json_sql),
            rules.success_sql(json_sql),
            rules.failure_sql(json_sql),
            rules.rated_sql(),
            "rating",
            "created_at",
        )
    )


def _observations(row: tuple[Any, ...], settings: AlertSettings) -> Iterator[tuple[Key, float]]:
    """``(key, value)`` of each detector an entry's row feeds (the task type's, and the one
    over all of the worker's task types, per measure)."""
    worker, task_type, success, failure, rated, rating, _created = row
    if worker is None:
        return
    if settings.task_types is not None and task_type not in settings.task_types:
        return
    if success or failure:
        value = 1.0 if success else 0.0
        yield (worker, task_type, SUCCESS), value
        yield (worker, None, SUCCESS), value
    if rated and rating is not None:
        yield (worker, task_type, RATING), float(rating)
        yield (worker, None, RATING), float(rating)


@attrs.define
class _State:
    """A detector and, for the one over all of a worker's task types, the first two task
    types it heard of (it raises alerts only once there are two: with one, the task
    type's own detector says the same)."""

    detector: Detector
    task_types: list[str] = attrs.Factory(list)


def _interval(measure: str, mean: float, weight: float) -> tuple[float, float]:
    if measure == SUCCESS:
        low, high = wilson(mean * weight, weight, _Z95)
    else:
        low, high = rating_interval(mean, weight, _Z95)
    return (mean if low is None else low, mean if high is None else high)


def alert_of(row: alert_tables.AlertRow) -> Alert:
    """An ``Alert`` from a row of ``feedback_alerts``."""
    (alert_id, worker, task_type, kind, measure, since, raised_at, before, before_low,
     before_high, after, after_low, after_high, outcomes, statistic, limit) = row  # fmt: skip
    return Alert(
        id=int(alert_id),
        worker_id=worker,
        task_type=task_type,
        kind=kind,
        measure=measure,
        since=since,
        raised_at=raised_at,
        before=float(before),
        before_interval=(float(before_low), float(before_high)),
        after=float(after),
        after_interval=(float(after_low), float(after_high)),
        outcomes=int(outcomes),
        statistic=float(statistic),
        threshold=float(limit),
    )


class Alerting:
    """Detection for one store (``settings`` None: none, but alerts stored are listed)."""

    def __init__(
        self,
        transactions: Transactions,
        listeners: Listeners,
        settings: AlertSettings | None,
    ) -> None:
        self._transactions = transactions
        self._columns = _columns(transactions.backend.json_sql)
        self.settings = settings
        """How this store detects changes (None: it does not)."""
        self._listeners: list[AlertListener] = []
        self._detecting = settings is not None and transactions.backend.keeps_alerts
        self._fresh()
        if self._detecting:
            self._start_reading()
        if self._detecting:
            listeners.add(self._heard, batched=True)

    def _start_reading(self) -> None:
        """Detection reads what is committed from the first detecting store's opening on."""
        backend = self._transactions.backend
        if self._transactions.read(lambda c: alert_tables.read_position(backend, c, lock=False)):
            return

        def start(connection: object) -> tuple[None, Events]:
            head = backend.follow_head(connection)
            alert_tables.write_position(backend, connection, head, first=True)
            return None, ()

        try:
            self._transactions.write(start)
        except Exception as error:  # a store this process may only read: nothing to detect
            logger.warning("alerts: detection is off, the store refused a write: %s", error)
            self._detecting = False

    def _fresh(self) -> None:
        self._states: dict[Key, _State] = {}
        self._position: FollowPosition | None = None
        self._seen_stored: FollowPosition | None = None
        self._reading = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._open: tuple[float, dict[str | None, set[str]]] | None = None

    def after_fork_in_child(self) -> None:
        """In a forked child: no thread, lock or cached state of the parent's."""
        self._fresh()

    def add_listener(self, listener: AlertListener) -> None:
        """Call ``listener(alert)`` for each alert this store raises or clears."""
        self._listeners.append(listener)

    def remove_listener(self, listener: AlertListener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    # -- the detection thread --------------------------------------------------------

    def _heard(self, changes: Events) -> None:
        """This store committed: read on soon (starting the thread on the first time)."""
        if not any(change is FeedbackChange.RECORDED for change, _entry in changes):
            return
        if self._thread is None:
            with self._starting:
                if self._thread is None:
                    thread = threading.Thread(
                        target=self._watch, name="feedback-alerts", daemon=True
                    )
                    thread.start()
                    self._thread = thread
        self._wake.set()

    def _watch(self) -> None:
        assert self.settings is not None
        while not self._stop.is_set():
            self._wake.wait(self.settings.poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            began = time.monotonic()
            try:
                if self._another_reads():
                    self._stop.wait(self.settings.poll)
                    continue
                if self._behind() and self._check(1)[1]:
                    self._wake.set()  # more is waiting: the next batch, after the rest below
            except Exception:  # the store closed or the database is away: try again later
                logger.debug("reading entries for alerts failed", exc_info=True)
            took = time.monotonic() - began
            self._stop.wait(max(_SPACING, took / _SHARE - took))

    def _another_reads(self) -> bool:
        """Whether another process moved the position since the last look: it is reading,
        and this one leaves the reading to it (every process reading each batch would do
        the work as many times, all but one thrown away) until it stops for a poll."""
        backend = self._transactions.backend
        stored = self._transactions.read(
            lambda connection: alert_tables.read_position(backend, connection, lock=False)
        )
        seen, self._seen_stored = self._seen_stored, stored
        return seen is not None and stored != seen and stored != self._position

    def _behind(self) -> bool:
        """Whether entries were committed since the last reading (cheap, no lock)."""
        backend = self._transactions.backend
        head = self._transactions.read(backend.follow_head)
        return self._position is None or head != self._position

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop the thread, after reading what this store committed last."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout)
        self._thread = None
        try:
            self.check(most=10)
        except Exception:
            logger.warning("reading the last entries for alerts failed", exc_info=True)

    # -- reading ---------------------------------------------------------------------

    def check(self, most: int | None = None) -> list[Alert]:
        """Read every entry committed since the last reading (any process's), at most
        ``_BATCH`` at a time (at most ``most`` times), and return the alerts raised or
        cleared, each told to the listeners after its commit.

        Each batch is read and run through the detectors outside any write transaction;
        then one short transaction stores the detectors, the alerts and the new position,
        if the position is still the one read from (else another process read the same
        entries first: this reading is dropped, and the next starts from its states)."""
        return self._check(most)[0]

    def _check(self, most: int | None) -> tuple[list[Alert], bool]:
        """``check``, and whether more may be waiting."""
        raised: list[Alert] = []
        full = False
        if not self._detecting:
            return raised, full
        with self._reading:
            count = 0
            while most is None or count < most:
                count += 1
                try:
                    found, full = self._read_batch()
                except BaseException:
                    self._forget()  # what is cached may not be what is stored
                    raise
                self._tell(found)
                raised.extend(found)
                if not full:
                    break
        return raised, full

    def _forget(self) -> None:
        self._states.clear()
        self._position = None

    def _read_batch(self) -> tuple[list[Alert], bool]:
        """One batch: ``(alerts committed, whether more may be waiting)``."""
        backend = self._transactions.backend
        settings = self.settings
        assert settings is not None
        position = self._transactions.read(
            lambda connection: alert_tables.read_position(backend, connection, lock=False)
        )
        if position is None:
            return [], False
        if position != self._position:  # another process read on: its states are newer
            self._states.clear()
        rows, after = self._transactions.read(
            lambda connection: backend.follow_read_rows(connection, position, _BATCH, self._columns)
        )
        if after == position:
            self._position = position
            return [], False
        observed = [
            (row, observation) for row in rows for observation in _observations(row, settings)
        ]
        states = self._states
        missing = [
            wanted
            for _row, (key, _value) in observed
            for wanted in (key, _peers_key(key[1], key[2]))
            if wanted not in states
        ]
        if missing:
            self._transactions.read(lambda connection: self._load(missing, connection))
        touched: dict[Key, _State] = {}
        changes: list[tuple[str, str | None, Change]] = []
        every, least = settings.false_alarm_every, settings.min_outcomes
        for row, (key, value) in observed:
            state = states[key]
            worker, task_type, measure = key
            if task_type is None:
                own = row[1]
                if len(state.task_types) < 2 and own not in state.task_types:
                    state.task_types.append(own)
            pool_key = _peers_key(task_type, measure)
            pool = states[pool_key]
            change = state.detector.hear(
                value,
                row[6],
                every,
                least,
                task_type is not None or len(state.task_types) > 1,
                pool.detector.history,
            )
            pool.detector.history.add(value)
            touched[key] = state
            touched[pool_key] = pool
            if change is not None:
                assert worker is not None
                changes.append((worker, task_type, change))
        stored = {
            _stored_key(key): json.dumps(converter.unstructure(state))
            for key, state in touched.items()
        }

        def store(connection: object) -> tuple[list[Alert] | None, Events]:
            if alert_tables.read_position(backend, connection) != position:
                return None, ()
            alert_tables.save_detectors(backend, connection, stored)
            now = datetime.now(UTC)
            found = [self._store(connection, *change, now) for change in changes]
            alert_tables.write_position(backend, connection, after)
            return found, ()

        found = self._transactions.write(store)
        if found is None:  # another process stored this batch first
            self._forget()
            return [], True
        self._position = after
        return found, len(rows) >= _BATCH

    def _tell(self, found: list[Alert]) -> None:
        for alert in found:
            self._open = None
            for listener in list(self._listeners):
                try:
                    listener(alert)
                except Exception:
                    logger.exception("alert listener %r failed on alert %s", listener, alert.id)

    def _load(self, keys: list[Key], connection: object) -> None:
        """Have the state of each detector named in ``keys`` at hand (stored or new)."""
        missing = {_stored_key(key): key for key in keys}
        stored = alert_tables.load_detectors(self._transactions.backend, connection, list(missing))
        for name, key in missing.items():
            text = stored.get(name)
            if text is None:
                self._states[key] = _State(Detector(key[2]))
            else:
                self._states[key] = converter.structure(json.loads(text), _State)

    def _store(
        self,
        connection: object,
        worker: str,
        task_type: str | None,
        change: Change,
        now: datetime,
    ) -> Alert:
        before, after = change.before, change.after
        before_mean, after_mean = before.mean, after.mean
        row = (
            worker,
            task_type,
            change.kind,
            change.measure,
            change.since,
            now,
            before_mean,
            *_interval(change.measure, before_mean, before.weight),
            after_mean,
            *_interval(change.measure, after_mean, after.weight),
            change.outcomes,
            change.statistic,
            change.threshold,
        )
        alert_id = alert_tables.insert_alert(self._transactions.backend, connection, row)
        return alert_of((alert_id, *row))

    # -- listing ---------------------------------------------------------------------

    def alerts(
        self,
        *,
        open_only: bool = False,
        since: datetime | None = None,
        worker_id: str | None = None,
        limit: int | None = None,
    ) -> list[Alert]:
        """See ``FeedbackStorage.alerts``."""
        backend = self._transactions.backend
        if not backend.keeps_alerts:
            return []
        rows = self._transactions.read(
            lambda connection: alert_tables.read_alerts(
                backend,
                connection,
                open_only=open_only,
                since=since,
                worker=worker_id,
                limit=limit,
            )
        )
        return [alert_of(row) for row in rows]

    def alerted_workers(self, task_type: str | None) -> set[str]:
        """The workers with an open ``degraded`` alert for ``task_type`` or for all their
        task types (read again every ``_OPEN_ALERTS_FOR`` seconds, and after this store
        raises or clears one)."""
        cached = self._open
        if cached is None or time.monotonic() - cached[0] > _OPEN_ALERTS_FOR:
            by_type: dict[str | None, set[str]] = {}
            for alert in self.alerts(open_only=True):
                by_type.setdefault(alert.task_type, set()).add(alert.worker_id)
            cached = self._open = (time.monotonic(), by_type)
        by_type = cached[1]
        return by_type.get(None, set()) | (by_type.get(task_type, set()) if task_type else set())
