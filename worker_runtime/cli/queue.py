"""``blackroad queue``: list queues, read their stats, change their settings, pause, purge."""

from __future__ import annotations

import click

from worker_runtime.cli.context import AppContext, CliError, InputError, output_option, pass_app
from worker_runtime.cli.output import config_fields, emit, stats_fields, stats_table
from worker_runtime.cli.params import Duration
from worker_runtime.keys import STATE_SETS
from worker_runtime.validation import check_queue_name

#: Options of ``queue configure`` that take a duration, and the QueueConfig field they set.
DURATION_FIELDS = {
    "backoff_base": "backoff_base_ms",
    "backoff_max": "backoff_max_ms",
    "timeout": "timeout_ms",
    "lease": "lease_ms",
    "result_ttl": "result_ttl_ms",
    "dead_ttl": "dead_ttl_ms",
}


@click.group("queue")
def queue_group() -> None:
    """List queues, read their stats, change their settings."""


@queue_group.command("list")
@output_option
@pass_app
def list_queues(app: AppContext) -> None:
    """Every known queue with its job counts."""
    stats = [app.client.stats(q) for q in app.client.queues()]
    emit(app, [s.to_dict() for s in stats], lambda: stats_table(stats))


@queue_group.command("stats")
@click.argument("name")
@output_option
@pass_app
def queue_stats(app: AppContext, name: str) -> None:
    """Job counts of one queue and the age of its oldest pending job."""
    check_queue_name(name)
    if name not in app.client.queues():
        # Stats of a mistyped name would be all zeros; say so instead.
        raise CliError(f"queue {name!r}: no such queue; 'blackroad queue list' shows them")
    stats = app.client.stats(name)
    emit(app, stats.to_dict(), lambda: stats_fields(stats))


@queue_group.command("configure")
@click.argument("name")
@click.option("--max-attempts", type=int, help="Attempts before a job is dead.")
@click.option("--backoff-base", type=Duration(), help="First retry delay, e.g. 10s.")
@click.option("--backoff-max", type=Duration(), help="Longest retry delay, e.g. 1h.")
@click.option("--timeout", type=Duration(min_ms=1), help="Default job timeout, e.g. 300s.")
@click.option("--lease", type=Duration(), help="Lease (visibility timeout), e.g. 30s.")
@click.option("--result-ttl", type=Duration(), help="How long completed jobs are kept.")
@click.option("--keep-completed", type=int, help="Most completed jobs kept.")
@click.option("--dead-ttl", type=Duration(), help="How long dead jobs are kept, e.g. 30d.")
@click.option("--keep-dead", type=int, help="Most dead jobs kept.")
@click.option("--max-payload-bytes", type=int, help="Largest payload accepted, in bytes.")
@output_option
@pass_app
def configure_queue(app: AppContext, /, name: str, **options: int | None) -> None:
    """Changes the settings given (a new queue is created) and prints them all."""
    check_queue_name(name)
    changes = {DURATION_FIELDS.get(k, k): v for k, v in options.items() if v is not None}
    config = app.client.configure(name, **changes) if changes else app.client.config(name)
    emit(app, config.model_dump(), lambda: config_fields(name, config))


@queue_group.command("pause")
@click.argument("name")
@output_option
@pass_app
def pause_queue(app: AppContext, name: str) -> None:
    """Stops handing out jobs of the queue; it still accepts new ones."""
    _set_paused(app, name, True)


@queue_group.command("resume")
@click.argument("name")
@output_option
@pass_app
def resume_queue(app: AppContext, name: str) -> None:
    """Hands out jobs of a paused queue again."""
    _set_paused(app, name, False)


def _set_paused(app: AppContext, name: str, paused: bool) -> None:
    check_queue_name(name)
    if paused:
        app.client.pause(name)
        text = f"queue {name!r} paused; 'blackroad queue resume {name}' undoes it"
    else:
        app.client.resume(name)
        text = f"queue {name!r} resumed"
    emit(app, {"queue": name, "paused": paused}, lambda: text)


@queue_group.command("purge")
@click.argument("name")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATE_SETS),
    help="Only jobs in this state (repeatable); default: every state.",
)
@click.option("--yes", is_flag=True, help="Confirm: purged jobs are gone for good.")
@output_option
@pass_app
def purge_queue(app: AppContext, name: str, states: tuple[str, ...], yes: bool) -> None:
    """Deletes the queue's jobs (of the given states) with all their data."""
    check_queue_name(name)
    chosen = list(dict.fromkeys(states)) or list(STATE_SETS)
    if not yes:
        raise InputError(
            f"queue purge deletes the {', '.join(chosen)} jobs of {name!r} for good; "
            "add --yes to confirm"
        )
    purged = app.client.purge(name, chosen)
    data = {"queue": name, "states": chosen, "purged": purged}
    emit(app, data, lambda: f"purged {purged} jobs ({', '.join(chosen)}) from queue {name!r}")
