"""Shared fixtures: the storage contract suite runs once per backend."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import pytest

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType

BACKENDS = ["sqlite-file", "sqlite-memory", "postgres"]
POSTGRES_URL = os.environ.get(
    "ORCHESTRATOR_FEEDBACK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
_postgres_problem: list[str] = []


def _postgres_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None (checked once per session)."""
    if not _postgres_problem:
        try:
            import psycopg

            with psycopg.connect(POSTGRES_URL, connect_timeout=3):
                _postgres_problem.append("")
        except Exception as error:
            _postgres_problem.append(f"{type(error).__name__}: {error}".strip())
    return _postgres_problem[0] or None


def skip_or_fail(message: str) -> NoReturn:
    """Skip a test that needs what this machine lacks (a service, root); under CI=true, where
    everything it needs is there, fail instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_postgres() -> None:
    """Skip (or, under CI=true, fail) when no PostgreSQL server answers."""
    problem = _postgres_unavailable()
    if problem is None:
        return
    message = (
        f"PostgreSQL at {POSTGRES_URL} is unreachable ({problem}); start one or point "
        "ORCHESTRATOR_FEEDBACK_TEST_POSTGRES at a server (trust auth) to run these tests"
    )
    skip_or_fail(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections work in a fresh schema of their own, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


def in_threads(work: Callable[[int], None], count: int) -> list[BaseException]:
    """Run ``work(0)`` to ``work(count - 1)`` on as many threads at once, wait for them all,
    and return what they raised."""
    errors: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            work(number)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def open_store(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, **options: Any
) -> FeedbackStorage:
    """Open a fresh store of the given kind."""
    if kind == "sqlite-file":
        return FeedbackStorage(tmp_path / "feedback.db", **options)
    if kind == "sqlite-memory":
        return FeedbackStorage(":memory:", **options)
    if kind == "postgres":
        return FeedbackStorage(request.getfixturevalue("postgres_url"), **options)
    raise AssertionError(kind)


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return str(request.param)


@pytest.fixture
def storage(
    backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[FeedbackStorage]:
    """A fresh, empty store on each backend."""
    store = open_store(backend_kind, tmp_path, request)
    yield store
    store.close()


@pytest.fixture
def param(backend_kind: str) -> str:
    """The backend's query placeholder: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "%s" if backend_kind == "postgres" else "?"


@pytest.fixture
def make_entry() -> Callable[..., FeedbackEntry]:
    """Build a valid entry; keyword arguments override the defaults."""

    def build(**overrides: Any) -> FeedbackEntry:
        fields: dict[str, Any] = {
            "task_id": "task-123",
            "feedback_type": FeedbackType.TASK_COMPLETION,
            "content": "Task completed successfully",
            "rating": 5,
            "user_id": "user-456",
            "metadata": {"worker_id": "worker-1", "execution_time": 45.3},
        }
        fields.update(overrides)
        return FeedbackEntry(**fields)

    return build


@pytest.fixture(autouse=True)
def _our_loggers_stay_enabled() -> None:
    """Celery's and Dask's logging setup disables loggers it did not create; undo that,
    so caplog sees what the library logs whatever ran before."""
    import logging

    logging.getLogger().setLevel(logging.WARNING)  # Celery's worker raises it to ERROR
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("orchestrator_feedback") and isinstance(logger, logging.Logger):
            logger.disabled = False
            logger.propagate = True


_CLUSTER_MODULES = {
    "test_celery.py",
    "test_celery_advice.py",
    "test_dask.py",
    "test_dask_advice.py",
}
_SLOW = {
    "test_killed_writers_lose_nothing_acknowledged",
    "test_a_mutated_import_file_is_all_or_nothing_with_a_located_error",
    "test_import_and_export_stream_in_bounded_memory",
    "test_processes_opening_a_new_file_at_once_never_see_locked",
    "test_invalid_values_are_refused_before_anything_is_written",
    "test_rows_decode_to_the_entry_they_encode",
    "test_the_fast_import_path_encodes_as_the_model_does",
    "test_new_entry_accepts_and_refuses_what_the_constructor_does",
    "test_background_entries_wait_out_a_full_disk_and_are_all_committed",
    "test_close_gives_up_after_its_timeout_and_says_how_many_remain",
    "test_sync_hook_calls_on_a_full_disk_say_what_was_not_stored",
    "test_four_writers_a_fifth_follows_each_entry_once_in_commit_order",
    "test_four_background_processes_store_all_forty_thousand",
    "test_a_slow_subscriber_never_delays_the_host",
    "test_generated_read_only_statements_never_change_anything",
    "test_generated_statements_with_write_never_leave_the_connection_changed",
    "test_idle_and_half_sent_connections_never_block_a_scrape",
    "test_any_sequence_of_writes_keeps_the_rollups_true",
    "test_the_report_fits_a_desktop_and_a_phone",
    "test_an_own_entry_the_follower_sees_first_counts_at_the_next_call",
    "test_outcome_totals_follow_the_rules",
    "test_a_long_tail_folds_in_steps_while_a_writer_keeps_writing",
    "test_piped_watch_prints_one_json_line_per_entry_and_exits_0_on_ctrl_c",
    "test_the_documented_plugin_test_fails_when_the_plugin_breaks",
    "test_forks_while_the_scores_follow_the_store_never_hang",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers by what a test needs, so `make test-fast` can leave them out: ``postgres``
    (a PostgreSQL server), ``cluster`` (real Celery workers or a Dask cluster), ``airflow``
    (Airflow's own virtual environment), ``browser`` (Chromium), ``slow`` (seconds each)."""
    for item in items:
        name = item.name.partition("[")[0]
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if (
            "postgres_url" in getattr(item, "fixturenames", ())
            or "postgres" in params.values()
            or item.path.name == "test_postgres.py"
        ):
            item.add_marker(pytest.mark.postgres)
        if item.path.name in _CLUSTER_MODULES:
            item.add_marker(pytest.mark.cluster)
        if item.path.name == "test_airflow_dag.py":
            item.add_marker(pytest.mark.airflow)
        if "chromium" in name:
            item.add_marker(pytest.mark.browser)
        if name in _SLOW:
            item.add_marker(pytest.mark.slow)


def built_decayed_sums(storage: FeedbackStorage, half_life: timedelta) -> None:
    """Ask ``storage`` with ``half_life`` and wait for the store to build its decayed sums
    (a thread does, the first time), then have its pages read again (a statement that may
    write does that), so that the next answer reads the sums."""
    touch = "UPDATE feedback_rollup_decay SET t_ref = t_ref"
    storage.execute_query(touch, read_only=False)  # the pages are read again: an ask builds
    storage.worker_scores(half_life=half_life)
    days = half_life / timedelta(days=1)
    for _ in range(600):
        rows = storage.execute_query(
            f"SELECT built_through FROM feedback_rollup_decay WHERE half_life = {days!r}"
        )
        if rows and str(rows[0][0]).startswith("9999"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the decayed sums of {half_life} were not built in 30 s")
    storage.execute_query(touch, read_only=False)
