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

    def __getstate__(self) -> dict[str, Any]:
        return {
            "_given": None,
            "_manager": None,
            "scheduler": None,
            "_forwarder": None,
            "transition_seconds": 0.0,
            "transition_count": 0,
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
            if finish == "processing":
                self._allocated(key, stimulus_id)
            elif start == "processing" and finish == "memory":
                self._completed(key, kwargs)
            elif start == "processing" and finish == "erred":
                self._failed(key, kwargs)
        except Exception:
            logger.exception("could not record the transition of %s", key)
        finally:
            self.transition_seconds += time.perf_counter() - began
            self.transition_count += 1

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
        self._hooks().fire(
            "worker_allocated",
            task_id=str(key),
            worker_id=worker.address,
            allocation_score=round(1.0 / (1.0 + busy), 4),
            allocation_reason=stimulus_id,
            metadata={
                "worker_name": str(worker.name),
                "prefix": getattr(prefix, "name", None),
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
            metadata={"nbytes": details.get("nbytes"), "type": details.get("typename")},
        )

    def _failed(self, key: Any, details: dict[str, Any]) -> None:
        text = details.get("exception_text") or ""
        error_type, _, message = text.partition("(")
        self._hooks().fire(
            "task_failed",
            task_id=str(key),
            worker_id=details.get("worker"),
            error_type=error_type.strip() or "Exception",
            error_message=message[:-1] if message.endswith(")") else text,
            stack_trace=details.get("traceback_text"),
            metadata={"exception": text},
        )
