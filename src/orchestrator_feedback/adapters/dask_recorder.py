"""The Dask recording process: ``python -m orchestrator_feedback.adapters.dask_recorder``.

Started by the scheduler plugin (``RecordingProcessSink``); reads length-prefixed pickled
batches of raw scheduler events on its standard input, and every ``RECORD_INTERVAL`` seconds
fires the hooks for what has gathered, with a plugin manager built from the configuration
(background write mode, like the adapter always used), at the lowest CPU priority. It
answers each flush with a line ``flushed`` once everything before it is committed. At the
end of its input (the scheduler closed it, or was killed) it commits what it has and exits.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from typing import IO, Any

import attrs

from orchestrator_feedback.adapters.dask_events import DaskEventTranslator, RawEvent
from orchestrator_feedback.adapters.dask_sinks import RECORDER_NICENESS, read_frame
from orchestrator_feedback.config import load_config
from orchestrator_feedback.host import get_plugin_manager
from orchestrator_feedback.manager import FeedbackPluginManager

logger = logging.getLogger("orchestrator_feedback.adapters.dask")

RECORD_INTERVAL = 1.0
"""Seconds events gather before they are recorded together. Recording a second's events in
one go costs about a third less CPU than recording each 50 ms batch as it comes (measured
by feeding a 10,001-task run's batches at their own pace: docs/performance.md), CPU the
workload's processes would otherwise lose to caches and wake-ups on a small machine."""


def main() -> int:
    """Record until the input ends; the exit status is 0 once everything is committed."""
    # Acknowledgements go on a private copy of standard output; a plugin that prints
    # writes to standard error instead, and cannot garble them.
    # The lowest CPU priority: recording uses the cores the scheduler and the workers
    # leave idle, so the workload's wall time does not grow (docs/adapters.md).
    os.nice(RECORDER_NICENESS)
    if hasattr(os, "sched_setscheduler"):
        # Linux: the idle class, which any runnable worker or scheduler thread preempts at
        # once (a nice level alone still lets it finish its time slice first).
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    acknowledgements = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    logging.basicConfig(level=logging.WARNING, format="orchestrator-feedback (dask): %(message)s")
    manager = get_plugin_manager(attrs.evolve(load_config(), write_mode="background"))
    messages: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(
        target=_read, args=(sys.stdin.buffer, messages), name="dask-recorder-input", daemon=True
    ).start()
    recorder = _Recorder(manager)
    due = time.monotonic() + RECORD_INTERVAL
    try:
        while True:
            try:
                message = messages.get(timeout=max(0.0, due - time.monotonic()))
            except queue.Empty:
                message = ("due", None)
            if message is None:
                break
            kind, events = message
            if kind == "events":
                recorder.pending.extend(events)
                if time.monotonic() < due:
                    continue
            recorder.record()
            due = time.monotonic() + RECORD_INTERVAL
            if kind == "flush":
                acknowledgements.write(b"flushed\n" if manager.flush() else b"not flushed\n")
    finally:
        recorder.record()
        manager.close()
    return 0


def _read(stream: IO[bytes], messages: queue.SimpleQueue[Any]) -> None:
    """Put each message of the input on ``messages``, then None at its end."""
    try:
        while (message := read_frame(stream)) is not None:
            messages.put(message)
    except Exception:
        logger.exception("could not read the scheduler's events")
    finally:
        messages.put(None)


class _Recorder:
    """Fires the hooks for the events gathered so far, in their order."""

    def __init__(self, manager: FeedbackPluginManager) -> None:
        self.hook = manager.hook
        self.translator = DaskEventTranslator()
        self.pending: list[RawEvent] = []

    def record(self) -> None:
        """Fire the hooks of every pending event (an event that fails is logged)."""
        events, self.pending = self.pending, []
        hook, hook_calls = self.hook, self.translator.hook_calls
        for event in events:
            try:
                for name, arguments in hook_calls(event):
                    getattr(hook, name)(**arguments)
            except Exception:
                logger.exception("could not record the Dask event %r", event[:2])


if __name__ == "__main__":
    sys.exit(main())
