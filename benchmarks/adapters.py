"""Adapter overheads: Celery per task (eager mode, against a no-op task's own round
trip) and the Dask scheduler's loop on a real cluster (``dask_loop``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import dask_loop
from benchmarks.timing import compare
from orchestrator_feedback import FeedbackConfig, get_plugin_manager


def _celery(workdir: Path, rounds: int) -> list[str]:
    from celery import Celery

    from orchestrator_feedback.adapters.celery import connect_celery

    app = Celery("bench", broker="memory://", backend="cache+memory://")
    app.conf.task_always_eager = True

    @app.task(name="noop")
    def noop() -> None:
        return None

    plain = Celery("bench-plain", broker="memory://", backend="cache+memory://")
    plain.conf.task_always_eager = True

    @plain.task(name="noop-plain")
    def noop_plain() -> None:
        return None

    manager = get_plugin_manager(
        FeedbackConfig(database=str(workdir / "celery.db"), write_mode="background"),
        load_entrypoints=False,
    )
    adapter = connect_celery(app, plugin_manager=manager)

    def tasks_until_stored() -> None:
        for _ in range(1_000):
            noop.delay()
        adapter.flush()

    def plain_tasks() -> None:
        for _ in range(1_000):
            noop_plain.delay()

    try:
        comparison = compare(
            "celery: eager no-op task with the adapter",
            lambda: noop.delay(),
            lambda: noop_plain.delay(),
            calls=1_000,
            rounds=rounds,
            limit=1.10,
        )
        # The forwarding thread gets little of the GIL while this loop runs, so most of
        # its hook calls land after a round: shown, the whole cost until stored.
        whole = compare(
            "celery, 1,000 tasks and their feedback stored",
            tasks_until_stored,
            plain_tasks,
            calls=1,
            rounds=rounds,
            limit=1.10,
        )
    finally:
        adapter.disconnect()
        manager.close()
    return [
        comparison.line(),
        f"{whole.name:<44} ratio {whole.ratio:5.2f}x (no limit: the task loop, plus the "
        f"forwarding thread's hook calls and the commit it waits for; rounds "
        f"{min(whole.round_ratios):.2f}-{max(whole.round_ratios):.2f})",
    ]


def _celery_sync_window(workdir: Path) -> list[str]:
    """In sync write mode the adapter still hands each event to a forwarding thread, so a
    task's feedback is committed a little after the task returns: the window a SIGKILL of
    the worker process can lose. Measured from the task's return to ``feedback_recorded``
    for its completion, with tasks back to back and paced 1 ms apart."""
    import statistics
    import time

    from celery import Celery

    from orchestrator_feedback import FeedbackEntry, hookimpl
    from orchestrator_feedback.adapters.celery import connect_celery

    app = Celery("bench-window", broker="memory://", backend="cache+memory://")
    app.conf.task_always_eager = True
    returned: dict[str, float] = {}
    heard: dict[str, float] = {}

    @app.task(name="stamp", bind=True)
    def stamp(self: Any) -> None:
        returned[self.request.id] = time.perf_counter()

    class Listener:
        @hookimpl
        def feedback_recorded(self, entry: FeedbackEntry) -> None:
            if entry.feedback_type.value == "task_completion":
                heard[entry.task_id] = time.perf_counter()

    manager = get_plugin_manager(
        FeedbackConfig(database=str(workdir / "window.db")), load_entrypoints=False
    )
    manager.register(Listener())
    adapter = connect_celery(app, plugin_manager=manager)
    lines = []
    try:
        for label, pause in (("back to back", 0.0), ("1 ms apart", 0.001)):
            returned.clear()
            heard.clear()
            for _ in range(2_000):
                stamp.delay()
                if pause:
                    time.sleep(pause)
            adapter.flush()
            windows = sorted(
                (heard[task] - returned[task]) * 1e3 for task in returned if task in heard
            )
            p99 = windows[int(len(windows) * 0.99) - 1]
            lines.append(
                f"{'celery sync mode: return -> committed, ' + label:<44} median "
                f"{statistics.median(windows):7.2f} ms, p99 {p99:7.2f} ms, max "
                f"{windows[-1]:7.2f} ms (2,000 eager tasks; no limit: the window a killed "
                "worker can lose)"
            )
    finally:
        adapter.disconnect()
        manager.close()
    return lines


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the adapter benchmarks; return the printable lines."""
    # Eleven rounds: the whole overhead is a few µs of a ~100 µs task, within the noise
    # of any one round.
    return [
        *_celery(workdir, 3 if quick else 11),
        *_celery_sync_window(workdir),
        # Nine rounds: each way runs first, second and third three times.
        *dask_loop.run(workdir, rounds=1 if quick else 9),
    ]


if __name__ == "__main__":  # pragma: no cover
    import tempfile

    for line in run(Path(tempfile.mkdtemp()), quick=False):
        print(line)
