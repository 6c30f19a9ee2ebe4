"""Allocation advice closes the loop on a real Dask LocalCluster: one worker fails every
task it runs (decided by its name); after a warm-up it is given few of them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client, LocalCluster, get_worker

from orchestrator_feedback import FeedbackConfig, FeedbackPluginManager, get_plugin_manager
from orchestrator_feedback.adapters.dask import FeedbackSchedulerPlugin
from orchestrator_feedback.adapters.dask_advice import AdvisedSubmitter


def work(x: int) -> int:
    if get_worker().name == 1:  # the flaky worker
        raise RuntimeError(f"worker 1 dropped task {x}")
    return x


def run_phase(submitter: AdvisedSubmitter, plugin: FeedbackSchedulerPlugin, start: int) -> int:
    """Run 30 tasks one after another; how many failed (ran on the flaky worker)."""
    failures = 0
    for n in range(start, start + 30):
        future = submitter.submit(work, n, key=f"work-{n}", pure=False)
        try:
            future.result(timeout=30)
        except RuntimeError:
            failures += 1
        assert plugin.flush(timeout=10)  # its outcome is stored before the next advice
    return failures


@contextmanager
def two_workers(
    tmp_path: Path,
) -> Iterator[tuple[FeedbackPluginManager, FeedbackSchedulerPlugin, Client, AdvisedSubmitter]]:
    """A process ``LocalCluster`` of two one-thread workers, its scheduler recording through
    a manager of its own store, and a submitter advised by that manager."""
    manager = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "dask.db")), load_entrypoints=False
    )
    plugin = FeedbackSchedulerPlugin(plugin_manager=manager)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        cluster.scheduler.add_plugin(plugin)
        client.wait_for_workers(2)
        yield manager, plugin, client, AdvisedSubmitter(client, manager)
    manager.close()


def test_the_failing_worker_gets_fewer_tasks_after_a_warm_up(tmp_path: Path) -> None:
    with two_workers(tmp_path) as (manager, plugin, _client, submitter):
        assert len(submitter.workers()) == 2
        # Each worker tried once, under the task type the phases use ("work": key_split
        # drops the number; a key such as "work-first-0" would be another type).
        for n, address in enumerate(submitter.workers()):
            submitter.submit(work, 1000 + n, key=f"work-{1000 + n}", workers=[address]).exception()
        assert plugin.flush(timeout=10)
        storage = manager.feedback_plugin.storage  # type: ignore[union-attr]
        assert len(storage.worker_scores(task_type="work")) == 2
        warm_up = run_phase(submitter, plugin, 0)
        after = run_phase(submitter, plugin, 100)
        scores = {s.worker_id: s for s in storage.worker_scores(task_type="work")}
    assert len(scores) == 2 and min(s.failures for s in scores.values()) == 0
    assert after <= 3, (warm_up, after)  # of 30: Thompson rarely tries a 0-for-n worker


def test_own_workers_win_and_no_workers_means_no_advice(tmp_path: Path) -> None:
    manager = get_plugin_manager(
        FeedbackConfig(database=str(tmp_path / "dask.db")), load_entrypoints=False
    )
    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        submitter = AdvisedSubmitter(client, manager, cache_seconds=0)
        (address,) = submitter.workers()
        assert submitter.advise("work", "t") == [address]
        future = submitter.submit(sum, [1, 2], workers=[address])
        assert future.result(timeout=30) == 3
    manager.close()


def slow_work(x: int) -> int:
    """Half a second; the flaky worker (name 1) fails every odd task."""
    import time as _time

    _time.sleep(0.5)
    if get_worker().name == 1 and x % 2:
        raise RuntimeError(f"worker 1 dropped task {x}")
    return x


def test_a_burst_is_spread_by_the_load_the_submitter_counts(tmp_path: Path) -> None:
    """Two worker processes of one thread: a good one and one that fails half its tasks.
    Eight tasks submitted at once: with the load counted, the time objective gives the idle
    flaky worker some of them (each of its successes costs two attempts, a task queued on
    the good one waits for all before it); each finished future is uncounted, also one whose
    reference was dropped."""
    with two_workers(tmp_path) as (_manager, plugin, client, submitter):
        by_name = {
            info["name"]: address for address, info in client.scheduler_info()["workers"].items()
        }
        good, flaky = by_name[0], by_name[1]
        # What the store knows: 10 of 10 on the good worker, 5 of 10 on the flaky one.
        warm = [
            client.submit(slow_work, n, key=f"slow_work-{n}", workers=[address], pure=False)
            for address in (good, flaky)
            for n in range(10)
        ]
        client.gather(warm, errors="skip")
        assert plugin.flush(timeout=30)
        burst = [
            submitter.submit(slow_work, 2 * n, key=f"slow_work-{100 + n}", pure=False)
            for n in range(8)
        ]
        load = submitter.load()  # one thread each: tasks in flight
        assert sum(load.values()) == 8 and load.get(flaky, 0) >= 2 and load.get(good, 0) >= 3, load
        client.gather(burst)
        dropped = submitter.submit(slow_work, 0, key="slow_work-999", pure=False)
        del dropped
        for _ in range(300):
            if not submitter.load():
                break
            time.sleep(0.1)
        assert submitter.load() == {}


def phased_work(x: int, failing: bool) -> int:
    """While ``failing``, the worker named 1 fails four tasks in five."""
    if failing and get_worker().name == 1 and x % 5:
        raise RuntimeError(f"worker 1 dropped task {x}")
    return x


def test_the_worker_that_turns_flaky_raises_one_alert_and_one_when_it_recovers(
    tmp_path: Path,
) -> None:
    """Dask places the tasks (ten at a time) on two worker processes; the scheduler's
    store detects: the worker that fails four in five for a while raises one ``degraded``
    alert, then one ``recovered``; the other none (``docs/alerts.md``)."""
    with two_workers(tmp_path) as (manager, plugin, client, _submitter):
        by_name = {
            info["name"]: address for address, info in client.scheduler_info()["workers"].items()
        }
        n = 0
        for failing, count in ((False, 120), (True, 80), (False, 160)):
            for _ in range(count // 10):
                batch = [
                    client.submit(phased_work, n + k, failing, key=f"phased-{n + k}", pure=False)
                    for k in range(10)
                ]
                client.gather(batch, errors="skip")
                n += 10
        assert plugin.flush(timeout=30)
        storage = manager.feedback_plugin.storage  # type: ignore[union-attr]
        storage.check_alerts()
        alerts = storage.alerts()
        per_worker = {s.worker_id: s.successes + s.failures for s in storage.worker_scores()}
    assert min(per_worker.values()) >= 60, per_worker  # placed by Dask on both
    raised = [(alert.worker_id, alert.task_type, alert.kind) for alert in alerts]
    assert raised == [(by_name[1], "phased", "recovered"), (by_name[1], "phased", "degraded")]
