"""Alerts: change detection on committed outcomes, on every backend (``docs/alerts.md``)."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator_feedback import (
    Alert,
    FeedbackEntry,
    FeedbackStorage,
    FeedbackType,
    FeedbackValidationError,
)
from orchestrator_feedback.storage import AlertSettings
from tests.conftest import open_store


def outcome(worker: str, success: bool, task_type: str = "build") -> FeedbackEntry:
    """A completed attempt (success) or an error report (failure) of ``worker``."""
    metadata = {"worker_id": worker, "task_type": task_type}
    if success:
        return FeedbackEntry(
            task_id="t",
            feedback_type=FeedbackType.TASK_COMPLETION,
            content="done",
            metadata=metadata,
        )
    return FeedbackEntry(
        task_id="t", feedback_type=FeedbackType.ERROR_REPORT, content="boom", metadata=metadata
    )


def steady(count: int, fail_every: int) -> Iterator[bool]:
    """``count`` outcomes, one failure in every ``fail_every``."""
    for n in range(count):
        yield n % fail_every != fail_every - 1


def write(storage: FeedbackStorage, worker: str, outcomes: Iterator[bool], **kw: str) -> None:
    storage.create_many([outcome(worker, success, **kw) for success in outcomes])


@pytest.fixture
def alerting(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[FeedbackStorage]:
    store = open_store(backend_kind, tmp_path, request, alerts=AlertSettings())
    yield store
    store.close()


def test_a_worker_that_turns_flaky_is_degraded_once_and_recovered_once(
    alerting: FeedbackStorage,
) -> None:
    heard: list[Alert] = []
    alerting.add_alert_listener(heard.append)
    for _ in range(10):  # healthy: 1 failure in 20, both workers
        write(alerting, "w1", steady(20, 20))
        write(alerting, "w2", steady(20, 20))
    alerting.check_alerts()
    assert alerting.alerts() == []
    write(alerting, "w1", steady(40, 2))  # one in two fails
    write(alerting, "w2", steady(40, 20))
    alerting.check_alerts()
    [degraded] = alerting.alerts()
    assert (degraded.worker_id, degraded.task_type, degraded.kind, degraded.measure) == (
        "w1",
        "build",
        "degraded",
        "success",
    )
    assert degraded.before > 0.9 and degraded.after < 0.7
    assert degraded.before_interval[0] <= degraded.before <= degraded.before_interval[1]
    assert degraded.after_interval[0] <= degraded.after <= degraded.after_interval[1]
    assert degraded.statistic >= degraded.threshold and degraded.outcomes <= 40
    assert alerting.alerts(open_only=True) == [degraded]
    assert alerting.alerted_workers("build") == {"w1"}

    for _ in range(15):  # healthy again
        write(alerting, "w1", steady(20, 20))
    alerting.check_alerts()
    recovered, first = alerting.alerts()
    assert first == degraded
    assert (recovered.worker_id, recovered.kind, recovered.measure) == (
        "w1",
        "recovered",
        "success",
    )
    assert recovered.since > degraded.since and recovered.after > 0.9
    assert alerting.alerts(open_only=True) == []
    assert heard == [degraded, recovered]  # each told once, in order


def test_a_fall_in_ratings_raises_a_rating_alert(alerting: FeedbackStorage) -> None:
    def review(worker: str, rating: int) -> FeedbackEntry:
        return FeedbackEntry(
            task_id="t",
            feedback_type=FeedbackType.MANAGER_REVIEW,
            content="review",
            rating=rating,
            metadata={"worker_id": worker, "task_type": "build"},
        )

    alerting.create_many([review("w1", 5 - n % 2) for n in range(100)])  # 4.5
    alerting.create_many([review("w1", 3 - n % 2) for n in range(20)])  # 2.5
    alerting.check_alerts()
    [alert] = alerting.alerts()
    assert (alert.kind, alert.measure, alert.task_type) == ("degraded", "rating", "build")
    assert 4.3 < alert.before < 4.7 and alert.after < 3.1


def test_the_alert_over_all_task_types_needs_two_of_them(alerting: FeedbackStorage) -> None:
    for _ in range(10):
        write(alerting, "w1", steady(20, 20), task_type="build")
        write(alerting, "w1", steady(20, 20), task_type="test")
    write(alerting, "w1", steady(30, 2), task_type="build")
    write(alerting, "w1", steady(30, 2), task_type="test")
    alerting.check_alerts()
    scopes = sorted((alert.task_type or "") for alert in alerting.alerts())
    assert scopes == ["", "build", "test"]  # "" is the alert over all of w1's task types


def test_steady_workers_raise_nothing_and_non_outcomes_count_for_nothing(
    alerting: FeedbackStorage,
) -> None:
    for n in range(20):
        write(alerting, f"w{n % 4}", steady(50, 10))
    alerting.create_many(
        FeedbackEntry(
            task_id="t",
            feedback_type=FeedbackType.ERROR_REPORT,
            content="before any worker",
            metadata={"task_type": "build"},
        )
        for _ in range(100)
    )
    alerting.check_alerts()
    assert alerting.alerts() == []


@pytest.mark.parametrize("backend_kind", ["sqlite-file", "postgres"], indirect=True)
def test_a_store_that_does_not_detect_still_lists_alerts(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    detecting = open_store(backend_kind, tmp_path, request, alerts=AlertSettings())
    listing = open_store(backend_kind, tmp_path, request)
    try:
        assert listing.alert_settings is None and listing.check_alerts() == []
        for _ in range(10):
            write(listing, "w1", steady(20, 20))
        detecting.check_alerts()
        write(listing, "w1", steady(40, 2))
        detecting.check_alerts()
        assert [alert.kind for alert in listing.alerts(worker_id="w1")] == ["degraded"]
        assert listing.alerts(worker_id="w2") == []
    finally:
        listing.close()
        detecting.close()


@pytest.mark.parametrize("backend_kind", ["sqlite-file", "postgres"], indirect=True)
def test_detection_goes_on_after_a_restart(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    first = open_store(backend_kind, tmp_path, request, alerts=AlertSettings())
    for _ in range(10):
        write(first, "w1", steady(20, 20))
    write(first, "w1", iter([False] * 2))  # half the evidence an alarm needs
    first.check_alerts()
    assert first.alerts() == []
    first.close()
    second = open_store(backend_kind, tmp_path, request, alerts=AlertSettings())
    try:
        write(second, "w1", iter([False] * 3))  # the rest: alone, too little
        second.check_alerts()
        assert [alert.kind for alert in second.alerts()] == ["degraded"]
    finally:
        second.close()


def _write_and_listen(target: str, number: int, log: str) -> None:
    heard: list[int] = []
    with FeedbackStorage(target, alerts=AlertSettings(poll=0.05)) as storage:
        storage.add_alert_listener(lambda alert: heard.append(alert.id))
        for _ in range(10):
            write(storage, "steady", steady(20, 20))
            write(storage, "flaky", steady(6, 2))
            write(storage, f"own-{number}", steady(5, 5))
    Path(log).write_text(json.dumps(heard))


@pytest.mark.parametrize("backend_kind", ["sqlite-file", "postgres"], indirect=True)
def test_several_writer_processes_raise_each_alert_once(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    storage = open_store(backend_kind, tmp_path, request, alerts=AlertSettings(poll=0.05))
    heard_here: list[int] = []
    storage.add_alert_listener(lambda alert: heard_here.append(alert.id))
    for _ in range(10):
        write(storage, "flaky", steady(20, 20))  # its history, before it turns flaky
    target = (
        str(tmp_path / "feedback.db")
        if backend_kind == "sqlite-file"
        else request.getfixturevalue("postgres_url")
    )
    context = multiprocessing.get_context("spawn")
    logs = [str(tmp_path / f"heard-{n}.json") for n in range(3)]
    writers = [
        context.Process(target=_write_and_listen, args=(target, n, logs[n])) for n in range(3)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [writer.exitcode for writer in writers] == [0, 0, 0]
    storage.check_alerts()
    raised = storage.alerts()
    storage.close()
    assert [(alert.worker_id, alert.kind) for alert in raised] == [("flaky", "degraded")]
    told = [alert_id for log in logs for alert_id in json.loads(Path(log).read_text())]
    assert told + heard_here == [raised[0].id]  # by one process, once


def test_bad_arguments_are_one_clear_error(storage: FeedbackStorage) -> None:
    with pytest.raises(FeedbackValidationError, match="limit"):
        storage.alerts(limit=0)
    with pytest.raises(FeedbackValidationError, match="since"):
        storage.alerts(since="yesterday")  # type: ignore[arg-type]
    with pytest.raises(FeedbackValidationError, match="false_alarm_every"):
        AlertSettings(false_alarm_every=1)
    with pytest.raises(FeedbackValidationError, match="task_types"):
        AlertSettings(task_types="build")  # type: ignore[arg-type]


def test_a_worker_failing_from_its_first_task_is_degraded_against_its_peers(
    alerting: FeedbackStorage,
) -> None:
    for _ in range(5):
        write(alerting, "w1", steady(20, 20))
        write(alerting, "w2", steady(20, 20))
    write(alerting, "new", iter([False] * 12))
    alerting.check_alerts()
    [alert] = alerting.alerts()
    assert (alert.worker_id, alert.kind) == ("new", "degraded")
    assert alert.before > 0.9 and alert.after == 0.0 and alert.outcomes <= 12


def test_a_process_leaves_the_reading_to_the_one_that_is_reading(tmp_path: Path) -> None:
    """Two detecting stores on one file: while one moves the position on, the other
    reads nothing (it would only redo the batch and throw it away); once the position
    stops moving it reads again."""
    first = FeedbackStorage(tmp_path / "f.db", alerts=AlertSettings())
    second = FeedbackStorage(tmp_path / "f.db", alerts=AlertSettings())
    try:
        assert not second._alerting._another_reads()  # first look
        write(first, "w1", steady(20, 20))
        first.check_alerts()
        assert second._alerting._another_reads()  # the first moved it
        assert not second._alerting._another_reads()  # not since: the second may read
        assert second.check_alerts() == []
        assert not first._alerting._another_reads()
    finally:
        second.close()
        first.close()
