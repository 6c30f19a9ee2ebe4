"""Prometheus metrics: a real HTTP GET on loopback, parsed with prometheus_client's own
text parser, every value equal to what the entries say; the collector on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackStorage,
    FeedbackType,
    get_plugin_manager,
)
from orchestrator_feedback.storage.scores import wilson
from orchestrator_feedback.views.metrics import metrics_registry

MakeEntry = Callable[..., FeedbackEntry]
NOW = datetime.now(UTC)


def fill(storage: FeedbackStorage, make_entry: MakeEntry) -> list[FeedbackEntry]:
    entries = []
    for n in range(60):
        metadata: dict[str, object] = {"worker_id": f"w{n % 3}", "task_type": f"k{n % 2}"}
        if n % 5 == 0:
            metadata["success"] = False
        kind = FeedbackType.ERROR_REPORT if n % 7 == 0 else FeedbackType.TASK_COMPLETION
        if n % 11 == 0:
            kind = FeedbackType.MANAGER_REVIEW
        entries.append(
            make_entry(
                task_id=f"t{n}",
                feedback_type=kind,
                rating=None if n % 4 == 0 else n % 5 + 1,
                metadata=metadata if n % 13 else {},
                created_at=NOW - timedelta(hours=n),
            )
        )
    storage.create_many(entries)
    return entries


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def expected(entries: list[FeedbackEntry]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What the entries say, by the rules of docs/scores.md, computed here."""
    want: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    kinds = Counter(e.feedback_type.value for e in entries)
    for kind in FeedbackType:
        want[("orchestrator_feedback_entries_total", (("type", kind.value),))] = kinds[kind.value]
    ratings = Counter(e.rating for e in entries if e.rating is not None)
    for rating in range(1, 6):
        want[("orchestrator_feedback_ratings_total", (("rating", str(rating)),))] = ratings[rating]
    per_worker: dict[str, list[int]] = {}
    outcomes: Counter[tuple[str, str, str]] = Counter()
    for e in entries:
        worker = e.metadata.get("worker_id")
        if worker is None:
            continue
        task_type = str(e.metadata.get("task_type", ""))
        completion = e.feedback_type is FeedbackType.TASK_COMPLETION
        success = completion and e.metadata.get("success", True) is True
        failure = e.feedback_type is FeedbackType.ERROR_REPORT or (
            completion and e.metadata.get("success") is False
        )
        rated = e.rating is not None and e.feedback_type in (
            FeedbackType.TASK_COMPLETION,
            FeedbackType.MANAGER_REVIEW,
            FeedbackType.WORKER_PERFORMANCE,
        )
        outcomes[(worker, task_type, "success")] += success
        outcomes[(worker, task_type, "failure")] += failure
        sums = per_worker.setdefault(worker, [0, 0, 0, 0])
        sums[0] += success
        sums[1] += failure
        sums[2] += rated
        sums[3] += (e.rating or 0) if rated else 0
    for (worker, task_type, outcome), count in outcomes.items():
        if not outcomes[(worker, task_type, "success")] + outcomes[(worker, task_type, "failure")]:
            continue  # no outcomes of that pair: not exported
        labels = (("outcome", outcome), ("task_type", task_type), ("worker", worker))
        want[("orchestrator_feedback_outcomes_total", labels)] = count
    for worker, (successes, failures, rated, rating_sum) in per_worker.items():
        low, _ = wilson(successes, successes + failures, 1.959963984540054)
        want[("orchestrator_feedback_worker_success_lower_bound", (("worker", worker),))] = low  # type: ignore[assignment]
        if rated:
            want[("orchestrator_feedback_worker_mean_rating", (("worker", worker),))] = (
                rating_sum / rated
            )
    return want


def assert_matches(
    got: dict[tuple[str, tuple[tuple[str, str], ...]], float], entries: list[FeedbackEntry]
) -> None:
    want = expected(entries)
    for key, value in want.items():
        assert got[key] == pytest.approx(value), key
    for name in (
        "orchestrator_feedback_outcomes_total",
        "orchestrator_feedback_worker_mean_rating",
    ):
        assert {k for k in got if k[0] == name} == {k for k in want if k[0] == name}
    newest = max(e.created_at for e in entries)
    age = got[("orchestrator_feedback_newest_entry_age_seconds", ())]
    assert 0 <= (datetime.now(UTC) - newest).total_seconds() - age <= 5  # read at the scrape
    assert not any("task_id" in dict(labels) for _name, labels in got)


def test_serve_metrics_answers_a_real_scrape(tmp_path: Path, make_entry: MakeEntry) -> None:
    database = tmp_path / "metrics.db"
    with FeedbackStorage(database) as storage:
        entries = fill(storage, make_entry)
    server, url = _start_server(database)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert_matches(samples(text), entries)


def test_the_collector_on_every_backend_with_this_process_counters(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    entries = fill(storage, make_entry)
    manager = get_plugin_manager(FeedbackConfig(database=":memory:"), load_entrypoints=False)
    manager.hook.task_completed(
        task_id="x",
        worker_id="w9",
        success=True,
        execution_time=None,
        output_quality=None,
        metadata={},
    )
    got = samples(generate_latest(metrics_registry(storage, manager.counters)).decode())
    assert_matches(got, entries)
    assert got[("orchestrator_feedback_process_recorded_total", ())] == 1
    assert got[("orchestrator_feedback_process_queue_depth", ())] == 0
    manager.close()


def _start_server(database: Path) -> tuple[subprocess.Popen[str], str]:
    """``serve-metrics`` on a free port, with SIGINT acted on (a test run started in the
    background inherits it ignored); its metrics URL."""
    import signal

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator_feedback",
            "--database",
            str(database),
            "serve-metrics",
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ORCHESTRATOR_FEEDBACK_PLUGINS": ""},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert server.stderr is not None
    line = server.stderr.readline()
    assert line.startswith("serving metrics on http://127.0.0.1:"), line
    return server, line.split(" on ", 1)[1].strip()


def test_idle_and_half_sent_connections_never_block_a_scrape(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    """Issue "Never lose, never leak, third round", item 6."""
    import socket
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    database = tmp_path / "metrics.db"
    with FeedbackStorage(database) as storage:
        fill(storage, make_entry)
    server, url = _start_server(database)
    parts = urlsplit(url)
    idle = socket.create_connection((parts.hostname, parts.port))
    half = socket.create_connection((parts.hostname, parts.port))
    half.sendall(b"GET /metr")
    try:

        def scrape(_: int) -> int:
            with urllib.request.urlopen(url, timeout=20) as response:
                response.read()
                return int(response.status)

        with ThreadPoolExecutor(max_workers=50) as pool:
            assert list(pool.map(scrape, range(200))) == [200] * 200
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url.replace("/metrics", "/favicon.ico"), timeout=20)
        assert missing.value.code == 404
    finally:
        idle.close()
        half.close()
        server.terminate()
        assert server.wait(timeout=30) == 0


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_the_server_stops_cleanly_even_with_a_connection_open(
    tmp_path: Path, make_entry: MakeEntry, how: str
) -> None:
    import signal
    import socket
    from urllib.parse import urlsplit

    database = tmp_path / "metrics.db"
    FeedbackStorage(database).close()
    server, url = _start_server(database)
    parts = urlsplit(url)
    held = socket.create_connection((parts.hostname, parts.port))
    held.sendall(b"GET /metrics HTTP/1.1\r\n")  # a request still being sent
    try:
        server.send_signal(getattr(signal, how))
        assert server.wait(timeout=10) == 0
        assert server.stderr is not None
        assert "Traceback" not in server.stderr.read()
    finally:
        held.close()
        if server.poll() is None:
            server.kill()
