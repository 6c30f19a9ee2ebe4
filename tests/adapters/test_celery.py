"""The Celery adapter against real Celery workers: in-memory broker, then prefork on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackPluginManager,
    FeedbackStorage,
    FeedbackType,
)
from orchestrator_feedback.adapters.celery import connect_celery

ROOT = Path(__file__).parents[2]
REDIS_URL = os.environ.get("ORCHESTRATOR_FEEDBACK_TEST_REDIS", "redis://127.0.0.1:6379")


@pytest.fixture
def app() -> Celery:
    app = Celery("feedback_memory", broker="memory://", backend="cache+memory://")
    app.conf.update(task_default_queue="feedback-memory")

    @app.task(name="add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="boom")
    def boom() -> None:
        raise KeyError("missing key")

    @app.task(name="flaky", bind=True, max_retries=3, default_retry_delay=0)
    def flaky(self: object, failures: int) -> str:
        request = self.request  # type: ignore[attr-defined]
        if request.retries < failures:
            raise self.retry(exc=TimeoutError("upstream slow"), countdown=0)  # type: ignore[attr-defined]
        return "done"

    return app


def by_type(storage: FeedbackStorage, task_id: str) -> dict[FeedbackType, list[FeedbackEntry]]:
    found: dict[FeedbackType, list[FeedbackEntry]] = {}
    for entry in storage.get_by_task(task_id):
        found.setdefault(entry.feedback_type, []).append(entry)
    return found


def test_success_failure_retry_and_received(
    app: Celery, feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    adapter = connect_celery(app, plugin_manager=feedback_plugin_manager)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            ok = app.tasks["add"].delay(2, 3)
            assert ok.get(timeout=20) == 5
            bad = app.tasks["boom"].delay()
            bad.get(timeout=20, propagate=False)
            retried = app.tasks["flaky"].delay(1)
            assert retried.get(timeout=20) == "done"
            given_up = app.tasks["flaky"].delay(5)  # max_retries=3: fails for good
            given_up.get(timeout=20, propagate=False)
    finally:
        adapter.disconnect()

    success = by_type(feedback_storage, ok.id)
    [allocation] = success[FeedbackType.ALLOCATION_FEEDBACK]
    assert (
        allocation.metadata["worker_id"].startswith("celery@")
        or "@" in allocation.metadata["worker_id"]
    )
    assert allocation.metadata["allocation_reason"] == "feedback-memory"
    [completion] = success[FeedbackType.TASK_COMPLETION]
    assert completion.metadata["execution_time"] >= 0 and completion.metadata["attempt"] == 1
    assert FeedbackType.ERROR_REPORT not in success

    failure = by_type(feedback_storage, bad.id)
    [report] = failure[FeedbackType.ERROR_REPORT]
    assert (
        report.metadata["error_type"] == "KeyError"
        and "missing key" in report.metadata["error_message"]
    )
    assert "Traceback" in report.metadata["stack_trace"]
    assert FeedbackType.TASK_COMPLETION not in failure

    retry = by_type(feedback_storage, retried.id)
    # The failed first attempt is a failure of its own, which Celery retried.
    [attempt] = retry[FeedbackType.ERROR_REPORT]
    assert attempt.metadata["attempt"] == 1 and attempt.metadata["will_retry"] is True
    assert attempt.metadata["error_type"] == "TimeoutError"
    assert "upstream slow" in attempt.metadata["error_message"]
    [done] = retry[FeedbackType.TASK_COMPLETION]
    assert done.metadata["attempt"] == 2 and done.metadata["task_type"] == "flaky"
    # Each delivery is an allocation, numbered like the attempt it starts.
    allocations = sorted(a.metadata["attempt"] for a in retry[FeedbackType.ALLOCATION_FEEDBACK])
    assert allocations == [1, 2] and allocation.metadata["attempt"] == 1
    assert report.metadata["will_retry"] is False and report.metadata["attempt"] == 1

    spent = by_type(feedback_storage, given_up.id)
    attempts = sorted(
        (e.metadata["attempt"], e.metadata["will_retry"]) for e in spent[FeedbackType.ERROR_REPORT]
    )
    assert attempts == [(1, True), (2, True), (3, True), (4, False)]
    assert FeedbackType.TASK_COMPLETION not in spent


def test_other_apps_are_left_alone(
    app: Celery, feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    other = Celery("someone_else", broker="memory://", backend="cache+memory://")

    @other.task(name="other_add")
    def other_add(x: int, y: int) -> int:
        return x + y

    adapter = connect_celery(app, plugin_manager=feedback_plugin_manager)
    try:
        other.conf.task_always_eager = True
        assert other_add.delay(1, 1).get() == 2
    finally:
        adapter.disconnect()
    assert feedback_storage.count() == 0


def test_flush_stores_what_eager_tasks_reported_without_disconnecting(
    feedback_plugin_manager: FeedbackPluginManager, feedback_storage: FeedbackStorage
) -> None:
    eager = Celery("feedback_eager", broker="memory://", backend="cache+memory://")
    eager.conf.task_always_eager = True

    @eager.task(name="eager_add")
    def eager_add(x: int, y: int) -> int:
        return x + y

    adapter = connect_celery(eager, plugin_manager=feedback_plugin_manager)
    try:
        results = [eager_add.delay(n, n) for n in range(200)]
        assert adapter.flush(timeout=30) is True
        assert feedback_storage.count() == 200
        assert {e.task_id for e in feedback_storage.get_all()} == {r.id for r in results}
    finally:
        adapter.disconnect()


EAGER_SCRIPT = """
from celery import Celery
from orchestrator_feedback.adapters.celery import connect_celery

app = Celery("eager_exit", broker="memory://", backend="cache+memory://")
app.conf.task_always_eager = True
connect_celery(app)

@app.task(name="eager_double")
def double(x):
    return 2 * x

for n in range(300):
    double.delay(n)
# no flush, no disconnect: the process just ends
"""


@pytest.mark.parametrize("write_mode", ["sync", "background"])
def test_a_process_that_just_ends_still_stores_what_it_queued(
    tmp_path: Path, write_mode: str
) -> None:
    database = tmp_path / "eager.db"
    env = {
        **os.environ,
        "ORCHESTRATOR_FEEDBACK_DATABASE": str(database),
        "ORCHESTRATOR_FEEDBACK_WRITE_MODE": write_mode,
        "ORCHESTRATOR_FEEDBACK_PLUGINS": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", EAGER_SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with FeedbackStorage(database) as storage:
        assert storage.count(feedback_type="task_completion") == 300


def _redis_or_skip() -> str:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except Exception as error:
        message = (
            f"Redis at {REDIS_URL} is unreachable ({error}); start redis-server or set "
            "ORCHESTRATOR_FEEDBACK_TEST_REDIS to run the prefork test"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return f"{REDIS_URL}/{uuid.uuid4().int % 14 + 1}"


def test_prefork_worker_on_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = _redis_or_skip()
    database = tmp_path / "prefork.db"
    monkeypatch.setenv("FEEDBACK_TEST_BROKER", broker)
    env = {
        **os.environ,
        "ORCHESTRATOR_FEEDBACK_DATABASE": str(database),
        "ORCHESTRATOR_FEEDBACK_PLUGINS": "",
        "PYTHONPATH": str(ROOT),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.adapters.celery_app",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--loglevel=WARNING",
            "-Q",
            "feedback-tests",
            "--hostname",
            "prefork@%h",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        import importlib

        import tests.adapters.celery_app as module

        module = importlib.reload(module)  # bound to this test's broker
        sums = [module.add.delay(n, n) for n in range(6)]
        assert [result.get(timeout=60) for result in sums] == [2 * n for n in range(6)]
        failed = module.explode.delay()
        failed.get(timeout=60, propagate=False)
        slow = module.too_slow.delay()
        slow.get(timeout=60, propagate=False)
        assert failed.state == slow.state == "FAILURE"
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: children flush their stores
        try:
            output, _ = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    assert worker.returncode == 0, output
    with FeedbackStorage(database) as storage:
        for result in sums:
            found = by_type(storage, result.id)
            assert len(found[FeedbackType.ALLOCATION_FEEDBACK]) == 1, output
            [completion] = found[FeedbackType.TASK_COMPLETION]
            assert completion.metadata["worker_id"].startswith("prefork@")
        [error] = by_type(storage, failed.id)[FeedbackType.ERROR_REPORT]
        assert error.metadata["error_type"] == "ZeroDivisionError"
        # the hard time limit is enforced, and reported, by the main worker process
        limits = by_type(storage, slow.id)[FeedbackType.ERROR_REPORT]
        [limit] = limits
        assert limit.metadata["error_type"] == "TimeLimitExceeded"
