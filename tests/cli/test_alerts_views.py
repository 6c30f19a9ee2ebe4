"""Where people look for alerts: ``orchestrator-feedback alerts``, the
``worker_alert_open`` gauge, the line in ``watch`` and the report's section; stored names
are data wherever they are shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from rich.console import Console

from orchestrator_feedback import FeedbackStorage
from orchestrator_feedback.cli import cli
from orchestrator_feedback.cli.watch import alerts_line
from orchestrator_feedback.storage import AlertSettings
from orchestrator_feedback.views.metrics import metrics_registry
from orchestrator_feedback.views.report import build_report, render_report
from tests.storage.test_alerts import steady, write

HOSTILE = "[red]w<script>1"


@pytest.fixture
def alerted(tmp_path: Path) -> Path:
    """A store where HOSTILE degraded and recovered, and "w2" degraded (open)."""
    path = tmp_path / "f.db"
    with FeedbackStorage(path, alerts=AlertSettings()) as storage:
        for _ in range(10):
            write(storage, HOSTILE, steady(20, 20))
            write(storage, "w2", steady(20, 20))
        write(storage, HOSTILE, steady(40, 2))
        storage.check_alerts()
        for _ in range(15):
            write(storage, HOSTILE, steady(20, 20))
        write(storage, "w2", steady(40, 2))
        storage.check_alerts()
        assert [(a.worker_id, a.kind) for a in storage.alerts()] == [
            ("w2", "degraded"),
            (HOSTILE, "recovered"),
            (HOSTILE, "degraded"),
        ]
    return path


def test_the_command_lists_open_and_recent_alerts(alerted: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["--database", str(alerted), "alerts", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(row["worker_id"], row["kind"], row["open"]) for row in rows] == [
        ("w2", "degraded", True),
        (HOSTILE, "recovered", False),
        (HOSTILE, "degraded", False),
    ]
    assert rows[0]["before"] > 0.9 > rows[0]["after"] and rows[0]["task_type"] == "build"
    only_open = runner.invoke(
        cli, ["--database", str(alerted), "alerts", "--open", "--format", "csv"]
    )
    assert only_open.output.count("\n") == 2 and "w2,build,degraded" in only_open.output
    table = runner.invoke(
        cli, ["--database", str(alerted), "alerts", "--format", "table"], env={"COLUMNS": "200"}
    )
    assert HOSTILE in table.output and "degraded success (open)" in table.output
    nothing = runner.invoke(
        cli, ["--database", str(alerted), "alerts", "--worker", "nobody", "--format", "json"]
    )
    assert json.loads(nothing.output) == []
    refused = runner.invoke(cli, ["--database", str(alerted), "alerts", "--since", "soon"])
    assert refused.exit_code != 0 and "Traceback" not in refused.output


def test_the_gauge_names_each_open_alert(alerted: Path) -> None:
    with FeedbackStorage(alerted) as storage:
        text = generate_latest(metrics_registry(storage)).decode()
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("orchestrator_feedback_worker_alert_open{")
    ]
    labels = 'measure="success",task_type="build",worker="w2"'
    assert lines == [f"orchestrator_feedback_worker_alert_open{{{labels}}} 1.0"]


def test_watch_has_a_line_of_open_alerts(alerted: Path) -> None:
    with FeedbackStorage(alerted) as storage:
        opened = storage.alerts(open_only=True)
        recovered = storage.alerts(worker_id=HOSTILE)[:1]
    console = Console(width=200, record=True)
    console.print(alerts_line(opened))
    console.print(alerts_line([]))
    console.print(alerts_line(recovered))
    shown = console.export_text()
    assert re.search(r"Open alerts: w2 \(build, success 9\d% -> [45]\d% since \d\d:\d\d\)", shown)
    assert "Open alerts: none" in shown
    assert HOSTILE in shown  # markup in a name is text, not style


def test_the_report_has_an_alerts_section(alerted: Path) -> None:
    with FeedbackStorage(alerted) as storage:
        page = render_report(build_report(storage, days=30))
    section = page[page.index('id="alerts-heading"') : page.index('id="changed-heading"')]
    assert section.count("<tr data-worker=") == 3
    assert "degraded success (open)" in section
    assert "<script>" not in section and "[red]w&lt;script&gt;1" in section
