"""``make bench-peers``: what a user comparing us with MLflow 3's assessments and Dagster's
event log measures, on this machine, as they would.

    python -m benchmarks.peers --peers-python .venv-peers/bin/python [--rounds 42]

Each system runs in a process of its own (``worker.py``), all pinned to one CPU, driven in
interleaved rounds (ours, MLflow, Dagster, raw sqlite3 at each durability, then again):
per round each writes 20 items one by one, each committed, then reads the 10 items of 20
tasks (runs, traces) from a store of 100,000 made beforehand. The figures are medians of
every call, with the spread of the round medians; then the installed size (the package and
what it requires), the import time (a fresh interpreter, median of 5, less an empty one's)
and the first use (a new store, one item written; median of 3 fresh processes).
Not part of ``make test``: it installs 250 MB of other projects.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")
CALLS = 20
PEERS = ("mlflow", "dagster")
RAWS = ("raw", "raw-wal-full", "raw-delete-full")
LABELS = {
    "ours": "ours",
    "mlflow": "MLflow",
    "dagster": "Dagster",
    "raw": "raw sqlite3 (WAL, NORMAL)",
    "raw-wal-full": "raw sqlite3 (WAL, FULL)",
    "raw-delete-full": "raw sqlite3 (DELETE, FULL)",
}
DISTRIBUTIONS = {"ours": "orchestrator-feedback", "mlflow": "mlflow-skinny", "dagster": "dagster"}
IMPORTS = {"ours": "orchestrator_feedback", "mlflow": "mlflow", "dagster": "dagster"}


class Worker:
    """One system's process."""

    def __init__(self, python: str, system: str, folder: Path, size: int, cpu: int) -> None:
        environment = {**os.environ, "PEERS_CPU": str(cpu), "PYTHONWARNINGS": "ignore"}
        self.process = subprocess.Popen(
            [python, str(WORKER), "serve", system, str(folder / system), str(size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=environment,
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        if ready.strip() != "ready":
            raise SystemExit(f"{system} did not start (see its output by running worker.py)")

    def ask(self, command: str) -> list[float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: list[float] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.flush()
        self.process.wait(60)


def _median_runs(command: list[str], times: int, environment: dict[str, str]) -> float:
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def _micro(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers")
    parser.add_argument("--peers-python", default=".venv-peers/bin/python")
    parser.add_argument("--rounds", type=int, default=42)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--cpu", type=int, default=1, help="the CPU every process runs on")
    arguments = parser.parse_args()
    ours_python = sys.executable
    pythons = {name: ours_python for name in ("ours", *RAWS)}
    pythons.update({name: arguments.peers_python for name in PEERS})
    systems = ["ours", *PEERS, *RAWS]
    environment = {**os.environ, "PEERS_CPU": str(arguments.cpu), "PYTHONWARNINGS": "ignore"}

    with tempfile.TemporaryDirectory(prefix="feedback-peers-") as workdir:
        folder = Path(workdir)
        print(f"building stores of {arguments.size:,} items ...", file=sys.stderr, flush=True)
        workers = {
            name: Worker(pythons[name], name, folder, arguments.size, arguments.cpu)
            for name in systems
        }
        writes: dict[str, list[list[float]]] = {name: [] for name in systems}
        reads: dict[str, list[list[float]]] = {name: [] for name in systems}
        for round_number in range(arguments.rounds):
            print(f"round {round_number + 1}/{arguments.rounds}", file=sys.stderr, flush=True)
            for name in systems:
                writes[name].append(workers[name].ask(f"write {CALLS}"))
            for name in systems:
                reads[name].append(workers[name].ask(f"read {CALLS}"))
        for worker in workers.values():
            worker.close()

        sizes = {
            name: int(
                subprocess.run(
                    [pythons[name], str(WORKER), "size", distribution],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for name, distribution in DISTRIBUTIONS.items()
        }
        imports = {}
        for name, module in IMPORTS.items():
            empty = _median_runs([pythons[name], "-c", "pass"], 5, environment)
            full = _median_runs([pythons[name], "-c", f"import {module}"], 5, environment)
            imports[name] = full - empty
        firsts = {}
        for name in ("ours", *PEERS):
            samples = []
            for attempt in range(3):
                output = subprocess.run(
                    [
                        pythons[name],
                        str(WORKER),
                        "first",
                        name,
                        str(folder / f"first-{name}-{attempt}"),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    env=environment,
                ).stdout
                samples.append(float(output.strip().splitlines()[-1]))
            firsts[name] = statistics.median(samples)

    def figures(results: dict[str, list[list[float]]], name: str) -> tuple[float, str]:
        every = [call for round_calls in results[name] for call in round_calls]
        rounds = [statistics.median(round_calls) for round_calls in results[name]]
        return statistics.median(every), f"{_micro(min(rounds))}-{_micro(max(rounds))}"

    print(
        f"\nmedians of {arguments.rounds} interleaved rounds x {CALLS} calls, every process "
        f"on CPU {arguments.cpu}; spread: the lowest and highest round median\n"
    )
    header = "| operation | " + " | ".join(LABELS[name] for name in systems) + " |"
    print(header)
    print("|" + "---|" * (len(systems) + 1))
    for title, results in (
        ("write one item, committed", writes),
        (f"read the 10 items of one task, store of {arguments.size:,}", reads),
    ):
        ours_median = figures(results, "ours")[0]
        raw_median = figures(results, "raw")[0]
        cells = []
        for name in systems:
            median, spread = figures(results, name)
            ratio = "" if name == "ours" else f" ({median / ours_median:.1f}x ours)"
            raw = "" if name.startswith("raw") else f", {median / raw_median:.2f}x raw"
            cells.append(f"{_micro(median)}{ratio}{raw}; {spread}")
        print(f"| {title} | " + " | ".join(cells) + " |")
    blank = " | ".join("" for _ in RAWS)
    print(
        "| installed size (with requirements) | "
        + " | ".join(f"{sizes[name] / 1e6:.0f} MB" for name in ("ours", *PEERS))
        + f" | {blank} |"
    )
    print(
        "| import time | "
        + " | ".join(f"{imports[name] * 1e3:,.0f} ms" for name in ("ours", *PEERS))
        + f" | {blank} |"
    )
    print(
        "| first use (open a new store, write once) | "
        + " | ".join(f"{firsts[name] * 1e3:,.1f} ms" for name in ("ours", *PEERS))
        + f" | {blank} |"
    )


if __name__ == "__main__":
    main()
