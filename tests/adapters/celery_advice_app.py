"""A Celery app for the advice test: the worker subprocesses import it by name. Every
worker also consumes its direct queue (``worker_direct``); the one whose name starts with
``flaky@`` fails every job."""

from __future__ import annotations

import os
import time

from celery import Celery

from orchestrator_feedback.adapters.celery import connect_celery

BROKER = os.environ.get("FEEDBACK_TEST_BROKER", "redis://127.0.0.1:6379/9")
app = Celery("feedback_advice", broker=BROKER, backend=BROKER)
app.conf.update(
    task_default_queue="feedback-advice", worker_direct=True, worker_hijack_root_logger=False
)
connect_celery(app)


@app.task(bind=True)
def job(self: object, n: int, seconds: float = 0.0) -> str:
    """Job ``n``, taking ``seconds``."""
    hostname: str = self.request.hostname  # type: ignore[attr-defined]
    time.sleep(seconds)
    if hostname.startswith("flaky@"):
        raise RuntimeError(f"{hostname} failed job {n}")
    return hostname


@app.task(bind=True)
def phased_job(self: object, n: int, failing: bool) -> str:
    """Job ``n``; while ``failing``, the worker whose name starts with ``flaky@`` fails four
    in five (the others never)."""
    hostname: str = self.request.hostname  # type: ignore[attr-defined]
    time.sleep(0.01)
    if failing and hostname.startswith("flaky@") and n % 5:
        raise RuntimeError(f"{hostname} failed job {n}")
    return hostname
