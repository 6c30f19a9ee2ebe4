"""FeedbackConfig: files, environment overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator_feedback import (
    BackgroundConfig,
    FeedbackConfig,
    FeedbackType,
    FeedbackValidationError,
    load_config,
)

FULL = """
enabled = true
database = "sqlite:///custom.db"
max_content_length = 1000
strict = false

[plugins]
enable = ["alerts"]
disable = ["noisy"]

[plugins.alerts]
threshold = 1

[collection_points.review]
enabled = true
prompt = "How good was it?"
feedback_type = "task_quality"

[collection_points.error]
enabled = false
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CONFIG", "DATABASE", "ENABLED"):
        monkeypatch.delenv(f"ORCHESTRATOR_FEEDBACK_{name}", raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_any_file() -> None:
    assert load_config() == FeedbackConfig()
    assert FeedbackConfig().database == "feedback.db"


def test_every_key_is_read(tmp_path: Path) -> None:
    path = tmp_path / "custom.toml"
    path.write_text(FULL)
    config = load_config(path)
    assert config.database == "sqlite:///custom.db" and config.max_content_length == 1000
    assert config.plugins.enable == ("alerts",) and config.plugins.disable == ("noisy",)
    assert config.plugin_settings("alerts") == {"threshold": 1}
    assert config.plugin_settings("other") == {}
    review = config.collection_point("review")
    assert review.prompt == "How good was it?" and review.feedback_type is FeedbackType.TASK_QUALITY
    assert config.collection_point("error").enabled is False
    assert config.collection_point("unknown").enabled is True


def test_file_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "orchestrator-feedback.toml").write_text('database = "from-cwd.db"')
    assert load_config().database == "from-cwd.db"
    named = tmp_path / "named.toml"
    named.write_text('database = "from-env.db"')
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_CONFIG", str(named))
    assert load_config().database == "from-env.db"
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('database = "explicit.db"')
    assert load_config(explicit).database == "explicit.db"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "orchestrator-feedback.toml").write_text('database = "file.db"\nenabled = true')
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_DATABASE", "env.db")
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_ENABLED", "false")
    config = load_config()
    assert config.database == "env.db" and config.enabled is False
    monkeypatch.setenv("ORCHESTRATOR_FEEDBACK_ENABLED", "perhaps")
    with pytest.raises(FeedbackValidationError, match="ORCHESTRATOR_FEEDBACK_ENABLED"):
        load_config()


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('[plugins]\nenable = ["a", "b", 3]', "plugins.enable[2]"),
        ("colour = 'blue'", "colour"),
        ('enabled = "yes"', "enabled"),
        ("max_content_length = 4.5", "max_content_length"),
        ("max_content_length = 0", "max_content_length"),
        (
            "[collection_points.review]\nfeedback_type = 'praise'",
            "collection_points.review.feedback_type",
        ),
        ("[collection_points.review]\nenabled = 1", "collection_points.review.enabled"),
        ("[plugins]\nalerts = 3", "plugins.alerts"),
        ("write_mode = 'Background'", "write_mode"),
        ("[background]\nqueue_size = 0", "background.queue_size"),
        ("[background]\non_full = 'wait'", "background.on_full"),
        ("[background]\nbatch_window_ms = -5", "background.batch_window_ms"),
        ("[background]\nbatch_window_ms = nan", "background.batch_window_ms"),
        ("[background]\nbatch_window_ms = inf", "background.batch_window_ms"),
    ],
)
def test_bad_keys_are_named_with_their_path(tmp_path: Path, text: str, path: str) -> None:
    config_file = tmp_path / "bad.toml"
    config_file.write_text(text)
    with pytest.raises(FeedbackValidationError) as raised:
        load_config(config_file)
    assert raised.value.field == path
    assert str(config_file) in str(raised.value)
    assert "Attribute(" not in str(raised.value)  # no attrs internals in the message


def test_a_config_built_in_python_names_a_bad_field() -> None:
    with pytest.raises(FeedbackValidationError, match="must be one of: sync, background") as raised:
        FeedbackConfig(write_mode="async")
    assert raised.value.field == "write_mode"
    with pytest.raises(FeedbackValidationError, match="must be at least 1") as raised:
        BackgroundConfig(queue_size=0)
    assert raised.value.field == "queue_size"


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FeedbackValidationError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("database = ")
    with pytest.raises(FeedbackValidationError, match="not valid TOML"):
        load_config(broken)
