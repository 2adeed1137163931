"""``blackroad queue``: list queues, read their stats, change their settings, pause, purge."""

from __future__ import annotations

from typing import Any

import click

from worker_runtime.cli.context import AppContext, InputError, output_option, pass_app
from worker_runtime.cli.output import config_fields, count, emit, stats_fields, stats_table
from worker_runtime.cli.params import AgingRules, Duration, Rate, Weights
from worker_runtime.engine.keys import STATE_SETS
from worker_runtime.engine.validation import check_queue_name

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
    stats = app.client.stats(name)  # a mistyped name is "no such queue", not all zeros
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
@click.option("--fairness", type=click.Choice(["strict", "weighted"]), help="Across priorities.")
@click.option("--weights", type=Weights(), help="Weighted fairness, e.g. 0:10,1:5,5:2,8:1,10:0.5.")
@click.option("--aging/--no-aging", default=None, help="Promote jobs that wait too long.")
@click.option("--aging-rules", type=AgingRules(), help="FROM:TO:AFTER,... e.g. 8:5:30m,5:1:15m.")
@click.option("--rate-limit", type=Rate(), help="Starts per period across workers, e.g. 100/s.")
@click.option("--rate-limiter", help="Use a shared limiter ('queue limiter NAME') instead.")
@click.option("--key-rate-limit", type=Rate(), help="Starts per rate_key per period, e.g. 10/s.")
@click.option(
    "--max-running", type=click.IntRange(min=1), help="Jobs running at once, all workers."
)
@click.option("--key-max-running", type=click.IntRange(min=1), help="Running jobs per rate_key.")
@click.option(
    "--clear",
    multiple=True,
    metavar="SETTING",
    help="Remove a setting (rate_limit, rate_limiter, key_rate_limit, max_running, "
    "key_max_running).",
)
@output_option
@pass_app
def configure_queue(app: AppContext, /, name: str, **options: Any) -> None:
    """Changes the settings given (a new queue is created) and prints them all."""
    check_queue_name(name)
    clear = options.pop("clear")
    for key, field in (("rate_limit", "rate_period_ms"), ("key_rate_limit", "key_rate_period_ms")):
        if options.get(key) is not None:
            options[key], options[field] = options[key]
    changes = {DURATION_FIELDS.get(k, k): v for k, v in options.items() if v is not None}
    for setting in clear:
        changes[setting.replace("-", "_")] = None
    config = app.client.configure(name, **changes) if changes else app.client.config(name)
    emit(app, config.model_dump(), lambda: config_fields(name, config))


@queue_group.command("limiter")
@click.argument("name")
@click.option("--rate", type=Rate(), required=True, help="Starts per period, e.g. 100/s.")
@output_option
@pass_app
def define_limiter(app: AppContext, name: str, rate: tuple[int, int]) -> None:
    """Creates or changes a rate limiter that queues share with --rate-limiter NAME."""
    app.client.define_limiter(name, rate[0], rate[1])
    emit(
        app,
        {"limiter": name, "limit": rate[0], "period_ms": rate[1]},
        lambda: f"limiter {name!r}: {rate[0]} per {rate[1]} ms",
    )


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
    app.client.require_queue(name)  # pausing a mistyped name would create a queue
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
    app.client.require_queue(name)
    chosen = list(dict.fromkeys(states)) or list(STATE_SETS)
    if not yes:
        raise InputError(
            f"queue purge deletes the {', '.join(chosen)} jobs of {name!r} for good; "
            "add --yes to confirm"
        )
    purged = app.client.purge(name, chosen)
    data = {"queue": name, "states": chosen, "purged": purged}
    emit(
        app,
        data,
        lambda: f"purged {count(purged, 'job')} ({', '.join(chosen)}) from queue {name!r}",
    )


@queue_group.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Confirm: the queue and all its jobs are gone for good.")
@click.option("--force", is_flag=True, help="Even while workers claim from it or jobs run.")
@output_option
@pass_app
def delete_queue(app: AppContext, name: str, yes: bool, force: bool) -> None:
    """Deletes the queue: every job with its data, its settings and its registry entry."""
    check_queue_name(name)
    if not yes:
        raise InputError(f"queue delete removes {name!r} and all its jobs for good; add --yes")
    deleted = app.client.delete_queue(name, force)
    data = {"queue": name, "deleted_jobs": deleted}
    emit(app, data, lambda: f"queue {name!r} deleted with {count(deleted, 'job')}")
