"""orchestrator-feedback: a feedback store for task orchestrators, as a pluggy plugin.

Every public name is importable from here::

    from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
"""

from orchestrator_feedback.collector import FeedbackCollector
from orchestrator_feedback.config import (
    BackgroundConfig,
    CollectionPointConfig,
    FeedbackConfig,
    PluginsConfig,
    PrivacyConfig,
    RetentionConfig,
    load_config,
)
from orchestrator_feedback.counters import FeedbackCounters
from orchestrator_feedback.errors import (
    DuplicateFeedbackError,
    FeedbackError,
    FeedbackNotFoundError,
    FeedbackNotStoredError,
    FeedbackRejected,
    FeedbackValidationError,
    ForeignRowError,
    ImportFormatError,
    PluginLoadError,
    PoolTimeoutError,
    QueryRefusedError,
    SchemaVersionError,
    StorageClosedError,
    StorageFullError,
)
from orchestrator_feedback.host import get_plugin_manager, list_plugins, open_storage
from orchestrator_feedback.manager import FeedbackPluginManager, PluginInfo
from orchestrator_feedback.markers import hookimpl, hookspec
from orchestrator_feedback.models import FeedbackEntry, FeedbackMetadata, FeedbackType
from orchestrator_feedback.plugin import FeedbackPlugin
from orchestrator_feedback.privacy import PrivacyPolicy, RetentionPolicy
from orchestrator_feedback.storage import (
    ChangeListener,
    FeedbackChange,
    FeedbackFilter,
    FeedbackStorage,
    OnConflict,
    QueryRow,
    StorageBackend,
)
from orchestrator_feedback.summaries import FeedbackSummary, TrendPoint, WorkerScore, WorkerStats

__all__ = [
    "BackgroundConfig",
    "ChangeListener",
    "CollectionPointConfig",
    "DuplicateFeedbackError",
    "FeedbackChange",
    "FeedbackCollector",
    "FeedbackConfig",
    "FeedbackCounters",
    "FeedbackEntry",
    "FeedbackError",
    "FeedbackFilter",
    "FeedbackMetadata",
    "FeedbackNotFoundError",
    "FeedbackNotStoredError",
    "FeedbackPlugin",
    "FeedbackPluginManager",
    "FeedbackRejected",
    "FeedbackStorage",
    "FeedbackSummary",
    "FeedbackType",
    "FeedbackValidationError",
    "ForeignRowError",
    "ImportFormatError",
    "OnConflict",
    "PluginInfo",
    "PluginLoadError",
    "PluginsConfig",
    "PoolTimeoutError",
    "PrivacyConfig",
    "PrivacyPolicy",
    "QueryRefusedError",
    "QueryRow",
    "RetentionConfig",
    "RetentionPolicy",
    "SchemaVersionError",
    "StorageBackend",
    "StorageClosedError",
    "StorageFullError",
    "TrendPoint",
    "WorkerScore",
    "WorkerStats",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "list_plugins",
    "load_config",
    "open_storage",
]
