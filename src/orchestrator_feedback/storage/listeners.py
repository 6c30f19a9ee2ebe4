"""Who hears of committed changes: the store's listeners, told once per commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar, overload

from orchestrator_feedback.errors import reaches_the_host
from orchestrator_feedback.models import FeedbackEntry
from orchestrator_feedback.serialization import EncodedRow, entry_from_row
from orchestrator_feedback.storage.backends.base import FeedbackChange

__all__ = [
    "BatchListener",
    "ChangeListener",
    "Event",
    "Events",
    "Listeners",
    "RecordedEvents",
    "RowEvents",
]

logger = logging.getLogger("orchestrator_feedback.storage")

ChangeListener = Callable[[FeedbackChange, FeedbackEntry], None]
"""Called as ``listener(change, entry)`` once the change is committed."""
BatchListener = Callable[[Sequence[tuple[FeedbackChange, FeedbackEntry]]], None]
"""Called as ``listener(changes)`` once per commit, with its ``(change, entry)`` pairs."""

Event = tuple[FeedbackChange, FeedbackEntry]
Events = Sequence[Event]
Item = TypeVar("Item")


class _MadeOnRead(Sequence[Event], Generic[Item]):
    """Events each made from an item of ``_items`` as it is read (``_event``)."""

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[Item]) -> None:
        self._items = items

    def _event(self, item: Item) -> Event:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self._event(item) for item in self._items[index]]
        return self._event(self._items[index])

    def __iter__(self) -> Iterator[Event]:
        return map(self._event, self._items)


class RecordedEvents(_MadeOnRead[FeedbackEntry]):
    """The ``(RECORDED, entry)`` events of new entries, each pair made as it is read.

    A group of 10,000 entries as a list of pairs would be 10,000 more objects for the
    garbage collector to walk while the listeners run.
    """

    __slots__ = ()

    def _event(self, item: FeedbackEntry) -> Event:
        return FeedbackChange.RECORDED, item


class RowEvents(_MadeOnRead[tuple[FeedbackChange, EncodedRow]]):
    """The events of rows an import wrote, each entry made from its row as it is read.

    Until its commit an import's events wait, and past ``pending.PART`` of them in a
    file: a row is pickled and read back in about 2 µs, an entry in about 14 µs.
    """

    __slots__ = ()

    def _event(self, item: tuple[FeedbackChange, EncodedRow]) -> Event:
        change, row = item
        return change, entry_from_row(row)


class Listeners:
    """The store's listeners: per change, or per commit (``batched``)."""

    def __init__(self, listeners: Sequence[ChangeListener] = ()) -> None:
        self._each: list[ChangeListener] = list(listeners)
        self._batched: list[BatchListener] = []

    def add(self, listener: Callable[..., None], *, batched: bool = False) -> None:
        """Call ``listener`` after every commit from now on (see ``FeedbackStorage``)."""
        (self._batched if batched else self._each).append(listener)

    def remove(self, listener: Callable[..., None]) -> None:
        """Stop calling ``listener``."""
        if listener in self._batched:
            self._batched.remove(listener)
        else:
            self._each.remove(listener)

    @property
    def listening(self) -> bool:
        """Whether any listener wants to hear of changes (else none are gathered)."""
        return bool(self._each or self._batched)

    def notify(self, events: Events) -> None:
        """Tell every listener of committed ``events``. A listener's error (any, as
        ``reaches_the_host`` says) is logged and the others are still told; a Ctrl-C is
        raised once they all have been."""
        interrupted: BaseException | None = None
        for batch_listener in self._batched:
            try:
                batch_listener(events)
            except BaseException as error:
                if reaches_the_host(error):
                    interrupted = error
                    continue
                logger.exception("feedback listener %r failed", batch_listener)
        for listener in self._each:
            for change, entry in events:
                try:
                    listener(change, entry)
                except BaseException as error:
                    if reaches_the_host(error):
                        interrupted = error
                        continue
                    logger.exception(
                        "feedback listener %r failed on %s of %s", listener, change.value, entry.id
                    )
        if interrupted is not None:
            raise interrupted
