"""One secret per store: pseudonyms carry the key id of the secret that made them, and a
store opened with another secret is refused rather than splitting every user in two."""

from __future__ import annotations

from typing import Any

from orchestrator_feedback.errors import FeedbackError
from orchestrator_feedback.privacy import PrivacyPolicy
from orchestrator_feedback.storage.backends.base import StorageBackend

__all__ = ["refuse_another_secret"]


def refuse_another_secret(backend: StorageBackend, privacy: PrivacyPolicy) -> None:
    """Raise ``FeedbackError`` if the store holds pseudonyms made with another secret: its
    users would be split in two, and ``forget_user`` would erase only one half. Two index
    look-ups: the smallest and the largest pseudonym with a key id (all between them share
    the prefix of both)."""
    mark = backend.placeholder
    own = f"anon:k{privacy.key_id}:"
    found: list[str] = []
    connection: Any = backend.acquire()
    try:
        for aggregate in ("MIN", "MAX"):
            row = connection.execute(
                f"SELECT {aggregate}(user_id) FROM feedback "
                f"WHERE user_id >= {mark} AND user_id < {mark}",
                ("anon:k", "anon:l"),
            ).fetchone()
            if row is not None and row[0] is not None:
                found.append(str(row[0]))
    finally:
        backend.release(connection)
    others = sorted({value[6:14] for value in found if not value.startswith(own)})
    if others:
        raise FeedbackError(
            f"{backend.url} holds user ids pseudonymised with another secret (key id "
            f"{', '.join(others)}; this one's is {privacy.key_id}): open it with the same "
            "ORCHESTRATOR_FEEDBACK_SECRET, or each user would be split in two and "
            "forget_user would miss half of their entries"
        )
