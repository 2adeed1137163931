"""Cron schedule types, their validation and their stored form (pure: no Redis here)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from worker_runtime.cron import expressions as cron
from worker_runtime.engine import prepare
from worker_runtime.errors import InvalidArgumentError, QueueError
from worker_runtime.models import JobSpec, Priority, shown

#: Schedule names: like queue names, plus ``/`` for ``namespace/name`` of a Schedule resource.
SCHEDULE_NAME = re.compile(r"^[A-Za-z0-9._:/-]{1,100}$")
#: Longest starting deadline, in seconds (a year).
MAX_DEADLINE_S = 31_536_000
POLICIES = ("Allow", "Forbid")


class ScheduleNotFoundError(QueueError, LookupError):
    """No schedule with that name exists."""


@dataclass(frozen=True)
class ScheduleSpec:
    """What to enqueue, where, and when; see Client.add_schedule."""

    name: str
    cron: str
    queue: str
    job_name: str
    #: What each run's handler gets; {} when not given (never None).
    payload: Any = field(default_factory=dict)
    timezone: str = "UTC"
    priority: int | str = Priority.NORMAL
    suspend: bool = False
    #: Forbid: pass a tick over while this schedule's previous run is unfinished.
    concurrency_policy: Literal["Allow", "Forbid"] = "Allow"
    #: Seconds after its time a tick may still start; later ticks are missed. None: no
    #: limit, but after a gap only the latest tick runs (never a burst of catch-up runs).
    starting_deadline: float | None = None


@dataclass(frozen=True)
class ScheduleState:
    """What the schedulers did with a schedule; times are Unix ms."""

    #: Tick time of the last run fired by a scheduler (not by trigger).
    last_tick_ms: int | None = None
    #: Id of the last run, fired or triggered.
    last_job_id: str | None = None
    next_tick_ms: int | None = None
    #: Ticks that did not run because they were late (starting deadline, or a gap).
    missed: int = 0
    #: Runs enqueued, by ticks and by trigger.
    fired: int = 0
    #: Ticks passed over by the Forbid policy.
    skipped: int = 0
    #: Ticks at or before this are done; None until a scheduler first sees the schedule.
    cursor_ms: int | None = None


@dataclass(frozen=True)
class Schedule:
    spec: ScheduleSpec
    state: ScheduleState

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.spec), **asdict(self.state)}


@dataclass(frozen=True)
class PreparedSchedule:
    """A validated spec, serialised for the schedput script."""

    spec: ScheduleSpec
    record: str
    payload_bytes: int
    deadline_ms: int | None


def check_schedule_name(name: str) -> None:
    if not isinstance(name, str) or not SCHEDULE_NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"schedule name: {shown(name)} is not valid; use 1-100 letters, digits or . _ : / -",
            field="schedule_name",
        )


def _policy(value: str) -> Literal["Allow", "Forbid"]:
    for p in ("Allow", "Forbid"):
        if isinstance(value, str) and value.lower() == p.lower():
            return p
    raise InvalidArgumentError(
        f"concurrency_policy: {shown(value)} is not Allow or Forbid", field="concurrency_policy"
    )


def _deadline_ms(value: float | None) -> int | None:
    if value is None:
        return None
    # The comparison refuses NaN and infinities; math.isfinite would overflow on a huge int.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 < value <= MAX_DEADLINE_S:
        raise InvalidArgumentError(
            f"starting_deadline: {shown(value)} must be seconds above 0 and at most a year",
            field="starting_deadline",
        )
    return max(1, round(value * 1000))


def prepare_schedule(spec: ScheduleSpec) -> PreparedSchedule:
    """Validates every field (raises InvalidArgumentError naming it) and serialises."""
    check_schedule_name(spec.name)
    for name, value in (("cron", spec.cron), ("timezone", spec.timezone)):
        if not isinstance(value, str):  # before the cached checks, which need a hashable
            raise InvalidArgumentError(
                f"{name}: must be a string, got {type(value).__name__} {shown(value)}",
                field=name,
            )
    expr = cron.check_cron(spec.cron)
    cron.check_timezone(spec.timezone)
    if not isinstance(spec.suspend, bool):
        raise InvalidArgumentError(
            f"suspend: {shown(spec.suspend)} must be true or false", field="suspend"
        )
    policy = _policy(spec.concurrency_policy)
    deadline = _deadline_ms(spec.starting_deadline)
    # The run's record is built by the engine's own enqueue validation, so a scheduled job
    # is indistinguishable from an enqueued one.
    job = prepare.prepare(
        JobSpec(spec.queue, spec.job_name, spec.payload, spec.priority, job_id="sched:check")
    )
    normal = ScheduleSpec(
        spec.name,
        expr,
        spec.queue,
        spec.job_name,
        spec.payload,
        spec.timezone,
        job.priority,
        spec.suspend,
        policy,
        spec.starting_deadline,
    )
    record = {
        "name": spec.name,
        "cron": expr,
        "tz": spec.timezone,
        "queue": spec.queue,
        "job": spec.job_name,
        "priority": job.priority,
        "suspend": spec.suspend,
        "policy": policy,
        "deadline_ms": deadline,
        "body": job.body,
    }
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return PreparedSchedule(normal, text, job.payload_bytes, deadline)


def spec_from_record(text: str) -> tuple[ScheduleSpec, int | None]:
    """The spec stored by schedput, and its starting deadline in ms."""
    r = json.loads(text)
    payload = json.loads(str(r["body"]).split("\n", 1)[1])
    deadline = r.get("deadline_ms")
    spec = ScheduleSpec(
        r["name"],
        r["cron"],
        r["queue"],
        r["job"],
        payload,
        r["tz"],
        int(r["priority"]),
        bool(r["suspend"]),
        _policy(r["policy"]),
        None if deadline is None else int(deadline) / 1000,
    )
    return spec, None if deadline is None else int(deadline)


def _ms(text: str) -> int | None:
    return int(text) if text else None


def state_from_text(text: str | None) -> ScheduleState:
    """Parses "<cursor>|<last>|<next>|<missed>|<fired>|<skipped>|<last job id>"."""
    if not text:
        return ScheduleState()
    cursor, last, nxt, missed, fired, skipped, job = text.split("|", 6)
    return ScheduleState(
        _ms(last), job or None, _ms(nxt), int(missed), int(fired), int(skipped), _ms(cursor)
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000
