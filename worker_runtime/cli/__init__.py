"""The ``blackroad`` command line: the root group, its global options and its subcommands."""

from __future__ import annotations

import importlib

import click
from click.core import ParameterSource

from worker_runtime.cli.context import (
    OUTPUTS,
    AppContext,
    InputError,
    RootGroup,
    has_password,
    read_url_file,
)
from worker_runtime.engine.connection import DEFAULT_URL
from worker_runtime.engine.urls import with_tls_dir

__all__ = ["cli", "main"]

#: Subcommands, imported only when used: a worker started through the CLI then loads
#: neither the table renderer nor the cron parser nor the devcluster.
_LAZY = {
    "queue": "worker_runtime.cli.queue:queue_group",
    "job": "worker_runtime.cli.job:job_group",
    "dlq": "worker_runtime.cli.dlq:dlq_group",
    "worker": "worker_runtime.cli.worker:worker_group",
    "schedule": "worker_runtime.cli.schedule:schedule_group",
    "acl": "worker_runtime.cli.acl:acl",
    "devcluster": "worker_runtime.cli.devcluster_cmd:devcluster",
    "dashboard": "worker_runtime.cli.dashboard_cmd:dashboard",
    "exporter": "worker_runtime.cli.exporter_cmd:exporter",
}


class LazyRootGroup(RootGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY and cmd_name not in self.commands:
            module, attr = _LAZY[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyRootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--redis-url",
    envvar="REDIS_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="Redis to talk to: redis://, rediss:// (TLS), unix://, redis+sentinel://HOST:26379,"
    "HOST:26379/SERVICE (or rediss+sentinel://); TLS options as ssl_* query parameters; "
    "env REDIS_URL.",
)
@click.option(
    "--redis-tls-dir",
    envvar="REDIS_TLS_DIR",
    type=click.Path(file_okay=False),
    help="Directory with ca.crt, tls.crt, tls.key for a rediss:// URL that does not name "
    "them (the operator mounts the Redis Secret's keys there); env REDIS_TLS_DIR.",
)
@click.option(
    "--redis-url-file",
    envvar="REDIS_URL_FILE",
    type=click.Path(dir_okay=False),
    help="Read the Redis URL from this file (keeps a password out of the process list).",
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
def cli(
    ctx: click.Context,
    redis_url: str,
    redis_tls_dir: str | None,
    redis_url_file: str | None,
    output: str,
) -> None:
    """BlackRoad Queues: inspect and steer job queues on Redis."""
    from_command_line = ctx.get_parameter_source("redis_url") is ParameterSource.COMMANDLINE
    if redis_url_file is not None:
        if from_command_line:
            raise InputError("--redis-url and --redis-url-file: give one, not both")
        redis_url = read_url_file(redis_url_file)
    elif from_command_line and has_password(redis_url):
        # Any user of the host can read a process's arguments in /proc/PID/cmdline.
        click.echo(
            "warning: --redis-url carries a password that other users of this host can read "
            "in the process list; pass it in REDIS_URL or --redis-url-file instead",
            err=True,
        )
    if redis_tls_dir is not None:
        redis_url = with_tls_dir(redis_url, redis_tls_dir)
    app = AppContext(redis_url, output)
    ctx.obj = app
    ctx.call_on_close(app.close)


def main() -> None:
    """The console script's entry point."""
    cli()
