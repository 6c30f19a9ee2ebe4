"""Import files mutated at random (bytes dropped, repeated, swapped, replaced; fields of the
wrong type): every import either stores the whole file or raises one FeedbackError that names
a line or item, and stores nothing. Never another exception.

A few hundred examples run in `make test`; `make fuzz` runs many more
(ORCHESTRATOR_FEEDBACK_FUZZ_EXAMPLES)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator_feedback import FeedbackEntry, FeedbackError, FeedbackStorage, FeedbackType

EXAMPLES = int(os.environ.get("ORCHESTRATOR_FEEDBACK_FUZZ_EXAMPLES", "300"))
LOCATION = re.compile(r"\b(line|item|after) ")
_FORMATS = ("jsonl", "json", "csv")


def _valid_file(tmp: Path, file_format: str) -> bytes:
    path = tmp / f"valid.{file_format}"
    if not path.exists():
        with FeedbackStorage(tmp / f"valid-{file_format}.db") as store:
            store.create_many(
                FeedbackEntry(
                    task_id=f"task-{n}",
                    feedback_type=FeedbackType.TASK_COMPLETION,
                    content=f"done {n} é ✓",
                    rating=1 + n % 5,
                    user_id=None if n % 2 else f"user-{n}",
                    metadata={"worker_id": f"w{n}", "execution_time": n / 3, "ok": n % 2 == 0},
                )
                for n in range(4)
            )
            getattr(store, f"export_{file_format}")(path)
    return path.read_bytes()


def _mutate(data: bytes, draw: Any) -> bytes:
    kind = draw(st.sampled_from(["drop", "repeat", "swap", "replace", "field"]))
    if kind == "field":
        text = data.decode()
        keys = ["rating", "content", "feedback_type", "metadata", "created_at", "id", "task_id"]
        key = draw(st.sampled_from(keys))
        wrong = draw(
            st.sampled_from(["[]", "{}", '"5"', "7", "-1", "1e400", "18446744073709551616", "null"])
        )
        return re.sub(rf'"{key}": ?("[^"]*"|[^,}}]*)', f'"{key}":{wrong}', text, count=1).encode()
    if not data:
        return data
    start = draw(st.integers(0, len(data) - 1))
    length = draw(st.integers(1, 8))
    piece = data[start : start + length]
    if kind == "drop":
        return data[:start] + data[start + length :]
    if kind == "repeat":
        return data[: start + length] + piece + data[start + length :]
    if kind == "swap":
        other = draw(st.integers(0, len(data) - 1))
        first, second = sorted((start, other))
        return (
            data[:first]
            + data[second : second + 1]
            + data[first + 1 : second]
            + data[first : first + 1]
            + data[second + 1 :]
        )
    replacement = draw(st.binary(min_size=1, max_size=length))
    return data[:start] + replacement + data[start + length :]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), file_format=st.sampled_from(_FORMATS))
def test_a_mutated_import_file_is_all_or_nothing_with_a_located_error(
    tmp_path: Path, data: st.DataObject, file_format: str
) -> None:
    original = _valid_file(tmp_path, file_format)
    mutated = _mutate(original, data.draw)
    path = tmp_path / f"mutated.{file_format}"
    path.write_bytes(mutated)
    database = tmp_path / "target.db"
    database.unlink(missing_ok=True)
    with FeedbackStorage(database) as store:
        try:
            written = getattr(store, f"import_{file_format}")(path)
        except FeedbackError as error:
            assert LOCATION.search(str(error)), str(error)
            assert store.count() == 0
        else:
            assert store.count() == written
            json.dumps([entry.to_dict() for entry in store.get_all()])  # all of it readable
