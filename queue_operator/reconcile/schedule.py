"""Pure Schedule reconciliation: the engine schedule to write, the status and the Events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from queue_operator import conditions as c
from queue_operator.models.schedule import ScheduleSpec
from queue_operator.problems import Problem, engine_problem
from queue_operator.reconcile.common import (
    JSON,
    Event,
    Meta,
    rfc3339,
    transitioned,
    with_conditions,
)
from queue_operator.reconcile.jobqueue import Target
from worker_runtime.cron import expressions as cron
from worker_runtime.cron.schedules import SCHEDULE_NAME, Schedule, prepare_schedule
from worker_runtime.cron.schedules import ScheduleSpec as EngineSpec
from worker_runtime.errors import InvalidArgumentError

#: The engine's field names (InvalidArgumentError.field) -> the Schedule's.
CR_FIELDS = {
    "cron": "spec.cron",
    "timezone": "spec.timeZone",
    "schedule_name": "metadata.name",
    "payload": "spec.payload",
    "job_name": "spec.jobName",
}
#: Quickest status refresh after a tick (seconds), so per-second crons cost one write a second.
MIN_REFRESH = 1.0


@dataclass(frozen=True)
class ScheduleObserved:
    """Everything the glue read before planning."""

    #: Why spec.queue names no usable JobQueue, if it does not.
    queue_problem: Problem | None = None
    target: Target | None = None
    secret_problem: Problem | None = None
    redis_error: str | None = None
    #: The engine schedule as stored in Redis (None: not there yet).
    stored: Schedule | None = None
    #: Why Redis refused the definition (e.g. a payload over the queue's limit).
    rejected: Problem | None = None


@dataclass
class SchedulePlan:
    #: The engine schedule to write (add_schedule), None when Redis already holds it.
    upsert: EngineSpec | None = None
    #: Remove the schedule from the Redis it was last written to: it must not fire any more.
    unschedule: bool = False
    status: JSON = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requeue_after: float = 5.0


def engine_name(meta: Meta) -> str:
    """The engine schedule's name: ``namespace/name``, unique in the cluster."""
    return f"{meta.namespace}/{meta.name}"


def engine_spec(meta: Meta, spec: ScheduleSpec, queue_name: str) -> EngineSpec | Problem:
    """The normalised engine schedule, or the problem with the field Redis would refuse."""
    name = engine_name(meta)
    if not SCHEDULE_NAME.match(name):
        message = (
            f"metadata.name: {name!r} is {len(name)} characters with the namespace; the engine "
            "allows at most 100. Use a shorter name"
        )
        return Problem("InvalidSpec", message, "metadata.name")
    wanted = EngineSpec(
        name,
        spec.cron,
        queue_name,
        spec.job_name,
        spec.payload if spec.payload is not None else {},  # handlers get {}, not None
        spec.time_zone,
        spec.priority,
        spec.suspend,
        spec.concurrency_policy,
        spec.starting_deadline_seconds,
    )
    try:
        return prepare_schedule(wanted).spec
    except InvalidArgumentError as exc:
        return engine_problem(exc, CR_FIELDS)


def check_timing(spec: ScheduleSpec) -> Problem | None:
    """What the schema cannot catch: a cron that never fires, an unknown time zone."""
    try:
        cron.check_cron(spec.cron)
        cron.check_timezone(spec.time_zone)
    except InvalidArgumentError as exc:
        return engine_problem(exc, CR_FIELDS)
    return None


def rejection(message: str, engine_field: str | None) -> Problem:
    """Redis refused the definition (a payload over the queue's limit): its words, our field."""
    return Problem("InvalidSpec", message, CR_FIELDS.get(engine_field or ""))


def reconcile_schedule(
    meta: Meta,
    spec: ScheduleSpec | Problem,
    old_status: JSON,
    observed: ScheduleObserved,
    now: datetime,
    interval: float = 5.0,
) -> SchedulePlan:
    """The plan for one Schedule given its parsed spec and what was observed."""
    if isinstance(spec, Problem):
        return _invalid(spec, old_status, meta, now, interval)
    timing = check_timing(spec)
    if timing is not None:
        return _invalid(timing, old_status, meta, now, interval)
    if observed.queue_problem is not None:
        problem = observed.queue_problem
        return _failed(
            old_status, meta, now, problem.reason, problem.message, interval, unschedule=True
        )
    target = observed.target
    if target is None:
        message = f"spec.queue {spec.queue!r}: no JobQueue resolved; retrying."
        return _failed(old_status, meta, now, "QueueNotFound", message, interval)
    base = {"queueName": target.queue_name}
    if observed.secret_problem is not None:
        problem = observed.secret_problem
        return _failed(old_status, meta, now, problem.reason, problem.message, interval, base)
    if observed.redis_error is not None:
        message = (
            f"Cannot reach the Redis of JobQueue {spec.queue} (Secret {target.secret_name}, key "
            f"{target.secret_key}): {observed.redis_error}. Check that Redis is up; retrying."
        )
        return _failed(old_status, meta, now, "RedisUnreachable", message, interval, base)
    desired = engine_spec(meta, spec, target.queue_name)
    if isinstance(desired, Problem):
        return _invalid(desired, old_status, meta, now, interval, base)
    if observed.rejected is not None:
        return _invalid(observed.rejected, old_status, meta, now, interval, base)
    return _scheduled(meta, desired, target, old_status, observed.stored, now, interval)


def _invalid(
    problem: Problem,
    old_status: JSON,
    meta: Meta,
    now: datetime,
    interval: float,
    fields: JSON | None = None,
) -> SchedulePlan:
    # An invalid Schedule must not fire any more: it leaves Redis until it is fixed.
    message = f"{problem.message}. Fix the spec."
    return _failed(
        old_status, meta, now, problem.reason, message, interval, fields, unschedule=True
    )


def _scheduled(
    meta: Meta,
    desired: EngineSpec,
    target: Target,
    old_status: JSON,
    stored: Schedule | None,
    now: datetime,
    interval: float,
) -> SchedulePlan:
    upsert = desired if stored is None or stored.spec != desired else None
    events: list[Event] = []
    if upsert is not None:
        verb = "Created" if stored is None else "Updated"
        applied = (
            f"{verb} engine schedule {desired.name!r} firing {desired.cron!r} "
            f"({desired.timezone}) into queue {desired.queue!r}"
        )
        events.append(Event("Normal", "ScheduleApplied", applied))
    if desired.suspend:
        ready = c.ready("Suspended", "spec.suspend is true: ticks pass without running.")
    else:
        firing = (
            f"Enqueues {desired.job_name} into queue {desired.queue!r} on {desired.cron!r} "
            f"({desired.timezone})."
        )
        ready = c.ready("Scheduled", firing)
    if ready.reason == "Suspended" and transitioned(old_status, ready):
        events.append(Event("Normal", "Suspended", ready.message))
    fields: JSON = {
        "queueName": target.queue_name,
        "observedGeneration": meta.generation,
        **state_fields(stored, desired.suspend),
    }
    conds = [ready, c.healthy()]
    status = with_conditions(old_status, fields, conds, now, meta.generation)
    return SchedulePlan(upsert, False, status, events, _refresh(stored, now, interval))


def state_fields(stored: Schedule | None, suspended: bool) -> JSON:
    """The status fields read from the engine's schedule state (None deletes a field)."""
    state = stored.state if stored is not None else None
    if state is None:
        return {}
    nxt = None if suspended or state.next_tick_ms is None else _time(state.next_tick_ms)
    return {
        "lastScheduleTime": None if state.last_tick_ms is None else _time(state.last_tick_ms),
        "nextScheduleTime": nxt,
        "lastJobId": state.last_job_id,
        "missedRuns": state.missed + state.skipped,
        "runs": state.fired,
    }


def _time(ms: int) -> str:
    return rfc3339(datetime.fromtimestamp(ms / 1000, UTC))


def _refresh(stored: Schedule | None, now: datetime, interval: float) -> float:
    # Read the state again just after the next tick when it comes before the usual refresh.
    nxt = stored.state.next_tick_ms if stored is not None else None
    if nxt is None:
        return interval
    until = nxt / 1000 - now.timestamp() + 0.2
    return min(interval, max(MIN_REFRESH, until))


def _failed(
    old_status: JSON,
    meta: Meta,
    now: datetime,
    reason: str,
    message: str,
    interval: float,
    fields: JSON | None = None,
    *,
    unschedule: bool = False,
) -> SchedulePlan:
    # observedGeneration stays where it was: it is written only after a successful reconcile.
    conds = [c.not_ready(reason, message), c.degraded(reason, message)]
    events = [Event("Warning", reason, message)] if transitioned(old_status, conds[0]) else []
    fields = dict(fields or {})
    if unschedule:
        fields["nextScheduleTime"] = None  # nothing will fire
    status = with_conditions(old_status, fields, conds, now, meta.generation)
    return SchedulePlan(None, unschedule, status, events, interval)
