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
- a confirmed steal (``log_event("stealing", ...)``) -> a second ``worker_allocated``.

``task_id`` is the Dask key as a string. Transitions run on the scheduler's event loop,
so the callback only reads what it needs from the scheduler and appends the event to a
queue; a forwarding thread fires the hooks (building and validating the entries, and any
plugin's subscriber), and the store writes in background mode. The loop never waits for
a plugin or the database.
"""

from __future__ import annotations

import ast
import logging
import time
from typing import Any

import attrs

from orchestrator_feedback.adapters._manager import HookForwarder
from orchestrator_feedback.config import load_config
from orchestrator_feedback.manager import FeedbackPluginManager, get_plugin_manager

try:
    from distributed.diagnostics.plugin import SchedulerPlugin
except ImportError as missing:  # pragma: no cover - only without the extra
    from orchestrator_feedback.errors import FeedbackError

    raise FeedbackError(
        f"the Dask adapter needs its extra: pip install 'orchestrator-feedback[dask]' ({missing})"
    ) from None

__all__ = ["FeedbackSchedulerPlugin"]

logger = logging.getLogger("orchestrator_feedback.adapters.dask")


def _background_manager() -> FeedbackPluginManager:
    return get_plugin_manager(attrs.evolve(load_config(), write_mode="background"))


class FeedbackSchedulerPlugin(SchedulerPlugin):
    """Records Dask task lifecycles as feedback (see the module's documentation).

    ``plugin_manager``: None (default) builds one from the configuration, in background
    write mode, when the scheduler starts the plugin; pass a manager only when the
    scheduler runs in this process (it is not sent over the wire).
    """

    name = "orchestrator-feedback"

    def __init__(self, plugin_manager: FeedbackPluginManager | None = None) -> None:
        self._given = plugin_manager
        self._manager: FeedbackPluginManager | None = plugin_manager
        self.scheduler: Any = None
        self._forwarder: HookForwarder | None = None
        self.transition_seconds = 0.0
        """Time spent inside ``transition`` so far (what the scheduler's loop paid)."""
        self.transition_count = 0
        # Tasks submitted with retries: key -> (worker of the running attempt, attempts so
        # far). The scheduler tells plugins of a retried attempt without its worker.
        self._attempts: dict[str, tuple[str, int]] = {}

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
        return {
            "_given": None,
            "_manager": None,
            "scheduler": None,
            "_forwarder": None,
            "transition_seconds": 0.0,
            "transition_count": 0,
            "_attempts": {},
        }

    async def start(self, scheduler: Any) -> None:
        """Keep the scheduler, and build the manager on its side."""
        self.scheduler = scheduler
        self._hooks()

    async def close(self) -> None:
        """Flush, and close the manager if this plugin built it."""
        if self._forwarder is not None:
            self._forwarder.stop()
            self._forwarder = None
        manager = self._manager
        if manager is None:
            return
        if self._given is None:
            manager.close()
        else:
            manager.flush()

    @property
    def manager(self) -> FeedbackPluginManager:
        """The plugin manager the events go to."""
        if self._manager is None:
            self._manager = _background_manager()
        return self._manager

    def _hooks(self) -> HookForwarder:
        forwarder = self._forwarder
        if forwarder is None:
            # The scheduler's loop must never wait (its workers' heartbeats go through
            # it): if the hooks fall a whole queue behind, events are dropped and counted.
            forwarder = self._forwarder = HookForwarder(self.manager, always_drop=True)
        return forwarder

    def flush(self) -> None:
        """Fire every queued event and commit the entries (tests, shutdown)."""
        if self._forwarder is not None:
            self._forwarder.stop()
            self._forwarder = None
        self.manager.flush()

    def transition(
        self,
        key: Any,
        start: str,
        finish: str,
        *args: Any,
        stimulus_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Turn the transitions we report into hook calls; ignore the others."""
        began = time.perf_counter()
        try:
            if self.scheduler is None:
                self.scheduler = self._find_scheduler()
            if finish == "processing":
                self._allocated(key, stimulus_id)
            elif start == "processing" and finish == "memory":
                self._completed(key, kwargs)
            elif start == "processing" and finish == "erred":
                self._failed(key, kwargs)
            elif start == "processing" and (stimulus_id or "").startswith("task-erred"):
                self._retried(key)
            elif finish == "forgotten" and self._attempts:
                self._attempts.pop(str(key), None)
        except Exception:
            logger.exception("could not record the transition of %s", key)
        finally:
            self.transition_seconds += time.perf_counter() - began
            self.transition_count += 1

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
            self._hooks().fire(
                "worker_allocated",
                task_id=str(key),
                worker_id=str(thief),
                allocation_score=None,
                allocation_reason=f"stolen from {victim} ({stimulus_id})",
                metadata={"stolen_from": str(victim)},
            )
        except Exception:
            logger.exception("could not record a steal: %r", msg)

    # -- the three reported transitions ----------------------------------------------------

    def _allocated(self, key: Any, stimulus_id: str | None) -> None:
        task = self.scheduler.tasks.get(key) if self.scheduler is not None else None
        worker = getattr(task, "processing_on", None)
        if worker is None:
            return
        busy = len(getattr(worker, "processing", ()))
        prefix = getattr(task, "prefix", None)
        key_text = str(key)
        attempt = None
        if getattr(task, "retries", 0) or key_text in self._attempts:
            _worker, failed = self._attempts.get(key_text, ("", 0))
            self._attempts[key_text] = (worker.address, failed)
            attempt = failed + 1
        self._hooks().fire(
            "worker_allocated",
            task_id=str(key),
            worker_id=worker.address,
            allocation_score=round(1.0 / (1.0 + busy), 4),
            allocation_reason=stimulus_id,
            metadata={
                "worker_name": str(worker.name),
                "prefix": getattr(prefix, "name", None),
                "task_type": getattr(prefix, "name", None),
                **({} if attempt is None else {"attempt": attempt}),
            },
        )

    def _task_type(self, key: Any) -> Any:
        task = self.scheduler.tasks.get(key) if self.scheduler is not None else None
        return getattr(getattr(task, "prefix", None), "name", None)

    def _attempt(self, key: Any, *, ended: bool) -> dict[str, Any]:
        """``attempt`` (for tasks submitted with retries) for this attempt's metadata."""
        known = self._attempts.pop(str(key), None) if ended else self._attempts.get(str(key))
        return {} if known is None else {"attempt": known[1] + 1}

    def _retried(self, key: Any) -> None:
        """A failed attempt that Dask runs again (``retries=``): a failure of its own. The
        scheduler passes plugins neither its worker nor its error, so the worker is the
        one the attempt was allocated to, and the error says it is not known."""
        key_text = str(key)
        worker, failed = self._attempts.get(key_text, (None, 0))
        self._attempts[key_text] = (worker or "", failed + 1)
        task = self.scheduler.tasks.get(key) if self.scheduler is not None else None
        self._hooks().fire(
            "task_failed",
            task_id=key_text,
            worker_id=worker or None,
            error_type="Unknown",
            error_message=(
                "the attempt failed and Dask runs the task again; the scheduler does not "
                "tell plugins the error of an attempt it retries"
            ),
            stack_trace=None,
            metadata={
                "task_type": self._task_type(key),
                "attempt": failed + 1,
                "will_retry": True,
                "retries_left": getattr(task, "retries", None),
            },
        )

    def _completed(self, key: Any, details: dict[str, Any]) -> None:
        compute = sum(
            span["stop"] - span["start"]
            for span in details.get("startstops") or ()
            if span.get("action") == "compute"
        )
        self._hooks().fire(
            "task_completed",
            task_id=str(key),
            worker_id=details.get("worker"),
            success=True,
            execution_time=round(compute, 6),
            output_quality=None,
            metadata={
                "nbytes": details.get("nbytes"),
                "type": details.get("typename"),
                "task_type": self._task_type(key),
                **self._attempt(key, ended=True),
            },
        )

    def _failed(self, key: Any, details: dict[str, Any]) -> None:
        text = details.get("exception_text") or ""
        error_type, _, message = text.partition("(")
        self._hooks().fire(
            "task_failed",
            task_id=str(key),
            worker_id=details.get("worker"),
            error_type=error_type.strip() or "Exception",
            error_message=_unquoted(message[:-1]) if message.endswith(")") else text,
            stack_trace=details.get("traceback_text"),
            metadata={
                "exception": text,
                "task_type": self._task_type(key),
                "will_retry": False,
                **self._attempt(key, ended=True),
            },
        )


def _unquoted(arguments: str) -> str:
    """``'division by zero'`` (an exception's repr'd argument) as ``division by zero``."""
    try:
        value = ast.literal_eval(arguments)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return arguments
    return value if isinstance(value, str) else arguments
