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
        ["show", "{id}", "--format", "table"],
        ["show", "{id}", "--history", "--format", "table"],
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
    assert "exported 1 entry to a[/b]c.jsonl" in result.output
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


# -- issue "Never lose, never leak, third round", items 7, 8 and 15 --------------------------

ESCAPE = "x\x1b[31mred\x07"


def test_error_lines_quoting_data_show_escapes_not_act_on_them(database: Path) -> None:
    FeedbackStorage(database).close()
    result = run(database, "query", "SELECT json_extract('{}', ?)", "--param", ESCAPE)
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[31mred\\x07" in result.output


def test_postgres_error_lines_quoting_data_show_escapes(postgres_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["--database", postgres_url, "query", "SELECT CAST(%s AS integer)", "--param", ESCAPE]
    )
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\\x1b[31mred" in result.output


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/test?password=s3cr3t&connect_timeout=2",
        "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2&PASSWORD=s3cr3t",
        "postgresql://postgres:s3cr3t@127.0.0.1:1/test?sslpassword=s3cr3t",
        "postgresql://postgres:s3cr3t@127.0.0.1:1/test",
    ],
)
def test_a_password_in_any_part_of_the_url_is_never_printed(url: str) -> None:
    result = CliRunner().invoke(cli, ["--database", url, "stats"])
    assert result.exit_code == 1
    assert "s3cr3t" not in result.output
    assert "***" in result.output


BAD_BYTE = "\udcff"  # what Python makes of the byte 0xff in an argument
BAD_BYTE_COMMANDS = [
    ["list", "--task", BAD_BYTE],
    ["list", "--user", BAD_BYTE],
    ["show", BAD_BYTE],
    ["delete", BAD_BYTE],
    ["export", "--task", BAD_BYTE],
    ["watch", "--worker", BAD_BYTE, "--since", "1m"],
    ["workers", "--task-type", BAD_BYTE],
    ["stats", "--task", BAD_BYTE],
    ["forget-user", BAD_BYTE],
    ["add", "--task", BAD_BYTE, "--type", "general", "x"],
    ["recommend", "--task-type", BAD_BYTE, "a", "b"],
    ["query", "SELECT ?", "--param", BAD_BYTE],
]


@pytest.mark.parametrize("arguments", BAD_BYTE_COMMANDS, ids=lambda a: a[0])
def test_a_byte_that_is_not_utf8_in_an_argument_is_one_line(
    database: Path, arguments: list[str]
) -> None:
    FeedbackStorage(database).close()
    result = run(database, *arguments)
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "utf-8" in result.output.lower() or "Unicode" in result.output


def test_a_malformed_postgres_url_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["--database", "postgresql://%zz@127.0.0.1/test", "stats"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "not a PostgreSQL URL" in result.output


def test_a_secret_that_is_not_utf8_is_used_as_its_bytes(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "p.toml"
    config.write_text("[privacy]\nanonymize_user_ids = true\n")
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_SECRET", "\udcff\udcfe")
    added = run(
        database,
        "--config",
        str(config),
        "add",
        "--task",
        "t",
        "--type",
        "general",
        "--user",
        "bob",
        "x",
    )
    assert added.exit_code == 0, added.output
    found = run(database, "--config", str(config), "list", "--user", "bob", "--format", "json")
    assert found.exit_code == 0 and len(json.loads(found.output)) == 1


FOREIGN_ROWS = [
    ("'bogus_type'", "'{}'", "feedback_type"),
    ("'general'", "'[1, 2]'", "not a JSON object"),
]


@pytest.mark.parametrize(("feedback_type", "metadata", "named"), FOREIGN_ROWS)
@pytest.mark.parametrize(
    "arguments",
    [["stats"], ["list"], ["export"], ["show", "foreign"], ["watch", "--since", "4000d"]],
    ids=lambda a: a[0],
)
def test_rows_written_behind_the_stores_back_are_named_not_a_crash(
    database: Path, feedback_type: str, metadata: str, named: str, arguments: list[str]
) -> None:
    import sqlite3

    FeedbackStorage(database).close()
    with sqlite3.connect(database) as raw:
        raw.execute(
            f"INSERT INTO feedback VALUES ('foreign', 't', {feedback_type}, 'c', 3, NULL, "
            f"{metadata}, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
        )
    chosen = {"watch": ["--format", "jsonl"], "show": []}.get(arguments[0], ["--format", "json"])
    result = run(database, *arguments, *chosen)
    if result.exit_code == 0:  # a command that does not read that part of the row
        return
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "written behind its back" in result.output
    assert "foreign" in result.output or "bogus_type" in result.output


@pytest.mark.parametrize("command", [["workers"], ["recommend", "w1", "w2"], ["report", "-o"]])
def test_a_half_life_far_below_a_day_gives_scores_not_an_overflow(
    database: Path, tmp_path: Path, make_entry: MakeEntry, command: list[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC).replace(hour=0, minute=0) - timedelta(days=3)
    with FeedbackStorage(database) as store:
        store.create_many(
            make_entry(
                metadata={"worker_id": "w1", "success": hour % 2 == 0},
                created_at=start + timedelta(hours=hour),
            )
            for hour in range(0, 24, 3)
        )
    if command == ["report", "-o"]:
        command = [*command, str(tmp_path / "r.html")]
    result = run(database, *command, "--half-life", "1m")
    assert result.exit_code == 0, result.output


def test_export_without_the_key_refuses_unless_placeholders_are_asked_for(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 13: the command line never writes placeholders with exit 0 and no word."""
    from cryptography.fernet import Fernet

    config = tmp_path / "enc.toml"
    config.write_text('[privacy]\nencrypt_metadata_keys = ["secret"]\n')
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    added = run(
        database,
        "--config",
        str(config),
        "add",
        "--task",
        "t",
        "--type",
        "general",
        "--meta",
        "secret=hidden",
        "x",
    )
    assert added.exit_code == 0, added.output
    monkeypatch.delenv("ORCHESTRATOR_FEEDBACK_ENCRYPTION_KEYS")
    out = tmp_path / "backup.jsonl"
    refused = run(database, "--config", str(config), "export", "-o", str(out))
    assert refused.exit_code == 1
    assert "cannot be read" in refused.output and "--placeholders" in refused.output
    assert not out.exists()
    allowed = run(database, "--config", str(config), "export", "-o", str(out), "--placeholders")
    assert allowed.exit_code == 0, allowed.output
    assert "warning: 1 entry holds" in allowed.output
    assert "encrypted" in out.read_text()


def test_export_refuses_an_extension_it_does_not_write(database: Path, tmp_path: Path) -> None:
    FeedbackStorage(database).close()
    result = run(database, "export", "-o", str(tmp_path / "x.parquet"))
    assert result.exit_code == 2
    assert "cannot tell the format" in result.output
    assert not (tmp_path / "x.parquet").exists()
    assert (
        run(database, "export", "-o", str(tmp_path / "x.parquet"), "--format", "csv").exit_code == 0
    )
