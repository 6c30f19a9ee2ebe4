"""orchestrator-feedback-alert-webhook: post each alert to a webhook as JSON.

The hook runs on the store's detection thread, after the commit that raised the alert,
in the one process that raised it; a slow or failing webhook delays or loses only the
post, never the alert (it stays in the store).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from orchestrator_feedback import Alert, FeedbackConfig, hookimpl

logger = logging.getLogger("orchestrator_feedback_alert_webhook")

settings: dict[str, Any] = {"url": None, "timeout_s": 5.0}
"""This plugin's settings, from ``[plugins.alert_webhook]``."""


@hookimpl
def feedback_configure(config: FeedbackConfig) -> None:
    """Read ``[plugins.alert_webhook]`` from the configuration."""
    settings.update(config.plugin_settings("alert_webhook"))


def body_of(alert: Alert) -> dict[str, Any]:
    """The JSON object posted for ``alert``."""
    scope = "all task types" if alert.task_type is None else f"task type {alert.task_type}"
    if alert.measure == "success":
        change = f"success rate {alert.before:.0%} -> {alert.after:.0%}"
    else:
        change = f"mean rating {alert.before:.2f} -> {alert.after:.2f}"
    return {
        "text": f"worker {alert.worker_id} {alert.kind} ({scope}): {change} "
        f"over {alert.outcomes} outcomes since {alert.since:%Y-%m-%d %H:%M} UTC",
        "id": alert.id,
        "worker_id": alert.worker_id,
        "task_type": alert.task_type,
        "kind": alert.kind,
        "measure": alert.measure,
        "since": alert.since.isoformat(),
        "raised_at": alert.raised_at.isoformat(),
        "before": alert.before,
        "before_interval": list(alert.before_interval),
        "after": alert.after,
        "after_interval": list(alert.after_interval),
        "outcomes": alert.outcomes,
        "statistic": alert.statistic,
        "threshold": alert.threshold,
    }


@hookimpl
def feedback_alert(alert: Alert) -> None:
    """Post ``alert`` to the configured webhook."""
    url = settings.get("url")
    if not url:
        logger.warning("alert %s not posted: set url in [plugins.alert_webhook]", alert.id)
        return
    request = urllib.request.Request(
        url,
        data=json.dumps(body_of(alert)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=float(settings["timeout_s"])) as response:
        response.read()
