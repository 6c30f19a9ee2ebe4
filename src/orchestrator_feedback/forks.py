"""What a forked child renews of what it inherited: locks another thread of the parent may
have held, connections and threads that are the parent's."""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["renew_after_fork"]


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
