"""``python -m benchmarks [--quick]``: run every benchmark and print ratios and medians."""

from __future__ import annotations

import platform
import sqlite3
import sys
import tempfile
from pathlib import Path

from benchmarks import (
    adapters,
    advice,
    airflow,
    alerts,
    background,
    cli,
    deletions,
    follow,
    metrics,
    plugins,
    postgres,
    postgres_triggers,
    privacy,
    report,
    rollups,
    startup,
    store,
)


def main() -> None:
    quick = "--quick" in sys.argv
    print(
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
        f"{'quick' if quick else 'full'} run; medians over interleaved rounds"
    )
    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as workdir:
        for suite in (
            store,
            rollups,
            advice,
            alerts,
            plugins,
            background,
            privacy,
            deletions,
            cli,
            startup,
            metrics,
            report,
            follow,
            postgres,
            postgres_triggers,
            adapters,
            airflow,
        ):
            for line in suite.run(Path(workdir), quick=quick):
                print(line, flush=True)


if __name__ == "__main__":
    main()
