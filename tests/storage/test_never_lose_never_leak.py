"""The faults a hostile campaign found: acknowledged data lost, privacy promises broken,
read-only SQL that wrote (issue "Never lose, never leak"). Each test failed before its fix."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from orchestrator_feedback import FeedbackEntry, FeedbackStorage

MakeEntry = Callable[..., FeedbackEntry]

FORMULAS = [
    '=HYPERLINK("http://example.invalid","click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "=cmd|' /C calc'!A0",
    "\tTAB",
    "\rCR",
    "'=already quoted",
    "''two",
    "'plain apostrophe",
]


# -- item 16: CSV export escapes spreadsheet formulas ------------------------------------


def test_csv_export_escapes_formula_cells_and_import_restores_them(
    storage: FeedbackStorage, tmp_path: Path, make_entry: MakeEntry
) -> None:
    entries = [
        make_entry(content=text, task_id=text, user_id=text, metadata={"k": text})
        for text in FORMULAS
    ]
    storage.create_many(entries)
    dump = tmp_path / "dump.csv"
    storage.export_csv(dump)

    with dump.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in ("content", "task_id", "user_id"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row[column]
    by_id = {row["id"]: row for row in rows}
    first = by_id[entries[0].id]
    assert first["content"] == "'" + FORMULAS[0]
    assert by_id[entries[-1].id]["content"] == "'plain apostrophe"  # nothing to escape

    with FeedbackStorage(tmp_path / "restored.db") as restored:
        assert restored.import_csv(dump) == len(entries)
        for entry in entries:
            back = restored.get(entry.id)
            assert back is not None
            assert (back.content, back.task_id, back.user_id) == (
                entry.content,
                entry.task_id,
                entry.user_id,
            )
            assert back.metadata == entry.metadata
