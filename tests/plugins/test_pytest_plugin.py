"""The pytest plugin's fixtures as a plugin author uses them: docs/plugins.md's example, run
in a pytest of its own, passes with a working plugin and fails with a broken one."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs" / "plugins.md"

WORKING = """
from orchestrator_feedback import hookimpl

@hookimpl
def feedback_recorded(entry):
    if entry.rating is not None and entry.rating <= 2:
        flagged.append(entry)

flagged = []
"""

BROKEN = """
from orchestrator_feedback import hookimpl

@hookimpl
def feedback_recorded(entry):
    flaged.append(entry)  # a typo: NameError
"""


def _example() -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"```python\n(def test_my_plugin.*?)```", text, re.DOTALL)
    assert match is not None, "docs/plugins.md lost its plugin test example"
    return match.group(1)


@pytest.mark.parametrize(("plugin", "passes"), [(WORKING, True), (BROKEN, False)])
def test_the_documented_plugin_test_fails_when_the_plugin_breaks(
    tmp_path: Path, plugin: str, passes: bool
) -> None:
    (tmp_path / "my_alerts.py").write_text(textwrap.dedent(plugin))
    (tmp_path / "test_my_alerts.py").write_text("import my_alerts\n\n\n" + _example())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 0) is passes, result.stdout + result.stderr
    if not passes:
        assert "NameError" in result.stdout
