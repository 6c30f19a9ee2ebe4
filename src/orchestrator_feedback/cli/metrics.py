"""``serve-metrics``: the store's Prometheus metrics over HTTP."""

from __future__ import annotations

import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

import click

from orchestrator_feedback.cli.common import Settings, fails_cleanly

pass_settings = click.make_pass_decorator(Settings)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape on standard error."""

    def log_message(self, format: str, *args: object) -> None:
        return


@click.command(
    "serve-metrics",
    epilog="Example: orchestrator-feedback serve-metrics --port 9464  (then GET /metrics)",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9464, show_default=True, type=click.IntRange(0, 65535))
@pass_settings
@fails_cleanly
def serve_metrics(settings: Settings, host: str, port: int) -> None:
    """Serve the store's metrics for Prometheus (entries, ratings, outcomes per worker and
    task type, each worker's success lower bound and mean rating, the newest entry's age),
    read from the rollups at each scrape, until Ctrl-C."""
    from orchestrator_feedback.views.metrics import metrics_app

    with settings.storage() as storage:
        server = make_server(host, port, metrics_app(storage), handler_class=_QuietHandler)
        click.echo(f"serving metrics on http://{host}:{server.server_port}/metrics", err=True)
        sys.stderr.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


COMMANDS = [serve_metrics]
