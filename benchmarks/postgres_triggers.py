"""What each of our PostgreSQL triggers costs a write: ``create`` and ``import_jsonl`` on
four stores that differ only in the triggers left on ``feedback`` (both, the rollups' only,
the commit log's only, neither), in interleaved rounds, beside a raw INSERT + commit into a
plain table. No limit: it says where the ``postgres`` rows' cost comes from
(docs/performance.md). Skipped when no server answers."""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.postgres import (
    INSERT,
    exported_entries,
    fresh_schema,
    plain_schema,
    raw_params,
    unavailable,
)
from benchmarks.store import make_entry
from orchestrator_feedback import FeedbackStorage

_ROLLUPS = "DROP TRIGGER feedback_rollup_insert ON feedback"
_COMMIT_LOG = "DROP TRIGGER feedback_follow_insert ON feedback"  # then no log row to number
VARIANTS: dict[str, tuple[str, ...]] = {
    "both (as shipped)": (),
    "the rollups' only": (_COMMIT_LOG,),
    "the commit log's only": (_ROLLUPS,),
    "neither": (_ROLLUPS, _COMMIT_LOG),
}
CALLS = 200


def _store(stack: ExitStack, dropped: tuple[str, ...]) -> tuple[str, FeedbackStorage]:
    import psycopg

    url = stack.enter_context(fresh_schema())
    storage = stack.enter_context(FeedbackStorage(url))
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in dropped:
            connection.execute(statement)
    return url, storage


def _creates(rounds: int) -> dict[str, list[float]]:
    import psycopg

    took: dict[str, list[float]] = {name: [] for name in (*VARIANTS, "raw INSERT + commit")}
    with ExitStack() as stack:
        stores = {name: _store(stack, dropped)[1] for name, dropped in VARIANTS.items()}
        raw_url = stack.enter_context(fresh_schema())
        plain_schema(raw_url)
        raw = stack.enter_context(psycopg.connect(raw_url))
        for _ in range(rounds):
            for name, storage in stores.items():
                entries = [make_entry() for _ in range(CALLS)]
                began = time.perf_counter()
                for entry in entries:
                    storage.create(entry)
                took[name].append((time.perf_counter() - began) / CALLS)
            params = raw_params(CALLS)
            began = time.perf_counter()
            for row in params:
                raw.execute(INSERT, row)
                raw.commit()
            took["raw INSERT + commit"].append((time.perf_counter() - began) / CALLS)
    return took


def _imports(workdir: Path, count: int, rounds: int) -> dict[str, list[float]]:
    dump = exported_entries(workdir, count)
    took: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, dropped in VARIANTS.items():
            with ExitStack() as stack:
                _url, storage = _store(stack, dropped)
                began = time.perf_counter()
                storage.import_jsonl(dump)
                took[name].append(time.perf_counter() - began)
    return took


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Both measurements; the printable lines."""
    if (reason := unavailable()) is not None:
        return [f"postgres triggers: skipped ({reason})"]
    rounds = 3 if quick else 9
    count = 10_000 if quick else 100_000
    creates = _creates(rounds)
    imports = _imports(workdir, count, 1 if quick else 3)
    lines = [f"postgres triggers: create ({rounds} rounds of {CALLS}), import_jsonl ({count:,})"]
    for name, times in creates.items():
        line = (
            f"  {name:<24} create {statistics.median(times) * 1e6:7.1f} µs "
            f"({min(times) * 1e6:.0f}-{max(times) * 1e6:.0f})"
        )
        if name in imports:
            loads = imports[name]
            line += (
                f"   import {statistics.median(loads):6.2f} s ({min(loads):.2f}-{max(loads):.2f})"
            )
        lines.append(line)
    return lines


if __name__ == "__main__":  # pragma: no cover
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as folder:
        for printed in run(Path(folder), quick="--quick" in sys.argv):
            print(printed)
