"""``blackroad acl``: prints the Redis ACL rules a role needs, limited to some queues."""

from __future__ import annotations

import click

from worker_runtime.cli.context import AppContext, InputError, output_option, pass_app
from worker_runtime.cli.output import emit
from worker_runtime.engine.acl import ROLES, rules


@click.command("acl")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Who uses the user.")
@click.option(
    "--queues",
    default="",
    help="Comma-separated queues the user may touch (default: every queue).",
)
@click.option("--user", default=None, help="The ACL user name (default: blackroad-<role>).")
@output_option
@pass_app
def acl(app: AppContext, role: str, queues: str, user: str | None) -> None:
    """Print the ACL SETUSER line of a least-privilege Redis user for ROLE.

    Run it in redis-cli, then enable the user with: ACL SETUSER <user> on >PASSWORD
    (nothing here talks to Redis)."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    name = user or f"blackroad-{role}"
    try:
        found = rules(role, names)
    except ValueError as exc:
        raise InputError(f"--queues: {exc}") from None
    line = " ".join(["ACL", "SETUSER", name, *found])
    if app.output == "table":
        click.echo(line)  # one line to paste, never wrapped to the terminal's width
        return
    emit(app, {"user": name, "role": role, "queues": names, "rules": found}, lambda: line)
