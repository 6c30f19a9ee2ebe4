"""The Airflow listener without Airflow: a bare ``pluggy.PluginManager("airflow")`` carrying
Airflow's task instance hookspecs (copied below, 3.x and 2.10 signatures), and fakes with
the attributes of Airflow's task instances."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pluggy
import pytest

from orchestrator_feedback import FeedbackConfig, FeedbackStorage, FeedbackType, get_plugin_manager
from orchestrator_feedback.adapters.airflow import FeedbackListener, task_key
from orchestrator_feedback.config import PluginsConfig

hookspec = pluggy.HookspecMarker("airflow")


class Airflow3Spec:
    """Airflow 3.x ``airflow/listeners/spec/taskinstance.py``."""

    @hookspec
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None: ...

    @hookspec
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None: ...

    @hookspec
    def on_task_instance_failed(
        self, previous_state: Any, task_instance: Any, error: BaseException | str | None
    ) -> None: ...


class Airflow210Spec:
    """Airflow 2.10's: the same, with the ORM ``session``."""

    @hookspec
    def on_task_instance_running(
        self, previous_state: Any, task_instance: Any, session: Any
    ) -> None: ...

    @hookspec
    def on_task_instance_success(
        self, previous_state: Any, task_instance: Any, session: Any
    ) -> None: ...

    @hookspec
    def on_task_instance_failed(
        self, previous_state: Any, task_instance: Any, error: Any, session: Any
    ) -> None: ...


@attrs.define
class FakeTaskInstance:
    """What the listener reads of a ``RuntimeTaskInstance`` (3.x) or ``TaskInstance``."""

    dag_id: str = "etl"
    task_id: str = "load"
    run_id: str = "manual__2026-12-01"
    map_index: int = -1
    try_number: int = 1
    hostname: str = "host-a"
    queue: str = "default"
    pool: str = "default_pool"
    state: str | None = "running"
    start_date: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    end_date: datetime | None = datetime(2026, 12, 1, 12, 0, 3, tzinfo=UTC)


def airflow_calling(source: Any, spec: type = Airflow3Spec) -> pluggy.PluginManager:
    """Airflow's own hook relay (a ``pluggy.PluginManager("airflow")`` with ``spec``) with
    our listener registered, built on ``source`` (a manager or a factory)."""
    airflow = pluggy.PluginManager("airflow")
    airflow.add_hookspecs(spec)
    airflow.register(FeedbackListener(source))
    return airflow


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[pluggy.PluginManager, FeedbackStorage, Path]]:
    database = tmp_path / "feedback.db"
    ours = get_plugin_manager(FeedbackConfig(database=str(database)))
    airflow = airflow_calling(ours)
    with FeedbackStorage(database) as reader:  # a connection of its own: what is committed
        yield airflow, reader, database
    ours.close()


def _stored(storage: FeedbackStorage) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e.feedback_type.value, e.task_id, e.metadata) for e in storage.get_all()]


def test_a_try_that_succeeds(store: Any) -> None:
    airflow, storage, _ = store
    ti = FakeTaskInstance()
    airflow.hook.on_task_instance_running(previous_state="queued", task_instance=ti)
    ti.state = "success"
    airflow.hook.on_task_instance_success(previous_state="running", task_instance=ti)
    entries = storage.get_all()
    assert [e.feedback_type for e in entries] == [
        FeedbackType.ALLOCATION_FEEDBACK,
        FeedbackType.TASK_COMPLETION,
    ]
    allocation, completion = entries
    assert allocation.task_id == completion.task_id == "etl/manual__2026-12-01/load"
    assert allocation.metadata["worker_id"] == "host-a"
    assert (
        allocation.metadata["queue"] == "default" and allocation.metadata["pool"] == "default_pool"
    )
    assert "queue default, pool default_pool" in allocation.content
    assert completion.metadata["task_type"] == "etl.load"
    assert completion.metadata["try_number"] == 1
    assert completion.metadata["execution_time"] == 3.0
    assert completion.metadata["success"] is True


def test_retry_then_success_is_one_failed_attempt_and_one_success(store: Any) -> None:
    airflow, storage, _ = store
    first = FakeTaskInstance(state="up_for_retry")
    airflow.hook.on_task_instance_failed(
        previous_state="running", task_instance=first, error=ValueError("first try fails")
    )
    second = FakeTaskInstance(try_number=2, state="success")
    airflow.hook.on_task_instance_success(previous_state="running", task_instance=second)
    failed, succeeded = storage.get_all()
    # recorded as Celery and Dask record a retried attempt
    assert failed.feedback_type is FeedbackType.ERROR_REPORT
    assert failed.metadata["will_retry"] is True and failed.metadata["attempt"] == 1
    assert failed.metadata["error_type"] == "ValueError"
    assert failed.metadata["error_message"] == "first try fails"
    assert succeeded.metadata["try_number"] == 2 and succeeded.metadata["success"] is True
    assert succeeded.metadata["attempt"] == 2
    # the worker's failed attempt counts in its scores
    (score,) = storage.worker_scores(task_type="etl.load")
    assert (score.successes, score.failures) == (1, 1)


def test_retry_then_final_failure_reports_the_last_try_only(store: Any) -> None:
    airflow, storage, _ = store
    airflow.hook.on_task_instance_failed(
        previous_state="running",
        task_instance=FakeTaskInstance(state="up_for_retry"),
        error=RuntimeError("always"),
    )
    airflow.hook.on_task_instance_failed(
        previous_state="running",
        task_instance=FakeTaskInstance(try_number=2, state="failed"),
        error=RuntimeError("always"),
    )
    retried, report = storage.get_by_type(FeedbackType.ERROR_REPORT)
    assert retried.metadata["attempt"] == 1 and retried.metadata["will_retry"] is True
    assert report.metadata["try_number"] == 2 and report.metadata["will_retry"] is False
    assert report.metadata["error_type"] == "RuntimeError"
    assert report.metadata["error_message"] == "always"
    assert len(storage.get_all()) == 2


def test_a_string_error_and_a_missing_one(store: Any) -> None:
    airflow, storage, _ = store
    airflow.hook.on_task_instance_failed(
        previous_state="running", task_instance=FakeTaskInstance(state="failed"), error="killed"
    )
    airflow.hook.on_task_instance_failed(
        previous_state="running",
        task_instance=FakeTaskInstance(task_id="other", state="failed"),
        error=None,
    )
    first, second = storage.get_by_type(FeedbackType.ERROR_REPORT)
    assert first.metadata["error_type"] == "AirflowTaskFailure"
    assert first.metadata["error_message"] == "killed"
    assert second.metadata["error_message"] == ""


def test_mapped_task_instances_are_told_apart(store: Any) -> None:
    airflow, storage, _ = store
    for index in range(3):
        ti = FakeTaskInstance(task_id="double", map_index=index, state="success")
        airflow.hook.on_task_instance_success(previous_state="running", task_instance=ti)
    ids = [entry.task_id for entry in storage.get_all()]
    assert ids == [f"etl/manual__2026-12-01/double/{n}" for n in range(3)]
    assert {entry.metadata["task_type"] for entry in storage.get_all()} == {"etl.double"}
    assert [entry.metadata["map_index"] for entry in storage.get_all()] == [0, 1, 2]


def test_airflow_2_10_hook_calls_with_a_session_work(tmp_path: Path) -> None:
    ours = get_plugin_manager(FeedbackConfig(database=str(tmp_path / "f.db")))
    airflow = airflow_calling(ours, Airflow210Spec)
    ti = FakeTaskInstance(state="success")
    airflow.hook.on_task_instance_running(previous_state=None, task_instance=ti, session=object())
    airflow.hook.on_task_instance_success(previous_state=None, task_instance=ti, session=object())
    airflow.hook.on_task_instance_failed(
        previous_state=None,
        task_instance=FakeTaskInstance(state="failed"),
        error=KeyError("x"),
        session=object(),
    )
    ours.close()
    with FeedbackStorage(tmp_path / "f.db") as reader:
        assert len(reader.get_all()) == 3


def test_disabled_by_our_configuration(tmp_path: Path) -> None:
    off = FeedbackConfig(database=str(tmp_path / "a.db"), enabled=False)
    disabled = FeedbackConfig(
        database=str(tmp_path / "b.db"), plugins=PluginsConfig(disable=("airflow",))
    )
    for name, config in (("a.db", off), ("b.db", disabled)):
        ours = get_plugin_manager(config)
        airflow = airflow_calling(ours)
        airflow.hook.on_task_instance_success(
            previous_state="running", task_instance=FakeTaskInstance()
        )
        ours.close()
        with FeedbackStorage(tmp_path / name) as reader:
            assert reader.count() == 0


def test_our_failure_never_fails_the_task(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Any:
        raise OSError("disk gone")

    airflow = airflow_calling(broken)
    with caplog.at_level(logging.ERROR):
        airflow.hook.on_task_instance_success(
            previous_state="running", task_instance=FakeTaskInstance()
        )
    assert "could not record task_completed for etl/manual__2026-12-01/load" in caplog.text


def test_entries_are_committed_before_the_hook_returns(tmp_path: Path) -> None:
    """Airflow may end the task's process right after: nothing may wait in a queue."""
    database = tmp_path / "f.db"
    config = FeedbackConfig(database=str(database), write_mode="background")
    ours = get_plugin_manager(config)
    airflow = airflow_calling(ours)
    airflow.hook.on_task_instance_success(
        previous_state="running", task_instance=FakeTaskInstance()
    )
    with FeedbackStorage(database) as other:  # another connection sees it committed
        assert other.count() == 1
    ours.close()


def test_task_key_is_stable_across_tries() -> None:
    assert task_key(FakeTaskInstance(try_number=1)) == task_key(FakeTaskInstance(try_number=3))
    assert task_key(FakeTaskInstance(map_index=0)) != task_key(FakeTaskInstance())
