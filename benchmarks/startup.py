"""The command line's start-up: ``--version`` and a ``stats`` on a small store, each a new
process, against a bare ``python -c pass`` in the same run (medians over interleaved runs).
Targets: ``--version`` and ``--help`` within 150 ms of the bare interpreter, ``stats``
within 300 ms.

Bytecode caching is on for these runs (as in an installed package, whose ``.pyc`` files pip
writes): with ``PYTHONDONTWRITEBYTECODE`` set every run would compile every module again."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.store import make_entry
from orchestrator_feedback import FeedbackStorage


def _time(command: list[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def run(workdir: Path, *, quick: bool) -> list[str]:
    """Run the start-up benchmark; return the printable lines."""
    database = workdir / "startup.db"
    with FeedbackStorage(database) as storage:
        storage.create_many(make_entry() for _ in range(100))
    script = str(Path(sys.executable).with_name("orchestrator-feedback"))
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "version": [script, "--version"],
        "help": [script, "--help"],
        "stats": [script, "--database", str(database), "stats", "--format", "json"],
    }
    for command in commands.values():  # warm: the .pyc files written, the file cached
        _time(command, environment)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(5 if quick else 15):
        for name, command in commands.items():
            times[name].append(_time(command, environment))
    bare, version, help_, stats = (statistics.median(times[name]) for name in commands)
    lines = []
    for name, took, limit, against in (
        ("--version", version - bare, 0.150, "over a bare python"),
        ("--help", help_ - bare, 0.150, "over a bare python"),
        ("stats (100 entries)", stats, 0.300, "wall, start-up included"),
    ):
        verdict = "ok" if took <= limit else "OVER"
        lines.append(
            f"start-up: {name:<20} {took * 1000:6.0f} ms {against} (target <= "
            f"{limit * 1000:.0f} ms, {verdict}); bare python {bare * 1000:.0f} ms, medians of "
            f"{len(times['bare'])}"
        )
    return lines
