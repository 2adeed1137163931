"""Unit: the Schedule plan from observed states, and the scheduler pool's start/stop rules."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from queue_operator.models import ScheduleSpec
from queue_operator.problems import Problem, engine_problem
from queue_operator.reconcile.common import JSON, Meta, parse_spec, status_patch
from queue_operator.reconcile.jobqueue import Target
from queue_operator.reconcile.schedule import (
    CR_FIELDS,
    ScheduleObserved,
    SchedulePlan,
    check_timing,
    rejection,
)
from queue_operator.reconcile.schedule import reconcile_schedule as plan_schedule
from queue_operator.redis_admin import RedisAdmin
from queue_operator.schedulers import SchedulerPool
from worker_runtime.cron.schedules import Schedule, ScheduleState, prepare_schedule
from worker_runtime.cron.schedules import ScheduleSpec as EngineSpec
from worker_runtime.errors import InvalidArgumentError

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
META = Meta("cleanup", "ns", "uid-1", 2)
SPEC: dict[str, Any] = {
    "cron": "0 3 * * *",
    "timeZone": "Europe/Berlin",
    "queue": "default",
    "jobName": "maintenance:cleanup",
    "payload": {"days": 30},
    "startingDeadlineSeconds": 60,
}
TARGET = Target("agent-default", "blackroad-redis", "url")
ENGINE = prepare_schedule(
    EngineSpec(
        "ns/cleanup",
        "0 3 * * *",
        "agent-default",
        "maintenance:cleanup",
        {"days": 30},
        "Europe/Berlin",
        5,
        False,
        "Allow",
        60,
    )
).spec
STATE = ScheduleState(
    last_tick_ms=NOW_MS - 3_000,
    last_job_id=f"sched:ns/cleanup:{NOW_MS - 3000}",
    next_tick_ms=NOW_MS + 60_000,
    missed=2,
    fired=7,
    skipped=1,
)


def cond(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def reconcile_schedule(
    meta: Meta, raw: JSON, old: JSON, observed: ScheduleObserved, now: datetime
) -> SchedulePlan:
    """The plan from a raw spec, parsed once as the operator's pass does."""
    return plan_schedule(meta, parse_spec(ScheduleSpec, raw), old, observed, now)


def test_new_schedule_is_written_with_an_event() -> None:
    plan = reconcile_schedule(META, SPEC, {}, ScheduleObserved(target=TARGET), NOW)
    assert plan.upsert == ENGINE
    assert plan.upsert.queue == "agent-default" and plan.upsert.name == "ns/cleanup"
    assert [e.reason for e in plan.events] == ["ScheduleApplied"]
    assert cond(plan.status, "Ready")["reason"] == "Scheduled"
    assert plan.status["queueName"] == "agent-default"
    assert plan.status["observedGeneration"] == 2


def test_in_sync_writes_nothing_and_reports_state() -> None:
    stored = Schedule(ENGINE, STATE)
    plan = reconcile_schedule(META, SPEC, {}, ScheduleObserved(target=TARGET, stored=stored), NOW)
    assert plan.upsert is None and plan.events == [] and not plan.unschedule
    s = plan.status
    assert s["lastScheduleTime"] == "2025-01-01T11:59:57Z"
    assert s["nextScheduleTime"] == "2025-01-01T12:01:00Z"
    assert s["lastJobId"] == f"sched:ns/cleanup:{NOW_MS - 3000}"
    assert (s["missedRuns"], s["runs"]) == (3, 7)
    assert cond(s, "Degraded")["status"] == "False"
    # Refreshed again shortly after the next tick when that comes before the usual interval.
    assert plan.requeue_after == 5.0
    soon = Schedule(ENGINE, replace(STATE, next_tick_ms=NOW_MS + 2_000))
    plan = reconcile_schedule(META, SPEC, {}, ScheduleObserved(target=TARGET, stored=soon), NOW)
    assert 2.0 < plan.requeue_after < 2.5
    again = reconcile_schedule(
        META, SPEC, plan.status, ScheduleObserved(target=TARGET, stored=soon), NOW
    )
    assert status_patch(plan.status, again.status) == {}


def test_spec_change_and_suspend_are_written() -> None:
    stored = Schedule(ENGINE, STATE)
    suspended = {**SPEC, "suspend": True}
    plan = reconcile_schedule(
        META, suspended, {}, ScheduleObserved(target=TARGET, stored=stored), NOW
    )
    assert plan.upsert is not None and plan.upsert.suspend is True
    assert cond(plan.status, "Ready")["reason"] == "Suspended"
    assert [e.reason for e in plan.events] == ["ScheduleApplied", "Suspended"]
    assert plan.status["nextScheduleTime"] is None  # nothing fires while suspended
    moved = replace(TARGET, queue_name="other")
    plan = reconcile_schedule(META, SPEC, {}, ScheduleObserved(target=moved, stored=stored), NOW)
    assert plan.upsert is not None and plan.upsert.queue == "other"


def test_invalid_specs_the_schema_lets_through() -> None:
    for patch, field in (
        ({"timeZone": "Mars/Olympus"}, "spec.timeZone"),
        ({"cron": "0 0 30 2 *"}, "spec.cron"),
    ):
        plan = reconcile_schedule(META, {**SPEC, **patch}, {}, ScheduleObserved(target=TARGET), NOW)
        ready = cond(plan.status, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
        assert ready["message"].startswith(field), ready["message"]
        assert plan.upsert is None and plan.unschedule
        assert "observedGeneration" not in plan.status
    long = Meta("x" * 120, "ns", "u", 1)
    plan = reconcile_schedule(long, SPEC, {}, ScheduleObserved(target=TARGET), NOW)
    assert cond(plan.status, "Ready")["message"].startswith("metadata.name")
    too_big = rejection("payload is 9000 bytes, over the limit", "payload")
    assert too_big == Problem("InvalidSpec", too_big.message, "spec.payload")
    rejected = ScheduleObserved(target=TARGET, rejected=too_big)
    plan = reconcile_schedule(META, SPEC, {}, rejected, NOW)
    assert cond(plan.status, "Ready")["reason"] == "InvalidSpec"
    assert "9000 bytes" in cond(plan.status, "Ready")["message"]


def test_queue_and_redis_problems_warn_once() -> None:
    missing = ScheduleObserved(queue_problem=Problem("QueueNotFound", "JobQueue default not found"))
    plan = reconcile_schedule(META, SPEC, {"observedGeneration": 1}, missing, NOW)
    assert cond(plan.status, "Ready")["reason"] == "QueueNotFound"
    assert cond(plan.status, "Degraded")["status"] == "True"
    assert plan.unschedule and [e.reason for e in plan.events] == ["QueueNotFound"]
    again = reconcile_schedule(META, SPEC, plan.status, missing, NOW)
    assert again.events == [] and status_patch(plan.status, again.status) == {}
    down = ScheduleObserved(target=TARGET, redis_error="ConnectionError: refused")
    plan = reconcile_schedule(META, SPEC, {}, down, NOW)
    assert cond(plan.status, "Ready")["reason"] == "RedisUnreachable"
    assert "refused" in cond(plan.status, "Ready")["message"]
    assert not plan.unschedule and plan.upsert is None
    nosecret = ScheduleObserved(
        target=TARGET, secret_problem=Problem("RedisSecretMissing", "Secret blackroad-redis gone")
    )
    plan = reconcile_schedule(META, SPEC, {}, nosecret, NOW)
    assert cond(plan.status, "Ready")["reason"] == "RedisSecretMissing"


class FakeAdmin(RedisAdmin):
    """Records which scheduler loops run instead of talking to Redis."""

    def __init__(self) -> None:
        super().__init__()
        self.live: list[str] = []

    async def run_scheduler(self, url: str, stop: asyncio.Event, interval_s: float) -> None:
        self.live.append(url)
        try:
            await stop.wait()
        finally:
            self.live.remove(url)


async def test_pool_runs_one_loop_per_redis_and_only_while_attached() -> None:
    admin = FakeAdmin()
    pool = SchedulerPool(admin)
    pool.hold("a", "redis://one")  # the timer ran, but no daemon yet (or we are paused)
    await asyncio.sleep(0.01)
    assert admin.live == []
    pool.attach("a")
    pool.attach("b")
    pool.hold("b", "redis://one")
    pool.attach("c")
    pool.hold("c", "redis://two")
    await asyncio.sleep(0.01)
    assert sorted(admin.live) == ["redis://one", "redis://two"]
    pool.detach("a")  # peering paused one daemon: "b" still needs redis://one
    pool.forget("c")  # deleted: nothing left on redis://two
    await asyncio.sleep(0.01)
    assert admin.live == ["redis://one"]
    pool.hold("b", "redis://two")  # moved to another Redis
    await asyncio.sleep(0.01)
    assert admin.live == ["redis://two"] and pool.running() == 1
    await pool.close()
    assert admin.live == [] and pool.running() == 0


def test_engine_errors_are_told_about_the_schedule_field() -> None:
    spec = ScheduleSpec.model_validate({**SPEC, "timeZone": "Mars/Olympus"})
    problem = check_timing(spec)
    hint = "use an IANA name such as UTC, Europe/Berlin or America/New_York"
    message = f"spec.timeZone: 'Mars/Olympus' is not known; {hint}"
    assert problem == Problem("InvalidSpec", message, "spec.timeZone")
    # A field the Schedule has no name for keeps the engine's words.
    exc = InvalidArgumentError("suspend: 'x' must be true or false", field="suspend")
    assert engine_problem(exc, CR_FIELDS) == Problem("InvalidSpec", str(exc))
