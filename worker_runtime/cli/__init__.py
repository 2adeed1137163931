"""The ``blackroad`` command line: the root group, its global options and its subcommands."""

from __future__ import annotations

import click

from worker_runtime.cli.context import OUTPUTS, AppContext, RootGroup
from worker_runtime.cli.devcluster_cmd import devcluster
from worker_runtime.cli.dlq import dlq_group
from worker_runtime.cli.job import job_group
from worker_runtime.cli.queue import queue_group
from worker_runtime.cli.schedule import schedule_group
from worker_runtime.cli.worker import worker_group
from worker_runtime.connection import DEFAULT_URL

__all__ = ["cli", "main"]


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--redis-url",
    envvar="REDIS_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="Redis to talk to: redis://, rediss:// (TLS) or unix://; env REDIS_URL.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUTS),
    default="table",
    show_default=True,
    help="Output format; json and yaml are for scripts.",
)
@click.pass_context
def cli(ctx: click.Context, redis_url: str, output: str) -> None:
    """BlackRoad Queues: inspect and steer job queues on Redis."""
    app = AppContext(redis_url, output)
    ctx.obj = app
    ctx.call_on_close(app.close)


cli.add_command(queue_group)
cli.add_command(job_group)
cli.add_command(dlq_group)
cli.add_command(worker_group)
cli.add_command(schedule_group)
cli.add_command(devcluster)


def main() -> None:
    """The console script's entry point."""
    cli()
