"""Storage: the ``FeedbackStorage`` facade and the backends behind it.

Names are imported when first used (PEP 562): a module that needs one part of the storage
(``storage.scores``, say) does not import the whole store with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator_feedback.lazy import lazy_names

if TYPE_CHECKING:
    from orchestrator_feedback.storage.alerts import AlertSettings
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
    "AlertSettings",
    "ChangeListener",
    "FeedbackChange",
    "FeedbackFilter",
    "FeedbackStorage",
    "OnConflict",
    "QueryRow",
    "StorageBackend",
]

_WHERE = {
    "AlertSettings": "orchestrator_feedback.storage.alerts",
    "ChangeListener": "orchestrator_feedback.storage.listeners",
    "FeedbackChange": "orchestrator_feedback.storage.backends.base",
    "FeedbackFilter": "orchestrator_feedback.storage.backends.base",
    "FeedbackStorage": "orchestrator_feedback.storage.store",
    "OnConflict": "orchestrator_feedback.storage.backends.base",
    "QueryRow": "orchestrator_feedback.storage.backends.base",
    "StorageBackend": "orchestrator_feedback.storage.backends.base",
}
"""Each public name's module."""


__getattr__, __dir__ = lazy_names(__name__, _WHERE, __all__)
