"""What the Dask scheduler plugin records, as raw tuples, and the hook calls they become.

The scheduler's loop only builds a tuple of what it must read at that moment (see
``FeedbackSchedulerPlugin.transition``); everything else (strings, the compute time, the
attempt numbers, the task type) is worked out here, later and elsewhere: on a thread of the
scheduler's process when a plugin manager was given, or in the recording process.

The tuples (first item the kind):

- ``("allocated", key, address, name, busy, stimulus_id, retries)``
- ``("completed", key, worker, startstops, nbytes, typename)``
- ``("failed", key, worker, exception_text, traceback_text)``
- ``("retried", key, retries_left)``
- ``("stolen", key, victim, thief, stimulus_id)``
- ``("forgotten", key)``: only for tasks submitted with retries
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from dask.utils import key_split

RawEvent = tuple[Any, ...]
HookCall = tuple[str, dict[str, Any]]


class DaskEventTranslator:
    """Turns raw scheduler tuples, in the order the scheduler made them, into hook calls.

    It keeps the attempts of tasks submitted with retries (key -> the worker of the
    running attempt and the attempts that failed so far): the scheduler tells plugins of a
    retried attempt without its worker. An entry goes when its task ends or is forgotten.
    """

    def __init__(self) -> None:
        self.attempts: dict[str, tuple[str, int]] = {}

    def hook_calls(self, event: RawEvent) -> Iterator[HookCall]:
        """The hook calls (zero or one) that one raw tuple becomes."""
        kind = event[0]
        if kind == "allocated":
            yield self._allocated(*event[1:])
        elif kind == "completed":
            yield self._completed(*event[1:])
        elif kind == "failed":
            yield self._failed(*event[1:])
        elif kind == "retried":
            yield self._retried(*event[1:])
        elif kind == "stolen":
            yield self._stolen(*event[1:])
        elif kind == "forgotten":
            self.attempts.pop(str(event[1]), None)

    def _allocated(
        self, key: Any, address: str, name: Any, busy: int, stimulus_id: Any, retries: int
    ) -> HookCall:
        key_text = str(key)
        attempt = None
        if retries or key_text in self.attempts:
            _worker, failed = self.attempts.get(key_text, ("", 0))
            self.attempts[key_text] = (address, failed)
            attempt = failed + 1
        task_type = key_split(key)
        return "worker_allocated", {
            "task_id": key_text,
            "worker_id": address,
            "allocation_score": round(1.0 / (1.0 + busy), 4),
            "allocation_reason": stimulus_id,
            "metadata": {
                "worker_name": str(name),
                "prefix": task_type,
                "task_type": task_type,
                **({} if attempt is None else {"attempt": attempt}),
            },
        }

    def _ended_attempt(self, key_text: str) -> dict[str, Any]:
        known = self.attempts.pop(key_text, None)
        return {} if known is None else {"attempt": known[1] + 1}

    def _completed(
        self, key: Any, worker: Any, startstops: Any, nbytes: Any, typename: Any
    ) -> HookCall:
        compute = sum(
            span["stop"] - span["start"]
            for span in startstops or ()
            if span.get("action") == "compute"
        )
        key_text = str(key)
        return "task_completed", {
            "task_id": key_text,
            "worker_id": worker,
            "success": True,
            "execution_time": round(compute, 6),
            "output_quality": None,
            "metadata": {
                "nbytes": nbytes,
                "type": typename,
                "task_type": key_split(key),
                **self._ended_attempt(key_text),
            },
        }

    def _failed(self, key: Any, worker: Any, exception_text: Any, traceback_text: Any) -> HookCall:
        text = exception_text or ""
        error_type, _, message = text.partition("(")
        key_text = str(key)
        return "task_failed", {
            "task_id": key_text,
            "worker_id": worker,
            "error_type": error_type.strip() or "Exception",
            "error_message": _unquoted(message[:-1]) if message.endswith(")") else text,
            "stack_trace": traceback_text,
            "metadata": {
                "exception": text,
                "task_type": key_split(key),
                "will_retry": False,
                **self._ended_attempt(key_text),
            },
        }

    def _retried(self, key: Any, retries_left: Any) -> HookCall:
        """A failed attempt that Dask runs again (``retries=``): a failure of its own. The
        scheduler passes plugins neither its worker nor its error, so the worker is the one
        the attempt was allocated to, and the error says it is not known."""
        key_text = str(key)
        worker, failed = self.attempts.get(key_text, (None, 0))
        self.attempts[key_text] = (worker or "", failed + 1)
        return "task_failed", {
            "task_id": key_text,
            "worker_id": worker or None,
            "error_type": "Unknown",
            "error_message": (
                "the attempt failed and Dask runs the task again; the scheduler does not "
                "tell plugins the error of an attempt it retries"
            ),
            "stack_trace": None,
            "metadata": {
                "task_type": key_split(key),
                "attempt": failed + 1,
                "will_retry": True,
                "retries_left": retries_left,
            },
        }

    def _stolen(self, key: Any, victim: Any, thief: Any, stimulus_id: Any) -> HookCall:
        """A confirmed steal: the running attempt is the thief's now (so that the failure of
        a retried attempt, which the scheduler reports without its worker, is the thief's)."""
        key_text = str(key)
        attempt = {}
        known = self.attempts.get(key_text)
        if known is not None:
            self.attempts[key_text] = (str(thief), known[1])
            attempt = {"attempt": known[1] + 1}
        return "worker_allocated", {
            "task_id": key_text,
            "worker_id": str(thief),
            "allocation_score": None,
            "allocation_reason": f"stolen from {victim} ({stimulus_id})",
            "metadata": {"stolen_from": str(victim), "task_type": key_split(key), **attempt},
        }


def _unquoted(arguments: str) -> str:
    """``'division by zero'`` (an exception's repr'd argument) as ``division by zero``."""
    try:
        value = ast.literal_eval(arguments)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return arguments
    return value if isinstance(value, str) else arguments
