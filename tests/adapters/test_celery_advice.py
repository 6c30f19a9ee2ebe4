"""Allocation advice closes the loop on Celery: two real worker processes on Redis, one of
which fails every task; the router sends most tasks to the good one after a warm-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestrator_feedback import FeedbackStorage, get_plugin_manager
from orchestrator_feedback.adapters.celery_advice import AdviceRouter
from orchestrator_feedback.config import config_from_mapping
from orchestrator_feedback.storage import AlertSettings
from tests.adapters.test_celery import ROOT, _redis_or_skip

# The producer runs in a process of its own: broker connections left in the test process
# would be inherited by later tests that fork (kombu closes them in the child, reading from
# their sockets).
PRODUCER = """
import json, sys, time
from orchestrator_feedback import FeedbackStorage, get_plugin_manager
from orchestrator_feedback.adapters.celery_advice import AdviceRouter
from orchestrator_feedback.config import config_from_mapping
from tests.adapters.celery_advice_app import app, job

manager = get_plugin_manager(
    config_from_mapping({"database": sys.argv[1], "advice": {"refresh_s": 0.1}}),
    load_entrypoints=False,
)
router = AdviceRouter(app, manager, cache_seconds=30)
app.conf.task_routes = (router,)
deadline = time.monotonic() + 30
while len(router.ask_workers()) < 2:  # a ping can miss a busy worker's answer
    assert time.monotonic() < deadline, router.workers()


def run(count):
    ran_on = []
    for n in range(count):
        value = job.delay(n).get(timeout=60, propagate=False)
        ran_on.append(value.split("@")[0] if isinstance(value, str) else "flaky")
        time.sleep(0.3)  # the worker stores its outcome; the advice reads it again
    return ran_on


print(json.dumps({"workers": router.workers(), "warm_up": run(12), "after": run(20)}))
manager.close()
"""


BURST = """
import json, sys, time
from orchestrator_feedback import get_plugin_manager
from orchestrator_feedback.adapters.celery_advice import AdviceRouter
from orchestrator_feedback.config import config_from_mapping
from tests.adapters.celery_advice_app import app, job

manager = get_plugin_manager(
    config_from_mapping({"database": sys.argv[1]}), load_entrypoints=False
)
router = AdviceRouter(app, manager, cache_seconds=30)
app.conf.task_routes = (router,)
deadline = time.monotonic() + 30
while len(router.ask_workers()) < 2:
    assert time.monotonic() < deadline, router.workers()
first = [job.delay(n) for n in range(4)]  # no outcome of job stored yet: Celery places them
unrouted = router.load()
for result in first:
    result.get(timeout=60, propagate=False)
storage = manager.feedback_plugin.storage
deadline = time.monotonic() + 30
while not storage.worker_scores(task_type=job.name):  # the score book follows the store
    assert time.monotonic() < deadline, "no outcome of the first tasks was stored"
    time.sleep(0.05)
results = [job.delay(n, 0.25) for n in range(20)]  # none is done before all are sent
sent = router.load()
for result in results:
    result.get(timeout=60, propagate=False)
deadline = time.monotonic() + 30
while router.load() and time.monotonic() < deadline:
    time.sleep(0.1)
print(json.dumps({"unrouted": unrouted, "sent": sent, "after": router.load()}))
manager.close()
"""


PHASES = """
import json, sys, time
from tests.adapters.celery_advice_app import app, phased_job

n = 0
ran = {}
for failing, count in ((False, 120), (True, 80), (False, 160)):
    for _ in range(count // 10):  # ten at a time: Celery places them on both workers
        results = [phased_job.delay(n + k, failing) for k in range(10)]
        for result in results:
            value = result.get(timeout=60, propagate=False)
            name = value.split("@")[0] if isinstance(value, str) else "flaky"
            ran[name] = ran.get(name, 0) + 1
        n += 10
print(json.dumps(ran))
"""


def _run_with_two_workers(tmp_path: Path, producer: str) -> dict[str, object]:
    """``producer`` run beside two solo-pool worker processes, ``good@`` and ``flaky@`` (which
    fails every job), on Redis; the JSON its last line prints."""
    broker = _redis_or_skip()
    database = tmp_path / "celery.db"
    env = {
        **os.environ,
        "FEEDBACK_TEST_BROKER": broker,
        "ORCHESTRATOR_FEEDBACK_DATABASE": str(database),
        "ORCHESTRATOR_FEEDBACK_PLUGINS": "",
        "PYTHONPATH": str(ROOT),
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.adapters.celery_advice_app",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                "-Q",
                "feedback-advice",
                "--hostname",
                f"{name}@%h",
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("good", "flaky")
    ]
    try:
        produced = subprocess.run(
            [sys.executable, "-c", producer, str(database)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.communicate()
    assert produced.returncode == 0, produced.stderr
    result: dict[str, object] = json.loads(produced.stdout.strip().splitlines()[-1])
    return result


def test_the_router_counts_what_it_sent_until_the_outcome_is_stored(tmp_path: Path) -> None:
    """Four tasks sent before the store holds any outcome of their type are left to Celery
    (none routed, none pending). Once it holds one, twenty sent at once to two one-process
    workers are each pending on the worker they were routed to (the advice is given that
    load, so a burst spreads), until the worker stores its outcome; then none is."""
    ran = _run_with_two_workers(tmp_path, BURST)
    assert ran["unrouted"] == {}, ran
    sent = ran["sent"]
    assert isinstance(sent, dict) and sum(sent.values()) == 20, ran
    assert len(sent) == 2, ran  # spread, not all on one
    assert ran["after"] == {}, ran


def test_most_tasks_go_to_the_good_worker_after_a_warm_up(tmp_path: Path) -> None:
    ran: dict[str, Any] = _run_with_two_workers(tmp_path, PRODUCER)
    database = tmp_path / "celery.db"
    assert sorted(name.split("@")[0] for name in ran["workers"]) == ["flaky", "good"]
    with FeedbackStorage(database) as storage:
        scores = {s.worker_id.split("@")[0]: s for s in storage.worker_scores()}
    # Thompson sampling may never try the flaky worker (about 1 run in 30: the good one keeps
    # winning its draws from the start); every task that did run there is stored as failed.
    on_flaky = (ran["warm_up"] + ran["after"]).count("flaky")
    flaky = scores.get("flaky")
    assert (flaky.failures if flaky else 0) == on_flaky and not (flaky and flaky.successes), (
        scores,
        ran,
    )
    assert scores["good"].successes == 32 - on_flaky and scores["good"].failures == 0, scores
    assert ran["after"].count("good") >= 16, ran


def test_without_workers_or_advice_celery_routes_as_before(tmp_path: Path) -> None:
    from celery import Celery

    app = Celery("no-broker", broker="memory://")
    manager = get_plugin_manager(
        config_from_mapping({"database": str(tmp_path / "f.db")}), load_entrypoints=False
    )
    router = AdviceRouter(app, manager, ping_timeout=0.1)
    assert router.ask_workers() == []
    assert router("tasks.add", (), {}, {}) is None
    only = AdviceRouter(app, manager, tasks={"tasks.other"})
    assert only("tasks.add", (), {}, {}) is None
    manager.close()


def test_sending_a_task_never_waits_for_the_workers_answer(tmp_path: Path) -> None:
    """The ping waits ``ping_timeout`` (20 s here) for answers; a hundred tasks are routed
    while it is still out (Celery's own route for each, since no worker is known yet)."""
    import threading

    from celery import Celery

    app = Celery("slow-answers", broker="memory://")
    manager = get_plugin_manager(
        config_from_mapping({"database": str(tmp_path / "f.db")}), load_entrypoints=False
    )
    router = AdviceRouter(app, manager, ping_timeout=20)
    routes = [router("tasks.add", (), {}, {}) for _ in range(100)]
    asking = [t for t in threading.enumerate() if t.name == "feedback-celery-ping"]
    assert routes == [None] * 100 and len(asking) == 1 and asking[0].is_alive()
    manager.close()


def test_the_worker_that_turns_flaky_raises_one_alert_and_one_when_it_recovers(
    tmp_path: Path,
) -> None:
    """Real worker processes write the outcomes and detect in the store they share: the
    worker that fails four in five for a while raises one ``degraded`` alert, then one
    ``recovered``; the good worker none (``docs/alerts.md``)."""
    ran = _run_with_two_workers(tmp_path, PHASES)
    assert min(ran.values()) >= 60, ran  # placed by Celery on both
    with FeedbackStorage(tmp_path / "celery.db", alerts=AlertSettings()) as storage:
        storage.check_alerts()  # what the workers had not read when they stopped
        alerts = storage.alerts()
    raised = [(alert.worker_id.split("@")[0], alert.task_type, alert.kind) for alert in alerts]
    task_type = "tests.adapters.celery_advice_app.phased_job"
    assert raised == [("flaky", task_type, "recovered"), ("flaky", task_type, "degraded")], ran
