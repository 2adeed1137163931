"""``blackroad schedule``: add, list, remove, trigger, suspend and resume cron schedules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from rich.table import Table

from worker_runtime.cli.context import AppContext, CliError, output_option, pass_app
from worker_runtime.cli.output import compact, emit, fields, grid, head, priority_label, when
from worker_runtime.cli.params import Duration, JsonDocument, PriorityType
from worker_runtime.cron.schedules import Schedule, ScheduleSpec, check_schedule_name


@click.group("schedule")
def schedule_group() -> None:
    """Cron schedules that enqueue jobs (fired by `worker start --scheduler`)."""


def not_found(name: str) -> CliError:
    return CliError(f"schedule {name!r}: no such schedule; 'blackroad schedule list' shows them")


def schedule_view(s: Schedule) -> Table:
    spec, st = s.spec, s.state
    deadline = "none" if spec.starting_deadline is None else f"{spec.starting_deadline:g}s"
    rows: list[tuple[str, Any]] = [
        ("cron", spec.cron),
        ("time zone", spec.timezone),
        ("queue", spec.queue),
        ("job", spec.job_name),
        ("payload", head(compact(spec.payload), 200)),
        ("priority", priority_label(int(spec.priority))),
        ("suspended", spec.suspend),
        ("concurrency", spec.concurrency_policy),
        ("starting deadline", deadline),
        ("last tick", when(st.last_tick_ms)),
        ("last job", st.last_job_id),
        ("next tick", when(st.next_tick_ms)),
        ("runs", st.fired),
        ("missed", st.missed),
        ("skipped (Forbid)", st.skipped),
    ]
    return fields(f"Schedule {spec.name}", rows)


def schedules_table(items: Sequence[Schedule]) -> Table:
    rows = [
        [
            s.spec.name,
            s.spec.cron,
            s.spec.timezone,
            s.spec.queue,
            s.spec.job_name,
            when(s.state.last_tick_ms),
            when(s.state.next_tick_ms),
            str(s.state.fired),
            str(s.state.missed),
            "yes" if s.spec.suspend else "no",
        ]
        for s in items
    ]
    columns = ["name", "cron", "tz", "queue", "job", "last", "next", "runs", "missed", "suspended"]
    return grid(f"Schedules ({len(items)})", columns, rows)


@schedule_group.command("add")
@click.argument("name")
@click.option("--cron", "expr", required=True, help="5 fields, or 6 with seconds first.")
@click.option("--queue", "-q", required=True, help="Queue the runs go to.")
@click.option("--job", "job_name", required=True, help="Job name (the handler) of each run.")
@click.option(
    "--payload",
    type=JsonDocument(),
    default="{}",
    show_default=True,
    help="""Payload of each run: JSON such as '{"a": 1}', @file.json, or - for stdin.""",
)
@click.option("--tz", default="UTC", show_default=True, help="IANA time zone of the cron.")
@click.option("--priority", type=PriorityType(), default="normal", help="Name or 0 (first)-10.")
@click.option(
    "--forbid-concurrent",
    is_flag=True,
    help="Pass a tick over while the previous run is still pending or running.",
)
@click.option(
    "--starting-deadline",
    type=Duration(min_ms=1),
    help="A tick later than this (e.g. 5m) is missed; default: after a gap only the latest runs.",
)
@click.option("--suspend", is_flag=True, help="Add it suspended.")
@output_option
@pass_app
def add_schedule(
    app: AppContext,
    name: str,
    expr: str,
    queue: str,
    job_name: str,
    payload: Any,
    tz: str,
    priority: int,
    forbid_concurrent: bool,
    starting_deadline: int | None,
    suspend: bool,
) -> None:
    """Creates (or replaces) schedule NAME."""
    spec = ScheduleSpec(
        name,
        expr,
        queue,
        job_name,
        payload,
        tz,
        priority,
        suspend,
        "Forbid" if forbid_concurrent else "Allow",
        None if starting_deadline is None else starting_deadline / 1000,
    )
    done = app.client.add_schedule(spec)
    emit(app, done.to_dict(), lambda: schedule_view(done))


@schedule_group.command("list")
@output_option
@pass_app
def list_schedules(app: AppContext) -> None:
    """Every schedule with its last and next tick."""
    items = app.client.schedules()
    emit(app, [s.to_dict() for s in items], lambda: schedules_table(items))


@schedule_group.command("remove")
@click.argument("name")
@output_option
@pass_app
def remove_schedule(app: AppContext, name: str) -> None:
    """Deletes schedule NAME; jobs it already enqueued stay."""
    check_schedule_name(name)
    if not app.client.remove_schedule(name):
        raise not_found(name)
    emit(app, {"name": name, "removed": True}, lambda: f"schedule {name!r} removed")


@schedule_group.command("trigger")
@click.argument("name")
@output_option
@pass_app
def trigger_schedule(app: AppContext, name: str) -> None:
    """Enqueues one run of NAME now, outside its ticks."""
    check_schedule_name(name)
    if app.client.get_schedule(name) is None:
        raise not_found(name)
    done = app.client.trigger_schedule(name)
    text = f"schedule {name!r}: enqueued job {done.id} to queue {done.queue!r}"
    emit(app, {"name": name, "job_id": done.id, "queue": done.queue}, lambda: text)


def _suspend(app: AppContext, name: str, suspend: bool) -> None:
    check_schedule_name(name)
    if app.client.get_schedule(name) is None:
        raise not_found(name)
    if suspend:
        changed = app.client.suspend_schedule(name)
        text = f"schedule {name!r} suspended; 'blackroad schedule resume {name}' undoes it"
    else:
        changed = app.client.resume_schedule(name)
        text = f"schedule {name!r} resumed"
    if not changed:
        text = f"schedule {name!r} was already {'suspended' if suspend else 'active'}"
    emit(app, {"name": name, "suspended": suspend, "changed": changed}, lambda: text)


@schedule_group.command("suspend")
@click.argument("name")
@output_option
@pass_app
def suspend_schedule(app: AppContext, name: str) -> None:
    """Stops the runs of NAME; its ticks pass without a run."""
    _suspend(app, name, True)


@schedule_group.command("resume")
@click.argument("name")
@output_option
@pass_app
def resume_schedule(app: AppContext, name: str) -> None:
    """Runs NAME again from its next tick."""
    _suspend(app, name, False)
