"""A Celery app for the prefork test: the worker subprocess imports it by name."""

from __future__ import annotations

import os
import time

from celery import Celery

from orchestrator_feedback.adapters.celery import connect_celery

BROKER = os.environ.get("FEEDBACK_TEST_BROKER", "redis://127.0.0.1:6379/9")
app = Celery("feedback_prefork", broker=BROKER, backend=BROKER)
app.conf.update(task_default_queue="feedback-tests", worker_hijack_root_logger=False)
connect_celery(app)  # one line: everything below is the user's own app


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task
def explode() -> None:
    raise ZeroDivisionError("division by zero, on purpose")


@app.task(time_limit=1)
def too_slow() -> None:
    time.sleep(10)
