"""The file formats of import and export (JSON Lines, JSON arrays, CSV): streaming readers
that name the line of a bad record, and writers; shared by every backend."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import orjson

from orchestrator_feedback.errors import DuplicateFeedbackError, ImportFormatError
from orchestrator_feedback.models import ENTRY_FIELDS, FeedbackEntry
from orchestrator_feedback.serialization import (
    EncodedRow,
    entry_from_dict,
    entry_to_dict,
    entry_to_row,
    record_to_row,
)
from orchestrator_feedback.storage.backends.base import OnConflict, StorageBackend

__all__ = [
    "JSONL",
    "JSON_ARRAY",
    "Located",
    "Reader",
    "batches_of_entries",
    "export_entries",
    "export_records",
    "insert_batch",
    "locate_id",
    "read_batches",
    "read_csv",
    "read_json_array",
    "read_jsonl",
]

BATCH_SIZE = 1000
MAX_RECORD_CHARACTERS = 32 * 1024 * 1024
"""The longest record an import reads: a JSON Lines line, a JSON array item or a CSV field,
in characters (32 MiB). Longer is refused with its line, so memory stays bounded."""
if csv.field_size_limit() < MAX_RECORD_CHARACTERS:
    # The csv module's own limit (128 KiB) is below what export_csv writes for large metadata.
    csv.field_size_limit(MAX_RECORD_CHARACTERS)
JSONL = "jsonl"
JSON_ARRAY = "json"
CSV = "csv"
CSV_COLUMNS = ENTRY_FIELDS
Source = str | os.PathLike[str] | IO[str]
Record = tuple[str, Any, bool]
"""``(location, decoded object, whether its text holds a \\u escape)``."""
Reader = Callable[[IO[str]], Iterator[Record]]
Located = tuple[EncodedRow, str]


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV
Injection"): exported cells that start so get a leading apostrophe."""


def escape_csv_cell(value: object) -> object:
    """A text cell as a spreadsheet shows it without running it: one starting with a
    formula character gets a leading ``'`` (OWASP's advice), and so does one that starts
    with ``'`` followed by such a character or another ``'``, so that ``unescape_csv_cell``
    gives every value back exactly."""
    if type(value) is not str or not value:
        return value
    if value.startswith(FORMULA_TRIGGERS) or (
        value[0] == "'"
        and value[1:2]
        and (value[1] == "'" or value[1:].startswith(FORMULA_TRIGGERS))
    ):
        return "'" + value
    return value


def unescape_csv_cell(value: str) -> str:
    """Undo ``escape_csv_cell``: drop the apostrophe it put before a formula character or
    another apostrophe; any other text is left as it is."""
    if value[:1] == "'" and (value[1:2] == "'" or value[1:].startswith(FORMULA_TRIGGERS)):
        return value[1:]
    return value


@contextmanager
def _opened(target: Source, mode: str) -> Iterator[IO[str]]:
    if isinstance(target, str | os.PathLike):
        # newline="": CSV cells may hold a bare CR, which must not be read as a line end.
        # utf-8-sig reads a file with a byte-order mark (as spreadsheets write it) too.
        # Reading, a byte that is not UTF-8 becomes a lone surrogate, which the record's
        # checks refuse naming its line and field (a decoding error would name neither).
        encoding, errors = ("utf-8", "strict") if "w" in mode else ("utf-8-sig", "surrogateescape")
        with open(target, mode, encoding=encoding, errors=errors, newline="") as handle:
            yield handle
    else:
        yield target


def export_records(records: Iterable[dict[str, Any]], dest: Source, file_format: str) -> int:
    """Write ready JSON records (``to_dict`` plus extras) as JSON Lines or a JSON array."""
    count = 0
    with _opened(dest, "w") as out:
        if file_format == JSONL:
            for record in records:
                out.write(orjson.dumps(record).decode() + "\n")
                count += 1
        else:
            out.write("[")
            for record in records:
                out.write(("\n" if count == 0 else ",\n") + orjson.dumps(record).decode())
                count += 1
            out.write("\n]\n" if count else "]\n")
    return count


def export_entries(entries: Iterable[FeedbackEntry], dest: Source, file_format: str) -> int:
    """Write entries as JSON Lines, a JSON array or CSV; return how many were written."""
    records = map(entry_to_dict, entries)
    if file_format != CSV:
        return export_records(records, dest, file_format)
    count = 0
    with _opened(dest, "w") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for record in records:
            record["metadata"] = orjson.dumps(record["metadata"]).decode()
            writer.writerow(
                ["" if record[c] is None else escape_csv_cell(record[c]) for c in CSV_COLUMNS]
            )
            count += 1
    return count


_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LARGEST_EXACT = 2.0**63
"""orjson reads an integer beyond 64 bits as a float: a float this large (or a number written
with 19 digits or more, in nested metadata) sends the text to the standard library's parser,
whose integers are exact, and to the full check, which refuses them naming the field."""


def _why(error: BaseException) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else str(error)


def _may_hold_a_big_integer(record: Any, text: str) -> bool:
    """Whether orjson may have turned an integer of the text into a float. Flat metadata
    (the common case) is looked at value by value; anything nested, in the text."""
    metadata = record.get("metadata") if type(record) is dict else None
    if type(metadata) is not dict:
        return _LONG_DIGITS.search(text) is not None
    for value in metadata.values():
        kind = type(value)
        if kind is float:
            if not -_LARGEST_EXACT < value < _LARGEST_EXACT:
                return True
        elif kind is dict or kind is list:
            return _LONG_DIGITS.search(text) is not None
    return False


def _decode(text: str) -> tuple[Any, bool]:
    """Decode JSON text; also say whether it must take the full check (a ``\\u`` escape,
    or a number too long for orjson to keep exact)."""
    record = orjson.loads(text)
    if not _may_hold_a_big_integer(record, text):
        return record, "\\u" in text
    return json.loads(text, parse_constant=_refuse_constant), True


def read_jsonl(source: IO[str]) -> Iterator[Record]:
    """Yield each non-blank line of a JSON Lines file, decoded, with its line number."""
    readline, loads, limit = source.readline, orjson.loads, MAX_RECORD_CHARACTERS
    number = 0
    while line := readline(limit + 1):
        number += 1
        if len(line) > limit:
            raise ImportFormatError(
                f"line {number}: longer than {limit:,} characters, the most a record may be"
            )
        if line.isspace():
            continue
        try:
            record = loads(line)
            if _may_hold_a_big_integer(record, line):
                record, needs_check = json.loads(line, parse_constant=_refuse_constant), True
            else:
                needs_check = "\\u" in line
        except (orjson.JSONDecodeError, ValueError, RecursionError) as error:
            raise ImportFormatError(f"line {number}: not valid JSON: {_why(error)}") from None
        yield f"line {number}", record, needs_check


def read_csv(source: IO[str]) -> Iterator[Record]:
    """Yield each row of a CSV file written by ``export_csv`` as a record, with its line."""
    reader = csv.DictReader(source)
    try:
        header = reader.fieldnames or ()
        missing = set(CSV_COLUMNS) - set(header)
        if missing:
            raise ImportFormatError(f"line 1: the CSV header lacks {', '.join(sorted(missing))}")
        unknown = [name for name in header if name not in CSV_COLUMNS]
        if unknown:
            raise ImportFormatError(f"line 1: unknown columns in the header: {', '.join(unknown)}")
        yield from _csv_records(reader)
    except csv.Error as error:
        raise ImportFormatError(f"line {reader.line_num}: not valid CSV: {error}") from None


def _csv_records(reader: csv.DictReader[str]) -> Iterator[Record]:
    for row in reader:
        location = f"line {reader.line_num}"
        record: dict[str, Any] = {
            column: unescape_csv_cell(text) if type(text := row.get(column)) is str else text
            for column in CSV_COLUMNS
        }
        if None in row:  # DictReader's key for cells beyond the header
            raise ImportFormatError(
                f"{location}: more cells than the header's {len(CSV_COLUMNS)} columns"
            )
        if None in row.values():
            raise ImportFormatError(
                f"{location}: fewer cells than the header's {len(CSV_COLUMNS)} columns"
            )
        rating = record["rating"]
        if rating in ("", None):
            record["rating"] = None
        elif rating.isascii() and rating.isdigit():  # not "²" or "٣"
            record["rating"] = int(rating)
        record["user_id"] = record["user_id"] or None
        metadata = record["metadata"] or "{}"
        try:
            record["metadata"], needs_check = _decode(metadata)
        except (orjson.JSONDecodeError, ValueError, RecursionError) as error:
            raise ImportFormatError(
                f"{location}: metadata is not valid JSON: {_why(error)}"
            ) from None
        # Text cells come from the csv module, not from orjson: a NUL, or a byte that was
        # not UTF-8, is checked in full.
        needs_check = needs_check or any(
            "\x00" in text or not text.isascii() for text in row.values() if text
        )
        yield location, record, needs_check


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def read_json_array(source: IO[str], chunk_size: int = 1 << 16) -> Iterator[Record]:
    """Yield each item of a JSON array file, decoded, reading it in chunks."""
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    buffer = ""
    position = 0
    line = 1
    index = 0
    exhausted = False

    def fill() -> bool:
        """Read on; at least as much as the unread part of the buffer, so that an item
        parsed again after each read is parsed O(log n) times, not O(n / chunk) times."""
        nonlocal buffer, position, exhausted
        unread = len(buffer) - position
        if unread > MAX_RECORD_CHARACTERS:
            raise ImportFormatError(
                f"line {line}: item {index} is longer than {MAX_RECORD_CHARACTERS:,} "
                "characters, the most a record may be"
            )
        chunk = "" if exhausted else source.read(max(chunk_size, unread))
        exhausted = exhausted or not chunk
        buffer = buffer[position:] + chunk
        position = 0
        return bool(chunk)

    def next_char() -> str:
        nonlocal position, line
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                line += buffer[position] == "\n"
                position += 1
            if position < len(buffer) or not fill():
                return buffer[position] if position < len(buffer) else ""

    if next_char() != "[":
        raise ImportFormatError(f"line {line}: a JSON array file must start with '['")
    position += 1
    expect_item = True
    while True:
        char = next_char()
        if char == "]" and (index == 0 or not expect_item):
            position += 1
            if next_char():
                raise ImportFormatError(f"line {line}: unexpected text after the array")
            return
        if char == "" or (not expect_item and char != ","):
            raise ImportFormatError(f"line {line}: expected ',' or ']' after item {index - 1}")
        if not expect_item:
            position += 1
            expect_item = True
            continue
        while True:
            try:
                item, end = decoder.raw_decode(buffer, position)
            except (json.JSONDecodeError, ValueError, RecursionError) as error:
                if not isinstance(error, RecursionError) and not exhausted and fill():
                    continue
                message = error.msg if isinstance(error, json.JSONDecodeError) else _why(error)
                raise ImportFormatError(
                    f"line {line}: item {index} is not valid JSON: {message}"
                ) from None
            if end == len(buffer) and not exhausted and fill():
                continue  # a number may go on in the next chunk
            break
        if end - position > MAX_RECORD_CHARACTERS:
            raise ImportFormatError(
                f"line {line}: item {index} is longer than {MAX_RECORD_CHARACTERS:,} "
                "characters, the most a record may be"
            )
        # The standard library's parser reads 1e400 as inf and keeps integers of any size:
        # every item takes the full check, which refuses both, naming the field.
        yield f"item {index} (line {line})", item, True
        line += buffer.count("\n", position, end)
        position = end
        index += 1
        expect_item = False


def _readable(records: Iterator[Record]) -> Iterator[Record]:
    """The records, with a file that is not UTF-8 text explained at the record it stops at."""
    location = "the start of the file"
    try:
        for record in records:
            location = record[0]
            yield record
    except UnicodeDecodeError as error:
        raise ImportFormatError(
            f"after {location}: the file is not UTF-8 text ({error.reason}: byte "
            f"{error.object[error.start : error.start + 1]!r}); save it as UTF-8"
        ) from None


def read_batches(src: Source, reader: Reader) -> Iterator[list[Located]]:
    """Validate records into encoded rows and yield them in batches, with their locations."""
    with _opened(src, "r") as handle:
        batch: list[Located] = []
        for location, record, has_escapes in _readable(reader(handle)):
            if type(record) is dict and "history" in record:
                # written by export --with-history: the versions are not imported
                record = {key: value for key, value in record.items() if key != "history"}
            row = record_to_row(record, has_escapes)
            if row is None:
                row = entry_to_row(entry_from_dict(record, location=location))
            batch.append((row, location))
            if len(batch) == BATCH_SIZE:
                yield batch
                batch = []
        if batch:
            yield batch


def batches_of_entries(entries: Iterable[FeedbackEntry]) -> Iterator[list[Located]]:
    """Encode entries into batches of rows, located by their position ("entry N")."""
    batch: list[Located] = []
    for number, entry in enumerate(entries):
        batch.append((entry_to_row(entry), f"entry {number}"))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def locate_id(src: Source, reader: Reader, feedback_id: str) -> str | None:
    """Where a clashing id stands in an import file: its second occurrence if the file
    repeats it, else its only one. None when the source cannot be read again."""
    if not isinstance(src, str | os.PathLike):
        return None
    found: list[str] = []
    with _opened(src, "r") as handle:
        for location, record, _escapes in reader(handle):
            if isinstance(record, dict) and record.get("id") == feedback_id:
                found.append(location)
                if len(found) == 2:
                    break
    return found[-1] if found else None


def insert_batch(
    backend: StorageBackend, connection: Any, batch: list[Located], policy: OnConflict
) -> int:
    """Insert one batch; a duplicate id is reported with the location of its record."""
    try:
        return backend.insert(connection, [row for row, _location in batch], policy)
    except DuplicateFeedbackError as error:
        location = None if error.position is None else batch[error.position][1]
        raise DuplicateFeedbackError(error.feedback_id, location=location) from None
