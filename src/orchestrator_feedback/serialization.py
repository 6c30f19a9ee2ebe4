"""The one cattrs converter, and the encodings of the few types that need one.

``converter`` turns entries into JSON-ready dicts and back (``to_dict``/``from_dict``,
exports, imports) and structures the configuration. The storage backends encode rows
with the same per-type encoders defined here (timestamps, metadata), so a value has one
spelling per medium and it is written down once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import cattrs
import orjson
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from orchestrator_feedback.errors import (
    FeedbackValidationError,
    ForeignRowError,
    describe_value,
)
from orchestrator_feedback.models import (
    ENTRY_FIELDS,
    MAX_ID_LENGTH,
    TYPE_BY_VALUE,
    FeedbackEntry,
    FeedbackType,
    to_feedback_type,
    trusted_entry,
    use_dict_codec,
    validate_metadata,
)

__all__ = [
    "SQLITE_TIMESTAMP_LENGTH",
    "EncodedRow",
    "converter",
    "dump_metadata",
    "entries_from_rows",
    "entry_from_dict",
    "entry_from_row",
    "entry_to_dict",
    "entry_to_row",
    "entry_to_timed_row",
    "format_sqlite_timestamp",
    "parse_timestamp",
    "record_to_row",
    "structure_or_explain",
]

SQLITE_TIMESTAMP_LENGTH = len("YYYY-MM-DD HH:MM:SS.ffffff")


def parse_timestamp(value: Any) -> datetime:
    """Read a timestamp from a datetime or an ISO 8601 string; a naive one is UTC text."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FeedbackValidationError(
                "timestamp", value, "must be an ISO 8601 date and time"
            ) from None
    else:
        raise FeedbackValidationError("timestamp", value, "must be an ISO 8601 string or datetime")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_sqlite_timestamp(value: datetime) -> str:
    """Spell a datetime as SQLite stores it: ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat() without arguments is the fastest spelling; it drops ".000000".
    text = value.isoformat(" ")
    if value.microsecond:
        return text[:SQLITE_TIMESTAMP_LENGTH]
    return text[:19] + ".000000"


# orjson would write datetimes, dataclasses and str/int/dict subclasses its own way;
# refuse them instead, as the model does.
_STRICT_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dump_metadata(metadata: Mapping[str, Any]) -> str:
    """Encode metadata as compact JSON text, refusing anything that is not JSON.

    The entry validated its metadata when it was assigned. A nested value changed in
    place afterwards is not seen until here: a set, bytes, datetime or non-string key is
    refused with its key path; NaN cannot be told apart by orjson and is written as null.
    """
    if not metadata:
        return "{}"
    try:
        text = orjson.dumps(metadata, option=_STRICT_JSON)
    except TypeError:
        validate_metadata(metadata)
        raise
    if b"e+" in text:  # rare: a whole float of 17 digits or more, or a string holding "e+"
        text = orjson.dumps(_whole_floats_positional(metadata), option=_STRICT_JSON)
    return text.decode()


def _whole_floats_positional(value: Any) -> Any:
    """``value`` with each whole float that orjson would write in exponent form (``1e+16``)
    as positional JSON text with a point (``10000000000000000.0``): PostgreSQL's ``jsonb``
    keeps no exponent, so ``1e+16`` came back as the integer ``10000000000000000``, a
    different value, which named a worker there and nowhere else (``rules``)."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1e16:
            return orjson.Fragment(f"{int(value)}.0")
        return value
    if isinstance(value, dict):
        return {key: _whole_floats_positional(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_floats_positional(item) for item in value]
    return value


converter = cattrs.Converter(forbid_extra_keys=True)
"""The project's one converter: entries, exports and configuration go through it."""


_TYPE_HOOK_FIELD = "value"
"""The field a type's structure hook names: it cannot know where the value sits."""


def _strict(kind: type, accepted: tuple[type, ...], description: str) -> None:
    """Refuse values of other types, rather than cattrs' default of calling ``kind(value)``
    (which would turn 4.5 into 4 and "false" into True)."""

    def structure(value: Any, _type: Any) -> Any:
        if type(value) not in accepted:
            raise FeedbackValidationError(_TYPE_HOOK_FIELD, value, f"must be {description}")
        return value

    converter.register_structure_hook(kind, structure)


converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
converter.register_structure_hook(datetime, lambda value, _type: parse_timestamp(value))
converter.register_unstructure_hook(FeedbackType, lambda value: value.value)
converter.register_structure_hook(FeedbackType, lambda value, _type: to_feedback_type(value))
_strict(str, (str,), "a string")
_strict(int, (int,), "a whole number")
_strict(float, (int, float), "a number")
_strict(bool, (bool,), "true or false")
# Metadata is validated by FeedbackEntry itself; hand it over untouched.
converter.register_structure_hook_func(
    lambda cls: cls == dict[str, Any], lambda value, _type: value
)


def _first_error(error: BaseException, path: str = "") -> tuple[str, BaseException]:
    """Walk a cattrs error group down to its first leaf, building the key path."""
    if isinstance(error, ClassValidationError):
        with_notes, others = error.group_exceptions()
        if with_notes:
            inner, note = with_notes[0]
            return _first_error(inner, f"{path}.{note.name}" if path else note.name)
        return _first_error(others[0], path) if others else (path, error)
    if isinstance(error, IterableValidationError):
        indexed, others = error.group_exceptions()
        if indexed:
            inner, index_note = indexed[0]
            index = index_note.index
            step = f".{index}" if isinstance(index, str) else f"[{index}]"
            return _first_error(inner, f"{path}{step}")
        return _first_error(others[0], path) if others else (path, error)
    return path, error


def _at(data: Any, path: str) -> Any:
    """The value at a cattrs path (``retention.by_type``, ``plugins.enable[2]``) in ``data``,
    or ``data`` itself when the path cannot be followed."""
    value = data
    for part in path.replace("]", "").replace("[", ".").split(".") if path else []:
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return data
    return value


def structure_or_explain(data: Any, cls: type[Any], *, location: str | None = None) -> Any:
    """Structure ``data`` as ``cls``; any failure becomes a ``FeedbackValidationError``."""
    try:
        return converter.structure(data, cls)
    except FeedbackValidationError as error:
        if location and not error.location:
            raise FeedbackValidationError(
                error.field, error.value, error.rule, location=location
            ) from None
        raise
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as error:
        path, leaf = _first_error(error)
        if isinstance(leaf, FeedbackValidationError):
            if not path or leaf.field.startswith(path):
                field = leaf.field  # a hook that knows a deeper path (plugins.NAME) names it
            elif leaf.field in (_TYPE_HOOK_FIELD, path.rpartition(".")[2]):
                field = path  # a type's hook: cattrs' path names the value
            else:
                field = f"{path}.{leaf.field}"  # a nested class's validator names its field
            raise FeedbackValidationError(field, leaf.value, leaf.rule, location=location) from None
        if isinstance(leaf, ForbiddenExtraKeysError):
            names = ", ".join(sorted(leaf.extra_fields))
            field = f"{path}.{names}" if path else names
            raise FeedbackValidationError(
                field, names, "is not a known field", location=location
            ) from None
        if isinstance(leaf, KeyError):
            raise FeedbackValidationError(path, None, "is required", location=location) from None
        if isinstance(leaf, AttributeError | TypeError):
            # cattrs found a value of another kind (a number where a table belongs): say
            # that, not Python's "'int' object has no attribute 'items'".
            wanted = "a table (key = value pairs)" if "items" in str(leaf) else "another kind"
            raise FeedbackValidationError(
                path or cls.__name__, _at(data, path), f"must be {wanted}", location=location
            ) from None
        raise FeedbackValidationError(
            path or cls.__name__, data, str(leaf), location=location
        ) from None
    except TypeError as error:
        raise FeedbackValidationError(cls.__name__, data, str(error), location=location) from None


def entry_to_dict(entry: FeedbackEntry) -> dict[str, Any]:
    """Return ``entry`` as a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(entry)
    return result


def entry_from_dict(data: Mapping[str, Any], *, location: str | None = None) -> FeedbackEntry:
    """Build and validate an entry from a dict as ``entry_to_dict`` writes it."""
    if not isinstance(data, Mapping):
        raise FeedbackValidationError("entry", data, "must be a JSON object", location=location)
    entry: FeedbackEntry = structure_or_explain(data, FeedbackEntry, location=location)
    return entry


use_dict_codec(entry_to_dict, entry_from_dict)


EncodedRow = tuple[Any, ...]
"""An entry as backends receive it, in column order: type as its value, metadata as
JSON text, timestamps as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLite's own spelling)."""

_ISO_UTC_LENGTH = len("2026-01-01T00:00:00.000000+00:00")
_RECORD_KEYS = set(ENTRY_FIELDS)


def _iso_utc_to_row_timestamp(text: object) -> str | None:
    """``2026-01-01T00:00:00.000000+00:00`` as row text; None for any other spelling."""
    if type(text) is not str or len(text) != _ISO_UTC_LENGTH or not text.endswith("+00:00"):
        return None
    try:
        datetime.fromisoformat(text)  # refuses an impossible date such as February 30th
    except ValueError:
        return None
    return f"{text[:10]} {text[11:26]}"


def _short_id(value: object) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_ID_LENGTH


def record_to_row(record: Any, may_hold_escapes: bool) -> EncodedRow | None:
    """Encode a decoded JSON record exactly as ``to_dict`` writes it, or return None.

    The bulk import's fast path. It accepts only the canonical shape and returns None
    for anything else, and the caller then takes the full path (``entry_from_dict``),
    which accepts or explains it: so it never lets through what the model refuses. The
    record came from orjson, a strict parser: its strings hold no NUL and no lone
    surrogate unless the text had a ``\\u`` escape (``may_hold_escapes``), and its
    metadata is JSON already, so only types, lengths and timestamps are left to check.
    """
    if may_hold_escapes or type(record) is not dict or len(record) != len(_RECORD_KEYS):
        return None
    get = record.get
    entry_id, task_id, user_id = get("id"), get("task_id"), get("user_id")
    content, rating, metadata = get("content"), get("rating"), get("metadata")
    type_value = get("feedback_type")
    feedback_type = TYPE_BY_VALUE.get(type_value) if type(type_value) is str else None
    if (
        feedback_type is None
        or not _short_id(entry_id)
        or not _short_id(task_id)
        or (user_id is not None and not _short_id(user_id))
        or type(content) is not str
        or len(content) > FeedbackEntry.max_content_length
        or (rating is not None and (type(rating) is not int or not 1 <= rating <= 5))
        or type(metadata) is not dict
        or record.keys() != _RECORD_KEYS
    ):
        return None
    created_at = _iso_utc_to_row_timestamp(get("created_at"))
    updated_at = _iso_utc_to_row_timestamp(get("updated_at"))
    if created_at is None or updated_at is None:
        return None
    return (
        entry_id,
        task_id,
        feedback_type.value,
        content,
        rating,
        user_id,
        dump_metadata(metadata),
        created_at,
        updated_at,
    )


def _entry_row(entry: FeedbackEntry, created_at: Any, updated_at: Any) -> EncodedRow:
    return (
        entry.id,
        entry.task_id,
        entry.feedback_type.value,
        entry.content,
        entry.rating,
        entry.user_id,
        dump_metadata(entry.metadata),
        created_at,
        updated_at,
    )


def entry_to_timed_row(entry: FeedbackEntry) -> EncodedRow:
    """An entry as an ``EncodedRow`` whose two timestamps are still aware UTC datetimes
    (for writers that spell them later, in bulk: orjson, say)."""
    return _entry_row(entry, entry.created_at, entry.updated_at)


def entry_to_row(entry: FeedbackEntry) -> EncodedRow:
    """Encode an entry as an ``EncodedRow``."""
    # Hot path: written out rather than going through cattrs' generic tuple unstructuring.
    created_at = format_sqlite_timestamp(entry.created_at)
    updated_at = (
        created_at
        if entry.updated_at == entry.created_at
        else format_sqlite_timestamp(entry.updated_at)
    )
    return _entry_row(entry, created_at, updated_at)


def entries_from_rows(rows: list[EncodedRow]) -> list[FeedbackEntry]:
    """Decode rows read back from our own database, without validating them again.

    Everything in the table was validated on the way in and is guarded by its
    constraints; validating again on every read would cost more than the query itself.
    Each entry is a ``trusted_entry``, with the common timestamp spelling
    parsed inline: reads return rows by the page, so this loop is the hot path.
    """
    entries: list[FeedbackEntry] = []
    append = entries.append
    loads = orjson.loads
    from_iso = datetime.fromisoformat
    types = TYPE_BY_VALUE
    row: Any = None
    try:
        for row in rows:
            entry_id, task_id, type_value, content, rating, user_id, metadata, created, updated = (
                row
            )
            meta = loads(metadata) if metadata and metadata != "{}" else {}
            if type(meta) is not dict:
                raise TypeError("metadata is not a JSON object")
            entry = trusted_entry(
                {
                    "id": entry_id,
                    "task_id": task_id,
                    "feedback_type": types.get(type_value) or to_feedback_type(type_value),
                    "content": content,
                    "rating": rating,
                    "user_id": user_id,
                    "metadata": meta,
                    "created_at": from_iso(created + "+00:00")
                    if len(created) == SQLITE_TIMESTAMP_LENGTH
                    else parse_timestamp(created),
                    "updated_at": from_iso(updated + "+00:00")
                    if len(updated) == SQLITE_TIMESTAMP_LENGTH
                    else parse_timestamp(updated),
                }
            )
            append(entry)
    except (ValueError, TypeError) as error:
        # Only a row our own writes did not make (their rules would have refused it).
        raise ForeignRowError(f"id {describe_value(row[0] if row else None)}", str(error)) from None
    return entries


def entry_from_row(row: EncodedRow) -> FeedbackEntry:
    """Decode one ``EncodedRow`` read back from the database."""
    return entries_from_rows([row])[0]
