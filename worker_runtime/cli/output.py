"""Renders command results: rich tables for people, JSON or YAML for scripts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import click
import yaml
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from worker_runtime.cli.context import AppContext
from worker_runtime.durations import format_ms
from worker_runtime.models import Job, Priority, QueueStats
from worker_runtime.queue_config import QueueConfig

#: Widest a cell of free text (errors, payloads) gets in a table, in characters.
HEAD_CHARS = 60


def console() -> Console:
    # Rich assumes 80 columns when stdout is not a terminal, which folds ids in piped output.
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 160)
    return Console(width=width, highlight=False, markup=False, emoji=False)


def emit(app: AppContext, data: Any, table: Callable[[], RenderableType]) -> None:
    """Prints ``data`` as JSON or YAML, or the table built by ``table`` (only when needed)."""
    if app.output == "table":
        console().print(table())
        return
    try:
        if app.output == "json":
            text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
        else:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except RecursionError:
        # A payload nested deeper than the pretty printers reach (yaml gives up near 300
        # levels): print it in one line of JSON, which is YAML too, rather than fail after
        # an enqueue has been stored.
        text = compact(data) + "\n"
    click.echo(text, nl=False)


def when(ms: int | None) -> str:
    if ms is None:
        return "-"
    try:
        moment = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):  # beyond year 9999 (stored before bounds)
        return f"{ms} ms after the Unix epoch"
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def age(ms: int | None) -> str:
    return "-" if ms is None else format_ms(ms)


def head(text: Any, limit: int = HEAD_CHARS) -> str:
    """The first line of ``text``, cut to ``limit`` characters."""
    if text is None:
        return "-"
    line = (str(text).strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def count(n: int, noun: str) -> str:
    """``1 job``, ``2 jobs``; ``noun`` may end in its adjective (``dead job``)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def priority_label(value: int) -> str:
    named = {int(p): p.name.lower() for p in Priority}
    return f"{value} ({named[value]})" if value in named else str(value)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def fields(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table of named values."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, cell(value))
    return table


def grid(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


_STATS = ("pending", "delayed", "running", "completed", "dead", "cancelled", "waiting")


def stats_table(stats: Sequence[QueueStats]) -> Table:
    rows = [
        [
            s.queue,
            *(str(getattr(s, n)) for n in _STATS),
            age(s.oldest_pending_age_ms),
            "yes" if s.paused else "no",
        ]
        for s in stats
    ]
    return grid("Queues", ["queue", *_STATS, "oldest", "paused"], rows)


def stats_fields(s: QueueStats) -> Table:
    rows = [(n, getattr(s, n)) for n in _STATS]
    rows += [("oldest pending", age(s.oldest_pending_age_ms)), ("paused", s.paused)]
    return fields(f"Queue {s.queue}", rows)


def config_fields(queue: str, config: QueueConfig) -> Table:
    rows = [
        (name, f"{format_ms(value)} ({value} ms)" if name.endswith("_ms") else value)
        for name, value in config.model_dump().items()
    ]
    return fields(f"Queue {queue}: settings", rows)


def _attempts(job: Job, queue_max_attempts: int | None) -> str:
    most = job.max_attempts or queue_max_attempts
    limit = f"at most {most}" if most else "at most the queue's max_attempts"
    return f"none yet ({limit})" if job.attempts == 0 else f"{job.attempts} ({limit})"


def _priority(job: Job) -> str:
    label = priority_label(job.priority)
    original = job.original_priority
    if original is None or original == job.priority:
        return label
    return f"{label}; enqueued at {priority_label(original)}"


def related(refs: Sequence[str]) -> str:
    """Jobs a job depends on or that depend on it: a bare id is of the same queue; one of
    another queue is stored as "<queue> <id>" and shown as "<id> (queue <queue>)"."""
    shown_refs = []
    for ref in refs:
        queue, _, job_id = ref.rpartition(" ")
        shown_refs.append(f"{job_id} (queue {queue})" if queue else job_id)
    return ", ".join(shown_refs)


def job_view(
    job: Job, outcome: str | None = None, queue_max_attempts: int | None = None
) -> RenderableType:
    rows: list[tuple[str, Any]] = [("outcome", outcome)] if outcome else []
    rows += [
        ("id", job.id),
        ("queue", job.queue),
        ("name", job.name),
        ("state", job.state),
        ("priority", _priority(job)),
        ("attempts", _attempts(job, queue_max_attempts)),
        ("enqueued", when(job.enqueued_ms)),
        ("due", when(job.due_ms)),
        ("worker", job.worker),
        ("lease until", when(job.lease_deadline_ms)),
        ("finished", when(job.finished_ms)),
        ("reason", job.reason),
        ("timeout", age(job.timeout_ms)),
        ("dedupe key", job.dedupe_key),
        ("cancel requested", "yes" if job.cancel_requested else "no"),
        ("payload", head(compact(job.payload), 200)),
        ("result", head(compact(job.result), 200) if job.result is not None else None),
    ]
    if job.depends_on:
        rows += [
            ("depends on", related(job.depends_on)),
            ("waiting on", related(job.waiting_on) or None),
            ("if one fails", job.on_dependency_failure),
            ("dependencies", job.dependency_note),
        ]
    if job.dependants:
        rows.append(("dependants", related(job.dependants)))
    parts: list[RenderableType] = [fields(f"Job {job.id}", rows)]
    if job.history:
        history = [
            [
                str(a.attempt),
                a.worker,
                when(a.started_ms),
                age(a.ended_ms - a.started_ms),
                "-" if a.priority is None else str(a.priority),
                a.outcome,
                a.reason or "-",
                head(a.error),
            ]
            for a in job.history
        ]
        columns = ["#", "worker", "started", "took", "priority", "outcome", "reason", "error"]
        parts.append(grid("History", columns, history))
        errors = [a.error for a in job.history if a.error]
        if errors and "\n" in errors[-1].strip():
            parts.append(Text(f"Last error, in full:\n{errors[-1].rstrip()}"))
    return Group(*parts)


def last_error(job: Job) -> str:
    errors = [a.error for a in job.history if a.error]
    return head(errors[-1]) if errors else "-"


def dead_table(jobs: Sequence[Job]) -> Table:
    rows = [
        [
            j.queue,
            j.id,
            j.name,
            j.reason or "-",
            str(j.attempts),
            when(j.finished_ms),
            last_error(j),
        ]
        for j in jobs
    ]
    columns = ["queue", "id", "job name", "reason", "attempts", "died at", "last error"]
    return grid(f"Dead letters ({len(jobs)})", columns, rows)


#: The time each state's listing shows, and its column title.
_LISTED_TIME = {
    "pending": ("enqueued_ms", "enqueued"),
    "delayed": ("due_ms", "due"),
    "running": ("lease_deadline_ms", "lease until"),
    "completed": ("finished_ms", "finished"),
    "dead": ("finished_ms", "died"),
    "cancelled": ("finished_ms", "cancelled"),
    "waiting": ("enqueued_ms", "enqueued"),
}


def jobs_table(queue: str, state: str, jobs: Sequence[Job]) -> Table:
    attr, title = _LISTED_TIME[state]
    rows = [
        [j.id, j.name, str(j.priority), str(j.attempts), when(getattr(j, attr)), str(j.state)]
        for j in jobs
    ]
    columns = ["id", "job name", "priority", "attempts", title, "state now"]
    return grid(f"{state.capitalize()} jobs of {queue} ({len(jobs)})", columns, rows)
