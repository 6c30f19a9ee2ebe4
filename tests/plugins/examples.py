"""Installing an example package of ``examples/`` for real, as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


def install_example(name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``examples/<name>`` installed (with its entry point) into a folder of its own,
    built from a copy so that the build leaves nothing in the source tree."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("source") / name
    shutil.copytree(EXAMPLES / name, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(source)],
        check=True,
    )  # fmt: skip
    return target
