"""Where the Dask scheduler plugin's raw events go: a recording process, or this process.

The scheduler's loop appends each raw tuple to ``EventSink.events`` (a deque: appending is
atomic, so no lock) and goes on. A thread of the sink takes what has gathered every
``interval`` seconds, so it holds the GIL in a few short bursts a second instead of once an
event, and the scheduler thread is rarely made to wait for it:

- ``RecordingProcessSink`` (the default: no plugin manager given) pickles each batch to a
  child process, ``python -m orchestrator_feedback.adapters.dask_recorder``, which builds
  the plugin manager from the configuration, fires the hooks and writes. Building entries
  and writing never run in the scheduler's process.
- ``InProcessSink`` (a plugin manager given: its plugins live here) fires that manager's
  hooks on the sink's thread.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from typing import IO, Any

from orchestrator_feedback.adapters.dask_events import DaskEventTranslator, RawEvent
from orchestrator_feedback.manager import FeedbackPluginManager

logger = logging.getLogger("orchestrator_feedback.adapters.dask")

GATHER_INTERVAL = 0.05
"""Seconds between two batches: short enough that a batch is a few hundred events at
thousands of tasks a second, long enough that the GIL changes hands rarely."""

RESTART_DELAY = 10.0
"""Seconds before a recording process that ended unasked is started again."""

RECORDER_NICENESS = 19
"""The recording process's ``nice`` increment: it runs when a core is idle. A machine
busy on every core for long makes it lag; past ``queue_size`` events behind, events are
dropped (counted, warned of), never the scheduler slowed."""

FRAME_HEADER = struct.Struct(">Q")


class _FlushMarker:
    """Put in the deque by ``flush()``: set once everything before it is committed."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.committed = False


class EventSink:
    """The deque the scheduler appends to, and the thread that empties it in batches."""

    def __init__(self) -> None:
        self.events: deque[Any] = deque()
        """Raw tuples (and flush markers), oldest first."""
        self._wake = threading.Event()
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="orchestrator-feedback-dask", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event appended before this call is committed (False on
        timeout, or if the recording process could not confirm it)."""
        if self._closed:
            return True
        marker = _FlushMarker()
        self.events.append(marker)  # a marker, not an event: past the bound
        self._wake.set()
        return marker.done.wait(timeout) and marker.committed

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is queued and end the thread (and the recording process)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        self._finish(timeout)

    def _start(self) -> None:
        """What the thread does first."""

    def _run(self) -> None:
        try:
            self._start()
        except Exception:  # tried again with the first batch
            logger.exception("could not start recording the Dask events")
        while True:
            self._wake.wait(GATHER_INTERVAL)
            self._wake.clear()
            closing = self._closing
            events = self.events
            batch = [events.popleft() for _ in range(len(events))]
            if batch:
                try:
                    self._deliver(batch)
                except Exception:
                    logger.exception("could not record %d Dask events", len(batch))
            if closing and not events:
                return

    def _deliver(self, batch: list[Any]) -> None:
        raise NotImplementedError

    def _finish(self, timeout: float | None) -> None:
        """What closing does after the thread delivered the last batch."""


class InProcessSink(EventSink):
    """Fires the given manager's hooks on the sink's thread."""

    def __init__(self, manager: FeedbackPluginManager) -> None:
        self.manager = manager
        self._translator = DaskEventTranslator()
        super().__init__()

    def _deliver(self, batch: list[Any]) -> None:
        hook = self.manager.hook
        for item in batch:
            if type(item) is _FlushMarker:
                item.committed = self.manager.flush()
                item.done.set()
                continue
            try:
                for name, arguments in self._translator.hook_calls(item):
                    getattr(hook, name)(**arguments)
            except Exception:
                logger.exception("could not record the Dask event %r", item[:2])


class RecordingProcessSink(EventSink):
    """Pickles batches to a recording process; starts it again if it ends unasked.

    If the scheduler's process is killed, the recording process still commits what it was
    sent (it sees the end of its input); what was in the deque (at most ``GATHER_INTERVAL``
    of events) is lost.
    """

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        self._failed_at = -RESTART_DELAY
        self.lost = 0
        """Events a recording process that ended unasked never confirmed."""
        super().__init__()

    def _start(self) -> None:
        # Started with the scheduler, not with the first events, so that its start-up
        # (imports, the store's schema check: about 0.25 s of CPU) is not paid during the
        # first tasks; on this thread, never on the scheduler's loop.
        self._recorder()

    def _recorder(self) -> subprocess.Popen[bytes] | None:
        child = self._child
        if child is not None and child.poll() is None:
            return child
        if child is not None:
            self._failed_at = time.monotonic()
            logger.error(
                "the Dask recording process ended with exit code %s (see its messages "
                "above); starting another in %.0f s",
                child.returncode,
                RESTART_DELAY,
            )
            self._child = None
        if time.monotonic() - self._failed_at < RESTART_DELAY:
            return None
        self._child = subprocess.Popen(
            [sys.executable, "-m", "orchestrator_feedback.adapters.dask_recorder"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Not in the terminal's process group: a Ctrl-C stops the scheduler, which
            # then closes the recorder's input, and the recorder commits what it has.
            start_new_session=True,
        )
        return self._child

    def _deliver(self, batch: list[Any]) -> None:
        events: list[RawEvent] = []
        for item in batch:
            if type(item) is not _FlushMarker:
                events.append(item)
                continue
            self._send(events)
            events = []
            item.committed = self._send_flush()
            item.done.set()
        self._send(events)

    def _send(self, events: list[RawEvent]) -> bool:
        if not events:
            return True
        child = self._recorder()
        if child is None or not _write_frame(child.stdin, ("events", events)):
            self.lost += len(events)
            logger.error(
                "%d Dask events not recorded: no recording process (%d in all)",
                len(events),
                self.lost,
            )
            return False
        return True

    def _send_flush(self) -> bool:
        child = self._recorder()
        if child is None or not _write_frame(child.stdin, ("flush", None)):
            return False
        assert child.stdout is not None
        return child.stdout.readline() == b"flushed\n"

    def _finish(self, timeout: float | None) -> None:
        child = self._child
        if child is None:
            return
        if child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning(
                "the Dask recording process (pid %d) is still writing after %s s; it goes "
                "on in the background",
                child.pid,
                timeout,
            )
        if child.stdout is not None:
            child.stdout.close()


def _write_frame(stream: IO[bytes] | None, message: Any) -> bool:
    """One length-prefixed pickle to the recording process; False if it is gone."""
    if stream is None:
        return False
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        stream.write(FRAME_HEADER.pack(len(data)))
        stream.write(data)
        stream.flush()
    except (BrokenPipeError, ValueError, OSError):
        return False
    return True


def read_frame(stream: IO[bytes]) -> Any:
    """The next message written by ``_write_frame``; None at the end of the input."""
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)
