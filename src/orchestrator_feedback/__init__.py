"""orchestrator-feedback: a feedback store for task orchestrators, as a pluggy plugin.

Every public name is importable from here::

    from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
"""

from orchestrator_feedback.errors import (
    DuplicateFeedbackError,
    FeedbackError,
    FeedbackNotFoundError,
    FeedbackValidationError,
    ImportFormatError,
    PoolTimeoutError,
    SchemaVersionError,
    StorageClosedError,
)
from orchestrator_feedback.models import (
    FeedbackEntry,
    FeedbackMetadata,
    FeedbackSummary,
    FeedbackType,
)
from orchestrator_feedback.storage import (
    ChangeListener,
    FeedbackChange,
    FeedbackFilter,
    FeedbackStorage,
    OnConflict,
    QueryRow,
    StorageBackend,
)

__all__ = [
    "ChangeListener",
    "DuplicateFeedbackError",
    "FeedbackChange",
    "FeedbackEntry",
    "FeedbackError",
    "FeedbackFilter",
    "FeedbackMetadata",
    "FeedbackNotFoundError",
    "FeedbackStorage",
    "FeedbackSummary",
    "FeedbackType",
    "FeedbackValidationError",
    "ImportFormatError",
    "OnConflict",
    "PoolTimeoutError",
    "QueryRow",
    "SchemaVersionError",
    "StorageBackend",
    "StorageClosedError",
]
