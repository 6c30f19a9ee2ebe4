"""``python -m benchmarks.cluster`` (``make bench-cluster``): default advice against the
orchestrator's own placement on real Celery workers (the local RabbitMQ) and a real Dask
cluster, three seeds per scenario; medians, ranges and the targets of docs/performance.md.

Goodput is successes per second of makespan (first send to last result); a ratio is
advice's median over the orchestrator's median, in the same run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks import cluster_celery, cluster_dask

Results = dict[str, dict[str, list[dict[str, float]]]]


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _spread(runs: list[dict[str, float]], key: str, digits: int = 2) -> str:
    values = [run[key] for run in runs]
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def _goodput(run: dict[str, float]) -> float:
    return run["successes"] / run["makespan"]


def _verdicts(label: str, ours: list[dict[str, float]], theirs: list[dict[str, float]]) -> str:
    """The targets that apply to ``label``, each ``ok`` or ``MISSED``."""
    goodput = statistics.median(map(_goodput, ours)) / statistics.median(map(_goodput, theirs))
    makespan = _median(ours, "makespan") / _median(theirs, "makespan")
    failed = _median(ours, "failed")
    their_failed = _median(theirs, "failed")
    checks = [(f"goodput {goodput:.2f}x >= 0.95x", goodput >= 0.95)]
    if "flaky, streamed" in label:
        checks.append((f"goodput {goodput:.2f}x >= 1.15x", goodput >= 1.15))
    if "sent at once" in label:
        sending = _median(ours, "sending") / _median(theirs, "sending")
        checks += [
            (f"goodput {goodput:.2f}x >= 1.0x", goodput >= 1.0),
            (f"failed {failed:.0f} <= {their_failed:.0f}", failed <= their_failed),
            (f"sending {sending:.2f}x <= 1.2x", sending <= 1.2),
        ]
    if label.startswith("slow"):
        checks.append((f"makespan {makespan:.2f}x <= 1.0x", makespan <= 1.0))
    if "retried" in label and "8 in flight" in label:
        checks += [
            (f"makespan {makespan:.2f}x <= 1.05x", makespan <= 1.05),
            (f"failed attempts {failed:.0f} <= {their_failed:.0f}", failed <= their_failed),
        ]
    if "retried" in label and "1 in flight" in label:
        ratio = failed / their_failed if their_failed else 0.0
        checks += [
            (f"failed attempts {ratio:.2f}x <= 0.25x", ratio <= 0.25),
            (f"makespan {makespan:.2f}x <= 1.0x", makespan <= 1.0),
        ]
    if label.startswith("drift"):
        share = _median(ours, "drifted_share_51_100")
        checks.append(
            (f"drifted worker's share, tasks 51-100 after: {share:.2f} < 0.20", share < 0.2)
        )
    return "; ".join(f"{text} {'ok' if passed else 'MISSED'}" for text, passed in checks)


def report(orchestrator: str, results: Results) -> list[str]:
    """The printable lines of one orchestrator's results."""
    lines = []
    for label, modes in results.items():
        theirs, ours = modes[orchestrator], modes["advice"]
        lines.append(f"{orchestrator}, {label}:")
        for mode, runs in ((orchestrator, theirs), ("advice", ours)):
            goodputs = [{"goodput": _goodput(run)} for run in runs]
            lines.append(
                f"  {mode:<8} goodput {_spread(goodputs, 'goodput', 1)}/s, "
                f"makespan {_spread(runs, 'makespan')} s, failed {_spread(runs, 'failed', 0)}, "
                f"odd worker's share {_spread(runs, 'odd_share')}, "
                f"degraded alerts on the failing worker {_spread(runs, 'failing_alerts', 0)}, "
                f"on the other {_spread(runs, 'other_alerts', 0)}"
                + (f", sending {_spread(runs, 'sending')} s" if "sent at once" in label else "")
                + (
                    ", drifted worker's share of the 100 after "
                    f"{_spread(runs, 'drifted_share_100')} "
                    f"(tasks 51-100: {_spread(runs, 'drifted_share_51_100')})"
                    if label.startswith("drift")
                    else ""
                )
            )
        lines.append(f"  targets: {_verdicts(label, ours, theirs)}")
    return lines


def main() -> None:
    """Dask first (seconds a run), then Celery (half a minute a run)."""
    seeds = range(1) if "--quick" in sys.argv else range(3)
    with tempfile.TemporaryDirectory(prefix="feedback-cluster-") as workdir:
        for line in report("dask", cluster_dask.run(Path(workdir), seeds)):
            print(line, flush=True)
        for line in report("celery", cluster_celery.run(Path(workdir), seeds)):
            print(line, flush=True)


if __name__ == "__main__":
    main()
