"""``blackroad exporter``: serves the queue-level Prometheus series outside Kubernetes."""

from __future__ import annotations

import errno
import logging

import click

from worker_runtime.cli.context import AppContext, InputError
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import InvalidArgumentError


@click.command("exporter")
@click.option("--port", type=click.IntRange(0, 65535), default=9808, show_default=True)
@click.option("--addr", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option(
    "--queues",
    default="",
    help="Comma-separated queues to export (default: every queue in the registry).",
)
@click.pass_obj
def exporter(app: AppContext, port: int, addr: str, queues: str) -> None:
    """Serve /metrics with the queue-level series (depth by state, jobs enqueued, workers
    active, the oldest pending age) until SIGTERM. Run exactly one per Redis, and none
    where the operator runs: it exports the same series."""
    from worker_runtime.exporter import serve

    names = [q.strip() for q in queues.split(",") if q.strip()]
    for name in names:
        try:
            check_queue_name(name)
        except InvalidArgumentError as exc:
            raise InputError(f"--queues: {exc}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        serve(app.redis_url, port, names, addr)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise InputError(f"--port: port {port} is in use; pick a free one") from None
