"""PostgreSQL benchmarks against raw psycopg in the same run: create, create_many, and
import_jsonl against a raw COPY of the same rows. Skipped when no server answers."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from benchmarks.store import make_entry
from benchmarks.timing import compare, fmt
from orchestrator_feedback import FeedbackStorage
from orchestrator_feedback.serialization import entry_to_row
from orchestrator_feedback.storage.backends.base import COLUMNS
from orchestrator_feedback.storage.backends.postgres_rows import row_params as _row_params

URL = os.environ.get(
    "ORCHESTRATOR_FEEDBACK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
INSERT = (
    f"INSERT INTO feedback ({COLUMNS}) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s::jsonb, %s::timestamptz, %s::timestamptz)"
)


def plain_schema(url: str) -> None:
    """Our tables and indexes for the raw side, without the rollups' and the commit log's
    triggers: raw psycopg writes a plain table, so the ratios include what keeping the
    rollups and the log for ``follow`` costs us."""
    import psycopg

    FeedbackStorage(url).close()
    with psycopg.connect(url, autocommit=True) as connection:
        for trigger in ("insert", "update", "delete"):
            connection.execute(f"DROP TRIGGER feedback_rollup_{trigger} ON feedback")
        connection.execute("DROP TRIGGER feedback_follow_insert ON feedback")


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose connections work in a new schema, dropped afterwards."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def raw_params(count: int) -> list[tuple[object, ...]]:
    """The same data ``make_entry`` gives, as raw psycopg parameters."""
    return [_row_params(entry_to_row(make_entry())) for _ in range(count)]


def unavailable() -> str | None:
    """Why no PostgreSQL server answers at ``URL``; None when one does."""
    try:
        import psycopg

        psycopg.connect(URL, connect_timeout=3).close()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the PostgreSQL benchmarks; return the printable lines."""
    if (reason := unavailable()) is not None:
        return [f"postgres: skipped ({reason})"]
    import psycopg

    rounds = 3 if quick else 7
    lines = []
    with fresh_schema() as ours_url, fresh_schema() as raw_url:
        storage = FeedbackStorage(ours_url)
        plain_schema(raw_url)
        raw = psycopg.connect(raw_url)
        entries = iter([make_entry() for _ in range(rounds * 300 + 100)])
        params = iter(raw_params(rounds * 300 + 100))

        def raw_insert() -> None:
            raw.execute(INSERT, next(params))
            raw.commit()

        lines.append(
            compare(
                "postgres create (one entry, committed)",
                lambda: storage.create(next(entries)),
                raw_insert,
                calls=200,
                rounds=rounds,
                limit=1.3,
            ).line()
        )
        batches = iter([[make_entry() for _ in range(100)] for _ in range(rounds * 12 + 5)])
        raw_batches = iter([raw_params(100) for _ in range(rounds * 12 + 5)])

        def raw_many() -> None:
            with raw.cursor() as cursor:
                cursor.executemany(INSERT, next(raw_batches))
            raw.commit()

        lines.append(
            compare(
                "postgres create_many (100 entries)",
                lambda: storage.create_many(next(batches)),
                raw_many,
                calls=10,
                rounds=rounds,
                limit=1.5,
            ).line()
        )
        storage.close()
        raw.close()
    lines.append(_bench_import(workdir, 10_000 if quick else 100_000))
    return lines


def exported_entries(workdir: Path, count: int) -> Path:
    """A JSON lines file of ``count`` new benchmark entries, exported from a store of its
    own in a fresh folder (a workdir used before adds nothing to it)."""
    folder = Path(tempfile.mkdtemp(prefix="pg-import-", dir=workdir))
    dump = folder / "entries.jsonl"
    with FeedbackStorage(folder / "source.db") as source:
        source.create_many(make_entry() for _ in range(count))
        source.export_jsonl(dump)
    return dump


def _bench_import(workdir: Path, count: int) -> str:
    import psycopg

    dump = exported_entries(workdir, count)
    rows = raw_params(count)
    ours, raw = [], []
    for _ in range(3):
        with fresh_schema() as url, FeedbackStorage(url) as storage:
            start = time.perf_counter()
            storage.import_jsonl(dump)
            ours.append(count / (time.perf_counter() - start))
        with fresh_schema() as url:
            plain_schema(url)
            with psycopg.connect(url) as connection:
                start = time.perf_counter()
                with (
                    connection.cursor() as cursor,
                    cursor.copy(f"COPY feedback ({COLUMNS}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                connection.commit()
                raw.append(count / (time.perf_counter() - start))
    speed = statistics.median(ours) / statistics.median(raw)
    verdict = "ok" if speed >= 0.7 else "UNDER"
    return (
        f"{'postgres import_jsonl (' + format(count, ',') + ')':<44} "
        f"speed {speed:5.2f}x a raw COPY "
        f"(floor 0.7x, {verdict}); ours {statistics.median(ours):,.0f} entries/s "
        f"({fmt(count / statistics.median(ours))}), raw COPY {statistics.median(raw):,.0f} rows/s"
    )
