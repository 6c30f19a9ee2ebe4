"""Calls a host might write, checked by ``mypy --strict`` in
``tests/plugins/test_host_events.py`` (this module is not run): the lines marked ``wrong``
must be rejected, the others accepted."""

from __future__ import annotations

from orchestrator_feedback import FeedbackConfig, get_plugin_manager

pm = get_plugin_manager(FeedbackConfig(database=":memory:"), load_entrypoints=False)
events = pm.events

events.task_completed(
    task_id="t1",
    worker_id="w1",
    success=True,
    execution_time=2.5,
    output_quality="high",
    metadata={"queue": "gpu"},
)
events.task_failed("t2", "w1", "TimeoutError", "took too long", None, {})
events.task_completed(  # wrong: a misspelled argument
    task_id="t3",
    worker_id="w1",
    success=True,
    exec_time=3,
    output_quality=None,
    metadata={},
)
events.task_completed(  # wrong: success is a bool
    task_id="t4",
    worker_id="w1",
    success="yes",
    execution_time=None,
    output_quality=None,
    metadata={},
)
events.worker_allocated(task_id="t5", worker_id="w1", metadata={})  # wrong: missing two
