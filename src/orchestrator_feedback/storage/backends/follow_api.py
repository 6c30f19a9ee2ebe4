"""What a backend provides for ``follow``: its dialect's commit order (``FollowSQL``), a
watch for commits (``ChangeSignal``), and the filter conditions both dialects share."""

from __future__ import annotations

from typing import Any, Protocol

from orchestrator_feedback import rules
from orchestrator_feedback.storage.backends.values import FollowFilter, FollowPosition

__all__ = ["ChangeSignal", "FollowSQL", "follow_conditions"]


class FollowSQL(Protocol):
    """How a dialect keeps commit order for ``follow`` (``sqlite_follow``,
    ``postgres_follow``): a module with these functions."""

    def head(self, connection: Any) -> FollowPosition: ...

    def position_of(self, connection: Any, feedback_id: str) -> FollowPosition | None: ...

    def read_rows(
        self,
        connection: Any,
        after: FollowPosition,
        upto: FollowPosition | None,
        where: FollowFilter,
        limit: int,
        columns: str,
        conditions: tuple[str, list[Any]],
    ) -> tuple[list[tuple[Any, ...]], FollowPosition]: ...


class ChangeSignal(Protocol):
    """A watch for commits made by any process, for ``follow``."""

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds; True when new commits may be there to read."""

    def close(self) -> None:
        """Stop watching and free what the watch held."""


def follow_conditions(backend: Any, where: FollowFilter) -> tuple[str, list[Any]]:
    """``where`` as `` AND ...`` conditions on the entries' columns, with parameters, in
    ``backend``'s placeholder, time encoding and JSON spelling (``json_sql``); a worker and
    a task type named as ``rules`` names them."""
    clauses: list[str] = []
    params: list[Any] = []
    created = where.created_after
    for clause, value in (
        ("feedback_type =", where.feedback_type and where.feedback_type.value),
        (f"{rules.worker_sql(backend.json_sql)} =", where.worker_id),
        (f"{rules.task_type_sql(backend.json_sql)} =", where.task_type),
        ("created_at >", None if created is None else backend.encode_time(created)),
    ):
        if value is not None:
            clauses.append(f"{clause} {backend.placeholder}")
            params.append(value)
    return "".join(f" AND {clause}" for clause in clauses), params
