"""What a forked child renews of what it inherited: locks another thread of the parent may
have held, connections and threads that are the parent's; and ``fork_gate``, which holds a
fork until no background thread of ours is inside SQLite."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["ForkGate", "fork_gate", "renew_after_fork"]


class _Renewable(Protocol):
    def _after_fork_in_child(self) -> None: ...


# By id: some of them compare by value (attrs classes), so they cannot go in a set.
_renewable: weakref.WeakValueDictionary[int, _Renewable] = weakref.WeakValueDictionary()


def renew_after_fork(instance: _Renewable) -> None:
    """Have ``instance._after_fork_in_child()`` called in every forked child, for as long
    as ``instance`` lives."""
    _renewable[id(instance)] = instance


def _renew_all() -> None:
    for instance in list(_renewable.values()):
        instance._after_fork_in_child()


os.register_at_fork(after_in_child=_renew_all)


class ForkGate:
    """Background threads do their database work inside ``working()``; a fork waits until
    none is inside, and none enters until the fork is done. SQLite's library keeps mutexes
    of its own: a child forked while another thread was inside SQLite inherits them held,
    and its first ``sqlite3.connect`` waits forever."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._busy = 0
        self._forking = False

    @contextmanager
    def working(self) -> Iterator[None]:
        """The block runs while no fork happens."""
        with self._condition:
            while self._forking:
                self._condition.wait()
            self._busy += 1
        try:
            yield
        finally:
            with self._condition:
                self._busy -= 1
                self._condition.notify_all()

    def _before(self) -> None:
        # Held through the fork: released in the parent after it, renewed in the child.
        self._condition.acquire()
        self._forking = True
        while self._busy:
            self._condition.wait()

    def _after_in_parent(self) -> None:
        self._forking = False
        self._condition.notify_all()
        self._condition.release()

    def _after_in_child(self) -> None:
        self.__init__()  # type: ignore[misc]  # the parent's threads are not the child's


fork_gate = ForkGate()
"""The one gate of this process (see ``ForkGate``)."""

os.register_at_fork(
    before=fork_gate._before,
    after_in_parent=fork_gate._after_in_parent,
    after_in_child=fork_gate._after_in_child,
)
