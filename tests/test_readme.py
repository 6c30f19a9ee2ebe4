"""The README stays true: every hook is documented, and its two commands come first."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from orchestrator_feedback import hookspecs
from orchestrator_feedback.markers import PROJECT_NAME

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
HOOK_REFERENCE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
HOOKS = [
    (name, function)
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, f"{PROJECT_NAME}_spec")
]


def test_there_are_hooks() -> None:
    assert len(HOOKS) >= 13


@pytest.mark.parametrize(("name", "function"), HOOKS, ids=[name for name, _ in HOOKS])
def test_every_hook_has_a_docstring_and_a_readme_entry(name: str, function: object) -> None:
    doc = inspect.getdoc(function)
    assert doc and len(doc) > 40, f"hookspec {name} needs a docstring"
    assert f"| `{name}(" in HOOK_REFERENCE, f"hook {name} is missing from docs/plugins.md"


def test_the_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make demo" in first_block and "make test" in first_block
