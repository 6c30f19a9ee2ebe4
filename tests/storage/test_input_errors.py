"""Bad import files, API values and hook arguments get one FeedbackError that names the
problem and where it is; nothing is imported or stored."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackError,
    FeedbackStorage,
    FeedbackValidationError,
    get_plugin_manager,
    hookimpl,
    open_storage,
)
from orchestrator_feedback.serialization import entry_to_dict

MakeEntry = Callable[..., FeedbackEntry]


def _record(make_entry: MakeEntry, **overrides: Any) -> dict[str, Any]:
    record = entry_to_dict(make_entry())
    record.update(overrides)
    return record


def _import_fails(storage: FeedbackStorage, path: Path, match: str, kind: str = "jsonl") -> None:
    with pytest.raises(FeedbackError, match=match):
        getattr(storage, f"import_{kind}")(path)
    assert storage.count() == 0


def test_a_file_that_is_not_utf8_names_where_it_stops(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    path = tmp_path / "latin1.jsonl"
    good = json.dumps(_record(make_entry)) + "\n"
    latin1 = json.dumps(_record(make_entry, content="é"), ensure_ascii=False).encode("latin-1")
    path.write_bytes(good.encode() + latin1 + b"\n")
    _import_fails(storage, path, r"line 2: .*(UTF-8|surrogate)")


def test_a_json_array_nested_ten_thousand_deep(storage: FeedbackStorage, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" + "[" * 10_000 + "]" * 10_000 + "]")
    _import_fails(storage, path, r"item 0 is not valid JSON: nested too deeply", "json")


@pytest.mark.parametrize("kind", ["jsonl", "json"])
def test_a_type_that_is_a_list(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry, kind: str
) -> None:
    record = _record(make_entry, feedback_type=[])
    path = tmp_path / f"bad.{kind}"
    path.write_text(json.dumps(record) + "\n" if kind == "jsonl" else json.dumps([record]))
    _import_fails(storage, path, r"(line 1|item 0).*feedback_type: must be a FeedbackType", kind)


def test_a_csv_round_trip_with_metadata_beyond_128_kib(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    entry = storage.create(make_entry(metadata={"log": "x" * 200_000}))
    path = tmp_path / "big.csv"
    storage.export_csv(path)
    with FeedbackStorage(tmp_path / "back.db") as back:
        assert back.import_csv(path) == 1
        assert back.get(entry.id) == entry


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda header, row: (header, row.replace(",5,", ",²,")), r"line 2.*rating"),
        (lambda header, row: (header, row.replace(",5,", ",٣,")), r"line 2.*rating"),
        (lambda header, row: ("\ufeff" + header, row), None),
        (lambda header, row: (header, row + ",extra"), r"line 2: more cells than the header"),
        (
            lambda header, row: (header + ",surplus", row + ",x"),
            r"line 1: unknown columns.*surplus",
        ),
        (lambda header, row: (header, row.rsplit(",", 1)[0]), r"line 2: fewer cells"),
    ],
)
def test_csv_files_that_are_almost_right(
    storage: FeedbackStorage,
    tmp_path: Path,
    make_entry: MakeEntry,
    change: Callable[[str, str], tuple[str, str]],
    problem: str | None,
) -> None:
    with FeedbackStorage(tmp_path / "s.db") as source:
        source.create(make_entry())
        source.export_csv(tmp_path / "good.csv")
    header, row = (tmp_path / "good.csv").read_text(encoding="utf-8").splitlines()[:2]
    header, row = change(header, row)
    path = tmp_path / "changed.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    if problem is None:
        assert storage.import_csv(path) == 1  # a byte-order mark is read, not refused
    else:
        _import_fails(storage, path, problem, "csv")


def test_a_line_longer_than_the_largest_record(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator_feedback.storage import file_formats as transfer

    monkeypatch.setattr(transfer, "MAX_RECORD_CHARACTERS", 10_000)
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(_record(make_entry, content="x" * 20_000)) + "\n")
    _import_fails(storage, path, r"line 1: longer than 10,000 characters")
    array = tmp_path / "long.json"
    array.write_text(json.dumps([_record(make_entry, metadata={"x": "y" * 50_000})]))
    _import_fails(storage, array, r"item 0 is longer than 10,000 characters", "json")


def test_a_json_array_with_one_large_item_imports_in_linear_time(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    """8 MB in one item: read with a growing buffer, parsed a few times (not 128 times)."""
    path = tmp_path / "large.json"
    path.write_text(json.dumps([_record(make_entry, metadata={"blob": "z" * 8_000_000})]))
    parses = 0
    original = json.JSONDecoder.raw_decode

    def counting(self: json.JSONDecoder, text: str, index: int = 0) -> Any:
        nonlocal parses
        parses += 1
        return original(self, text, index)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json.JSONDecoder, "raw_decode", counting)
        assert storage.import_json(path) == 1
    assert parses <= 12


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ("cyclic", "metadata.self"),
        ("deep", "metadata.a"),
        ("repr", "metadata.bad"),
        ("big", "metadata.n"),
    ],
)
def test_api_values_that_would_crash_later_are_refused_at_once(
    metadata: str, field: str, make_entry: MakeEntry
) -> None:
    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(10_000):
        level["a"] = {}
        level = level["a"]
    value = {"cyclic": cyclic, "deep": deep, "repr": {"bad": BadRepr()}, "big": {"n": 2**64}}
    with pytest.raises(FeedbackValidationError, match=rf"^{field}"):
        make_entry(metadata=value[metadata])


def test_a_datetime_that_falls_before_the_year_1_in_utc(make_entry: MakeEntry) -> None:
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(FeedbackValidationError, match="created_at: is out of range"):
        make_entry(created_at=early)


def test_api_ranges_are_checked(storage: FeedbackStorage) -> None:
    with pytest.raises(FeedbackValidationError, match="limit"):
        storage.get_filtered(limit=10**30)
    with pytest.raises(FeedbackValidationError, match="days"):
        storage.trends(days=9_999_999)
    with pytest.raises(FeedbackValidationError, match="older_than"):
        storage.purge(older_than=timedelta(days=999_999_999))


@pytest.fixture
def manager(tmp_path: Path) -> Any:
    pm = get_plugin_manager(FeedbackConfig(database=str(tmp_path / "h.db")), load_entrypoints=False)
    yield pm
    pm.close()


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"execution_time": "1.5"}, "execution_time"),
        ({"output_quality": 5}, "output_quality"),
    ],
)
def test_a_hook_argument_of_the_wrong_type_is_a_rejection_naming_it(
    manager: Any, caplog: pytest.LogCaptureFixture, arguments: dict[str, Any], named: str
) -> None:
    event = {
        "task_id": "t",
        "worker_id": "w",
        "success": True,
        "execution_time": 1.5,
        "output_quality": None,
        "metadata": {},
        **arguments,
    }
    manager.hook.task_completed(**event)
    assert manager.counters.rejected == 1
    assert manager.counters.subscriber_failures == 0
    (said,) = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert f"{named}: must be" in said


def test_a_prepare_plugin_that_breaks_the_entry_is_named(
    manager: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Breaks:
        @hookimpl
        def feedback_prepare(self, entry: FeedbackEntry) -> None:
            entry.metadata["tags"] = {"a", "b"}

    manager.register(Breaks(), name="breaks")
    manager.hook.task_completed(
        task_id="t",
        worker_id="w",
        success=True,
        execution_time=1.0,
        output_quality=None,
        metadata={},
    )
    assert manager.counters.rejected == 1 and manager.counters.subscriber_failures == 0
    assert any("plugin 'breaks'" in r.getMessage() for r in caplog.records)


def test_a_background_group_with_unstorable_entries_commits_the_rest_together(
    tmp_path: Path, make_entry: MakeEntry, caplog: pytest.LogCaptureFixture
) -> None:
    with FeedbackStorage(tmp_path / "bg.db", batch_window=0.5) as store:
        entries = [make_entry(task_id=f"t{n}") for n in range(3_000)]
        for n in (10, 500, 2_999):
            entries[n].metadata.update(tags={"set", "in", "place"})  # after validation
        for entry in entries:
            store.submit(entry)
        with pytest.raises(FeedbackError, match="3 background entries could not be stored"):
            store.flush(timeout=60)
        assert store.count() == 2_997
    assert not [r for r in caplog.records if "one by one" in r.getMessage()]


def test_a_backend_plugin_that_answers_with_a_string(tmp_path: Path) -> None:
    class Evil:
        @hookimpl
        def feedback_backend(self, url: str) -> object:
            return str(tmp_path / "evil.db")

    pm = get_plugin_manager(FeedbackConfig(enabled=False), load_entrypoints=False)
    pm.register(Evil())
    with pytest.raises(FeedbackError, match="not a StorageBackend"):
        open_storage("evil://x", pm)
    assert not (tmp_path / "evil.db").exists()


def test_a_refused_postgres_port_fails_at_once_with_its_reason(postgres_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(FeedbackError, match=r"\(127\.0\.0\.1:1\): .*refused"):
        FeedbackStorage("postgresql://postgres@127.0.0.1:1/test", timeout=30)
    assert time.monotonic() - started < 5


def test_a_postgres_restart_costs_no_read(postgres_url: str, make_entry: MakeEntry) -> None:
    """Every pooled connection broken at once (as by a restart): the read's one retry
    lands on a live connection, not on the next broken one."""
    import psycopg

    with FeedbackStorage(postgres_url, pool_size=4) as store:
        store.create(make_entry())
        held = [store.backend.acquire() for _ in range(4)]
        pids = [connection.info.backend_pid for connection in held]
        for connection in held:
            store.backend.release(connection)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.2)
        assert store.count() == 1


def test_a_lost_connection_during_an_import_says_nothing_was_stored(
    postgres_url: str, tmp_path: Path, make_entry: MakeEntry
) -> None:
    import psycopg

    path = tmp_path / "many.jsonl"
    with FeedbackStorage(tmp_path / "s.db") as source:
        source.create_many(make_entry(task_id=f"t{n}") for n in range(20_000))
        source.export_jsonl(path)
    with FeedbackStorage(postgres_url, pool_size=1) as store:
        pid = store.execute_query("SELECT pg_backend_pid()")[0][0]
        source_lines = list(path.read_text().splitlines(keepends=True))

        class Stream(io.StringIO):
            read_lines = 0

            def readline(self, size: int = -1) -> str:  # type: ignore[override]
                Stream.read_lines += 1
                if Stream.read_lines == 5_000:
                    with psycopg.connect(postgres_url, autocommit=True) as admin:
                        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                return super().readline(size)

        with pytest.raises(FeedbackError, match=r"lost the connection .* during the import"):
            store.import_jsonl(Stream("".join(source_lines)))
        assert store.count() == 0


def test_a_copy_whose_source_connection_dies_says_nothing_was_stored(
    postgres_url: str, make_entry: MakeEntry
) -> None:
    import psycopg

    from orchestrator_feedback.cli.transfer import _read_for_copy

    with FeedbackStorage(postgres_url, pool_size=1) as origin:
        origin.create_many(make_entry(task_id=f"t{n}") for n in range(10))
        connection = origin.backend.acquire()
        pid = connection.info.backend_pid
        origin.backend.release(connection)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.2)
        with pytest.raises(FeedbackError, match=r"reading .* failed during the copy"):
            list(_read_for_copy(origin, "the source", "the target"))
