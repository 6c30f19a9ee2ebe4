"""Settings that would throw data away, or quietly mean something else, are refused at load
with the key named (issue: never lose, never leak, items 8, 9 and 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator_feedback import (
    FeedbackEntry,
    FeedbackStorage,
    FeedbackType,
    FeedbackValidationError,
    RetentionPolicy,
    load_config,
)
from orchestrator_feedback.cli import cli
from orchestrator_feedback.errors import FeedbackError


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orchestrator-feedback.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("database", ["", "  ", "sqlite://", "sqlite:///"])
def test_an_empty_database_setting_is_refused(tmp_path: Path, database: str) -> None:
    path = _config(tmp_path, f'database = "{database}"\n')
    with pytest.raises(FeedbackValidationError, match=r"database: must name a database file"):
        load_config(path)


@pytest.mark.parametrize("database", ["", "sqlite://", "sqlite:///"])
def test_the_api_refuses_an_empty_database_too(database: str) -> None:
    with pytest.raises(FeedbackError, match="names no file"):
        FeedbackStorage(database)


def test_init_on_an_empty_database_fails_and_on_memory_says_nothing_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    refused = CliRunner().invoke(cli, ["--database", "sqlite://", "init"])
    assert refused.exit_code != 0
    assert "names no file" in refused.output
    memory = CliRunner().invoke(cli, ["--database", ":memory:", "init"])
    assert memory.exit_code == 0, memory.output
    assert "in memory: nothing is kept" in memory.output


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("max_age_days = 0", "retention.max_age_days"),
        ("max_age_days = -1", "retention.max_age_days"),
        ("max_age_days = 99999999999", "retention.max_age_days"),
        ("by_type = { error_report = -1 }", "retention.by_type.error_report"),
        ("by_type = { general = 0 }", "retention.by_type.general"),
    ],
)
def test_retention_ages_below_one_day_or_beyond_dates_are_refused(
    tmp_path: Path, table: str, field: str
) -> None:
    path = _config(tmp_path, f"[retention]\n{table}\n")
    with pytest.raises(FeedbackValidationError, match=rf"{field}: must be a whole number of days"):
        load_config(path)


def test_a_refused_retention_policy_cannot_reach_purge(tmp_path: Path) -> None:
    with pytest.raises(FeedbackValidationError, match="max_age_days"):
        RetentionPolicy(max_age_days=-1)
    with FeedbackStorage(tmp_path / "f.db", retention=RetentionPolicy(max_age_days=1)) as store:
        store.create(
            FeedbackEntry(task_id="t", feedback_type=FeedbackType.GENERAL, content="made now")
        )
        assert sum(store.purge().values()) == 0
        assert store.count() == 1


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[privacy]\nencrypt_metadata_keys = "diagnosis"\n', "privacy.encrypt_metadata_keys"),
        ('[plugins]\ndisable = "noisy"\n', "plugins.disable"),
        ('[plugins]\nenable = "noisy"\n', "plugins.enable"),
        ("[plugins]\ndisable = [1]\n", r"plugins.disable\[0\]"),
    ],
)
def test_a_string_where_a_list_is_expected_is_refused(
    tmp_path: Path, text: str, field: str
) -> None:
    path = _config(tmp_path, text)
    with pytest.raises(FeedbackValidationError, match=rf"^.*{field}: must be"):
        load_config(path)


def test_lists_of_names_still_load(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        '[privacy]\nencrypt_metadata_keys = ["diagnosis"]\n[plugins]\ndisable = ["noisy"]\n',
    )
    config = load_config(path)
    assert config.privacy.encrypt_metadata_keys == ("diagnosis",)
    assert config.plugins.disable == ("noisy",)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "[retention]\nby_type = 3\n",
            "retention.by_type: must be a table (key = value pairs) (got 3)",
        ),
        ('strict = "yes"\n', "strict: must be true or false (got 'yes')"),
    ],
)
def test_a_value_of_the_wrong_kind_is_said_without_python_words(
    tmp_path: Path, text: str, said: str
) -> None:
    """Issue "What an operator trips on", item 11: no "'int' object has no attribute"."""
    from orchestrator_feedback import FeedbackValidationError, load_config

    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(FeedbackValidationError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {said}"
