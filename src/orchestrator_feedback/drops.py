"""Counting what a full queue drops, and saying so without flooding the log."""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["DROP_WARNING_INTERVAL", "DropReporter"]

DROP_WARNING_INTERVAL = 10.0
"""Seconds between two warnings about dropped items: a full queue can drop thousands of
items a second, and one log line each would cost the caller more than the calls the
dropping protects."""


class DropReporter:
    """Counts items a full queue refused; warns at the first, then at most once an
    interval with the count since the last warning, and once more at ``close()`` for any
    not yet reported. Safe to call from several threads."""

    def __init__(self, logger: logging.Logger, full: str, noun: tuple[str, str]) -> None:
        self._logger = logger
        self._full = full  # how a warning begins: "background queue full (10 entries)"
        self._noun = noun  # what the queue holds: singular, plural
        self._lock = threading.Lock()
        self.dropped = 0
        """Items dropped in all."""
        self._unreported = 0
        self._next_warning = 0.0  # time.monotonic() before which drops are only counted

    def drop(self, detail: str) -> None:
        """Count one dropped item; ``detail`` says which, in case this drop is warned of."""
        with self._lock:
            self.dropped += 1
            self._unreported += 1
            now = time.monotonic()
            if now < self._next_warning:
                return
            self._next_warning = now + DROP_WARNING_INTERVAL
            self._warn(detail)

    def close(self) -> None:
        """Warn of the drops the interval held back, if any."""
        with self._lock:
            if self._unreported:
                self._warn("at close")

    def _warn(self, detail: str) -> None:
        count, self._unreported = self._unreported, 0
        self._logger.warning(
            "%s: %d %s dropped since the last warning (%s); %d in all "
            "(warned at most every %.0f s)",
            self._full,
            count,
            self._noun[count != 1],
            detail,
            self.dropped,
            DROP_WARNING_INTERVAL,
        )
