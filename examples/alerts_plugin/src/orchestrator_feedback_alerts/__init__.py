"""orchestrator-feedback-alerts: flag low ratings as soon as they are committed.

A module can be a plugin: pluggy collects every function marked with ``hookimpl``.
"""

from __future__ import annotations

import logging
from typing import Any

from orchestrator_feedback import FeedbackConfig, FeedbackEntry, hookimpl

logger = logging.getLogger("orchestrator_feedback_alerts")

settings: dict[str, Any] = {"threshold": 2, "fail": False}
"""This plugin's settings, from ``[plugins.alerts]`` (``fail`` exists for tests)."""

flagged: list[FeedbackEntry] = []
"""Every entry flagged so far, oldest first."""


@hookimpl
def feedback_configure(config: FeedbackConfig) -> None:
    """Read ``[plugins.alerts]`` from the configuration."""
    settings.update(config.plugin_settings("alerts"))


@hookimpl
def feedback_recorded(entry: FeedbackEntry) -> None:
    """Flag a committed entry whose rating is at or below the threshold."""
    if settings.get("fail"):
        raise RuntimeError("the alerts plugin was told to fail")
    if entry.rating is not None and entry.rating <= settings["threshold"]:
        flagged.append(entry)
        logger.warning("low rating %d for task %s: %s", entry.rating, entry.task_id, entry.content)
