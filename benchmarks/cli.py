"""The command line's benchmarks: export and import of JSON Lines through the commands
(progress bars drawn) against the store's own export_jsonl / import_jsonl."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from click.testing import CliRunner

from benchmarks.store import make_entry
from benchmarks.timing import fmt
from orchestrator_feedback import FeedbackStorage
from orchestrator_feedback.cli import cli


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _line(name: str, ours: list[float], store: list[float], count: int) -> str:
    speed = statistics.median(store) / statistics.median(ours)
    verdict = "ok" if speed >= 0.7 else "UNDER"
    spread = [s / o for o, s in zip(ours, store, strict=True)]
    return (
        f"{name:<44} speed {speed:5.2f}x the store's (floor 0.7x, {verdict}; rounds "
        f"{min(spread):.2f}-{max(spread):.2f})  command {fmt(statistics.median(ours))}  "
        f"store {fmt(statistics.median(store))}  ({count:,} entries)"
    )


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the command-line benchmarks; return the printable lines."""
    count = 10_000 if quick else 100_000
    source = workdir / "cli-source.db"
    with FeedbackStorage(source) as storage:
        storage.create_many(make_entry() for _ in range(count))
    os.environ["TTY_COMPATIBLE"] = "1"  # rich draws the bars as on a terminal
    runner = CliRunner()
    dump = workdir / "cli.jsonl"
    exports: tuple[list[float], list[float]] = ([], [])
    imports: tuple[list[float], list[float]] = ([], [])
    for round_number in range(3):
        start = time.perf_counter()
        result = runner.invoke(cli, ["--database", str(source), "export", "-o", str(dump)])
        exports[0].append(time.perf_counter() - start)
        assert result.exit_code == 0, result.output
        with FeedbackStorage(source) as storage:
            start = time.perf_counter()
            storage.export_jsonl(workdir / "store.jsonl")
            exports[1].append(time.perf_counter() - start)
        target = workdir / f"cli-import-{round_number}.db"
        start = time.perf_counter()
        result = runner.invoke(cli, ["--database", str(target), "import", str(dump)])
        imports[0].append(time.perf_counter() - start)
        assert result.exit_code == 0, result.output
        _remove(target)
        with FeedbackStorage(target) as storage:
            start = time.perf_counter()
            storage.import_jsonl(dump)
            imports[1].append(time.perf_counter() - start)
        _remove(target)
    del os.environ["TTY_COMPATIBLE"]
    return [
        _line("cli export (jsonl)", *exports, count),
        _line("cli import (jsonl)", *imports, count),
    ]
