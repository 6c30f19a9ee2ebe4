"""Dask adapter: ``FeedbackSchedulerPlugin`` turns scheduler transitions into our hooks.

    from orchestrator_feedback.adapters.dask import FeedbackSchedulerPlugin
    client.register_plugin(FeedbackSchedulerPlugin())   # or scheduler.add_plugin(...)

Install with ``pip install 'orchestrator-feedback[dask]'``. What is recorded:

- a transition into ``processing`` -> ``worker_allocated``: the worker's address as
  ``worker_id`` (its name in metadata), a load-based score (1 / (1 + tasks it is
  processing)), and the stimulus as the reason;
- ``processing -> memory`` -> ``task_completed`` with the compute time from ``startstops``;
- ``processing -> erred`` -> ``task_failed`` with the exception and traceback text.
  Dependents that err because of another task never were processing: they are not
  reported as failures of their own;
- a retried attempt (``processing -> waiting`` on a ``task-erred`` stimulus) ->
  ``task_failed`` with ``will_retry``;
- a confirmed steal (``log_event("stealing", ...)``) -> a second ``worker_allocated``.

``task_id`` is the Dask key as a string. Transitions run on the scheduler's event loop,
so the callback only reads what must be read at that moment and appends a raw tuple to a
deque (``dask_sinks``); the hook calls are worked out later (``dask_events``), in a
recording process of their own (``dask_recorder``) or, when a plugin manager is given, on a
thread of the scheduler's process. The loop never waits for a plugin or the database.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import attrs

from orchestrator_feedback.config import load_config
from orchestrator_feedback.drops import DropReporter
from orchestrator_feedback.host import get_plugin_manager
from orchestrator_feedback.manager import FeedbackPluginManager

try:
    from distributed.diagnostics.plugin import SchedulerPlugin
except ImportError as missing:  # pragma: no cover - only without the extra
    from orchestrator_feedback.errors import FeedbackError

    raise FeedbackError(
        f"the Dask adapter needs its extra: pip install 'orchestrator-feedback[dask]' ({missing})"
    ) from None

from orchestrator_feedback.adapters.dask_sinks import (
    EventSink,
    InProcessSink,
    RecordingProcessSink,
)

__all__ = ["FeedbackSchedulerPlugin"]

logger = logging.getLogger("orchestrator_feedback.adapters.dask")


class FeedbackSchedulerPlugin(SchedulerPlugin):
    """Records Dask task lifecycles as feedback (see the module's documentation).

    ``plugin_manager``: None (default) records in a separate process, with a manager built
    there from the configuration, in background write mode; pass a manager only when the
    scheduler runs in this process (it is not sent over the wire): its hooks then fire on a
    thread of this process.
    """

    name = "orchestrator-feedback"

    def __init__(self, plugin_manager: FeedbackPluginManager | None = None) -> None:
        self._given = plugin_manager
        self._manager: FeedbackPluginManager | None = plugin_manager
        self.scheduler: Any = None
        self._sink: EventSink | None = None
        self._events: deque[Any] | None = None
        self._limit = 0
        self._drops: DropReporter | None = None
        self._retrying: set[Any] = set()

    def __getstate__(self) -> dict[str, Any]:
        if self._given is not None:
            # client.register_plugin pickles the plugin to the scheduler's process, where
            # this process's manager (and its store) cannot go: say so, once, here.
            logger.warning(
                "FeedbackSchedulerPlugin is sent to the scheduler without its plugin_manager "
                "(a manager cannot travel between processes): the scheduler stores into the "
                "configured database (ORCHESTRATOR_FEEDBACK_DATABASE or "
                "orchestrator-feedback.toml) instead. To use this manager, add the plugin in "
                "the scheduler's own process (LocalCluster(scheduler_kwargs={'plugins': ...}) "
                "or scheduler.add_plugin)"
            )
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        FeedbackSchedulerPlugin.__init__(self)

    async def start(self, scheduler: Any) -> None:
        """Keep the scheduler, and start recording (a configuration error shows here)."""
        self.scheduler = scheduler
        self._open()

    async def close(self) -> None:
        """Commit everything recorded, end the recording, and close the manager if this
        plugin built it."""
        sink, self._sink, self._events = self._sink, None, None
        if sink is not None:
            sink.close(self._exit_timeout())
        if self._drops is not None:
            self._drops.close()
        manager = self._manager
        if manager is None:
            return
        if self._given is None:
            manager.close()
        else:
            manager.flush()

    @property
    def manager(self) -> FeedbackPluginManager:
        """The plugin manager given; without one, a manager built here from the same
        configuration the recording process uses (to read what it stored)."""
        if self._manager is None:
            self._manager = get_plugin_manager(attrs.evolve(load_config(), write_mode="background"))
        return self._manager

    @property
    def dropped(self) -> int:
        """Events dropped because the recording fell a whole queue behind."""
        return 0 if self._drops is None else self._drops.dropped

    def _open(self) -> deque[Any]:
        events = self._events
        if events is None:
            if self._given is not None:
                config = self._given.config
                self._sink = InProcessSink(self._given)
            else:
                config = load_config()
                self._sink = RecordingProcessSink()
            self._limit = config.background.queue_size
            self._drops = DropReporter(
                logger,
                f"the Dask adapter's event queue full ({self._limit} events)",
                ("event", "events"),
            )
            events = self._events = self._sink.events
        return events

    def _exit_timeout(self) -> float | None:
        config = self._given.config if self._given is not None else load_config()
        return config.background.exit_timeout_s

    def flush(self, timeout: float | None = None) -> bool:
        """Commit every event recorded so far; False if that could not be confirmed
        within ``timeout`` seconds (or the recording process is gone)."""
        if self._sink is not None:
            return self._sink.flush(timeout)
        return self._manager.flush() if self._manager is not None else True

    def _record(self, event: tuple[Any, ...]) -> None:
        events = self._events
        if events is None:
            events = self._open()
        if len(events) < self._limit:
            events.append(event)
            return
        # The scheduler's loop must never wait (its workers' heartbeats go through it):
        # when the recording falls a whole queue behind, events are dropped and counted.
        assert self._drops is not None
        self._drops.drop(f"the last: {event[0]} for task {event[1]!r}")
        if self._given is not None:
            self._given.counters.add("dropped")

    def transition(
        self,
        key: Any,
        start: str,
        finish: str,
        *args: Any,
        stimulus_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Record the transitions we report as raw tuples; ignore the others.

        This runs on the scheduler's loop for every transition of every task, so it does
        the least it can: read what cannot be read later, append one tuple."""
        try:
            if finish == "processing":
                self._allocated(key, stimulus_id)
            elif start == "processing":
                if finish == "memory":
                    get = kwargs.get
                    event: tuple[Any, ...] = (
                        "completed",
                        key,
                        get("worker"),
                        get("startstops"),
                        get("nbytes"),
                        get("typename"),
                    )
                elif finish == "erred":
                    get = kwargs.get
                    event = (
                        "failed",
                        key,
                        get("worker"),
                        get("exception_text"),
                        get("traceback_text"),
                    )
                elif (stimulus_id or "").startswith("task-erred"):
                    event = ("retried", key, getattr(self._task(key), "retries", None))
                else:
                    return
                events = self._events
                if events is not None and len(events) < self._limit:
                    events.append(event)
                else:
                    self._record(event)
            elif finish == "forgotten" and self._retrying and key in self._retrying:
                self._retrying.discard(key)
                self._record(("forgotten", key))
        except Exception:
            logger.exception("could not record the transition of %s", key)

    def _task(self, key: Any) -> Any:
        if self.scheduler is None:
            self.scheduler = self._find_scheduler()
        return None if self.scheduler is None else self.scheduler.tasks.get(key)

    def _allocated(self, key: Any, stimulus_id: str | None) -> None:
        scheduler = self.scheduler
        task = scheduler.tasks.get(key) if scheduler is not None else self._task(key)
        worker = getattr(task, "processing_on", None)
        if worker is None:
            return
        retries = task.retries
        if retries:
            self._retrying.add(key)
        event = (
            "allocated",
            key,
            worker.address,
            worker.name,
            len(worker.processing),
            stimulus_id,
            retries,
        )
        events = self._events
        if events is not None and len(events) < self._limit:
            events.append(event)
        else:
            self._record(event)

    def _find_scheduler(self) -> Any:
        """The scheduler this plugin was added to without ``start()`` (as
        ``Scheduler.add_plugin`` does), found among the live schedulers."""
        from distributed import Scheduler

        for scheduler in list(Scheduler._instances):
            if any(plugin is self for plugin in scheduler.plugins.values()):
                return scheduler
        return None

    def log_event(self, topic: str, msg: Any) -> None:
        """A confirmed steal is a second allocation, to the thief."""
        if (
            topic != "stealing"
            or not isinstance(msg, tuple | list)
            or not msg
            or msg[0] != "confirm"
        ):
            return
        try:
            key, _state, victim, thief, stimulus_id = msg[1:6]
            self._record(("stolen", key, victim, thief, stimulus_id))
        except Exception:
            logger.exception("could not record a steal: %r", msg)
