"""Every hook of orchestrator-feedback: the contract between hosts, us and plugins.

Hosts (orchestrators) fire the *orchestrator events*; this library fires the *feedback
events* after a commit; the *extension points* let plugins shape what is stored.

Hosts call hooks with keyword arguments only. An implementation may accept any subset
of a hook's arguments, so new arguments can be added later without breaking it; pluggy
never fills an implementation's default values, so do not give parameters defaults.

Every implementation is isolated: if one raises, the error is logged with the plugin's
name, counted, and the remaining implementations still run; the host never sees it
(unless ``strict = true`` is configured).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator_feedback.config import FeedbackConfig
from orchestrator_feedback.markers import hookspec
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.storage import StorageBackend
from orchestrator_feedback.summaries import Alert

# -- orchestrator events: fired by the host --------------------------------------------


@hookspec
def task_completed(
    task_id: str,
    worker_id: str | None,
    success: bool,
    execution_time: float | None,
    output_quality: str | None,
    metadata: Mapping[str, Any],
) -> Any:
    """A task finished. Fired by the host once per completed attempt.

    ``task_id``: the host's id of the task. ``worker_id``: who ran it, or None.
    ``success``: whether the result was accepted. ``execution_time``: seconds, or None.
    ``output_quality``: the host's word for the result ("high", "low", ...), or None.
    ``metadata``: anything else the host wants kept (a JSON object).

    The built-in plugin stores a ``TASK_COMPLETION`` entry and returns it; the host may
    ignore return values.
    """


@hookspec
def worker_allocated(
    task_id: str,
    worker_id: str,
    allocation_score: float | None,
    allocation_reason: str | None,
    metadata: Mapping[str, Any],
) -> Any:
    """The manager gave a task to a worker. Fired by the host once per allocation.

    ``allocation_score``: how well the worker fits (the host's scale), or None.
    ``allocation_reason``: why this worker, in words, or None.

    The built-in plugin stores an ``ALLOCATION_FEEDBACK`` entry and returns it.
    """


@hookspec
def task_failed(
    task_id: str,
    worker_id: str | None,
    error_type: str,
    error_message: str,
    stack_trace: str | None,
    metadata: Mapping[str, Any],
) -> Any:
    """A task ended in an error. Fired by the host once per failed attempt.

    ``error_type``: the exception's class name. ``error_message``: its text.
    ``stack_trace``: the formatted traceback, or None.

    The built-in plugin stores an ``ERROR_REPORT`` entry and returns it.
    """


@hookspec
def worker_performance_measured(
    task_id: str,
    worker_id: str,
    performance_metrics: Mapping[str, float],
    metadata: Mapping[str, Any],
) -> Any:
    """The host measured how a worker did on a task. Fired once per measurement.

    ``performance_metrics``: named scores, such as ``{"speed": 0.9, "accuracy": 0.95}``.

    The built-in plugin stores a ``WORKER_PERFORMANCE`` entry and returns it.
    """


@hookspec
def task_decomposed(
    task_id: str,
    subtask_ids: Sequence[str],
    effectiveness: float | None,
    metadata: Mapping[str, Any],
) -> Any:
    """The manager split a task into subtasks. Fired once per decomposition.

    ``subtask_ids``: the new tasks' ids. ``effectiveness``: the host's score for the
    split (0..1 by convention), or None.

    The built-in plugin stores a ``DECOMPOSITION_EFFECTIVENESS`` entry and returns it.
    """


@hookspec
def task_reviewed(
    task_id: str,
    reviewer_id: str,
    rating: int | None,
    comment: str | None,
    metadata: Mapping[str, Any],
) -> Any:
    """A reviewer (the manager, a person, a model) judged a task's result.

    ``rating``: 1 to 5, or None. ``comment``: the review's text, or None.

    The built-in plugin stores a ``MANAGER_REVIEW`` entry carrying the rating and
    returns it.
    """


# -- feedback events: fired by orchestrator-feedback after a commit --------------------


@hookspec
def feedback_recorded(entry: FeedbackEntry) -> None:
    """An entry was stored. Fired after the transaction that stored it committed;
    never for work that was rolled back. Return values are ignored.
    """


@hookspec
def feedback_updated(entry: FeedbackEntry) -> None:
    """An entry was changed; ``entry`` is the new version. Fired after the commit."""


@hookspec
def feedback_deleted(entry: FeedbackEntry) -> None:
    """An entry was deleted; ``entry`` is what was deleted. Fired after the commit."""


@hookspec
def feedback_alert(alert: Alert) -> None:
    """A worker's outcomes changed: ``alert.kind`` is ``"degraded"`` (raised) or
    ``"recovered"`` (cleared), for its success rate or its ratings (``alert.measure``), on
    one task type or all (``docs/alerts.md``). Fired after the commit that stored the
    alert, in the one process that raised it (many processes on one store raise each
    alert once), on the store's detection thread. Return values are ignored.
    """


# -- extension points ------------------------------------------------------------------


@hookspec
def feedback_prepare(entry: FeedbackEntry) -> None:
    """An entry is about to be stored by the built-in plugin or the collector.

    An implementation may change ``entry`` (add metadata, say), or raise
    ``FeedbackRejected`` to drop it: the rejection is logged and counted, never raised
    to the host. Every implementation runs, in pluggy's order.
    """


@hookspec(firstresult=True)
def feedback_task_exists(task_id: str) -> bool | None:
    """Does the host know this task? Asked before an entry is stored.

    Return True or False if you can tell, None if you cannot. An entry for a task the
    host says does not exist is rejected with an error naming the task.
    Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def feedback_request(prompt: str, task_id: str, point: str) -> Mapping[str, Any] | None:
    """Ask a person or a model for feedback at the collection point ``point``.

    ``prompt``: the question, from the point's configuration. Return a mapping with
    ``rating`` (1 to 5 or None) and ``content`` (text), or None if you cannot ask.
    Called by ``FeedbackCollector.request_feedback``. Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def feedback_backend(url: str, pool_size: int, timeout: float) -> StorageBackend | None:
    """Serve a database URL whose scheme orchestrator-feedback does not know.

    Asked when a store is opened on ``url`` (from the ``database`` setting, ``--database``
    or ``open_storage``) and its scheme is not ``sqlite`` or ``postgresql``. Return a
    ready ``StorageBackend`` for it, or None if the scheme is not yours. ``pool_size`` and
    ``timeout`` are the store's options. Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def allocation_advice(
    task_id: str,
    task_type: str | None,
    candidates: Sequence[str],
    metadata: Mapping[str, Any],
) -> list[str] | None:
    """Which worker should run this task? Asked by the host before it allocates.

    ``candidates``: the workers it may choose from. ``task_type``: the kind of task (the
    scores of that type rank the workers), or None. ``metadata``: what the host knows of
    the moment; the built-in plugin reads ``"load"`` (worker id -> tasks ahead of this one
    per slot) and ``"objective"`` (``"time"``, ``"success"`` or ``"quality"``, instead of
    ``[advice]``'s). Return the candidates ranked best first (you may leave some out: that
    forbids them), or None to let the next implementation answer. Stops at the first
    non-None result.

    The built-in plugin answers last, with ``FeedbackStorage.recommend`` and the
    configuration's ``[advice]`` (``docs/scores.md``); a plugin of yours answers before it
    (pin a task to a worker, keep one out). If no implementation answers (or the store
    cannot be read), the host gets None and allocates as it would without advice.
    """


@hookspec(historic=True)
def feedback_configure(config: FeedbackConfig) -> None:
    """The plugin manager is ready; ``config`` is the ``FeedbackConfig`` in force.

    Called once per plugin, also for plugins registered later (a historic hook, like
    pytest's ``pytest_configure``). Read your own settings with
    ``config.plugin_settings("your-plugin-name")`` (the ``[plugins.your-plugin-name]``
    table of the configuration file).
    """
