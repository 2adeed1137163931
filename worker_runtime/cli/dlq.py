"""``blackroad dlq``: list dead jobs, send them back to pending, purge old ones."""

from __future__ import annotations

import click

from worker_runtime.cli.context import AppContext, CliError, InputError, output_option, pass_app
from worker_runtime.cli.output import count as count_of
from worker_runtime.cli.output import dead_table, emit
from worker_runtime.models import Job, JobState

DAY_MS = 86_400_000


@click.group("dlq")
def dlq_group() -> None:
    """Dead letters: jobs whose retries ran out or that failed for good."""


@dlq_group.command("list")
@click.argument("queue", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@output_option
@pass_app
def list_dead(app: AppContext, queue: str | None, limit: int, offset: int) -> None:
    """Dead jobs of QUEUE (default: of every queue), the most recent first."""
    if queue is not None:
        jobs = app.client.dead_letters(queue, offset, limit)
    else:
        # Paging across queues: take the first offset+limit of each, merge, then slice.
        merged = [
            j for q in app.client.queues() for j in app.client.dead_letters(q, 0, offset + limit)
        ]
        merged.sort(key=lambda j: j.finished_ms or 0, reverse=True)
        jobs = merged[offset : offset + limit]
    emit(app, [j.to_dict() for j in jobs], lambda: dead_table(jobs))


def _check_dead(app: AppContext, queue: str, job_id: str) -> Job:
    job = app.client.get_job(job_id, queue)
    if job is None:
        raise CliError(f"job {job_id!r}: not in queue {queue!r}; 'blackroad dlq list' shows ids")
    if job.state is not JobState.DEAD:
        raise CliError(
            f"job {job_id!r} is {job.state}, not dead; nothing was retried "
            "('blackroad job retry' takes cancelled jobs)"
        )
    return job


@dlq_group.command("retry")
@click.argument("queue")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "every", is_flag=True, help="Every dead job of the queue.")
@output_option
@pass_app
def retry_dead(app: AppContext, queue: str, ids: tuple[str, ...], every: bool) -> None:
    """Sends dead jobs of QUEUE back to pending with fresh attempts."""
    app.client.require_queue(queue)
    if every == bool(ids):
        raise InputError("dlq retry: give job ids or --all (one of the two)")
    if every:
        count = app.client.retry_dead(queue)
        retried: list[str] = []
    else:
        # Check every id first so one typo retries nothing rather than half of them.
        chosen = list(dict.fromkeys(ids))
        for job_id in chosen:
            _check_dead(app, queue, job_id)
        for job_id in chosen:
            app.client.retry(job_id, queue)
        count, retried = len(chosen), chosen
    data = {"queue": queue, "retried": count, "ids": retried}
    emit(app, data, lambda: f"{count_of(count, 'dead job')} of queue {queue!r} back in pending")


@dlq_group.command("purge")
@click.argument("queue")
@click.option("--days", type=click.IntRange(0), required=True, help="Only jobs dead this long.")
@output_option
@pass_app
def purge_dead(app: AppContext, queue: str, days: int) -> None:
    """Deletes the dead jobs of QUEUE that died more than --days ago."""
    app.client.require_queue(queue)
    purged = app.client.purge_dead(queue, days * DAY_MS)
    data = {"queue": queue, "older_than_days": days, "purged": purged}
    older = count_of(days, "day")
    emit(
        app,
        data,
        lambda: f"purged {count_of(purged, 'dead job')} older than {older} from {queue!r}",
    )
