"""orchestrator-feedback: a feedback store for task orchestrators, as a pluggy plugin.

Every public name is importable from here::

    from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType

Names are imported when first used (PEP 562), so ``import orchestrator_feedback`` and the
command line's ``--version`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator_feedback.lazy import lazy_names

if TYPE_CHECKING:
    from orchestrator_feedback.collector import FeedbackCollector
    from orchestrator_feedback.config import (
        AlertsConfig,
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
        SchemaUpgradeNeeded,
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
    from orchestrator_feedback.summaries import (
        Alert,
        FeedbackSummary,
        TrendPoint,
        WorkerScore,
        WorkerStats,
    )

_WHERE = {
    "hookimpl": "orchestrator_feedback.markers",
    "hookspec": "orchestrator_feedback.markers",
    "Alert": "orchestrator_feedback.summaries",
    "AlertsConfig": "orchestrator_feedback.config",
    "BackgroundConfig": "orchestrator_feedback.config",
    "ChangeListener": "orchestrator_feedback.storage",
    "CollectionPointConfig": "orchestrator_feedback.config",
    "DuplicateFeedbackError": "orchestrator_feedback.errors",
    "FeedbackChange": "orchestrator_feedback.storage",
    "FeedbackCollector": "orchestrator_feedback.collector",
    "FeedbackConfig": "orchestrator_feedback.config",
    "FeedbackCounters": "orchestrator_feedback.counters",
    "FeedbackEntry": "orchestrator_feedback.models",
    "FeedbackError": "orchestrator_feedback.errors",
    "FeedbackFilter": "orchestrator_feedback.storage",
    "FeedbackMetadata": "orchestrator_feedback.models",
    "FeedbackNotFoundError": "orchestrator_feedback.errors",
    "FeedbackNotStoredError": "orchestrator_feedback.errors",
    "FeedbackPlugin": "orchestrator_feedback.plugin",
    "FeedbackPluginManager": "orchestrator_feedback.manager",
    "FeedbackRejected": "orchestrator_feedback.errors",
    "FeedbackStorage": "orchestrator_feedback.storage",
    "FeedbackSummary": "orchestrator_feedback.summaries",
    "FeedbackType": "orchestrator_feedback.models",
    "FeedbackValidationError": "orchestrator_feedback.errors",
    "ForeignRowError": "orchestrator_feedback.errors",
    "ImportFormatError": "orchestrator_feedback.errors",
    "OnConflict": "orchestrator_feedback.storage",
    "PluginInfo": "orchestrator_feedback.manager",
    "PluginLoadError": "orchestrator_feedback.errors",
    "PluginsConfig": "orchestrator_feedback.config",
    "PoolTimeoutError": "orchestrator_feedback.errors",
    "PrivacyConfig": "orchestrator_feedback.config",
    "PrivacyPolicy": "orchestrator_feedback.privacy",
    "QueryRefusedError": "orchestrator_feedback.errors",
    "QueryRow": "orchestrator_feedback.storage",
    "RetentionConfig": "orchestrator_feedback.config",
    "RetentionPolicy": "orchestrator_feedback.privacy",
    "SchemaUpgradeNeeded": "orchestrator_feedback.errors",
    "SchemaVersionError": "orchestrator_feedback.errors",
    "StorageBackend": "orchestrator_feedback.storage",
    "StorageClosedError": "orchestrator_feedback.errors",
    "StorageFullError": "orchestrator_feedback.errors",
    "TrendPoint": "orchestrator_feedback.summaries",
    "WorkerScore": "orchestrator_feedback.summaries",
    "WorkerStats": "orchestrator_feedback.summaries",
    "get_plugin_manager": "orchestrator_feedback.host",
    "list_plugins": "orchestrator_feedback.host",
    "load_config": "orchestrator_feedback.config",
    "open_storage": "orchestrator_feedback.host",
}
"""Each public name's module."""


__all__ = [
    "Alert",
    "AlertsConfig",
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
    "SchemaUpgradeNeeded",
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

__getattr__, __dir__ = lazy_names(__name__, _WHERE, __all__)
