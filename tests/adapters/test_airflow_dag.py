"""The Airflow listener in a real Airflow: apache-airflow 3.3 in a virtual environment of
its own (``make test-airflow`` builds it), ``airflow db migrate`` on SQLite, and
``dag.test()`` of a DAG with a task that succeeds, one that fails once and then succeeds,
one that fails for good, and a mapped task: every expected entry stored once."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

from orchestrator_feedback import FeedbackStorage, FeedbackType
from tests.conftest import skip_or_fail

ROOT = Path(__file__).parents[2]

DAG = """
import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task

ATTEMPTS = os.path.join(os.environ["AIRFLOW_HOME"], "flaky-attempts")


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
     default_args={"retry_delay": timedelta(seconds=0)})
def feedback_demo():
    @task
    def succeeds():
        return 1

    @task(retries=1)
    def flaky():
        tries = int(open(ATTEMPTS).read()) if os.path.exists(ATTEMPTS) else 0
        open(ATTEMPTS, "w").write(str(tries + 1))
        if tries == 0:
            raise ValueError("first try fails")
        return 2

    @task(retries=1)
    def fails():
        raise RuntimeError("always <b>bold</b>")

    @task
    def double(x):
        return 2 * x

    succeeds()
    flaky()
    fails()
    double.expand(x=[1, 2, 3])


the_dag = feedback_demo()

if __name__ == "__main__":
    the_dag.test()
"""


def _airflow_python() -> Path:
    configured = os.environ.get("ORCHESTRATOR_FEEDBACK_AIRFLOW_PYTHON")
    python = Path(configured) if configured else ROOT / ".venv-airflow" / "bin" / "python"
    if not python.exists():
        skip_or_fail(
            f"no Airflow virtual environment at {python}: run `make test-airflow` "
            "(it installs apache-airflow 3.3 there) to test the listener in a real Airflow"
        )
    return python


def test_a_dag_run_stores_every_try_once(tmp_path: Path) -> None:
    python = _airflow_python()
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    dag_file = home / "dags" / "feedback_demo.py"
    dag_file.write_text(DAG)
    database = tmp_path / "feedback.db"
    environment = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "ORCHESTRATOR_FEEDBACK_DATABASE": str(database),
    }
    environment.pop("ORCHESTRATOR_FEEDBACK_CONFIG", None)
    airflow = python.parent / "airflow"
    migrated = subprocess.run(
        [str(airflow), "db", "migrate"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    ran = subprocess.run(
        [str(python), str(dag_file)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]
    assert "could not record" not in ran.stdout + ran.stderr

    with FeedbackStorage(database) as storage:
        entries = storage.get_all()
    run_ids = {entry.metadata["run_id"] for entry in entries}
    assert len(run_ids) == 1
    (run_id,) = run_ids
    prefix = f"feedback_demo/{run_id}/"
    seen = Counter(
        (
            entry.task_id.removeprefix(prefix),
            entry.feedback_type,
            entry.metadata.get("try_number"),
            entry.metadata.get("success"),
        )
        for entry in entries
    )
    allocation, completion, error = (
        FeedbackType.ALLOCATION_FEEDBACK,
        FeedbackType.TASK_COMPLETION,
        FeedbackType.ERROR_REPORT,
    )
    assert seen == Counter(
        {
            ("succeeds", allocation, 1, None): 1,
            ("succeeds", completion, 1, True): 1,
            ("flaky", allocation, 1, None): 1,
            ("flaky", error, 1, None): 1,  # the try Airflow retried
            ("flaky", allocation, 2, None): 1,
            ("flaky", completion, 2, True): 1,
            ("fails", allocation, 1, None): 1,
            ("fails", error, 1, None): 1,
            ("fails", allocation, 2, None): 1,
            ("fails", error, 2, None): 1,  # the final failure, once
            **{(f"double/{n}", allocation, 1, None): 1 for n in range(3)},
            **{(f"double/{n}", completion, 1, True): 1 for n in range(3)},
        }
    )
    by_task = {entry.task_id.removeprefix(prefix): entry for entry in entries}
    assert by_task["fails"].feedback_type is error
    assert by_task["fails"].metadata["error_type"] == "RuntimeError"
    assert by_task["fails"].metadata["error_message"] == "always <b>bold</b>"
    assert {entry.metadata["task_type"] for entry in entries} == {
        "feedback_demo.succeeds",
        "feedback_demo.flaky",
        "feedback_demo.fails",
        "feedback_demo.double",
    }
    assert all(e.metadata["attempt"] == e.metadata["try_number"] for e in entries)
    retried = [e for e in entries if e.metadata.get("will_retry") is True]
    assert {e.task_id.removeprefix(prefix) for e in retried} == {"flaky", "fails"}
    assert all(e.metadata["error_type"] in ("ValueError", "RuntimeError") for e in retried)
    workers = {entry.metadata["worker_id"] for entry in entries}
    assert len(workers) == 1 and "" not in workers  # the host's name
