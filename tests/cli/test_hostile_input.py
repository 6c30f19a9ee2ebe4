"""Hostile stored text, pipes and overflowing options at the command line: one clear line,
never a traceback, and stored text shown as data (issue "One clear line for every bad input")."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orchestrator_feedback import FeedbackEntry, FeedbackStorage
from orchestrator_feedback.cli import cli
from tests.conftest import skip_or_fail

MakeEntry = Callable[..., FeedbackEntry]
HOSTILE = "[/bold] [/] [link=http://example.invalid]x[/link] \x1b[2J \x1b]52;c;aGk=\x07 end"
COMMAND = [sys.executable, "-m", "orchestrator_feedback"]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CONFIG", "DATABASE", "ENABLED", "PLUGINS", "DISABLE_PLUGINS", "WRITE_MODE"):
        monkeypatch.delenv(f"ORCHESTRATOR_FEEDBACK_{name}", raising=False)
    return tmp_path / "cli.db"


def run(database: Path, *arguments: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--database", str(database), *arguments], input=input)


@pytest.fixture
def hostile(database: Path, make_entry: MakeEntry) -> FeedbackEntry:
    with FeedbackStorage(database) as store:
        entry = store.create(
            make_entry(
                task_id="task[/bold]1",
                content=HOSTILE,
                user_id="user[/]",
                metadata={"worker_id": "worker[/]\x1b[31m"},
            )
        )
        store.update(entry)  # a history to show
    return entry


@pytest.mark.parametrize(
    "arguments",
    [
        ["list", "--format", "table"],
        ["show", "{id}"],
        ["show", "{id}", "--history"],
        ["workers", "--format", "table"],
        ["query", "SELECT task_id, content FROM feedback", "--format", "table"],
    ],
)
def test_markup_and_escape_sequences_in_stored_text_are_shown_not_acted_on(
    database: Path, hostile: FeedbackEntry, arguments: list[str]
) -> None:
    result = run(database, *(a.format(id=hostile.id) for a in arguments))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output  # nothing reaches the terminal as a control sequence
    assert "\x07" not in result.output
    if arguments[0] in ("list", "show", "query"):
        assert "[/bold]" in result.output and "\\x1b" in result.output
    if arguments[0] == "workers":
        assert "worker[/]" in result.output


def test_export_to_a_file_whose_name_holds_markup(database: Path, hostile: FeedbackEntry) -> None:
    Path("a[").mkdir()
    result = run(database, "export", "-o", "a[/b]c.jsonl")
    assert result.exit_code == 0, result.output
    assert "exported 1 entries to a[/b]c.jsonl" in result.output
    assert Path("a[/b]c.jsonl").read_text().count("\n") == 1


def _many(database: Path, make_entry: MakeEntry) -> None:
    with FeedbackStorage(database) as store:
        store.create_many(make_entry(task_id=f"t{n}") for n in range(3000))


@pytest.mark.parametrize(
    "arguments",
    [["export"], ["export", "--format", "csv"], ["list", "--format", "jsonl", "--limit", "3000"]],
)
def test_a_closed_pipe_ends_quietly(
    database: Path, make_entry: MakeEntry, arguments: list[str]
) -> None:
    _many(database, make_entry)
    shell = " ".join([*COMMAND, "--database", str(database), *arguments]) + " | head -n 1"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {shell}"], capture_output=True, text=True, timeout=60
    )
    assert done.stderr == ""
    assert done.returncode in (0, 141)
    assert done.stdout.count("\n") == 1


@pytest.mark.parametrize("file_format", ["jsonl", "json", "csv"])
def test_import_dash_reads_standard_input_and_sniffs_its_format(
    database: Path, tmp_path: Path, make_entry: MakeEntry, file_format: str
) -> None:
    source = tmp_path / f"source.{file_format}"
    with FeedbackStorage(tmp_path / "source.db") as store:
        store.create_many(make_entry(task_id=f"t{n}") for n in range(5))
        getattr(store, f"export_{file_format}")(source)
    done = subprocess.run(
        [*COMMAND, "--database", str(database), "import", "-"],
        input=source.read_bytes(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"imported 5 entries from standard input" in done.stderr
    with FeedbackStorage(database) as store:
        assert store.count() == 5


@pytest.mark.parametrize(
    "arguments",
    [
        ["purge", "--older-than", "9999999d"],
        ["list", "--since", "9999999d"],
        ["list", "--until", "0001-01-01T00:00:00+14:00"],
        ["list", "--limit", "99999999999999999999999"],
        ["trends", "--days", "9999999"],
        ["add", "--task", "t", "--type", "general", "--meta", "x=" + "[" * 5000 + "]" * 5000, "c"],
    ],
)
def test_overflowing_options_are_usage_errors(database: Path, arguments: list[str]) -> None:
    result = run(database, *arguments)
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    assert result.output.strip().splitlines()[-1].startswith("Error: Invalid value")


def test_a_deeply_nested_configuration_is_one_line(database: Path, tmp_path: Path) -> None:
    config = tmp_path / "deep.toml"
    config.write_text("x = " + "[" * 5000 + "1" + "]" * 5000 + "\n")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--database", str(database), "stats"]
    )
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"Error: config: nests values too deeply to be read (got '{config}')"
    )


def test_a_read_only_database_still_answers_reading_commands(
    database: Path, tmp_path: Path, make_entry: MakeEntry
) -> None:
    with FeedbackStorage(database) as store:
        store.create_many(make_entry(task_id=f"t{n}") for n in range(3))
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "--bind", str(tmp_path), str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        message = f"cannot bind-mount a read-only view ({mounted.stderr.strip()}): needs root"
        skip_or_fail(message)
    try:
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(mount_point)], check=True, capture_output=True
        )
        read_only = mount_point / database.name
        for arguments in (["list", "--format", "jsonl"], ["stats"], ["export"]):
            result = run(read_only, *arguments)
            assert result.exit_code == 0, result.output
        assert len(run(read_only, "export").output.strip().splitlines()) == 3
        refused = run(read_only, "add", "--task", "t", "--type", "general", "c")
        assert refused.exit_code == 1
        assert "opened read-only" in refused.output
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_files_that_cannot_be_opened_are_named(database: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database at all, just text " * 10)
    result = run(junk, "stats")
    assert result.exit_code == 1
    assert f"{junk} is not an SQLite database" in result.output
    result = run(tmp_path, "stats")
    assert "it is a directory" in result.output


def test_json_output_of_hostile_text_stays_exact(database: Path, hostile: FeedbackEntry) -> None:
    result = run(database, "list", "--format", "jsonl")
    assert json.loads(result.output)["content"] == HOSTILE
