"""The example webhook plugin (examples/alert_webhook), installed for real: a flaky worker's
alert reaches a local HTTP server once, as JSON; a server that is down takes nothing down."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from orchestrator_feedback import get_plugin_manager
from orchestrator_feedback.config import config_from_mapping
from tests.plugins.examples import install_example
from tests.plugins.test_alert_hook import turn_flaky


@pytest.fixture(scope="module")
def webhook_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_example("alert_webhook", tmp_path_factory)


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()


def test_an_alert_is_posted_once_as_json(
    webhook_site: Path,
    server: tuple[str, list[dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(webhook_site))
    url, received = server
    config = config_from_mapping(
        {"database": str(tmp_path / "f.db"), "plugins": {"alert_webhook": {"url": url}}}
    )
    pm = get_plugin_manager(config)
    assert pm.get_plugin("alert_webhook") is not None  # found by its entry point
    turn_flaky(pm)
    pm.feedback_plugin.storage.check_alerts()
    pm.close()
    assert len(received) == 1
    [body] = received
    assert (body["worker_id"], body["kind"], body["measure"], body["task_type"]) == (
        "flaky", "degraded", "success", "build"
    )  # fmt: skip
    assert body["before"] > 0.9 > body["after"] and body["text"].startswith("worker flaky degraded")


def test_a_webhook_that_is_down_only_loses_the_post(
    webhook_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(webhook_site))
    config = config_from_mapping(
        {
            "database": str(tmp_path / "f.db"),
            "plugins": {"alert_webhook": {"url": "http://127.0.0.1:9/down", "timeout_s": 1}},
        }
    )
    pm = get_plugin_manager(config)
    turn_flaky(pm)
    storage = pm.feedback_plugin.storage
    storage.check_alerts()
    assert [alert.kind for alert in storage.alerts()] == ["degraded"]
    pm.close()
