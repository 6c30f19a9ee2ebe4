"""``orchestrator-feedback watch``: a live screen on a real pseudo-terminal, JSON lines
through a pipe, with the entries written by another process."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import FeedbackEntry, FeedbackStorage, FeedbackType

SCRIPT = str(Path(sys.executable).parent / "orchestrator-feedback")

WRITER = """
import sys, time
from orchestrator_feedback import FeedbackEntry, FeedbackStorage
with FeedbackStorage(sys.argv[1]) as storage:
    for n, (task, kind, worker, rating, success) in enumerate([
        ("build-1", "task_completion", "w-fast", 5, True),
        ("build-2", "task_completion", "w-fast", 4, True),
        ("build-3", "task_completion", "w-slow", 2, False),
        ("crash-1", "error_report", "w-slow", None, None),
    ]):
        meta = {"worker_id": worker, "task_type": "build"}
        if success is not None:
            meta["success"] = success
        storage.create(FeedbackEntry(task_id=task, feedback_type=kind, content="[bold]x\\x1b[2J",
                                     rating=rating, metadata=meta))
        time.sleep(0.05)
"""


def _write_from_another_process(database: Path) -> None:
    subprocess.run([sys.executable, "-c", WRITER, str(database)], check=True, timeout=60)


def _read_lines(stream: object, count: int, timeout: float = 30.0) -> list[str]:
    """The next ``count`` lines of a child's output pipe, read from its file descriptor (a
    text wrapper's own buffer would hide lines from ``select``)."""
    descriptor = stream.fileno()  # type: ignore[attr-defined]
    received = _pending.pop(descriptor, b"")
    deadline = time.monotonic() + timeout
    while received.count(b"\n") < count:
        ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"only {received!r} within {timeout} s")
        chunk = os.read(descriptor, 65536)
        if not chunk:
            break
        received += chunk
    lines = received.split(b"\n")
    _pending[descriptor] = b"\n".join(lines[count:])
    return [line.decode() for line in lines[:count]]


_pending: dict[int, bytes] = {}
_started: list[subprocess.Popen[str]] = []


def _ctrl_c_acted_on() -> None:
    # A test run started in the background inherits SIGINT ignored, and Python keeps an
    # ignored SIGINT ignored: the child would never see the Ctrl-C these tests send.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _popen(arguments: list[str], **options: Any) -> subprocess.Popen[str]:
    """Start ``watch`` so that SIGINT reaches it however the test run was started; every
    one still running at the end of its test is killed (see ``_no_process_left``)."""
    process: subprocess.Popen[str] = subprocess.Popen(
        arguments, preexec_fn=_ctrl_c_acted_on, **options
    )
    _started.append(process)
    return process


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_ctrl_c_stops_watch_even_when_the_test_run_ignores_it(tmp_path: Path) -> None:
    """Issue "What an operator trips on", item 17: started with SIGINT ignored (as a
    background job is), the watch these tests start still stops on SIGINT."""
    database = tmp_path / "feedback.db"
    with FeedbackStorage(database) as storage:
        storage.create(FeedbackEntry(task_id="t", feedback_type="general", content="c"))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = _popen(
            [SCRIPT, "--database", str(database), "watch", "--since", "1h"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    # The entry replayed: it is watching (a Ctrl-C while it starts is click's "Aborted!").
    assert len(_read_lines(process.stdout, 1)) == 1
    code, err = _stop(process)
    assert code == 0 and "Traceback" not in err


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    return process.returncode, err


def test_piped_watch_prints_one_json_line_per_entry_and_exits_0_on_ctrl_c(
    tmp_path: Path,
) -> None:
    database = tmp_path / "feedback.db"
    FeedbackStorage(database).close()
    process = _popen(
        [SCRIPT, "--database", str(database), "watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # it starts with the next commit
    _write_from_another_process(database)
    lines = _read_lines(process.stdout, 4)
    records = [json.loads(line) for line in lines]
    assert [r["task_id"] for r in records] == ["build-1", "build-2", "build-3", "crash-1"]
    assert records[3]["feedback_type"] == "error_report"
    assert records[0]["metadata"] == {"worker_id": "w-fast", "task_type": "build", "success": True}
    code, err = _stop(process)
    assert code == 0 and "Traceback" not in err and err == ""


def test_watch_replays_since_and_filters(tmp_path: Path) -> None:
    database = tmp_path / "feedback.db"
    now = datetime.now(UTC)
    with FeedbackStorage(database) as storage:
        for task, age in (("old", timedelta(hours=3)), ("recent", timedelta(minutes=3))):
            storage.create(
                FeedbackEntry(
                    task_id=task,
                    feedback_type=FeedbackType.ERROR_REPORT,
                    content="boom",
                    created_at=now - age,
                    metadata={"worker_id": "w-slow"},
                )
            )
    process = _popen(
        [SCRIPT, "--database", str(database), "watch", "--since", "10m", "--type", "error_report"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert [json.loads(line)["task_id"] for line in _read_lines(process.stdout, 1)] == ["recent"]
    _write_from_another_process(database)
    assert [json.loads(line)["task_id"] for line in _read_lines(process.stdout, 1)] == ["crash-1"]
    code, err = _stop(process)
    assert code == 0 and err == ""


def test_watch_refuses_a_bad_since_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [SCRIPT, "--database", str(tmp_path / "f.db"), "watch", "--since", "yesterday"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "'yesterday' is neither an ISO date" in result.stderr
    assert "Traceback" not in result.stderr


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _screen_until(
    master: int, wanted: list[str], timeout: float = 30.0, *, in_one_frame: bool = False
) -> str:
    """What the terminal received, read until every ``wanted`` text is on it (with
    ``in_one_frame``: on the newest whole frame, not spread over several)."""
    received = b""
    deadline = time.monotonic() + timeout
    while True:
        text = _ANSI.sub("", received.decode("utf-8", "replace"))
        seen = "\n".join(_last_frame(text)) if in_one_frame else text
        if all(piece in seen for piece in wanted):
            return text
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{wanted} not all on the screen:\n{text[-3000:]}")
        ready, _, _ = select.select([master], [], [], remaining)
        if ready:
            try:
                received += os.read(master, 65536)
            except OSError:  # the terminal closed
                continue


def test_the_live_screen_renders_and_updates_on_a_real_terminal(tmp_path: Path) -> None:
    database = tmp_path / "feedback.db"
    FeedbackStorage(database).close()
    process, master = _start_on_a_terminal(database, 140)
    try:
        first = _screen_until(master, ["Workers, entries created in the last 30 min", "Newest"])
        assert "0 new entries" in first and "Open alerts: none" in first
        _write_from_another_process(database)
        screen = _screen_until(master, ["4 new entries", "crash-1", "w-slow"])
        last = screen[screen.rindex("4 new entries") :]
        fast = next(line for line in last.splitlines() if "w-fast" in line and "100%" in line)
        assert re.search(r"w-fast\s*│\s*2\s*│\s*100%\s*│\s*2\s*│\s*0\s*│\s*4\.50", fast), fast
        slow = next(line for line in last.splitlines() if line.count("w-slow") and "0%" in line)
        assert re.search(r"w-slow\s*│\s*2\s*│\s*0%\s*│\s*0\s*│\s*2\s*│\s*2\.00", slow), slow
        assert "[bold]x\\x1b[2J" in last  # stored text shown as written, never acted on
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        tail = _screen_until(master, [], timeout=1)
        assert "Traceback" not in tail
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)


def test_watch_on_postgres_follows_another_process(postgres_url: str, tmp_path: Path) -> None:
    FeedbackStorage(postgres_url).close()
    process = _popen(
        [SCRIPT, "--database", postgres_url, "watch", "--worker", "w-slow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    _write_from_another_process_to(postgres_url)
    tasks = [json.loads(line)["task_id"] for line in _read_lines(process.stdout, 2)]
    assert tasks == ["build-3", "crash-1"]
    code, err = _stop(process)
    assert code == 0 and err == ""


def _write_from_another_process_to(target: str) -> None:
    subprocess.run([sys.executable, "-c", WRITER, target], check=True, timeout=60)


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def _start_on_a_terminal(database: Path, columns: int) -> tuple[subprocess.Popen[str], int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environment = {**os.environ, "TERM": "xterm-256color"}
    environment.pop("NO_COLOR", None)
    environment.pop("COLUMNS", None)
    process = _popen(
        [SCRIPT, "--database", str(database), "watch", "--window", "30m"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environment,
        text=True,
    )
    os.close(slave)
    return process, master


def _last_frame(screen: str) -> list[str]:
    """The lines of the newest whole frame on the screen (both tables' bottom borders drawn;
    the frame being written may still be half-way)."""
    frames = screen.split("orchestrator-feedback watch")[1:]
    whole = [frame for frame in frames if frame.count("└") >= 2] or frames
    if not whole:
        return []
    return [line for line in whole[-1].splitlines() if line.strip()]


@pytest.mark.parametrize("columns", [80, 120])
def test_the_live_screen_keeps_every_column_it_shows_readable(tmp_path: Path, columns: int) -> None:
    """Issue "What an operator trips on", item 15: at 80 and 120 columns no column is cut to
    nothing: the time, the rating and the counts are whole; what does not fit is left out."""
    database = tmp_path / "feedback.db"
    FeedbackStorage(database).close()
    _process, master = _start_on_a_terminal(database, columns)
    try:
        _screen_until(master, ["Newest entries"])
        _write_from_another_process(database)
        frame = _last_frame(
            _screen_until(master, ["4 new entries", "crash-1", "build-1"], in_one_frame=True)
        )
        assert all(len(line.rstrip()) <= columns for line in frame), frame
        fast = next(line for line in frame if "w-fast" in line and "100%" in line)
        assert re.search(r"w-fast\s*│\s*2\s*│\s*100%\s*│\s*2\s*│\s*0\s*│\s*4\.50", fast), fast
        rows = [line for line in frame if "build-1" in line]
        assert rows and re.search(r"\d\d:\d\d:\d\d", rows[-1])  # the time, whole
        assert re.search(r"│\s+5\s+│", rows[-1]), rows[-1]  # the rating, whole
        headers = " ".join(line for line in frame if "┃" in line)
        assert ("ratings" in headers) is (columns >= 86)
    finally:
        os.close(master)


def test_a_resized_terminal_is_redrawn_at_once(tmp_path: Path) -> None:
    database = tmp_path / "feedback.db"
    FeedbackStorage(database).close()
    process, master = _start_on_a_terminal(database, 120)
    try:
        _screen_until(master, ["Newest entries"])
        _write_from_another_process(database)
        _screen_until(master, ["4 new entries", "crash-1"])
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
        process.send_signal(signal.SIGWINCH)
        # No entry arrives after the resize: the new frame comes from the resize alone.
        started = time.monotonic()
        while True:
            frame = _last_frame(_screen_until(master, ["w-fast"], timeout=10, in_one_frame=True))
            widest = max(len(line.rstrip()) for line in frame)
            if widest <= 80 or time.monotonic() - started > 20:
                break
        assert widest <= 80, frame
    finally:
        os.close(master)
