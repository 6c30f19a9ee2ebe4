"""Counters a host can read: what was recorded, rejected, dropped, and what failed."""

from __future__ import annotations

import threading
from collections.abc import Callable

import attrs

from orchestrator_feedback.forks import renew_after_fork

__all__ = ["FeedbackCounters"]


@attrs.define
class FeedbackCounters:
    """Running totals since the plugin manager was built. Read them any time."""

    recorded: int = 0
    """Entries stored."""
    rejected: int = 0
    """Events refused: invalid values, an unknown task, or dropped by ``feedback_prepare``."""
    dropped: int = 0
    """Entries dropped because a background queue was full (``on_full = "drop"``)."""
    not_stored: int = 0
    """Sync mode: entries the store refused to commit (a full disk, a database locked past
    the timeout, a lost connection); their hook calls' results hold no entry."""
    subscriber_failures: int = 0
    """Exceptions raised by plugin hook implementations (logged, and isolated)."""
    queue_depth_source: Callable[[], int] | None = attrs.field(default=None, repr=False, eq=False)
    """Where ``queue_depth`` is read from (set by the built-in plugin)."""
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        renew_after_fork(self)

    def _after_fork_in_child(self) -> None:
        # Another thread of the parent may have held the lock at the fork: it never will
        # release it here.
        self._lock = threading.Lock()

    @property
    def queue_depth(self) -> int:
        """Entries waiting in the background queue (the group being written is not counted)."""
        source = self.queue_depth_source
        return 0 if source is None else source()

    def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name``, safely from any thread."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def snapshot(self) -> dict[str, int]:
        """All counters, as a plain dict."""
        with self._lock:
            return {
                "recorded": self.recorded,
                "rejected": self.rejected,
                "dropped": self.dropped,
                "not_stored": self.not_stored,
                "subscriber_failures": self.subscriber_failures,
                "queue_depth": self.queue_depth,
            }
