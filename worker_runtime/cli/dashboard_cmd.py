"""``blackroad dashboard``: serves the web dashboard (the ``dashboard`` extra, imported lazily).

Workers also start through this CLI; they never load aiohttp or Jinja2, and the CLI works
without the extra installed.
"""

from __future__ import annotations

import click

from worker_runtime.cli.context import AppContext, CliError, InputError

INSTALL_HINT = "pip install 'blackroad-queues[dashboard]'"


@click.command("dashboard")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free."
)
@click.option("--read-only", is_flag=True, help="Refuse every action, even with a token.")
@click.option(
    "--token-file",
    envvar="DASHBOARD_TOKEN_FILE",
    type=click.Path(dir_okay=False),
    help="Actions need the token on this file's first line; without it, read-only.",
)
@click.pass_obj
def dashboard(
    app: AppContext, host: str, port: int, read_only: bool, token_file: str | None
) -> None:
    """Serve the web dashboard: queues, jobs, workers, schedules, WorkerPools; with a token,
    pause/resume queues, retry/cancel jobs, retry/purge dead letters, trigger schedules."""
    try:
        from dashboard.security import Guard, TokenFileError, read_token
        from dashboard.server import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("dashboard."):
            raise  # a bug, not a missing extra
        raise CliError(
            f"blackroad dashboard needs the dashboard extra ({exc.name} is missing); "
            f"run: {INSTALL_HINT}"
        ) from exc
    try:
        token = read_token(token_file) if token_file else None
    except TokenFileError as exc:
        raise InputError(str(exc)) from None
    serve(app.redis_url, host, port, Guard(token, read_only))
