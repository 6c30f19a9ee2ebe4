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


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def expected(entries: list[FeedbackEntry], created: list[FeedbackEntry] | None = None) -> Samples:
    """What the entries say, by the rules of docs/scores.md, computed here: the gauges from
    ``entries`` (those stored), the counters from ``created`` (every entry as it was
    created; ``entries`` when None), the deleted counter from those of ``created`` no
    longer stored."""
    created = entries if created is None else created
    want: Samples = {}
    kinds = Counter(e.feedback_type.value for e in created)
    stored = Counter(e.feedback_type.value for e in entries)
    kept = {e.id for e in entries}
    deleted = Counter(e.feedback_type.value for e in created if e.id not in kept)
    for kind in FeedbackType:
        labels = (("type", kind.value),)
        want[("orchestrator_feedback_entries_created_total", labels)] = kinds[kind.value]
        want[("orchestrator_feedback_entries_deleted_total", labels)] = deleted[kind.value]
        want[("orchestrator_feedback_entries", labels)] = stored[kind.value]
    ratings = Counter(e.rating for e in created if e.rating is not None)
    for rating in range(1, 6):
        want[("orchestrator_feedback_ratings_total", (("rating", str(rating)),))] = ratings[rating]
    outcomes, rated = _outcomes(created)
    for (worker, task_type, outcome), count in outcomes.items():
        if not outcomes[(worker, task_type, "success")] + outcomes[(worker, task_type, "failure")]:
            continue  # no outcomes of that pair: not exported
        labels = (("outcome", outcome), ("task_type", task_type), ("worker", worker))
        want[("orchestrator_feedback_outcomes_total", labels)] = count
    for (worker, task_type), (count, total) in rated.items():
        labels = (("task_type", task_type), ("worker", worker))
        want[("orchestrator_feedback_worker_rating_count", labels)] = count
        want[("orchestrator_feedback_worker_rating_sum", labels)] = total
    now_outcomes, _ = _outcomes(entries)
    for worker in {worker for worker, _t, _o in now_outcomes}:
        successes = sum(
            n for (w, _t, o), n in now_outcomes.items() if w == worker and o == "success"
        )
        failures = sum(
            n for (w, _t, o), n in now_outcomes.items() if w == worker and o == "failure"
        )
        low, _ = wilson(successes, successes + failures, 1.959963984540054)
        want[("orchestrator_feedback_worker_success_lower_bound_ratio", (("worker", worker),))] = (
            low  # type: ignore[assignment]
        )
    return want


def _outcomes(
    entries: list[FeedbackEntry],
) -> tuple[Counter[tuple[str, str, str]], dict[tuple[str, str], tuple[int, int]]]:
    """Per worker, task type and outcome, the count; per worker and task type, the rated
    entries' count and rating sum."""
    outcomes: Counter[tuple[str, str, str]] = Counter()
    rated: dict[tuple[str, str], tuple[int, int]] = {}
    for e in entries:
        worker = e.metadata.get("worker_id")
        if worker is None:
            continue
        task_type = str(e.metadata.get("task_type", ""))
        completion = e.feedback_type is FeedbackType.TASK_COMPLETION
        outcomes[(worker, task_type, "success")] += (
            completion and e.metadata.get("success", True) is True
        )
        outcomes[(worker, task_type, "failure")] += (
            e.feedback_type is FeedbackType.ERROR_REPORT
            or (completion and e.metadata.get("success") is False)
        )
        if e.rating is not None:  # every type's rating rates the worker (docs/scores.md)
            count, total = rated.get((worker, task_type), (0, 0))
            rated[(worker, task_type)] = (count + 1, total + e.rating)
    return outcomes, rated


def assert_matches(
    got: Samples, entries: list[FeedbackEntry], created: list[FeedbackEntry] | None = None
) -> None:
    want = expected(entries, created)
    for key, value in want.items():
        assert got[key] == pytest.approx(value), key
    for name in (
        "orchestrator_feedback_outcomes_total",
        "orchestrator_feedback_worker_rating_count",
        "orchestrator_feedback_worker_success_lower_bound_ratio",
    ):
        assert {k for k in got if k[0] == name} == {k for k in want if k[0] == name}
    if entries:
        newest = max(e.created_at for e in entries)
        stamp = got[("orchestrator_feedback_newest_entry_timestamp_seconds", ())]
        assert stamp == pytest.approx(newest.timestamp())
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
        purge = subprocess.run(
            [
                *(sys.executable, "-m", "orchestrator_feedback", "--database", str(database)),
                *("purge", "--older-than", "1d"),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "ORCHESTRATOR_FEEDBACK_PLUGINS": ""},
        )
        assert purge.returncode == 0, purge.stderr
        with urllib.request.urlopen(url, timeout=30) as response:
            after = samples(response.read().decode())
    finally:
        server.terminate()
        server.wait(timeout=30)
    before = samples(text)
    assert_matches(before, entries)
    kept = [e for e in entries if e.created_at > NOW - timedelta(days=1)]
    assert_matches(after, kept, entries)
    assert [key for key, value in before.items() if key[0].endswith("_total")] == [
        key for key, value in before.items() if key[0].endswith("_total") and after[key] >= value
    ]


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


def test_a_scrape_a_purge_a_scrape_no_counter_goes_down(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    """Issue "What an operator trips on", item 1: deleting (one entry, a purge, retention
    by age, an erasure) and changing entries lowers the stored gauges, never a counter."""
    import attrs

    entries = fill(storage, make_entry)
    entries.append(
        storage.create(make_entry(task_id="who", user_id="ada", metadata={"worker_id": "w0"}))
    )
    registry = metrics_registry(storage)
    before = samples(generate_latest(registry).decode())
    assert_matches(before, entries)

    error = next(e for e in entries if e.feedback_type is FeedbackType.ERROR_REPORT)
    assert storage.delete(error.id)
    changed = next(e for e in entries if e.feedback_type is FeedbackType.TASK_COMPLETION)
    storage.update(attrs.evolve(changed, rating=1, feedback_type=FeedbackType.GENERAL))
    assert storage.purge(older_than=timedelta(hours=40)) > 0
    assert storage.forget_user("ada") == 1
    after = samples(generate_latest(registry).decode())

    for key, value in before.items():
        if key[0].endswith(("_total", "_count", "_sum")):
            assert after[key] >= value, key
    left = {e.id: e for e in storage.get_all()}
    assert len(left) < len(entries) - 2
    # Created: as created (the update counts under its first type and rating); stored: now.
    assert_matches(after, list(left.values()), entries)
    assert after[("orchestrator_feedback_entries", (("type", "general"),))] == 1


def test_counts_ever_created_survive_a_rebuild_of_the_rollups(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    """The removed ledger is summed per key when the rollups are folded or rebuilt
    (PostgreSQL appends a row a statement); the counts stay what they were."""
    entries = fill(storage, make_entry)
    for entry in entries[:30]:
        storage.delete(entry.id)  # a statement each: 30 appends on PostgreSQL
    before = storage.lifetime_counts()
    storage.rebuild_rollups()
    assert storage.lifetime_counts() == before
    assert sum(before.deleted_by_type.values()) == 30
    assert sum(before.created_by_type.values()) == len(entries)
    (ledger_rows,) = storage.execute_query("SELECT COUNT(*) FROM feedback_removed_types")[0]
    assert ledger_rows == len(
        {(e.feedback_type, e.rating or 0) for e in entries[:30]}
    )  # one row a key


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
