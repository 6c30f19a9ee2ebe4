"""The data model: feedback entries, their types and the summary of many of them.

Every ``FeedbackEntry`` is validated when it is built and on every assignment, so an
invalid entry never exists and storage can trust what it is handed.
"""

from __future__ import annotations

import enum
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeAlias

import attrs

from orchestrator_feedback.errors import FeedbackValidationError

__all__ = [
    "ENTRY_FIELDS",
    "MAX_ID_LENGTH",
    "TYPE_BY_VALUE",
    "WORKER_RATING_TYPES",
    "FeedbackEntry",
    "FeedbackMetadata",
    "FeedbackType",
    "JSONValue",
    "new_entry",
    "trusted_entry",
]

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
FeedbackMetadata: TypeAlias = dict[str, Any]
"""The type of ``FeedbackEntry.metadata``: a JSON object (string keys, JSON values)."""

MAX_ID_LENGTH = 256
"""The longest ``id``, ``task_id`` or ``user_id`` accepted, in characters."""


class FeedbackType(enum.Enum):
    """What a piece of feedback is about. Stored as its string value."""

    TASK_COMPLETION = "task_completion"
    WORKER_PERFORMANCE = "worker_performance"
    TASK_QUALITY = "task_quality"
    DECOMPOSITION_EFFECTIVENESS = "decomposition_effectiveness"
    ERROR_REPORT = "error_report"
    GENERAL = "general"
    MANAGER_REVIEW = "manager_review"
    ALLOCATION_FEEDBACK = "allocation_feedback"


TYPE_BY_VALUE = {member.value: member for member in FeedbackType}
"""Each ``FeedbackType`` by its string value."""
_VALID_TYPES = ", ".join(TYPE_BY_VALUE)


WORKER_RATING_TYPES = frozenset(FeedbackType)
"""The types whose rating rates the worker the entry names unless a store is configured
otherwise (``[scores] rating_types``, ``docs/scores.md``): every type."""


def to_feedback_type(value: FeedbackType | str) -> FeedbackType:
    """Return ``value`` as a ``FeedbackType``, accepting a member or its string value."""
    if type(value) is FeedbackType:
        return value
    member = TYPE_BY_VALUE.get(value) if isinstance(value, str) else None
    if member is None:
        raise FeedbackValidationError(
            "feedback_type", value, f"must be a FeedbackType or one of: {_VALID_TYPES}"
        )
    return member


def to_utc(value: datetime, field: str = "timestamp") -> datetime:
    """Return ``value`` as an aware UTC datetime; a naive one is taken as local time."""
    if not isinstance(value, datetime):
        raise FeedbackValidationError(field, value, "must be a datetime")
    if value.tzinfo is UTC:
        return value
    # astimezone() reads a naive datetime as local time, which is what datetime.now() means.
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise FeedbackValidationError(
            field, value, "is out of range: in UTC it falls before the year 1 or after 9999"
        ) from None


def _utc_now() -> datetime:
    return datetime.now(UTC)


# A version 7 UUID (RFC 9562) spells a millisecond Unix time in its first 12 hex digits and
# random bits in the rest: "tttttttt-tttt-7rrr-Vrrr-rrrrrrrrrrrr". Ids made one after another
# sort by time, so each new row goes at the end of the primary-key index instead of onto a
# random page of it; with random (version 4) ids, SQLite rewrote most of that index's pages
# on every commit and stored half as many rows a second.
_TAIL_HEX_POSITIONS = [at for at in range(22) if at not in (0, 4, 9)]
_VARIANT_DIGIT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")
_spare_tails: list[str] = []
# A child process must not hand out random bits its parent already has in store.
os.register_at_fork(after_in_child=_spare_tails.clear)
_time_prefix: tuple[int, str] = (-1, "")


def _make_tails(count: int = 1024) -> None:
    """Add ``count`` random UUID tails ("7rrr-Vrrr-rrrrrrrrrrrr") to the spare ones.

    One read of ``os.urandom`` and strided byte copies, all in C: a fifth of a
    microsecond an id, against about three for ``str(uuid.uuid4())``.
    """
    hexed = os.urandom(10 * count).hex().encode()  # 19 hex digits used of 20
    spelled = bytearray(b"-" * (23 * count))  # 22 characters and a space per tail
    for digit, position in enumerate(_TAIL_HEX_POSITIONS):
        spelled[position::23] = hexed[digit::20]
    spelled[0::23] = b"7" * count  # the version
    spelled[5::23] = hexed[19::20].translate(_VARIANT_DIGIT)  # the variant: 8, 9, a or b
    spelled[22::23] = b" " * count
    _spare_tails.extend(spelled.decode().split())


def _new_id() -> str:
    """A new time-ordered (version 7) UUID string, made in bulk: this runs once per event
    in the orchestrator's hot path. ``list.pop`` is atomic, so threads never share random
    bits; two ids of the same millisecond differ in 74 random bits."""
    global _time_prefix
    milliseconds = time.time_ns() // 1_000_000
    prefix = _time_prefix
    if prefix[0] != milliseconds:
        prefix = _time_prefix = (
            milliseconds,
            f"{milliseconds >> 16 & 0xFFFFFFFF:08x}-{milliseconds & 0xFFFF:04x}-",
        )
    try:
        return prefix[1] + _spare_tails.pop()
    except IndexError:
        _make_tails()
        return prefix[1] + _spare_tails.pop()


def text_problem(value: str) -> str | None:
    """Return why ``value`` cannot be stored as text on every backend, or None if it can."""
    if "\x00" in value:
        return "must not contain a NUL character (PostgreSQL cannot store one)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def _check_text(field: str, value: str) -> None:
    # The common case (ASCII, no NUL) costs two C calls; only odd text takes the long way.
    if "\x00" in value or not value.isascii():
        problem = text_problem(value)
        if problem is not None:
            raise FeedbackValidationError(field, value, problem)


def check_identifier(field: str, value: object) -> None:
    """Raise unless ``value`` is a non-empty string of at most ``MAX_ID_LENGTH`` characters."""
    if type(value) is not str or not 0 < len(value) <= MAX_ID_LENGTH:
        if type(value) is not str:
            raise FeedbackValidationError(field, value, "must be a string")
        raise FeedbackValidationError(
            field, value, f"must be 1 to {MAX_ID_LENGTH} characters long, not {len(value)}"
        )
    if "\x00" in value or not value.isascii():
        _check_text(field, value)


def _validate_id(_entry: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    check_identifier(attribute.name, value)


def _validate_user_id(_entry: Any, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_identifier("user_id", value)


def _validate_content(entry: Any, _attribute: attrs.Attribute[Any], value: object) -> None:
    check_content(value)


def check_content(value: object) -> None:
    """Raise unless ``value`` is text within ``FeedbackEntry.max_content_length``."""
    if type(value) is not str:
        raise FeedbackValidationError("content", value, "must be a string")
    limit = FeedbackEntry.max_content_length
    if len(value) > limit:
        raise FeedbackValidationError(
            "content", value, f"must be at most {limit} characters, not {len(value)}"
        )
    _check_text("content", value)


def _validate_rating(_entry: Any, _attribute: attrs.Attribute[Any], value: object) -> None:
    check_rating(value)


def check_rating(value: object, field: str = "rating") -> None:
    """Raise unless ``value`` is None or an int from 1 to 5 (not a bool)."""
    if value is None:
        return
    # bool is an int subclass; True is not a rating.
    if type(value) is not int or not 1 <= value <= 5:
        raise FeedbackValidationError(field, value, "must be None or a whole number from 1 to 5")


_SMALLEST_INT = -(2**63)
_LARGEST_INT = 2**63 - 1
"""Integers in metadata fit in 64 bits: SQLite stores no larger, and orjson writes no larger."""


MAX_METADATA_DEPTH = 64
"""How deeply metadata may nest (lists and objects inside each other): deeper is refused,
and so is a value that contains itself."""


def find_json_problem(value: object, path: str, depth: int = 0) -> tuple[str, object, str] | None:
    """Return ``(path, value, problem)`` for the first non-JSON value inside ``value``."""
    kind = type(value)
    if depth > MAX_METADATA_DEPTH and (kind is dict or kind is list):
        return path, "...", f"nests more than {MAX_METADATA_DEPTH} deep (or contains itself)"
    if kind is str:
        if "\x00" not in value and value.isascii():  # type: ignore[operator,attr-defined]
            return None
        problem = text_problem(value)  # type: ignore[arg-type]
        return None if problem is None else (path, value, problem)
    if kind is bool or value is None:
        return None
    if kind is int:
        if _SMALLEST_INT <= value <= _LARGEST_INT:  # type: ignore[operator]
            return None
        return path, value, "must be a whole number within 64 bits (-2**63 to 2**63 - 1)"
    if kind is float:
        if math.isfinite(value):  # type: ignore[arg-type]
            return None
        return path, value, "must be a finite number (JSON has no NaN or Infinity)"
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                return f"{path}[{key!r}]", key, "keys must be strings"
            if "\x00" in key or not key.isascii():
                key_problem = text_problem(key)
                if key_problem is not None:
                    return f"{path}[{key!r}]", key, f"keys {key_problem}"
            found = find_json_problem(item, f"{path}.{key}", depth + 1)
            if found is not None:
                return found
        return None
    if kind is list:
        for index, item in enumerate(value):  # type: ignore[arg-type]
            found = find_json_problem(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    return (
        path,
        value,
        f"must be a JSON value (str, int, float, bool, None, list, dict), not {kind.__name__}",
    )


def _is_plain_json(value: dict[Any, Any] | list[Any], depth: int = 0) -> bool:
    """Whether the dict or list ``value`` is plainly JSON: string keys, and values that
    are ASCII text without NUL, finite numbers, booleans, None, or lists and dicts of
    those.

    The common case, checked in one loop without building key paths; anything else
    (non-ASCII text included) takes ``find_json_problem``'s careful way.
    """
    items: Iterable[Any] = value
    if type(value) is dict:
        for key in value:
            if type(key) is not str or not key.isascii() or "\x00" in key:
                return False
        items = value.values()
    for item in items:
        kind = type(item)
        if kind is str:
            if not item.isascii() or "\x00" in item:
                return False
        elif kind is float:
            if item - item != 0.0:  # NaN and the infinities
                return False
        elif kind is int:
            if not _SMALLEST_INT <= item <= _LARGEST_INT:
                return False
        elif kind is dict or kind is list:
            if depth >= MAX_METADATA_DEPTH or not _is_plain_json(item, depth + 1):
                return False
        elif kind is not bool and item is not None:
            return False
    return True


def validate_metadata(value: object) -> None:
    """Raise ``FeedbackValidationError`` unless ``value`` is a JSON object; name the bad path."""
    if type(value) is not dict:
        raise FeedbackValidationError("metadata", value, "must be a dict (a JSON object)")
    if _is_plain_json(value):
        return
    problem = find_json_problem(value, "metadata")
    if problem is not None:
        raise FeedbackValidationError(*problem)


def _validate_metadata(_entry: Any, _attribute: attrs.Attribute[Any], value: object) -> None:
    validate_metadata(value)


def _to_metadata(value: Mapping[str, Any] | None) -> FeedbackMetadata:
    if value is None:
        return {}
    if type(value) is not dict and isinstance(value, Mapping):
        return dict(value)
    return value  # type: ignore[return-value,unused-ignore]


def _created_at(value: datetime) -> datetime:
    return to_utc(value, "created_at")


def _updated_at(value: datetime) -> datetime:
    return to_utc(value, "updated_at")


# slots=False: entries read back from the database are built by filling __dict__ in one
# step (see trusted_entry), twice as fast as setting nine slots.
@attrs.define(kw_only=True, slots=False)
class FeedbackEntry:
    """One piece of feedback about a task, built by keyword.

    Every field is validated on construction and on assignment (``entry.rating = 6``
    raises ``FeedbackValidationError`` at once). Timestamps are normalised to aware UTC;
    a naive datetime is taken as local time.
    """

    max_content_length: ClassVar[int] = 65_536
    """The longest ``content`` accepted, in characters; assign to change it everywhere."""

    id: str = attrs.field(factory=_new_id, validator=_validate_id)
    task_id: str = attrs.field(validator=_validate_id)
    feedback_type: FeedbackType = attrs.field(converter=to_feedback_type)
    content: str = attrs.field(validator=_validate_content)
    rating: int | None = attrs.field(default=None, validator=_validate_rating)
    user_id: str | None = attrs.field(default=None, validator=_validate_user_id)
    metadata: FeedbackMetadata = attrs.field(
        factory=dict, converter=_to_metadata, validator=_validate_metadata
    )
    created_at: datetime = attrs.field(factory=_utc_now, converter=_created_at)
    updated_at: datetime = attrs.field(
        default=attrs.Factory(lambda self: self.created_at, takes_self=True),
        converter=_updated_at,
    )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (ISO 8601 timestamps, the type's string value)."""
        return _dict_codec.to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeedbackEntry:
        """Build an entry from what ``to_dict`` wrote, also after a JSON round trip."""
        return _dict_codec.from_dict(data)


class _DictCodec:
    """How entries become dicts and back: the cattrs converter of
    ``orchestrator_feedback.serialization``, which sits a floor above the models and hands
    its two functions down when it is imported (the package imports it first), so that
    the models never import it back."""

    def __init__(self) -> None:
        self.to_dict: Callable[[FeedbackEntry], dict[str, Any]] = _not_ready
        self.from_dict: Callable[[Mapping[str, Any]], FeedbackEntry] = _not_ready


def _not_ready(*_arguments: object) -> Any:
    raise RuntimeError("import orchestrator_feedback first: its converter is not loaded")


_dict_codec = _DictCodec()


def use_dict_codec(
    to_dict: Callable[[FeedbackEntry], dict[str, Any]],
    from_dict: Callable[[Mapping[str, Any]], FeedbackEntry],
) -> None:
    """Called once by ``orchestrator_feedback.serialization``: the functions behind
    ``FeedbackEntry.to_dict`` and ``from_dict``."""
    _dict_codec.to_dict = to_dict
    _dict_codec.from_dict = from_dict


ENTRY_FIELDS: tuple[str, ...] = tuple(field.name for field in attrs.fields(FeedbackEntry))
"""The names of ``FeedbackEntry``'s fields, in order: the columns of every table and export."""

_new_object = object.__new__
_set_field = object.__setattr__


def trusted_entry(fields: dict[str, Any]) -> FeedbackEntry:
    """An entry from fields already known to be valid, by name, without checking them
    again: its ``__dict__`` is filled in one step (events' entries on the host's hot path,
    rows read back from our own database)."""
    entry: FeedbackEntry = _new_object(FeedbackEntry)
    _set_field(entry, "__dict__", fields)
    return entry


def new_entry(
    *,
    task_id: str,
    feedback_type: FeedbackType | str,
    content: str,
    rating: int | None = None,
    user_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> FeedbackEntry:
    """A new entry (a fresh id, created now), as ``FeedbackEntry(...)`` builds it.

    The same checks, in one call instead of one attrs validator call per field: this
    builds the entry of every orchestrator event, on the host's hot path.
    """
    # In the constructor's order (attrs: the converters as fields are set, then the
    # validators in field order), so that both name the same field of a bad event.
    kind = to_feedback_type(feedback_type)
    checked_metadata = _to_metadata(metadata)
    check_identifier("task_id", task_id)
    check_content(content)
    check_rating(rating)
    if user_id is not None:
        check_identifier("user_id", user_id)
    validate_metadata(checked_metadata)
    now = datetime.now(UTC)
    return trusted_entry(
        {
            "id": _new_id(),
            "task_id": task_id,
            "feedback_type": kind,
            "content": content,
            "rating": rating,
            "user_id": user_id,
            "metadata": checked_metadata,
            "created_at": now,
            "updated_at": now,
        }
    )
