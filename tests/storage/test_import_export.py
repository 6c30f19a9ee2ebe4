"""JSON Lines and JSON array export/import: exact round trips, atomic failures, named lines."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator_feedback import (
    DuplicateFeedbackError,
    FeedbackEntry,
    FeedbackError,
    FeedbackStorage,
    FeedbackValidationError,
    ImportFormatError,
)

MakeEntry = Callable[..., FeedbackEntry]
FORMATS = [("jsonl", "export_jsonl", "import_jsonl"), ("json", "export_json", "import_json")]


@pytest.mark.parametrize(("suffix", "export", "load"), FORMATS)
def test_export_then_import_reproduces_every_entry(
    storage: FeedbackStorage,
    tmp_path: Path,
    make_entry: MakeEntry,
    suffix: str,
    export: str,
    load: str,
) -> None:
    entries = [
        make_entry(content="line\nbreak ' \" 🎉", metadata={"nested": {"a": [1, 2.5, None]}}),
        make_entry(rating=None, user_id=None, metadata={}, content=""),
        make_entry(content="\\u0000 is text here, not a NUL"),
    ]
    storage.create_many(entries)
    dump = tmp_path / f"dump.{suffix}"
    assert getattr(storage, export)(dump) == 3
    with FeedbackStorage(tmp_path / "copy.db") as copy:
        assert getattr(copy, load)(dump) == 3
        assert sorted(copy.get_all(), key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)


def test_export_takes_filters_and_file_objects(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    storage.create_many([make_entry(task_id="a"), make_entry(task_id="b")])
    out = io.StringIO()
    assert storage.export_jsonl(out, task_id="a") == 1
    assert json.loads(out.getvalue())["task_id"] == "a"
    array = io.StringIO()
    storage.export_json(array)
    assert len(json.loads(array.getvalue())) == 2
    empty = io.StringIO()
    assert storage.export_json(empty, task_id="none") == 0
    assert json.loads(empty.getvalue()) == []


def _jsonl(tmp_path: Path, records: list[object], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_a_bad_record_aborts_the_import_naming_line_and_field(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    kept = storage.create(make_entry())
    records: list[object] = [make_entry().to_dict() for _ in range(2500)]
    records[2100] = make_entry().to_dict() | {"rating": 7}
    with pytest.raises(FeedbackValidationError) as raised:
        storage.import_jsonl(_jsonl(tmp_path, records))
    assert str(raised.value).startswith("line 2101: rating")
    assert storage.get_all() == [kept]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"a": NaN}', "line 2: not valid JSON"),
        ("[1, 2]", "line 2: entry"),
        ('"just text"', "line 2: entry"),
    ],
)
def test_broken_lines_are_named(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry, line: str, fragment: str
) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(make_entry().to_dict()) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises((ImportFormatError, FeedbackValidationError), match=fragment):
        storage.import_jsonl(path)
    assert storage.count() == 0


def test_a_nul_in_imported_metadata_is_refused(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    record = make_entry().to_dict() | {"metadata": {"k": "a\u0000b"}}
    with pytest.raises(FeedbackValidationError, match=r"line 1: metadata\.k"):
        storage.import_jsonl(_jsonl(tmp_path, [record]))
    assert storage.count() == 0


def test_other_timestamp_spellings_are_accepted(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    entry = make_entry()
    record = entry.to_dict() | {
        "created_at": entry.created_at.astimezone().isoformat(),
        "updated_at": entry.updated_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    storage.import_jsonl(_jsonl(tmp_path, [record]))
    assert storage.get(entry.id) == entry


def test_duplicates_follow_on_conflict(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    existing = storage.create(make_entry(content="original"))
    fresh = make_entry()
    changed = make_entry(id=existing.id, content="changed")
    path = _jsonl(tmp_path, [fresh.to_dict(), changed.to_dict()])

    with pytest.raises(DuplicateFeedbackError, match=f"line 2: feedback with id '{existing.id}'"):
        storage.import_jsonl(path)
    assert storage.get_all() == [existing]

    assert storage.import_jsonl(path, on_conflict="skip") == 1
    assert storage.get(existing.id) == existing and storage.get(fresh.id) == fresh

    storage.import_jsonl(path, on_conflict="replace")
    assert storage.get(existing.id) == changed
    assert storage.count() == 2

    with pytest.raises(FeedbackValidationError, match="on_conflict"):
        storage.import_jsonl(path, on_conflict="merge")


def test_a_duplicate_inside_the_file_is_named(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    entry = make_entry()
    path = _jsonl(tmp_path, [entry.to_dict(), make_entry().to_dict(), entry.to_dict()])
    with pytest.raises(DuplicateFeedbackError, match="line 3"):
        storage.import_jsonl(path)
    assert storage.count() == 0


def test_a_failed_import_into_an_empty_store_keeps_its_indexes(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry, backend_kind: str
) -> None:
    index_query = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'feedback'"
        if backend_kind == "postgres"
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback'"
    )
    indexes = sorted(row[0] for row in storage.execute_query(index_query))
    records = [make_entry().to_dict() for _ in range(10)] + [{"bad": True}]
    with pytest.raises(FeedbackValidationError):
        storage.import_jsonl(_jsonl(tmp_path, records))
    assert sorted(row[0] for row in storage.execute_query(index_query)) == indexes
    storage.import_jsonl(_jsonl(tmp_path, records[:10], "good.jsonl"))
    assert sorted(row[0] for row in storage.execute_query(index_query)) == indexes
    assert "idx_task_type_rating" in indexes


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"a": 1}', "must start with"),
        ("[{}, ", "item 0 \\(line 1\\): task_id"),
        ("[{e} {e}]", "expected ','"),
        ("[{e}] trailing", "unexpected text"),
        ("[", "expected"),
    ],
)
def test_broken_json_arrays_are_named(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry, text: str, fragment: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text.replace("{e}", json.dumps(make_entry().to_dict())), encoding="utf-8")
    with pytest.raises((ImportFormatError, FeedbackValidationError), match=fragment):
        storage.import_json(path)
    assert storage.count() == 0


def test_json_array_items_are_located(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    records = [make_entry().to_dict() for _ in range(3)]
    records[2]["feedback_type"] = "praise"
    path = tmp_path / "items.json"
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    with pytest.raises(FeedbackValidationError, match=r"item 2 \(line \d+\): feedback_type"):
        storage.import_json(path)


def test_json_array_reading_crosses_chunk_boundaries(make_entry: MakeEntry) -> None:
    from orchestrator_feedback.storage.file_formats import read_json_array

    records = [make_entry(content="x" * n).to_dict() for n in range(0, 300, 7)]
    text = json.dumps(records) + "\n"
    decoded = [item for _where, item, _escapes in read_json_array(io.StringIO(text), chunk_size=13)]
    assert decoded == records


def test_import_and_export_stream_in_bounded_memory(tmp_path: Path, make_entry: MakeEntry) -> None:
    def peak_while(work: Callable[[], object]) -> int:
        tracemalloc.start()
        work()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    peaks = {}
    for count in (2_000, 20_000):
        with FeedbackStorage(tmp_path / f"source-{count}.db") as source:
            source.create_many(make_entry() for _ in range(count))
            dump = tmp_path / f"dump-{count}.jsonl"
            export_peak = peak_while(lambda: source.export_jsonl(dump))  # noqa: B023
        with FeedbackStorage(tmp_path / f"target-{count}.db") as target:
            import_peak = peak_while(lambda: target.import_jsonl(dump))  # noqa: B023
        peaks[count] = (export_peak, import_peak)
    # Ten times the entries must not need anywhere near ten times the memory.
    assert peaks[20_000][0] < 2 * peaks[2_000][0] + 1_000_000
    assert peaks[20_000][1] < 2 * peaks[2_000][1] + 1_000_000


def test_an_import_in_batches_commits_each_and_checks_the_whole_file_first(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    entries = [
        make_entry(task_id=f"task-{n}", metadata={"worker_id": f"w{n % 3}"}) for n in range(25)
    ]
    bad = make_entry().to_dict() | {"rating": 9}
    path = _jsonl(tmp_path, [*(e.to_dict() for e in entries), bad])
    # A bad record anywhere: nothing is written, as in one transaction.
    with pytest.raises(FeedbackValidationError, match="line 26: rating"):
        storage.import_jsonl(path, batch_size=10)
    assert storage.count() == 0

    path = _jsonl(tmp_path, [e.to_dict() for e in entries])
    assert storage.import_jsonl(path, batch_size=10) == 25
    assert sorted(storage.get_all(), key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)
    assert storage.verify_rollups() == []


def test_an_import_in_batches_stopped_by_a_stored_id_keeps_the_batches_before_it(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    stored = storage.create(make_entry(content="stored"))
    new = [make_entry(task_id=f"task-{n}") for n in range(2_500)]
    records = (
        [e.to_dict() for e in new[:2_100]] + [stored.to_dict()] + [e.to_dict() for e in new[2_100:]]
    )
    path = _jsonl(tmp_path, records)
    with pytest.raises(FeedbackError, match="entries before it were imported") as raised:
        storage.import_jsonl(path, batch_size=1_000)
    assert "already exists" in str(raised.value)
    kept = storage.count() - 1
    # Committed a reader's batch (1,000 records) at a time: the two before the clash stay.
    assert kept == 2_000 and "2,000 entries" in str(raised.value)
    assert storage.import_jsonl(path, on_conflict="skip", batch_size=1_000) == 500
    assert storage.count() == 2_501 and storage.verify_rollups() == []


def test_an_import_in_batches_needs_a_file_it_can_read_twice(
    storage: FeedbackStorage, make_entry: MakeEntry
) -> None:
    class Stream(io.StringIO):
        def seekable(self) -> bool:
            return False

    with pytest.raises(FeedbackValidationError, match="batch_size: needs a path or a seekable"):
        storage.import_jsonl(Stream(json.dumps(make_entry().to_dict())), batch_size=5)
    seekable = io.StringIO(json.dumps(make_entry().to_dict()) + "\n")
    assert storage.import_jsonl(seekable, batch_size=5) == 1
    with pytest.raises(FeedbackValidationError, match="batch_size: must be a whole number"):
        storage.import_jsonl(seekable, batch_size=0)
