"""A small Celery app that records feedback: run a worker, send tasks, read the feedback.

    # a worker (prefork, Redis on 127.0.0.1:6379); the feedback goes to ./celery-feedback.db
    ORCHESTRATOR_FEEDBACK_DATABASE=celery-feedback.db \
        celery -A tasks worker --pool=prefork --concurrency=2 --loglevel=INFO

    # in another shell: send work, then look at it
    python tasks.py
    orchestrator-feedback --database celery-feedback.db workers

Or without a broker at all: ``python tasks.py --eager`` runs the tasks in-process.
"""

from __future__ import annotations

import os
import random
import shlex
import sys

from celery import Celery

from orchestrator_feedback.adapters.celery import connect_celery

BROKER = os.environ.get("CELERY_BROKER", "redis://127.0.0.1:6379/0")
app = Celery("feedback_example", broker=BROKER, backend=BROKER)
connect_celery(app)  # the one line that records feedback


@app.task(bind=True, max_retries=2, default_retry_delay=0)
def resize_image(self: object, image_id: int) -> str:
    """Succeeds mostly, fails now and then, and sometimes asks to be retried."""
    roll = random.random()
    if roll < 0.15:
        raise self.retry(exc=TimeoutError("storage was slow"), countdown=0)  # type: ignore[attr-defined]
    if roll < 0.25:
        raise ValueError(f"image {image_id} is corrupt")
    return f"image-{image_id}-small.png"


def main() -> None:
    """Send forty tasks and wait for them."""
    if "--eager" in sys.argv:
        app.conf.task_always_eager = True
        app.conf.task_eager_propagates = False
    results = [resize_image.delay(n) for n in range(40)]
    for result in results:
        result.get(timeout=60, propagate=False)
    done = sum(1 for result in results if result.successful())
    database = os.environ.get("ORCHESTRATOR_FEEDBACK_DATABASE", "feedback.db")
    print(
        f"{done} of {len(results)} tasks succeeded; see: "
        f"orchestrator-feedback --database {shlex.quote(database)} workers"
    )


if __name__ == "__main__":
    main()
