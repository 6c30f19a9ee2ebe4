"""``serve-metrics``: the store's Prometheus metrics over HTTP."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import click

from orchestrator_feedback.cli.common import Settings, WholeRange, fails_cleanly

pass_settings = click.make_pass_decorator(Settings)

READ_TIMEOUT_SECONDS = 10.0
"""How long a connection may take to send its request (or sit idle) before it is closed:
an idle or half-sent connection never holds up a scrape."""

METRICS_PATH = "/metrics"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per connection, so a slow or idle client never blocks another scrape."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape on standard error; a read timeout per connection."""

    timeout = READ_TIMEOUT_SECONDS

    def log_message(self, format: str, *args: object) -> None:
        return


def _routed(metrics: WsgiApp) -> WsgiApp:
    """``/metrics`` serves the metrics, ``/`` a line pointing there; any other path 404."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == METRICS_PATH:
            return metrics(environ, start_response)
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"orchestrator-feedback metrics: GET /metrics\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: the metrics are at /metrics\n"]

    return app


def _stop_on_sigterm(_signal: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # leaves serve_forever as Ctrl-C does


@click.command(
    "serve-metrics",
    epilog="Example: orchestrator-feedback serve-metrics --port 9464  (then GET /metrics)",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=9464,
    show_default=True,
    type=WholeRange(0, 65535),
    help="Port to listen on (0: any free port, printed at start).",
)
@pass_settings
@fails_cleanly
def serve_metrics(settings: Settings, host: str, port: int) -> None:
    """Serve the store's metrics for Prometheus at /metrics (entries, ratings, outcomes per
    worker and task type, each worker's success lower bound and mean rating, the newest
    entry's time), read from the rollups at each scrape, until Ctrl-C or SIGTERM. Each
    connection has a thread of its own and 10 s to send its request."""
    from orchestrator_feedback.views.metrics import metrics_app

    with settings.storage() as storage:
        server = make_server(
            host,
            port,
            _routed(metrics_app(storage)),
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            # Said inside the try: a Ctrl-C right after it still ends the server cleanly.
            click.echo(f"serving metrics on http://{host}:{server.server_port}/metrics", err=True)
            sys.stderr.flush()
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.server_close()


COMMANDS = [serve_metrics]
