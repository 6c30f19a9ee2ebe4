"""What our Airflow listener costs a task instance, in a real Airflow (the virtual
environment ``make test-airflow`` builds): ``dag.test()`` of a DAG of 60 mapped no-op task
instances, the listener's hook methods timed in CPU time of the thread that calls them
(``time.thread_time``: the task process also runs Airflow threads of its own, whose CPU is
not ours). The first call in a process also builds the plugin manager and opens the store;
it is reported apart. Limit: 1 ms per task instance."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
INSTANCES = 60

_DAG = """
import json, os, sys, time
from datetime import datetime

from airflow.sdk import dag, task
from orchestrator_feedback.adapters import airflow_plugin

listener = airflow_plugin.FeedbackAirflowPlugin.listeners[0]
running, success = listener.on_task_instance_running, listener.on_task_instance_success
spent = []


def timed_running(previous_state, task_instance):
    began = time.thread_time()
    running(previous_state, task_instance)
    spent.append(time.thread_time() - began)


def timed_success(previous_state, task_instance):
    began = time.thread_time()
    success(previous_state, task_instance)
    spent.append(time.thread_time() - began)


# Airflow's pluggy finds hook implementations by their marker; the timed ones carry it too.
timed_running.airflow_impl = running.airflow_impl
timed_success.airflow_impl = success.airflow_impl
listener.on_task_instance_running = timed_running
listener.on_task_instance_success = timed_success


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def overhead():
    @task
    def noop(x):
        return None

    noop.expand(x=list(range(int(os.environ["INSTANCES"]))))


the_dag = overhead()

if __name__ == "__main__":
    the_dag.test()
    print("SPENT " + json.dumps(spent))
"""


def _python() -> Path | None:
    configured = os.environ.get("ORCHESTRATOR_FEEDBACK_AIRFLOW_PYTHON")
    python = Path(configured) if configured else ROOT / ".venv-airflow" / "bin" / "python"
    return python if python.exists() else None


def measure(python: Path, instances: int = INSTANCES) -> list[float]:
    """CPU seconds in each hook call, in call order (running, success per instance)."""
    with tempfile.TemporaryDirectory(prefix="feedback-airflow-") as folder:
        home = Path(folder) / "airflow"
        (home / "dags").mkdir(parents=True)
        dag_file = home / "dags" / "overhead.py"
        dag_file.write_text(_DAG)
        environment = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "ORCHESTRATOR_FEEDBACK_DATABASE": str(Path(folder) / "feedback.db"),
            "INSTANCES": str(instances),
        }
        airflow = python.parent / "airflow"
        subprocess.run(
            [str(airflow), "db", "migrate"], env=environment, capture_output=True, check=True
        )
        ran = subprocess.run(
            [str(python), str(dag_file)],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
    line = next(line for line in ran.stdout.splitlines() if line.startswith("SPENT "))
    spent: list[float] = json.loads(line.removeprefix("SPENT "))
    return spent


def run(workdir: Path, *, quick: bool) -> list[str]:
    """The per-instance cost; the printable lines."""
    del workdir
    python = _python()
    if python is None:
        return ["airflow listener: skipped (no .venv-airflow; `make test-airflow` builds it)"]
    spent = measure(python, 20 if quick else INSTANCES)
    first, rest = spent[0], spent[1:]
    pairs = [a + b for a, b in zip(rest[1::2], rest[2::2], strict=False)]
    per_instance = sorted(pairs)[len(pairs) // 2]
    verdict = "ok" if per_instance <= 0.001 else "OVER"
    return [
        f"airflow listener, dag.test() of {len(spent) // 2} mapped task instances: "
        f"{per_instance * 1e6:.0f} µs CPU per task instance (running + success; median, "
        f"{min(pairs) * 1e6:.0f}-{max(pairs) * 1e6:.0f} µs; limit 1 ms, {verdict}); "
        f"the first call of a process, which builds the manager and opens the store, "
        f"{first * 1e3:.1f} ms"
    ]


if __name__ == "__main__":  # pragma: no cover
    import sys

    for printed in run(Path("."), quick="--quick" in sys.argv):
        print(printed)
