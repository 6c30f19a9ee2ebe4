"""The Dask recording process: ``python -m orchestrator_feedback.adapters.dask_recorder``.

Started by the scheduler plugin (``RecordingProcessSink``); reads length-prefixed pickled
batches of raw scheduler events on its standard input, fires the hooks of a plugin manager
built from the configuration (background write mode, like the adapter always used), at
the lowest CPU priority, and
answers each flush with a line ``flushed`` once everything before it is committed. At the
end of its input (the scheduler closed it, or was killed) it commits what it has and exits.
"""

from __future__ import annotations

import logging
import os
import sys

import attrs

from orchestrator_feedback.adapters.dask_events import DaskEventTranslator
from orchestrator_feedback.adapters.dask_sinks import RECORDER_NICENESS, read_frame
from orchestrator_feedback.config import load_config
from orchestrator_feedback.host import get_plugin_manager

logger = logging.getLogger("orchestrator_feedback.adapters.dask")


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
    translator = DaskEventTranslator()
    hook = manager.hook
    try:
        while (message := read_frame(sys.stdin.buffer)) is not None:
            kind, events = message
            if kind == "flush":
                acknowledgements.write(b"flushed\n" if manager.flush() else b"not flushed\n")
                continue
            for event in events:
                try:
                    for name, arguments in translator.hook_calls(event):
                        getattr(hook, name)(**arguments)
                except Exception:
                    logger.exception("could not record the Dask event %r", event[:2])
    finally:
        manager.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
