"""Storage: the ``FeedbackStorage`` facade and the backends behind it."""

from orchestrator_feedback.storage.base import (
    FeedbackChange,
    FeedbackFilter,
    OnConflict,
    QueryRow,
    StorageBackend,
)
from orchestrator_feedback.storage.facade import ChangeListener, FeedbackStorage

__all__ = [
    "ChangeListener",
    "FeedbackChange",
    "FeedbackFilter",
    "FeedbackStorage",
    "OnConflict",
    "QueryRow",
    "StorageBackend",
]
