"""``blackroad job``: enqueue a job, show it, retry it, cancel it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
import yaml
from rich.console import Group

from worker_runtime.cli.context import AppContext, CliError, output_option, pass_app
from worker_runtime.cli.output import compact, emit, job_view, jobs_table, when
from worker_runtime.cli.params import Duration, Instant, JsonDocument, PriorityType
from worker_runtime.engine.keys import STATE_SETS
from worker_runtime.engine.prepare import MAX_DELAY_S, MAX_TIMEOUT_S
from worker_runtime.errors import JobNotFoundError
from worker_runtime.models import DependencyPolicy, Job, JobEvent

queue_option = click.option(
    "--queue", "-q", help="The job's queue; without it every known queue is searched."
)


@click.group("job")
def job_group() -> None:
    """Enqueue a job, show it, retry it, cancel it."""


def not_found(job_id: str, queue: str | None) -> CliError:
    where = f"in queue {queue!r}" if queue else "in any known queue"
    return CliError(
        f"job {job_id!r}: not found {where}; check the id, or name its queue with --queue"
    )


def fetch(app: AppContext, job_id: str, queue: str | None) -> Job:
    job = app.client.get_job(job_id, queue)
    if job is None:
        raise not_found(job_id, queue)
    return job


def emit_job(app: AppContext, job: Job, outcome: str, text: str) -> None:
    emit(app, {**job.to_dict(), "outcome": outcome}, lambda: Group(text, job_view(job)))


@job_group.command("enqueue")
@click.argument("queue")
@click.argument("job_name")
@click.option(
    "--payload",
    type=JsonDocument(),
    required=True,
    help="""The job's payload: JSON such as '{"a": 1}', @file.json, or - for stdin.""",
)
@click.option("--priority", type=PriorityType(), default="normal", help="Name or 0 (first)-10.")
@click.option(
    "--delay",
    type=Duration(max_ms=MAX_DELAY_S * 1000),
    help="Run no sooner than this from now, e.g. 30s (at most 10 years).",
)
@click.option(
    "--at",
    "run_at",
    type=Instant(),
    help="Run no sooner than this time, e.g. 2026-12-01T10:00:00Z (instead of --delay).",
)
@click.option("--max-attempts", type=int, help="Attempts before it is dead (default: queue's).")
@click.option(
    "--timeout",
    type=Duration(min_ms=1, max_ms=MAX_TIMEOUT_S * 1000),
    help="Time limit per attempt, e.g. 300s (at most a week).",
)
@click.option("--dedupe-key", help="While a job with this key is unfinished, add no other.")
@click.option("--id", "job_id", help="The job's id (default: a random one).")
@click.option("--rate-key", help="Tenant or API the job is limited by (per-key limits).")
@click.option(
    "--durable",
    is_flag=True,
    help="Return only once a replica holds the job (Redis WAIT): a failover cannot lose it.",
)
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    metavar="ID",
    help="Wait until this job (of the same queue) has completed; repeatable.",
)
@click.option(
    "--depends-on-in",
    "depends_on_in",
    multiple=True,
    nargs=2,
    metavar="QUEUE ID",
    help="Wait until job ID of queue QUEUE (on the same Redis) has completed; repeatable.",
)
@click.option(
    "--on-dependency-failure",
    type=click.Choice(["cancel", "run", "wait"]),
    default="cancel",
    show_default=True,
    help="When a dependency ends dead or cancelled: be cancelled too, run anyway, or wait "
    "for it to be retried.",
)
@output_option
@pass_app
def enqueue_job(
    app: AppContext,
    queue: str,
    job_name: str,
    payload: Any,
    priority: int,
    delay: int | None,
    run_at: datetime | None,
    max_attempts: int | None,
    timeout: int | None,
    dedupe_key: str | None,
    job_id: str | None,
    rate_key: str | None,
    durable: bool,
    depends_on: tuple[str, ...],
    depends_on_in: tuple[tuple[str, str], ...],
    on_dependency_failure: DependencyPolicy,
) -> None:
    """Adds a job to QUEUE for the handler registered as JOB_NAME."""
    app.durable = app.durable or durable
    done = app.client.enqueue(
        queue,
        job_name,
        payload,
        priority=priority,
        delay=None if delay is None else delay / 1000,
        run_at=run_at,
        max_attempts=max_attempts,
        timeout=None if timeout is None else timeout / 1000,
        dedupe_key=dedupe_key,
        job_id=job_id,
        rate_key=rate_key,
        depends_on=[*depends_on, *depends_on_in] or None,
        on_dependency_failure=on_dependency_failure,
    )
    job = app.client.get_job(done.id, done.queue)
    if job is None:  # already finished and trimmed by retention: report what we know
        data = {"id": done.id, "queue": done.queue, "outcome": done.outcome}
        emit(app, data, lambda: f"job {done.id} {done.outcome} in queue {queue!r}")
        return
    texts = {
        "created": f"job {done.id} enqueued to {queue!r}",
        "exists": f"job {done.id} already exists; nothing was added",
        "deduplicated": f"dedupe key {dedupe_key!r} is held by job {done.id}; nothing was added",
    }
    emit_job(app, job, done.outcome, texts[done.outcome])


@job_group.command("info")
@click.argument("job_id", metavar="ID")
@queue_option
@output_option
@pass_app
def job_info(app: AppContext, job_id: str, queue: str | None) -> None:
    """A job's state, attempts with their history, result or reason."""
    job = fetch(app, job_id, queue)
    limit = job.max_attempts or app.client.config(job.queue).max_attempts
    emit(app, job.to_dict(), lambda: job_view(job, queue_max_attempts=limit))


@job_group.command("retry")
@click.argument("job_id", metavar="ID")
@queue_option
@output_option
@pass_app
def retry_job(app: AppContext, job_id: str, queue: str | None) -> None:
    """Sends a dead or cancelled job back to pending with fresh attempts."""
    job = fetch(app, job_id, queue)
    try:
        app.client.retry(job_id, job.queue)
    except JobNotFoundError:  # purged between the two calls
        raise not_found(job_id, queue) from None
    job = fetch(app, job_id, job.queue)
    emit_job(app, job, "retried", f"job {job_id} is pending again")


@job_group.command("cancel")
@click.argument("job_id", metavar="ID")
@queue_option
@output_option
@pass_app
def cancel_job(app: AppContext, job_id: str, queue: str | None) -> None:
    """Cancels a pending or delayed job; asks the worker of a running one to stop it."""
    found = fetch(app, job_id, queue)
    try:
        outcome = app.client.cancel(job_id, found.queue)
    except JobNotFoundError:
        raise not_found(job_id, queue) from None
    job = fetch(app, job_id, found.queue)
    texts = {
        "cancelled": f"job {job_id} cancelled",
        "requested": f"job {job_id} is running; its worker was asked to stop it",
        "finished": f"job {job_id} had already finished ({job.state}); nothing to cancel",
    }
    emit_job(app, job, outcome, texts[outcome])


@job_group.command("list")
@click.argument("queue")
@click.option(
    "--state",
    type=click.Choice(STATE_SETS),
    default="pending",
    show_default=True,
    help="Which jobs: pending in the order they will be taken, delayed by due time, "
    "running by lease deadline, finished ones newest first.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@output_option
@pass_app
def list_jobs(app: AppContext, queue: str, state: str, limit: int, offset: int) -> None:
    """One page of the jobs of QUEUE in one state."""
    jobs = app.client.list_jobs(queue, state, offset, limit)
    emit(app, [j.to_dict() for j in jobs], lambda: jobs_table(queue, state, jobs))


@job_group.command("wait")
@click.argument("job_id", metavar="ID")
@queue_option
@click.option(
    "--timeout", type=Duration(), default=None, help="Give up after this long (default: never)."
)
@output_option
@pass_app
def wait_job(app: AppContext, job_id: str, queue: str | None, timeout: int | None) -> None:
    """Waits for a job to finish and prints its result; exits 1 if it ends dead or
    cancelled, or at the timeout."""
    found = fetch(app, job_id, queue)
    result = app.client.wait(job_id, None if timeout is None else timeout / 1000, found.queue)
    emit(app, result, lambda: compact(result))


@job_group.command("watch")
@click.argument("queues", nargs=-1, metavar="[QUEUE]...")
@output_option
@pass_app
def watch_jobs(app: AppContext, queues: tuple[str, ...]) -> None:
    """Prints the events of jobs (enqueued, started, progress, completed, failed, retried,
    dead, cancelled, released) as they happen, one line each (-o json: one JSON object per
    line), until Ctrl-C. Without QUEUE, every queue known now."""
    names = list(queues) or app.client.queues()
    if not names:
        raise CliError("no queues yet; name one: blackroad job watch QUEUE")
    try:
        for event in app.client.events(names):
            click.echo(event_line(app.output, event))
    except KeyboardInterrupt:
        pass


def event_line(output: str, e: JobEvent) -> str:
    """One event in the chosen output: a line of text, a line of JSON, or a YAML document."""
    if output == "json":
        return compact(e.to_dict())
    if output == "yaml":
        return "---\n" + yaml.safe_dump(e.to_dict(), sort_keys=False, allow_unicode=True).rstrip()
    extra = [f"attempt {e.attempt}" if e.attempt else ""]
    if e.type == "progress":
        extra.append(f"{e.pct:g}% {e.message or ''}".strip() if e.pct is not None else "")
    extra.append(e.reason or "")
    if e.due_ms is not None:
        extra.append(f"due {when(e.due_ms)}")
    parts = [when(e.at_ms), e.queue, f"{e.type:<9}", e.id, e.name or "-", *filter(None, extra)]
    return "  ".join(parts)
