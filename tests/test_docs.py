"""The README and every page in docs/ stay true: their Python blocks run as written, the
README stays short, and no page keeps a diary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:<!-- not run: [^>]*-->\n)?^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for number, match in enumerate(_BLOCK.finditer(text), start=1):
            if not match.group(0).startswith("<!-- not run"):
                found.append((f"{page.relative_to(ROOT)}#{number}", match.group(1)))
    return found


BLOCKS = _blocks()
DOCS_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
"""The server the docs' PostgreSQL blocks name: the tests run them on a fresh schema."""


def test_there_are_blocks_to_run() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_every_python_block_runs(
    where: str,
    code: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if DOCS_POSTGRES_URL in code:  # a server's block: on a schema of its own, or skipped
        code = code.replace(DOCS_POSTGRES_URL, request.getfixturevalue("postgres_url"))
    monkeypatch.chdir(tmp_path)
    for name in ("CONFIG", "DATABASE", "ENABLED", "WRITE_MODE", "PLUGINS", "DISABLE_PLUGINS"):
        monkeypatch.delenv(f"ORCHESTRATOR_FEEDBACK_{name}", raising=False)
    exec(compile(code, where, "exec"), {"__name__": "docs_example"})


def test_the_readme_stays_under_15_kb() -> None:
    assert len((ROOT / "README.md").read_bytes()) < 15_000


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_no_page_keeps_a_diary(page: Path) -> None:
    diary = re.compile(
        r"(first|second|third|fourth|fifth|this|last|earlier) session|runs? (today|yesterday)",
        re.IGNORECASE,
    )
    assert not diary.search(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_links_between_pages_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
        assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"
