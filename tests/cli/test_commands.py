"""Every command through click's runner, the way a person at a terminal would try them."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
from orchestrator_feedback.cli import cli
from orchestrator_feedback.storage.backends.postgres_schema import (
    SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION,
)
from orchestrator_feedback.storage.backends.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION

ANSI = re.compile(r"\x1b\[")
MakeEntry = Callable[..., FeedbackEntry]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CONFIG", "DATABASE", "ENABLED", "PLUGINS", "DISABLE_PLUGINS"):
        monkeypatch.delenv(f"ORCHESTRATOR_FEEDBACK_{name}", raising=False)
    return tmp_path / "cli.db"


def run(database: Path, *arguments: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--database", str(database), *arguments], input=input)


@pytest.fixture
def filled(database: Path, make_entry: MakeEntry) -> list[FeedbackEntry]:
    now = datetime.now(UTC)
    entries = [
        make_entry(
            task_id="task-1",
            rating=5,
            metadata={"worker_id": "w1"},
            created_at=now - timedelta(days=1),
        ),
        make_entry(
            task_id="task-1",
            rating=2,
            metadata={"worker_id": "w2"},
            created_at=now - timedelta(hours=1),
        ),
        make_entry(
            task_id="task-2",
            rating=None,
            feedback_type="error_report",
            metadata={"worker_id": "w2"},
            created_at=now - timedelta(days=40),
        ),
    ]
    with FeedbackStorage(database) as storage:
        storage.create_many(entries)
    return entries


def test_help_on_every_command_shows_an_example(database: Path) -> None:
    for command in cli.commands:
        result = run(database, command, "--help")
        assert result.exit_code == 0, command
        assert "Example: orchestrator-feedback" in result.output, command


def test_the_command_list_says_what_each_command_says_of_itself() -> None:
    """``--help`` lists the commands from ``COMMAND_SUMMARIES`` without importing them:
    each summary gives the line the command's own help would, at any width."""
    import click

    from orchestrator_feedback.cli import COMMAND_MODULES, COMMAND_SUMMARIES

    assert sorted(COMMAND_SUMMARIES) == sorted(COMMAND_MODULES)
    context = click.Context(cli)
    for name, summary in COMMAND_SUMMARIES.items():
        command = cli.get_command(context, name)
        assert command is not None
        for limit in (30, 45, 80, 400):
            listed = click.Command(name, help=summary).get_short_help_str(limit)
            assert listed == command.get_short_help_str(limit), (name, limit)


def test_help_imports_no_command_module() -> None:
    """The command list of ``--help`` costs no command's import (rich, the storage)."""
    script = (
        "import sys; from orchestrator_feedback.cli import cli\n"
        "try: cli(['--help'])\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('orchestrator_feedback.cli.')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert "workers" in shown and "Rank workers by the lower bound" in shown
    assert shown.strip().splitlines()[-1] == "[]"


def test_init_reports_the_schema_version(database: Path) -> None:
    result = run(database, "init")
    assert result.exit_code == 0 and f"schema version {SQLITE_SCHEMA_VERSION}" in result.output
    assert database.exists()


def test_add_prints_the_id_and_stores_typed_metadata(database: Path) -> None:
    result = run(
        database,
        "add",
        "--task",
        "t",
        "--type",
        "task_quality",
        "--rating",
        "4",
        "--user",
        "u",
        "--meta",
        "worker_id=w1",
        "--meta",
        "score=0.5",
        "Clean result",
    )
    assert result.exit_code == 0
    with FeedbackStorage(database) as storage:
        entry = storage.get(result.output.strip())
    assert entry is not None and entry.metadata == {"worker_id": "w1", "score": 0.5}
    assert (entry.rating, entry.user_id, entry.feedback_type) == (4, "u", FeedbackType.TASK_QUALITY)


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["add", "--task", "t", "--type", "general", "--rating", "9", "x"], 1, "rating"),
        (["add", "--task", "", "--type", "general", "x"], 1, "task_id"),
        (["add", "--task", "t", "--type", "praise", "x"], 2, "praise"),
        (["add", "--task", "t", "--type", "general", "--meta", "novalue", "x"], 2, "key=value"),
        (["add", "--type", "general", "x"], 2, "--task"),
        (["list", "--since", "last tuesday"], 2, "ISO date"),
        (["list", "--min-rating", "0"], 2, "min-rating"),
        (["show", "nope"], 1, "no feedback with id 'nope'"),
        (["delete", "nope"], 1, "no feedback with id 'nope'"),
        (["purge", "--older-than", "soon"], 2, "90d"),
        (["query", "DELETE FROM feedback"], 1, "read-only"),
        (["query", "SELEC nonsense"], 1, "syntax error"),
        (["import", "missing.jsonl"], 2, "does not exist"),
        (["trends", "--by", "month"], 2, "month"),
    ],
)
def test_errors_are_one_sentence_with_the_right_status(
    database: Path, arguments: list[str], code: int, message: str
) -> None:
    FeedbackStorage(database).close()  # reading commands refuse a store that does not exist
    result = run(database, *arguments)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_list_formats_give_exactly_the_data(database: Path, filled: list[FeedbackEntry]) -> None:
    as_json = json.loads(run(database, "list", "--format", "json").output)
    assert [record["id"] for record in as_json] == [
        e.id for e in sorted(filled, key=lambda e: e.created_at)
    ]
    lines = run(database, "list", "--format", "jsonl", "--task", "task-1").output.splitlines()
    assert [json.loads(line)["task_id"] for line in lines] == ["task-1", "task-1"]
    rows = list(csv.DictReader(io.StringIO(run(database, "list", "--format", "csv").output)))
    assert len(rows) == 3 and json.loads(rows[0]["metadata"])["worker_id"] == "w2"
    piped = run(database, "list")  # not a terminal: JSON by default
    assert json.loads(piped.output) == as_json


def test_list_filters(database: Path, filled: list[FeedbackEntry]) -> None:
    def ids(*arguments: str) -> list[str]:
        return [
            r["id"]
            for r in json.loads(run(database, "list", "--format", "json", *arguments).output)
        ]

    assert ids("--since", "7d") == [filled[0].id, filled[1].id]
    assert ids("--since", "2h") == [filled[1].id]
    assert ids("--until", "7d") == [filled[2].id]
    assert ids("--type", "error_report") == [filled[2].id]
    assert ids("--min-rating", "3") == [filled[0].id]
    assert ids("--max-rating", "2") == [filled[1].id]
    assert ids("--limit", "1", "--offset", "1") == [filled[0].id]
    since = (datetime.now() - timedelta(days=2)).date().isoformat()
    assert ids("--since", since) == [filled[0].id, filled[1].id]


def test_table_output_has_no_colour_when_piped(database: Path, filled: list[FeedbackEntry]) -> None:
    result = run(database, "list", "--format", "table")
    assert "task-1" in result.output and not ANSI.search(result.output)


def test_show_prints_every_field(database: Path, filled: list[FeedbackEntry]) -> None:
    result = run(database, "show", filled[0].id)
    assert result.exit_code == 0
    for field in ("task_id", "feedback_type", "content", "rating", "created_at", "updated_at"):
        assert field in result.output
    assert '"worker_id": "w1"' in result.output


def test_stats_and_its_chart(database: Path, filled: list[FeedbackEntry]) -> None:
    result = run(database, "stats", "--format", "table")
    assert "3 entries" in result.output and "average rating 3.50" in result.output
    assert "█" in result.output and "task_completion" in result.output
    data = json.loads(run(database, "stats", "--task", "task-1", "--format", "json").output)
    assert data["total_count"] == 2 and data["rating_distribution"]["5"] == 1


def test_trends(database: Path, filled: list[FeedbackEntry]) -> None:
    points = json.loads(run(database, "trends", "--days", "30", "--format", "json").output)
    assert sum(p["count"] for p in points) == 2
    weekly = json.loads(
        run(database, "trends", "--days", "90", "--by", "week", "--format", "json").output
    )
    mondays = [datetime.fromisoformat(point["period"]) for point in weekly]
    assert mondays and all(monday.weekday() == 0 for monday in mondays)
    assert sum(point["count"] for point in weekly) == 3
    assert "█" in run(database, "trends", "--by", "week", "--format", "table").output


def test_workers_ranked_by_the_lower_bound(database: Path, filled: list[FeedbackEntry]) -> None:
    rows = json.loads(run(database, "workers", "--format", "json").output)
    assert [(r["worker_id"], r["attempts"], r["successes"], r["failures"]) for r in rows] == [
        ("w1", 1.0, 1.0, 0.0),
        ("w2", 2.0, 1.0, 1.0),
    ]
    assert rows[0]["success_lower"] == pytest.approx(0.2065, abs=1e-4)  # Wilson, 1 of 1
    assert rows[1]["mean_rating"] == 2.0 and rows[1]["rating_lower"] < 2.0 < rows[1]["rating_upper"]
    assert rows[0]["last_seen"] == filled[0].created_at.isoformat()
    recent = json.loads(run(database, "workers", "--since", "7d", "--format", "json").output)
    # one success each: the rating's lower bound decides
    assert [(r["worker_id"], r["attempts"]) for r in recent] == [("w1", 1.0), ("w2", 1.0)]
    decayed = json.loads(run(database, "workers", "--half-life", "1d", "--format", "json").output)
    w2 = next(r for r in decayed if r["worker_id"] == "w2")
    assert w2["failures"] == pytest.approx(0.5**40, rel=0.01)  # the error is 40 days old
    table = run(database, "workers", "--format", "table").output
    assert "100.0%" in table and "20.7%" in table
    assert run(database, "workers", "--half-life", "soon").exit_code == 2


def test_workers_lists_every_worker_an_entry_names_and_rated_quality_counts(
    database: Path, make_entry: MakeEntry
) -> None:
    """A task_quality rating rates the worker it names; a worker named only by an
    allocation is listed last, with nothing known; --task-type lists the scored only."""
    with FeedbackStorage(database) as storage:
        storage.create(
            make_entry(feedback_type="task_quality", rating=4, metadata={"worker_id": "q"})
        )
        storage.create(
            make_entry(
                feedback_type="allocation_feedback", rating=None, metadata={"worker_id": "idle"}
            )
        )
    rows = json.loads(run(database, "workers", "--format", "json").output)
    assert [(r["worker_id"], r["ratings"], r["mean_rating"], r["attempts"]) for r in rows] == [
        ("q", 1.0, 4.0, 0.0),
        ("idle", 0.0, None, 0.0),
    ]
    table = run(database, "workers", "--format", "table").output
    assert "idle" in table and "4.00" in table
    scoped = json.loads(run(database, "workers", "--task-type", "", "--format", "json").output)
    assert [r["worker_id"] for r in scoped] == ["q"]


def test_recommend_ranks_every_candidate_once(database: Path, filled: list[FeedbackEntry]) -> None:
    result = run(
        database,
        "recommend",
        "w2",
        "w1",
        "new",
        "w1",
        "--policy",
        "lower_bound",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["rank"], r["worker_id"]) for r in rows] == [(1, "w1"), (2, "w2"), (3, "new")]
    assert rows[2]["attempts"] is None
    seeded = [
        run(database, "recommend", "w1", "w2", "new", "--seed", "7", "--format", "csv").output
        for _ in range(2)
    ]
    assert seeded[0] == seeded[1]
    refused = run(database, "recommend", "w1", "--policy", "greedy")
    assert refused.exit_code == 2 and "greedy" in refused.output


def test_query_reads_and_writes_only_when_asked(
    database: Path, filled: list[FeedbackEntry]
) -> None:
    rows = json.loads(
        run(
            database,
            "query",
            "SELECT task_id, COUNT(*) AS n FROM feedback WHERE rating >= ? GROUP BY task_id",
            "--param",
            "2",
            "--format",
            "json",
        ).output
    )
    assert rows == [{"task_id": "task-1", "n": 2}]
    assert run(database, "query", "DELETE FROM feedback WHERE task_id = 'task-2'").exit_code == 1
    assert (
        run(database, "query", "DELETE FROM feedback WHERE task_id = 'task-2'", "--write").exit_code
        == 0
    )
    with FeedbackStorage(database) as storage:
        assert storage.count() == 2


def test_purge_and_its_dry_run(database: Path, filled: list[FeedbackEntry]) -> None:
    assert (
        "1 entry older than 30d would be deleted"
        in run(database, "purge", "--older-than", "30d", "--dry-run").output
    )
    with FeedbackStorage(database) as storage:
        assert storage.count() == 3
    assert "1 entry older than 30d deleted" in run(database, "purge", "--older-than", "30d").output
    with FeedbackStorage(database) as storage:
        assert storage.count() == 2


def test_delete(database: Path, filled: list[FeedbackEntry]) -> None:
    assert run(database, "delete", filled[0].id).exit_code == 0
    with FeedbackStorage(database) as storage:
        assert storage.get(filled[0].id) is None


@pytest.mark.parametrize("file_format", ["jsonl", "json", "csv"])
def test_export_into_import_reproduces_every_entry(
    database: Path, tmp_path: Path, make_entry: MakeEntry, file_format: str
) -> None:
    entries = [
        make_entry(
            content="quotes ' \" and\nnewlines, commas; 🎉", metadata={"nested": {"a": [1, None]}}
        ),
        make_entry(rating=None, user_id=None, metadata={}, content=""),
    ]
    with FeedbackStorage(database) as storage:
        storage.create_many(entries)
    exported = run(database, "export", "--format", file_format)
    assert exported.exit_code == 0 and not ANSI.search(exported.output)
    dump = tmp_path / f"dump.{file_format}"
    dump.write_text(exported.output, encoding="utf-8")
    second = tmp_path / "second.db"
    imported = run(second, "import", str(dump))
    assert imported.exit_code == 0, imported.output
    with FeedbackStorage(second) as storage:
        assert sorted(storage.get_all(), key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)


def test_export_to_a_file_with_filters(
    database: Path, filled: list[FeedbackEntry], tmp_path: Path
) -> None:
    result = run(database, "export", "--task", "task-1", "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0 and "exported 2 entries" in result.output
    assert len(list(csv.DictReader((tmp_path / "out.csv").open()))) == 2


def test_import_is_atomic_and_names_the_line(
    database: Path, tmp_path: Path, make_entry: MakeEntry
) -> None:
    good = json.dumps(make_entry().to_dict())
    bad = json.dumps(make_entry().to_dict() | {"feedback_type": "praise"})
    path = tmp_path / "mixed.jsonl"
    path.write_text(f"{good}\n{bad}\n")
    result = run(database, "import", str(path))
    assert result.exit_code == 1 and "line 2: feedback_type" in result.output
    with FeedbackStorage(database) as storage:
        assert storage.count() == 0


def test_import_dry_run_and_conflicts(
    database: Path, tmp_path: Path, make_entry: MakeEntry
) -> None:
    entry = make_entry()
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(entry.to_dict()) + "\n")
    dry = run(database, "import", str(path), "--dry-run")
    assert dry.exit_code == 0 and "would import 1" in dry.output
    with FeedbackStorage(database) as storage:
        assert storage.count() == 0
    assert run(database, "import", str(path)).exit_code == 0
    again = run(database, "import", str(path))
    assert again.exit_code == 1 and "line 1" in again.output and "already exists" in again.output
    assert "imported 0" in run(database, "import", str(path), "--on-conflict", "skip").output
    odd = tmp_path / "data.txt"
    odd.write_text("")
    assert run(database, "import", str(odd)).exit_code == 2
    assert run(database, "import", str(odd), "--format", "jsonl").exit_code == 0


def test_import_in_batches_from_a_file_not_standard_input(
    database: Path, tmp_path: Path, make_entry: MakeEntry
) -> None:
    entries = [make_entry(task_id=f"task-{n}") for n in range(30)]
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in entries))
    result = run(database, "import", str(path), "--batch-size", "10")
    assert result.exit_code == 0 and "imported 30 entries" in result.output, result.output
    refused = run(database, "import", "-", "--batch-size", "10", input=path.read_text())
    assert refused.exit_code == 2 and "give a file, not -" in refused.output
    assert run(database, "import", str(path), "--batch-size", "0").exit_code == 2
    with FeedbackStorage(database) as storage:
        assert storage.count() == 30


def test_plugins_lists_the_builtin(database: Path) -> None:
    listed = json.loads(run(database, "plugins", "--json").output)
    builtin = next(p for p in listed if p["name"] == "feedback")
    assert builtin["status"] == "active" and "task_completed" in builtin["hooks"]
    assert "feedback" in run(database, "plugins").output


def test_demo_runs_the_toy_orchestrator(database: Path) -> None:
    result = run(database, "demo", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "Workers, best first" in result.output and "Feedback by type" in result.output
    again = run(database, "demo", "--jobs", "2")
    assert again.exit_code == 0 and again.output.startswith("Run 2:")
    assert "Subtasks given to each worker, per run" in again.output
    with FeedbackStorage(database) as storage:
        assert storage.count() > 5


def test_database_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", str(tmp_path / "env.db"))
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_the_installed_script_and_python_m(database: Path, filled: list[FeedbackEntry]) -> None:
    script = Path(sys.executable).parent / "orchestrator-feedback"
    for command in ([str(script)], [sys.executable, "-m", "orchestrator_feedback"]):
        result = subprocess.run(
            [*command, "--database", str(database), "list", "--format", "jsonl"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.splitlines()) == 3
        assert not ANSI.search(result.stdout) and result.stderr == ""
    exported = subprocess.run(
        [str(script), "--database", str(database), "export"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        exported.stderr == "" and len(exported.stdout.splitlines()) == 3
    )  # no progress bar when piped


def test_copy_between_backends_keeps_every_entry(
    database: Path, tmp_path: Path, filled: list[FeedbackEntry], postgres_url: str
) -> None:
    to_postgres = CliRunner().invoke(cli, ["copy", "--from", str(database), "--to", postgres_url])
    assert to_postgres.exit_code == 0, to_postgres.output
    assert "copied 3 of 3 entries" in to_postgres.output
    back = tmp_path / "back.db"
    to_sqlite = CliRunner().invoke(cli, ["copy", "--from", postgres_url, "--to", str(back)])
    assert to_sqlite.exit_code == 0, to_sqlite.output
    with FeedbackStorage(back) as storage:
        assert sorted(storage.get_all(), key=lambda e: e.id) == sorted(filled, key=lambda e: e.id)
    again = CliRunner().invoke(cli, ["copy", "--from", str(database), "--to", str(back)])
    assert again.exit_code == 1 and "already exists" in again.output
    with FeedbackStorage(back) as storage:
        assert storage.count() == 3


def test_commands_work_on_postgres(postgres_url: str, make_entry: MakeEntry) -> None:
    runner = CliRunner()

    def run_pg(*arguments: str) -> Result:
        return runner.invoke(cli, ["--database", postgres_url, *arguments])

    assert f"schema version {POSTGRES_SCHEMA_VERSION}" in run_pg("init").output
    added = run_pg(
        "add",
        "--task",
        "t",
        "--type",
        "task_completion",
        "--rating",
        "2",
        "--meta",
        "worker_id=w9",
        "hi",
    )
    assert added.exit_code == 0
    assert json.loads(run_pg("list", "--format", "json").output)[0]["content"] == "hi"
    assert json.loads(run_pg("workers", "--format", "json").output)[0]["worker_id"] == "w9"
    assert json.loads(run_pg("stats", "--format", "json").output)["total_count"] == 1
    # AVG is PostgreSQL's numeric: a number in JSON and the table, as SQLite gives it.
    average = run_pg("query", "SELECT AVG(rating) AS a FROM feedback", "--format", "json")
    assert json.loads(average.output) == [{"a": 2.0}]
    table = run_pg("query", "SELECT AVG(rating) AS a FROM feedback", "--format", "csv")
    assert table.output.splitlines() == ["a", "2.0"]
    assert run_pg("query", "DELETE FROM feedback").exit_code == 1
    assert (
        run_pg(
            "query",
            "SELECT COUNT(*) AS n FROM feedback WHERE rating = %s",
            "--param",
            "2",
            "--format",
            "json",
        ).output.count('"n": 1')
        == 1
    )
    assert run_pg("trends", "--format", "json").exit_code == 0


def test_forget_user_history_and_retention_commands(
    database: Path, tmp_path: Path, make_entry: MakeEntry
) -> None:
    now = datetime.now(UTC)
    entry = make_entry(user_id="erin", content="first words", created_at=now - timedelta(days=50))
    with FeedbackStorage(database) as storage:
        storage.create(entry)
        entry.content = "second words"
        storage.update(entry)
        storage.create(
            make_entry(
                user_id="frank", feedback_type="error_report", created_at=now - timedelta(days=40)
            )
        )
    shown = run(database, "show", entry.id, "--history", "--format", "table")
    assert "History, oldest first" in shown.output
    assert "first words" in shown.output and "second words" in shown.output
    exported = run(database, "export", "--with-history", "--format", "jsonl", "--user", "erin")
    record = json.loads(exported.output)
    assert [version["content"] for version in record["history"]] == ["first words"]
    dump = tmp_path / "with-history.jsonl"
    dump.write_text(exported.output)
    assert run(tmp_path / "other.db", "import", str(dump)).exit_code == 0
    assert run(database, "export", "--with-history", "--format", "csv").exit_code == 2

    config = tmp_path / "retention.toml"
    config.write_text("[retention]\nmax_age_days = 45\n[retention.by_type]\nerror_report = 30\n")
    preview = CliRunner().invoke(
        cli, ["--database", str(database), "--config", str(config), "purge", "--dry-run"]
    )
    assert "2 entries would be deleted (dry run) by the retention policy" in preview.output
    assert "error_report: 1" in preview.output
    no_policy = run(database, "purge")
    assert no_policy.exit_code == 1 and "no retention policy" in no_policy.output

    forgotten = run(database, "forget-user", "erin")
    assert forgotten.exit_code == 0 and "erased 1 entry by erin" in forgotten.output
    with FeedbackStorage(database) as storage:
        assert storage.count() == 1 and storage.get_history(entry.id) == []


def test_anonymised_store_from_the_command_line(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "private.toml"
    config.write_text("[privacy]\nanonymize_user_ids = true\n")

    def private(*arguments: str) -> Result:
        return CliRunner().invoke(
            cli, ["--database", str(database), "--config", str(config), *arguments]
        )

    missing = private("add", "--task", "t", "--type", "general", "--user", "gina", "hello")
    assert missing.exit_code == 1 and "ORCHESTRATOR_FEEDBACK_SECRET" in missing.output
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_SECRET", "s3cret")
    assert (
        private("add", "--task", "t", "--type", "general", "--user", "gina", "hello").exit_code == 0
    )
    listed = json.loads(private("list", "--user", "gina", "--format", "json").output)
    assert len(listed) == 1 and listed[0]["user_id"].startswith("anon:")
    assert "erased 1 entry" in private("forget-user", "gina").output


# -- issue "What an operator trips on", items 3 and 4 ----------------------------------------


def test_the_list_table_shows_ids_that_tell_rows_apart_and_show_takes_them(
    database: Path, make_entry: MakeEntry
) -> None:
    with FeedbackStorage(database) as store:
        entries = store.create_many(make_entry(task_id=f"m{n}") for n in range(30))
    table = run(database, "list", "--format", "table", "--limit", "30").output
    shown = [
        line.split("│")[1].strip()
        for line in table.splitlines()
        if line.startswith("│") and line.split("│")[2].strip().startswith("m")
    ]
    assert len(shown) == 30 and len(set(shown)) == 30  # all told apart
    assert all(len(prefix) >= 8 for prefix in shown)
    for prefix in shown[:3]:
        result = run(database, "show", prefix)
        assert result.exit_code == 0, result.output
        (entry,) = [e for e in entries if e.id.startswith(prefix)]
        assert entry.id in result.output
    ambiguous = run(database, "show", entries[0].id[:4])
    assert ambiguous.exit_code == 1
    assert "ambiguous: more than 5 ids start with it" in ambiguous.output
    assert min(e.id for e in entries) in ambiguous.output  # candidates named, by id
    assert run(database, "delete", shown[0]).exit_code == 0
    with FeedbackStorage(database) as store:
        assert store.count() == 29
    missing = run(database, "show", "zzzzzzzz")
    assert missing.exit_code == 1 and "no feedback with id" in missing.output


def test_list_order_newest_first(database: Path, filled: list[FeedbackEntry]) -> None:
    def ids(*arguments: str) -> list[str]:
        output = run(database, "list", "--format", "json", *arguments).output
        return [record["id"] for record in json.loads(output)]

    oldest_first = [e.id for e in sorted(filled, key=lambda e: e.created_at)]
    assert ids() == ids("--order", "oldest") == oldest_first
    assert ids("--order", "newest") == oldest_first[::-1]
    assert ids("--order", "newest", "--limit", "1") == [oldest_first[-1]]
    assert ids("--order", "newest", "--limit", "1", "--offset", "1") == [oldest_first[-2]]
    assert ids("--order", "newest", "--offset", "5") == []


def test_global_options_work_after_the_command_too(
    database: Path, filled: list[FeedbackEntry], tmp_path: Path
) -> None:
    """Item 5: `list --database x.db`, as click lets a user expect."""
    after = CliRunner().invoke(cli, ["list", "--database", str(database), "--format", "json"])
    assert after.exit_code == 0, after.output
    assert len(json.loads(after.output)) == len(filled)
    config = tmp_path / "other.toml"
    config.write_text(f'database = "{database}"\n')
    configured = CliRunner().invoke(cli, ["stats", "--config", str(config), "--format", "json"])
    assert configured.exit_code == 0 and json.loads(configured.output)["total_count"] == 3


def test_shell_completion_script_is_printed_as_documented() -> None:
    """Item 14: the line docs/command-line.md gives."""
    import os
    import subprocess
    import sys

    script = subprocess.run(
        [str(Path(sys.executable).with_name("orchestrator-feedback"))],
        env={**os.environ, "_ORCHESTRATOR_FEEDBACK_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert "complete -o nosort -F" in script.stdout


def test_demo_with_the_same_seed_gives_the_same_runs(tmp_path: Path) -> None:
    """Item 13: three fresh stores, the same seed: the same allocations and figures."""
    import re

    def runs(name: str) -> list[str]:
        database = tmp_path / f"{name}.db"
        outputs = []
        for _ in range(2):
            result = CliRunner().invoke(
                cli, ["--database", str(database), "demo", "--seed", "11", "--jobs", "6"]
            )
            assert result.exit_code == 0, result.output
            # Everything but the first line (the file name, the wall time), and its count.
            count = re.search(r"(\d+) feedback entries", result.output)
            assert count is not None
            tables = result.output[result.output.index("Workers, best first") :]
            outputs.append(f"{count.group(1)} {tables}")
        return outputs

    first = runs("a")
    assert runs("b") == first and runs("c") == first
    other = CliRunner().invoke(
        cli, ["--database", str(tmp_path / "d.db"), "demo", "--seed", "12", "--jobs", "6"]
    )
    assert other.output[other.output.index("Workers, best first") :] not in first[0]


def test_reading_commands_refuse_a_store_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 6: a mistyped --database is named, not opened as an empty store; commands that
    write create it; the configuration is found in the folders above and named."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCHESTRATOR_FEEDBACK_DATABASE", raising=False)
    monkeypatch.delenv("ORCHESTRATOR_FEEDBACK_CONFIG", raising=False)
    for arguments in (["stats"], ["list"], ["workers"], ["export"], ["query", "SELECT 1"]):
        result = CliRunner().invoke(cli, ["--database", "tpyo.db", *arguments])
        assert result.exit_code == 1, arguments
        assert "no store at tpyo.db (given with --database)" in result.output
    assert not (tmp_path / "tpyo.db").exists()
    added = CliRunner().invoke(
        cli, ["--database", "new.db", "add", "--task", "t", "--type", "general", "x"]
    )
    assert added.exit_code == 0 and (tmp_path / "new.db").exists()
    deep = tmp_path / "project" / "src" / "module"
    deep.mkdir(parents=True)
    (tmp_path / "project" / "orchestrator-feedback.toml").write_text(
        f'database = "{tmp_path / "new.db"}"\n'
    )
    monkeypatch.chdir(deep)
    found = CliRunner().invoke(cli, ["stats", "--format", "json"])
    assert found.exit_code == 0 and json.loads(found.output)["total_count"] == 1
    (tmp_path / "project" / "orchestrator-feedback.toml").write_text('database = "gone.db"\n')
    missing = CliRunner().invoke(cli, ["stats"])
    assert missing.exit_code == 1
    assert f"from {tmp_path / 'project' / 'orchestrator-feedback.toml'}" in missing.output


def test_what_the_command_line_writes_reaches_the_plugins(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 8: add, import, delete, purge and forget-user go through the plugin manager, so
    a plugin hears of each committed change, as it does for the API's."""
    import textwrap

    site = tmp_path / "site"
    (site / "heard_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "heard_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: heard-plugin\nVersion: 0.1\n"
    )
    (site / "heard_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[orchestrator_feedback]\nheard = heard_plugin\n"
    )
    log = tmp_path / "heard.log"
    (site / "heard_plugin.py").write_text(
        textwrap.dedent(
            f"""
            from orchestrator_feedback import hookimpl

            def _note(kind, entry):
                with open({str(log)!r}, "a") as out:
                    out.write(f"{{kind}} {{entry.task_id}} {{entry.rating}}\\n")

            @hookimpl
            def feedback_recorded(entry):
                _note("recorded", entry)

            @hookimpl
            def feedback_deleted(entry):
                _note("deleted", entry)
            """
        )
    )
    monkeypatch.syspath_prepend(str(site))
    for name in ("ORCHESTRATOR_FEEDBACK_PLUGINS", "ORCHESTRATOR_FEEDBACK_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    added = run(
        database, "add", "--task", "by-hand", "--type", "task_quality", "--rating", "1", "x"
    )
    assert added.exit_code == 0, added.output
    dump = tmp_path / "dump.jsonl"
    with FeedbackStorage(tmp_path / "source.db") as source:
        source.create(
            FeedbackEntry(
                task_id="imported",
                feedback_type=FeedbackType.GENERAL,
                content="y",
                user_id="gone",
                created_at=datetime.now(UTC) - timedelta(days=400),
            )
        )
        source.export_jsonl(dump)
    assert run(database, "import", str(dump)).exit_code == 0
    assert run(database, "forget-user", "gone").exit_code == 0
    assert run(database, "delete", added.output.strip()).exit_code == 0
    assert log.read_text().splitlines() == [
        "recorded by-hand 1",
        "recorded imported None",
        "deleted imported None",
        "deleted by-hand 1",
    ]


SEED_SCHEMA = """
CREATE TABLE feedback (
    id TEXT PRIMARY KEY, task_id TEXT NOT NULL, feedback_type TEXT NOT NULL,
    content TEXT NOT NULL, rating INTEGER, user_id TEXT, metadata TEXT,
    created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL,
    CONSTRAINT rating_range CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5))
);
INSERT INTO feedback VALUES ('seed-1', 'task-123', 'task_completion', 'done', 5, 'u', '{}',
    '2026-01-01 10:00:00', '2026-01-01 10:00:00');
"""


def test_the_command_line_never_migrates_on_its_own(database: Path) -> None:
    """Item 7: a store of the seed's schema is refused by every command but `migrate`, which
    says what it would do, backs the store up and then upgrades it."""
    import sqlite3

    from orchestrator_feedback.storage.backends.sqlite_schema import SCHEMA_VERSION

    with sqlite3.connect(database) as raw:
        raw.executescript(SEED_SCHEMA)

    def version(path: Path) -> int:
        with sqlite3.connect(path) as raw:
            return int(raw.execute("PRAGMA user_version").fetchone()[0])

    for arguments in (
        ["stats"],
        ["list"],
        ["init"],
        ["add", "--task", "t", "--type", "general", "x"],
    ):
        refused = run(database, *arguments)
        assert refused.exit_code == 1, arguments
        assert "schema version 0" in refused.output and "orchestrator-feedback migrate" in (
            refused.output
        )
    assert version(database) == 0
    check = run(database, "migrate", "--check")
    assert check.exit_code == 1 and "would apply" in check.output
    assert version(database) == 0
    done = run(database, "migrate")
    assert done.exit_code == 0, done.output
    assert f"migrated from schema version 0 to {SCHEMA_VERSION}" in done.output
    (backup,) = database.parent.glob(f"{database.name}.v0-*.bak")
    assert version(backup) == 0 and version(database) == SCHEMA_VERSION
    listed = json.loads(run(database, "list", "--format", "json").output)
    assert [entry["id"] for entry in listed] == ["seed-1"]
    again = run(database, "migrate")
    assert again.exit_code == 0 and "nothing to migrate" in again.output
    assert run(database, "migrate", "--check").exit_code == 0


def test_every_option_has_help_and_ranges_read_as_people_write_them() -> None:
    """Item 11: no option without help text; ranges such as "0 or more", not
    ``0<=x<=9223372036854775807``; no Python type in an event's error."""
    import click

    from orchestrator_feedback.errors import FeedbackValidationError
    from orchestrator_feedback.event_checks import check_event_arguments

    context = click.Context(cli)
    missing, unreadable = [], []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, [*path, name])
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not parameter.hidden:
                if not parameter.help:
                    missing.append(f"{' '.join(path)} {parameter.opts[0]}")
                record = parameter.get_help_record(context)
                if record and "<=" in record[1]:
                    unreadable.append(f"{' '.join(path)}: {record[1]}")

    walk(cli, [])
    assert missing == [] and unreadable == []
    with pytest.raises(FeedbackValidationError) as raised:
        check_event_arguments("task_completed", {"success": "yes"})
    assert "must be True or False" in str(raised.value) and "<class" not in str(raised.value)


QUERY_COMMANDS = [
    ["list"],
    ["show", "{id}"],
    ["stats"],
    ["failures"],
    ["trends"],
    ["workers"],
    ["recommend", "w1", "w2"],
    ["query", "SELECT task_id FROM feedback"],
    ["plugins"],
]


@pytest.mark.parametrize("command", QUERY_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("chosen", ["table", "json", "jsonl", "csv"])
def test_every_query_command_takes_every_format_and_prints_only_data(
    database: Path, filled: list[FeedbackEntry], command: list[str], chosen: str
) -> None:
    """Item 9: the same --format choices everywhere; stdout holds the data alone."""
    import csv as csv_module

    arguments = [part.format(id=filled[0].id) for part in command]
    result = CliRunner().invoke(cli, ["--database", str(database), *arguments, "--format", chosen])
    assert result.exit_code == 0, result.output
    out = result.stdout
    if chosen == "json":
        json.loads(out)
    elif chosen == "jsonl":
        for line in out.splitlines():
            json.loads(line)
    elif chosen == "csv":
        rows = list(csv_module.reader(io.StringIO(out)))
        assert rows and len({len(row) for row in rows}) == 1  # a header, rows alike


def test_confirmations_go_to_stderr_and_data_to_stdout(
    database: Path, filled: list[FeedbackEntry]
) -> None:
    deleted = CliRunner().invoke(cli, ["--database", str(database), "delete", filled[0].id])
    assert deleted.exit_code == 0
    assert deleted.stdout == "" and "deleted" in deleted.stderr
    purged = CliRunner().invoke(
        cli, ["--database", str(database), "purge", "--older-than", "30d", "--dry-run"]
    )
    assert purged.stdout == "" and "would be deleted" in purged.stderr
