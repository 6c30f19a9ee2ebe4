"""Storage: the ``FeedbackStorage`` facade and the backends behind it."""

from orchestrator_feedback.storage.backends.base import (
    FeedbackChange,
    FeedbackFilter,
    OnConflict,
    QueryRow,
    StorageBackend,
)
from orchestrator_feedback.storage.listeners import ChangeListener
from orchestrator_feedback.storage.store import FeedbackStorage

__all__ = [
    "ChangeListener",
    "FeedbackChange",
    "FeedbackFilter",
    "FeedbackStorage",
    "OnConflict",
    "QueryRow",
    "StorageBackend",
]
