"""A transaction's changes waiting for its commit to be told to the listeners: in memory up
to ``PART`` of them, the rest in a private temporary file, so that one transaction of
millions of changes (an import of 30,000,000 entries) keeps its memory bounded."""

from __future__ import annotations

import bisect
import itertools
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, overload

from orchestrator_feedback.storage.listeners import Event, Events

__all__ = ["PART", "PendingChanges"]

PART = 20_000
"""About how many changes are kept in memory at most: past it they go to the file, and a
commit's changes are told about this many at a time."""


class PendingChanges:
    """The changes of the calling thread's transaction, in order, until its commit.

    Kept as they come (``extend``: each sequence as it is, so an import's ``RowEvents``
    stay rows), dropped back to a savepoint (``truncate``), and handed out in parts of
    about ``PART`` (``parts``). An import kept every entry it wrote in memory until its
    commit (1.4 kB an entry: one of 30,000,000 entries took 24 GB and the process was
    killed); past ``PART`` the sequences are pickled to an unnamed temporary file
    (``tempfile.TemporaryFile``: private to this process, gone when closed), read back a
    part at a time when the commit is told."""

    def __init__(self) -> None:
        self._kept: list[Events] = []
        self._kept_count = 0
        self._file: IO[bytes] | None = None
        self._parts: list[tuple[int, int]] = []  # each part in the file: its offset and size
        self._written = 0

    def __len__(self) -> int:
        return self._written + self._kept_count

    def extend(self, events: Events) -> None:
        """Add ``events`` after those already kept."""
        if not events:
            return
        self._kept.append(events)
        self._kept_count += len(events)
        self._write_when_full()

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` changes only (a savepoint rolled back)."""
        while self._written > length:  # the change at ``length`` is in the file
            offset, size = self._parts[-1]
            straddles = self._written - size < length
            sequences = self._read(offset) if straddles else []
            self._drop_last_part()
            self._kept, self._kept_count = sequences, size if straddles else 0
        self._cut_kept(length - self._written)
        self._write_when_full()  # what was read back: a part is never more than one

    def parts(self) -> Iterator[Events]:
        """The changes in order, about ``PART`` at a time; the file is closed at the end."""
        try:
            for offset, _size in self._parts:
                yield _Chained(self._read(offset))
            if self._kept:
                yield self._kept[0] if len(self._kept) == 1 else _Chained(self._kept)
        finally:
            self.close()

    def close(self) -> None:
        """Forget every change and remove the file."""
        if self._file is not None:
            self._file.close()
        self._file, self._parts, self._written = None, [], 0
        self._kept, self._kept_count = [], 0

    def _cut_kept(self, length: int) -> None:
        """Keep the first ``length`` of the changes in memory."""
        while self._kept and self._kept_count - len(self._kept[-1]) >= length:
            self._kept_count -= len(self._kept.pop())
        if self._kept_count > length:
            last = self._kept.pop()
            head = list(last[: length - (self._kept_count - len(last))])
            self._kept_count -= len(last) - len(head)
            if head:
                self._kept.append(head)

    def _write_when_full(self) -> None:
        """Past ``PART`` in memory, write them as a part: a part holds fewer than ``PART``
        changes plus the last sequence added."""
        if self._kept_count >= PART:
            self._write(self._kept, self._kept_count)
            self._kept, self._kept_count = [], 0

    def _write(self, sequences: list[Events], count: int) -> None:
        if self._file is None:
            # Kept open across calls and closed by ``close``: no ``with`` block fits.
            self._file = tempfile.TemporaryFile(prefix="orchestrator-feedback-")  # noqa: SIM115
        self._file.seek(0, 2)
        self._parts.append((self._file.tell(), count))
        pickle.dump(sequences, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._written += count

    def _read(self, offset: int) -> list[Events]:
        assert self._file is not None
        self._file.seek(offset)
        sequences: list[Events] = pickle.load(self._file)  # our own file, from this process
        return sequences

    def _drop_last_part(self) -> None:
        assert self._file is not None
        offset, size = self._parts.pop()
        self._file.truncate(offset)
        self._written -= size


class _Chained(Sequence[Event]):
    """Sequences of changes seen as one (what a batched listener is given)."""

    __slots__ = ("_sequences", "_starts")

    def __init__(self, sequences: list[Events]) -> None:
        self._sequences = sequences
        self._starts = list(itertools.accumulate((len(s) for s in sequences), initial=0))

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        which = bisect.bisect_right(self._starts, index) - 1
        return self._sequences[which][index - self._starts[which]]

    def __iter__(self) -> Iterator[Event]:
        for sequence in self._sequences:
            yield from sequence
