"""Properties: any valid entry round-trips exactly; any invalid one is refused unwritten."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackStorage,
    FeedbackType,
    FeedbackValidationError,
)

# Text any backend can store: no NUL, no lone surrogates.
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
identifier = text.filter(lambda value: 0 < len(value) <= 256)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | text
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
    ),
)
valid_entries = st.builds(
    FeedbackEntry,
    id=identifier,
    task_id=identifier,
    feedback_type=st.sampled_from(FeedbackType),
    content=text,
    rating=st.none() | st.integers(1, 5),
    user_id=st.none() | identifier,
    metadata=st.dictionaries(text, json_value, max_size=5),
    created_at=moments,
    updated_at=moments,
)


@pytest.fixture(scope="module")
def shared_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedbackStorage]:
    path: Path = tmp_path_factory.mktemp("properties") / "feedback.db"
    with FeedbackStorage(path) as storage:
        yield storage


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entry=valid_entries)
def test_any_valid_entry_round_trips(shared_storage: FeedbackStorage, entry: FeedbackEntry) -> None:
    shared_storage.delete(entry.id)
    shared_storage.create(entry)
    assert shared_storage.get(entry.id) == entry
    assert FeedbackEntry.from_dict(entry.to_dict()) == entry
    assert entry in shared_storage.get_by_task(entry.task_id)


bad_fields = st.one_of(
    st.tuples(st.just("rating"), st.integers().filter(lambda n: not 1 <= n <= 5)),
    st.tuples(st.just("rating"), st.floats() | st.booleans() | text),
    st.tuples(st.just("id"), st.just("") | st.text(min_size=257, max_size=400)),
    st.tuples(st.just("task_id"), st.integers() | st.none()),
    st.tuples(
        st.just("feedback_type"), text.filter(lambda v: v not in {t.value for t in FeedbackType})
    ),
    st.tuples(
        st.just("metadata"),
        st.lists(st.integers()) | st.sets(st.integers(), min_size=1).map(lambda s: {"k": s}),
    ),
    st.tuples(st.just("created_at"), text | st.integers()),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entry=valid_entries, bad=bad_fields)
def test_invalid_values_are_refused_before_anything_is_written(
    shared_storage: FeedbackStorage, entry: FeedbackEntry, bad: tuple[str, Any]
) -> None:
    field, value = bad
    before = shared_storage.count()
    data = {name: getattr(entry, name) for name in entry.to_dict()} | {field: value}
    with pytest.raises(FeedbackValidationError) as raised:
        shared_storage.create(FeedbackEntry(**data))
    assert str(raised.value).startswith(field)
    assert shared_storage.count() == before


# -- the fast paths equal the attrs model ---------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(entry=valid_entries)
def test_the_fast_import_path_encodes_as_the_model_does(entry: FeedbackEntry) -> None:
    """``record_to_row`` (the bulk import's fast path) gives the row the full path gives
    (``from_dict`` then ``entry_to_row``), or declines (None) and leaves it to that path."""
    import orjson

    from orchestrator_feedback.serialization import entry_to_row, record_to_row

    record = orjson.loads(orjson.dumps(entry.to_dict()))
    fast = record_to_row(record, may_hold_escapes=False)
    full = entry_to_row(FeedbackEntry.from_dict(record))
    if fast is not None:
        assert fast[:6] == full[:6] and fast[7:] == full[7:]
        assert orjson.loads(fast[6]) == orjson.loads(full[6])


@settings(max_examples=300, deadline=None)
@given(entry=valid_entries)
def test_rows_decode_to_the_entry_they_encode(entry: FeedbackEntry) -> None:
    """The trusted constructors behind reads (``entry_from_row``, ``entries_from_rows``)
    give back an entry equal to the one the model validated."""
    from orchestrator_feedback.serialization import entries_from_rows, entry_from_row, entry_to_row

    row = entry_to_row(entry)
    assert entry_from_row(row) == entry
    assert entries_from_rows([row]) == [entry]


@settings(max_examples=300, deadline=None)
@given(
    task_id=identifier,
    feedback_type=st.sampled_from(FeedbackType),
    content=text,
    rating=st.none() | st.integers(1, 5) | st.integers() | st.booleans(),
    user_id=st.none() | identifier | text,
    metadata=st.dictionaries(text, json_value, max_size=5),
)
def test_new_entry_accepts_and_refuses_what_the_constructor_does(**fields: Any) -> None:
    """``new_entry`` (the hooks' fast constructor) and ``FeedbackEntry`` agree on every
    input: both refuse it, or both build the same entry (but for id and timestamps)."""
    from orchestrator_feedback.models import new_entry

    outcomes = []
    for make in (FeedbackEntry, new_entry):
        try:
            outcomes.append(make(**fields))
        except FeedbackValidationError as error:
            outcomes.append(error.field)  # type: ignore[attr-defined]
    model, fast = outcomes
    if isinstance(model, FeedbackEntry):
        assert isinstance(fast, FeedbackEntry)
        for name in ("task_id", "feedback_type", "content", "rating", "user_id", "metadata"):
            assert getattr(fast, name) == getattr(model, name)
    else:
        assert fast == model
