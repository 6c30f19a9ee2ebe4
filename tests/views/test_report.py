"""The HTML report: one self-contained file, opened by a real headless Chromium with no
network, its numbers equal to the store's answers, hostile text shown as text."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType
from orchestrator_feedback.cli import cli
from orchestrator_feedback.views.report import (
    build_report,
    period_start,
    render_report,
    write_report,
)
from tests.conftest import skip_or_fail

MakeEntry = Callable[..., FeedbackEntry]
NOW = datetime.now(UTC)
HOSTILE = '<script>alert("task")</script>"><img src=x onerror=alert(1)>'


def fill(storage: FeedbackStorage, make_entry: MakeEntry) -> None:
    entries = []
    for n in range(120):
        worker = HOSTILE if n % 10 == 0 else f"w{n % 4}"
        metadata: dict[str, object] = {"worker_id": worker, "task_type": f"k{n % 2}"}
        if n % 6 == 0:
            metadata["success"] = False
        created = NOW - timedelta(days=n % 20, minutes=n)
        entries.append(
            make_entry(
                task_id=f"{HOSTILE}-{n}",
                rating=None if n % 5 == 0 else 1 + n % 5,
                metadata=metadata,
                created_at=created,
            )
        )
        if n % 9 == 0:
            entries.append(
                make_entry(
                    task_id=f"failed-{n}",
                    feedback_type=FeedbackType.ERROR_REPORT,
                    rating=None,
                    content="crashed",
                    metadata={
                        "worker_id": f"w{n % 4}",
                        "error_type": "ValueError" if n % 2 else "<b>Bold</b>Error",
                        "error_message": f"{HOSTILE} number {n}",
                    },
                    created_at=created,
                )
            )
    entries.append(make_entry(task_id="too-old", created_at=NOW - timedelta(days=90)))
    storage.create_many(entries)


@pytest.fixture
def filled(storage: FeedbackStorage, make_entry: MakeEntry) -> FeedbackStorage:
    fill(storage, make_entry)
    return storage


class _Page(HTMLParser):
    """The parts of the page a test reads: tags seen, metric texts, table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.metrics: dict[str, str] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self._metric: str | None = None
        self._metric_tag = ""
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if "data-metric" in found:
            self._metric = found["data-metric"]
            self._metric_tag = tag
            self.metrics[self._metric or ""] = ""
        if tag == "table":
            self._table = found.get("data-table")
            self.rows.setdefault(self._table or "", [])
        if tag == "tr" and self._table is not None:
            self.rows[self._table].append([])
        if tag in ("td", "th"):
            self._cell = []
        if tag == "small":
            self._metric = None

    def handle_endtag(self, tag: str) -> None:
        if tag == self._metric_tag:
            self._metric = None
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.rows[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._metric is not None:
            self.metrics[self._metric] += data.strip()
        if self._cell is not None:
            self._cell.append(data)


def _parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    return parsed


def test_the_page_is_self_contained_and_escapes_stored_text(filled: FeedbackStorage) -> None:
    page = render_report(build_report(filled, days=30))
    parsed = _parse(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "link" not in parsed.tags
    # no resource to fetch: the only URL is the SVG namespace, which is never loaded
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert "url(" not in page and "@import" not in page and "@font-face" not in page
    text = "".join(parsed.text)
    assert HOSTILE in text  # shown, as text
    assert "&lt;script&gt;alert(&#34;task&#34;)&lt;/script&gt;" in page
    assert "<b>Bold</b>Error" in text and "&lt;b&gt;Bold&lt;/b&gt;Error" in page


def test_the_numbers_are_the_stores_own(filled: FeedbackStorage) -> None:
    report = build_report(filled, days=30, half_life=timedelta(days=7))
    parsed = _parse(render_report(report))
    since = report.since
    summary = filled.get_summary(since=since)
    outcomes = filled.failures(since=since)
    assert parsed.metrics["entries"] == f"{summary.total_count:,}" == "134"
    assert parsed.metrics["average-rating"] == f"{summary.average_rating:.2f}"
    assert parsed.metrics["success-rate"] == f"{outcomes.success_rate:.1%}"
    assert parsed.metrics["failures"] == f"{outcomes.failures:,}"
    workers = filled.worker_scores(since=since, half_life=timedelta(days=7))
    rows = parsed.rows["workers"][1:]
    assert [row[1] for row in rows] == [score.worker_id for score in workers]
    assert [row[3] for row in rows] == [f"{score.success_rate:.1%}" for score in workers]
    failure_rows = parsed.rows["failures"][1:]
    assert [(row[0], int(row[1])) for row in failure_rows] == [
        (group.error_type, group.count) for group in outcomes.groups
    ]
    types = {row[0]: int(row[1]) for row in parsed.rows["types"][1:]}
    assert types == {kind.value: n for kind, n in summary.feedback_by_type.items() if n}
    trend = {row[0]: int(row[1].replace(",", "")) for row in parsed.rows["trend"][1:]}
    assert trend == {point.period: point.count for point in filled.trends(days=30) if point.count}


def test_task_type_narrows_outcomes_and_workers(filled: FeedbackStorage) -> None:
    report = build_report(filled, days=30, task_type="k1")
    parsed = _parse(render_report(report))
    assert parsed.metrics["task-type"] == "k1"
    assert parsed.metrics["failures"] == str(
        filled.failures(since=report.since, task_type="k1").failures
    )


def test_the_command_writes_the_file_and_says_its_size(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    database = tmp_path / "f.db"
    with FeedbackStorage(database) as storage:
        fill(storage, make_entry)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli,
        ["--database", str(database), "report", "-o", str(out), "--days", "7", "--half-life", "3d"],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out} ({out.stat().st_size:,} bytes)" in result.output
    assert "half-life 3 days" in out.read_text()
    bad = CliRunner().invoke(
        cli, ["--database", str(database), "report", "-o", str(out), "--half-life", "soon"]
    )
    assert bad.exit_code == 2 and "'soon' is not an age" in bad.output


def test_an_empty_store_still_makes_a_page(tmp_path: Path) -> None:
    with FeedbackStorage(tmp_path / "empty.db") as storage:
        parsed = _parse(render_report(build_report(storage, days=30)))
    assert parsed.metrics["entries"] == "0" and parsed.metrics["success-rate"] == "–"


# -- in a real browser ---------------------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    skip_or_fail(
        "no Chromium here: apt-get install chromium (.ci/run installs it) to test the report "
        "in a browser"
    )


def _offline() -> list[str]:
    """A prefix that runs a command with no network at all: a network namespace of its own
    (root, or an unprivileged user namespace); else a proxy that refuses everything."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            continue
    return []


def _browse(page: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        *_offline(),
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--proxy-server=http://127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
        *arguments,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _distinct_pixels(png: bytes) -> int:
    """How many different byte values the image's pixel data holds (a blank page: 2-3)."""
    chunks = []
    at = 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind = png[at + 4 : at + 8]
        if kind == b"IDAT":
            chunks.append(png[at + 8 : at + 8 + length])
        at += 12 + length
    return len(set(zlib.decompress(b"".join(chunks))))


def test_chromium_opens_it_offline_without_errors_and_shows_the_numbers(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    database = tmp_path / "f.db"
    with FeedbackStorage(database) as storage:
        fill(storage, make_entry)
        page = tmp_path / "report.html"
        write_report(storage, page, days=30)
        summary = storage.get_summary(since=period_start(datetime.now(UTC), 30))
    shown = _browse(page, "--dump-dom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    console = [line for line in shown.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    assert "ERR_" not in shown.stderr  # no request was made, so none failed
    dom = _parse(shown.stdout)
    assert dom.metrics["entries"] == f"{summary.total_count:,}"
    assert "script" not in dom.tags
    assert HOSTILE in html.unescape("".join(dom.text))
    shot = tmp_path / "shot.png"
    taken = _browse(page, f"--screenshot={shot}", "--window-size=1000,1800", "--hide-scrollbars")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert _distinct_pixels(shot.read_bytes()) > 50  # text, bars and colours: not blank


_MEASURE = """
<script>
(() => {
  const body = document.body;
  const overflow = Math.max(document.documentElement.scrollWidth - window.innerWidth,
                            body.scrollWidth - body.clientWidth);
  let smallest = 1000;
  for (const text of document.querySelectorAll("svg text")) {
    const scale = text.ownerSVGElement.getScreenCTM().a;
    const size = parseFloat(getComputedStyle(text).fontSize) * scale;
    if (text.getClientRects().length) smallest = Math.min(smallest, size);
  }
  const names = [...document.querySelectorAll("td.name")].map(
    (cell) => cell.getBoundingClientRect().width);
  document.body.setAttribute("data-layout", JSON.stringify(
    {overflow, smallest, window: window.innerWidth,
     width: Math.round(body.getBoundingClientRect().width),
     widest_name: Math.max(0, ...names)}));
})();
</script>
"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_report_fits_a_desktop_and_a_phone(
    tmp_path: Path, make_entry: MakeEntry, width: int
) -> None:
    """Issue "What an operator trips on", item 16: with a 60-character worker id and 50,000
    entries, no horizontal page scroll at 1,280 or 390 px (wide tables and charts scroll in
    their own box), chart text at least 10 CSS px, and the long id wraps within its cell."""
    import json as json_module

    long_worker = "w" * 20 + "-a-very-long-worker-identifier-" + "x" * 9
    assert len(long_worker) == 60
    database = tmp_path / "f.db"
    with FeedbackStorage(database) as storage:
        storage.create_many(
            make_entry(
                task_id=f"t{n}",
                metadata={
                    "worker_id": long_worker if n % 3 == 0 else f"w{n % 7}",
                    "success": n % 5 != 0,
                    "error_type": "Timeout",
                },
                created_at=NOW - timedelta(minutes=n * 0.8),
            )
            for n in range(50_000)
        )
        page = tmp_path / "report.html"
        write_report(storage, page, days=30)
    measured = tmp_path / "measured.html"
    # Headless Chromium's window is at least 500 px wide: a phone's 390 px is the body's
    # width instead (the page has no media query that a narrower window would change).
    narrow = f"<style>body {{ width: {width}px; max-width: {width}px; margin: 0; "
    narrow += "box-sizing: border-box; }</style>" if width < 500 else ""
    measured.write_text(
        page.read_text()
        .replace("</head>", (narrow if width < 500 else "") + "</head>")
        .replace("</body>", _MEASURE + "</body>")
    )
    shown = _browse(measured, "--dump-dom", f"--window-size={max(width, 500)},900")
    assert shown.returncode == 0, shown.stderr[-2000:]
    found = re.search(r'data-layout="([^"]*)"', shown.stdout)
    assert found is not None, shown.stdout[-2000:]
    layout = json_module.loads(html.unescape(found.group(1)))
    assert layout["width"] == width if width < 500 else layout["window"] == width
    assert layout["overflow"] <= 0, layout
    assert layout["smallest"] >= 10, layout
    assert 0 < layout["widest_name"] < width, layout


def test_a_worker_that_degraded_shows_among_those_that_changed_most(
    tmp_path: Path, make_entry: MakeEntry
) -> None:
    """Item 16: without --half-life, a worker that went from 95% to 40% in the last days
    leads the section, with a falling line; a steady one is not in it."""
    with FeedbackStorage(tmp_path / "f.db") as storage:
        entries = []
        for hour in range(30 * 24 - 2):
            at = NOW - timedelta(hours=hour + 1)
            recent = hour < 4 * 24
            entries.append(
                make_entry(
                    task_id=f"bad-{hour}",
                    metadata={
                        "worker_id": "w-degraded",
                        "success": hour % 10 < (4 if recent else 9),
                    },
                    created_at=at,
                )
            )
            entries.append(
                make_entry(
                    task_id=f"good-{hour}",
                    metadata={"worker_id": "w-steady", "success": True},
                    created_at=at,
                )
            )
        storage.create_many(entries)
        report = build_report(storage, days=30)
        page = render_report(report)
    assert [trend.worker_id for trend in report.changed] == ["w-degraded"]
    degraded = report.changed[0]
    assert degraded.change < -0.3
    assert degraded.rates[0] is not None and degraded.rates[0] > 0.85
    assert degraded.rates[-1] is not None and degraded.rates[-1] < 0.6
    section = page[page.index('id="changed-heading"') : page.index('id="worker-failures-heading"')]
    assert 'data-worker="w-degraded"' in section and 'data-worker="w-steady"' not in section
    assert "<path" in section
    failures = page[page.index('id="worker-failures-heading"') : page.index('id="ratings-heading"')]
    assert 'data-worker="w-degraded"' in failures and 'data-worker="w-steady"' not in failures


def test_an_empty_store_has_a_count_axis_of_whole_numbers(tmp_path: Path) -> None:
    with FeedbackStorage(tmp_path / "f.db") as storage:
        page = render_report(build_report(storage, days=30))
    chart = page[page.index("<svg") : page.index("</svg>")]
    labels = re.findall(r'text-anchor="end">([^<]*)<', chart)
    assert labels == ["0", "1"]


def test_the_period_starts_at_a_utc_midnight(storage: FeedbackStorage) -> None:
    report = build_report(storage, days=7)
    start = report.since
    assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
    assert timedelta(days=7) <= report.generated_at - start < timedelta(days=8)


def test_the_compiled_template_is_kept_and_a_cache_it_cannot_use_fails_no_report(
    filled: FeedbackStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's template is compiled once and kept in Jinja's cache (a private folder in
    the temporary folder); a cache file that cannot be written, or a cache folder that
    cannot be made, leaves the page as it is."""
    import os
    import tempfile

    report = build_report(filled, days=30)
    expected = render_report(report)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cache = tmp_path / f"_jinja2-cache-{os.getuid()}"
    assert render_report(report) == expected
    (kept,) = cache.iterdir()
    assert kept.stat().st_size > 0
    assert render_report(report) == expected  # read back from the cache
    kept.unlink()
    kept.mkdir()  # where the compiled template would go: it cannot be written
    assert render_report(report) == expected
    kept.rmdir()
    cache.rmdir()
    cache.write_text("")  # a file where the folder would be: Jinja refuses the cache
    assert render_report(report) == expected
