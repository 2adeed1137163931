"""Schedules through the client and fire_due: upsert, state, policies, suspend, trigger, remove."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from tests.cron.conftest import START_MS, Snapshot, job_ticks
from worker_runtime import Client
from worker_runtime.cron.scheduler import fire_due
from worker_runtime.cron.schedules import ScheduleNotFoundError, ScheduleSpec
from worker_runtime.engine import writes
from worker_runtime.engine.keys import SCHEDULES, QueueKeys
from worker_runtime.errors import InvalidArgumentError, PayloadTooLargeError

MIN = 60_000


def spec(name: str = "report", cron: str = "* * * * *", **kw: Any) -> ScheduleSpec:
    return ScheduleSpec(name, cron, kw.pop("queue", "q"), kw.pop("job_name", "build"), **kw)


async def outcomes(client: Client, now: int) -> list[str]:
    return [f.outcome for f in await fire_due(client.store, now)]


async def test_add_get_list_and_upsert(client: Client, r: redis.Redis) -> None:
    added = await client.add_schedule(
        spec(
            payload={"kind": "daily"},
            timezone="Europe/Berlin",
            priority="high",
            concurrency_policy="forbid",
            starting_deadline=300,
        )
    )
    assert added.spec == ScheduleSpec(
        "report",
        "* * * * *",
        "q",
        "build",
        {"kind": "daily"},
        "Europe/Berlin",
        1,
        False,
        "Forbid",
        300,
    )
    assert added.state.cursor_ms is None and added.state.fired == 0
    assert added.state.next_tick_ms is not None
    assert r.hget(SCHEDULES, "report") == "q"
    assert r.hexists(QueueKeys.of("q").schedules, "report") and r.sismember("brq:queues", "q")
    again = await client.add_schedule(spec(payload={"kind": "weekly"}))
    assert again.spec.payload == {"kind": "weekly"} and again.spec.concurrency_policy == "Allow"
    assert [s.spec.name for s in await client.schedules()] == ["report"]
    assert await client.get_schedule("nope") is None


async def test_first_pass_initialises_then_ticks_fire_once(client: Client, r: redis.Redis) -> None:
    await client.add_schedule(spec(payload={"n": 1}, priority="low"))
    assert await outcomes(client, START_MS) == ["initialised"]
    assert await outcomes(client, START_MS + 30_000) == []
    assert await outcomes(client, START_MS + MIN) == ["fired"]
    assert await outcomes(client, START_MS + MIN + 5) == []
    job = await client.get_job(f"sched:report:{START_MS + MIN}")
    assert job is not None
    assert (job.queue, job.name, job.payload, job.priority, job.state) == (
        "q",
        "build",
        {"n": 1},
        8,
        "pending",
    )
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert (state.last_tick_ms, state.next_tick_ms, state.fired, state.missed) == (
        START_MS + MIN,
        START_MS + 2 * MIN,
        1,
        0,
    )
    assert state.last_job_id == f"sched:report:{START_MS + MIN}"


async def test_a_gap_runs_only_the_latest_tick_and_counts_the_rest(
    client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(spec())
    await fire_due(client.store, START_MS)
    assert await outcomes(client, START_MS + 10 * MIN + 30_000) == ["fired"]
    assert job_ticks(r, "q", "report") == [START_MS + 10 * MIN]
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert (state.missed, state.fired) == (9, 1)


async def test_starting_deadline_skips_late_ticks_and_runs_the_rest(
    client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(spec("every10s", "*/10 * * * * *", starting_deadline=25))
    await fire_due(client.store, START_MS)
    # Ticks 10 s .. 90 s are due at 95 s: those older than 25 s are missed, the others run.
    assert await outcomes(client, START_MS + 95_000) == ["fired"] * 3
    assert job_ticks(r, "q", "every10s") == [START_MS + s * 1000 for s in (70, 80, 90)]
    state = (await client.get_schedule("every10s")).state  # type: ignore[union-attr]
    assert (state.missed, state.fired, state.last_tick_ms) == (6, 3, START_MS + 90_000)
    assert await outcomes(client, START_MS + 200_000) == ["fired"] * 3  # 180, 190, 200 s
    state = (await client.get_schedule("every10s")).state  # type: ignore[union-attr]
    assert (state.missed, state.fired, state.next_tick_ms) == (6 + 8, 6, START_MS + 210_000)


async def test_ticks_all_later_than_the_deadline_are_passed_over(
    client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(spec(starting_deadline=25))
    await fire_due(client.store, START_MS)
    assert await outcomes(client, START_MS + 3 * MIN + 40_000) == ["missed"]
    assert await outcomes(client, START_MS + 4 * MIN + 20_000) == ["fired"]
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert (state.missed, state.fired) == (3, 1)
    assert job_ticks(r, "q", "report") == [START_MS + 4 * MIN]


async def test_long_gap_is_passed_over_in_bounded_steps(client: Client, r: redis.Redis) -> None:
    await client.add_schedule(spec("sec", "* * * * * *"))
    await fire_due(client.store, START_MS)
    day = 86_400_000
    got = await outcomes(client, START_MS + day)
    assert got[-1] == "fired" and set(got[:-1]) == {"missed"}
    state = (await client.get_schedule("sec")).state  # type: ignore[union-attr]
    assert (state.missed, state.fired) == (86_399, 1)
    assert job_ticks(r, "q", "sec") == [START_MS + day]


async def test_forbid_skips_while_the_previous_run_is_unfinished(client: Client) -> None:
    await client.add_schedule(spec(concurrency_policy="Forbid"))
    await fire_due(client.store, START_MS)
    assert await outcomes(client, START_MS + MIN) == ["fired"]
    assert await outcomes(client, START_MS + 2 * MIN) == ["forbidden"]  # pending
    claimed = await client.store.run(writes.claim("q", "w1", 10))
    assert [j.id for j in claimed.jobs] == [f"sched:report:{START_MS + MIN}"]
    assert await outcomes(client, START_MS + 3 * MIN) == ["forbidden"]  # running
    job = claimed.jobs[0]
    assert await client.store.run(writes.complete("q", "w1", [(job.id, job.token, "")])) == [1]
    assert await outcomes(client, START_MS + 4 * MIN) == ["fired"]
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert (state.fired, state.skipped, state.missed) == (2, 2, 0)
    assert state.last_job_id == f"sched:report:{START_MS + 4 * MIN}"


async def test_allow_runs_overlap(client: Client, r: redis.Redis) -> None:
    await client.add_schedule(spec())
    await fire_due(client.store, START_MS)
    for i in (1, 2, 3):
        assert await outcomes(client, START_MS + i * MIN) == ["fired"]
    assert r.zcard(QueueKeys.of("q").pending) == 3


async def test_suspend_passes_ticks_over_and_resume_runs_the_next(
    client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(spec())
    await fire_due(client.store, START_MS)
    assert await client.suspend_schedule("report") is True
    assert await client.suspend_schedule("report") is False
    assert await outcomes(client, START_MS + MIN) == ["suspended"]
    assert await outcomes(client, START_MS + 3 * MIN) == ["suspended"]
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert (state.fired, state.missed) == (0, 0)
    assert (await client.get_schedule("report")).spec.suspend  # type: ignore[union-attr]
    assert await client.resume_schedule("report") is True
    assert await outcomes(client, START_MS + 3 * MIN + 10) == []  # that tick was passed over
    assert await outcomes(client, START_MS + 4 * MIN) == ["fired"]
    assert job_ticks(r, "q", "report") == [START_MS + 4 * MIN]
    with pytest.raises(ScheduleNotFoundError):
        await client.suspend_schedule("nope")


async def test_trigger_runs_now_outside_the_ticks(client: Client, r: redis.Redis) -> None:
    await client.add_schedule(spec(payload=[1, 2], suspend=True))
    done = await client.trigger_schedule("report")
    assert done.created and done.id.startswith("schedrun:report:") and done.queue == "q"
    job = await client.get_job(done.id)
    assert job is not None and job.payload == [1, 2] and job.state == "pending"
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert (state.fired, state.last_job_id, state.last_tick_ms) == (1, done.id, None)
    with pytest.raises(ScheduleNotFoundError):
        await client.trigger_schedule("nope")


async def test_remove_deletes_definition_and_state_but_not_runs(
    client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(spec())
    await fire_due(client.store, START_MS)
    await fire_due(client.store, START_MS + MIN)
    assert await client.remove_schedule("report") is True
    assert await client.remove_schedule("report") is False
    assert not r.exists(SCHEDULES, QueueKeys.of("q").schedules, QueueKeys.of("q").schedstate)
    assert await fire_due(client.store, START_MS + 2 * MIN) == []
    assert job_ticks(r, "q", "report") == [START_MS + MIN]
    assert await client.schedules() == []


async def test_changing_the_queue_moves_the_schedule(client: Client, r: redis.Redis) -> None:
    await client.add_schedule(spec(queue="a"))
    await fire_due(client.store, START_MS)
    moved = await client.add_schedule(spec(queue="b"))
    assert moved.spec.queue == "b" and r.hget(SCHEDULES, "report") == "b"
    assert not r.hexists(QueueKeys.of("a").schedules, "report")
    assert not r.hexists(QueueKeys.of("a").schedstate, "report")
    assert await outcomes(client, START_MS + MIN) == ["initialised"]
    assert await outcomes(client, START_MS + 2 * MIN) == ["fired"]
    assert job_ticks(r, "b", "report") == [START_MS + 2 * MIN]
    assert job_ticks(r, "a", "report") == []


async def test_new_timing_restarts_the_tick_sequence(client: Client) -> None:
    await client.add_schedule(spec())
    await fire_due(client.store, START_MS)
    await fire_due(client.store, START_MS + MIN)
    await client.add_schedule(spec(cron="0 * * * *"))
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert state.cursor_ms is None and state.fired == 1  # counters stay
    assert await outcomes(client, START_MS + 30 * MIN) == ["initialised"]
    assert await outcomes(client, START_MS + 60 * MIN) == ["fired"]
    # Same timing, other payload: the sequence goes on.
    await client.add_schedule(spec(cron="0 * * * *", payload=2))
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert state.cursor_ms == START_MS + 60 * MIN


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (spec(name="bad name"), "schedule name:"),
        (spec(name=""), "schedule name:"),
        (spec(cron="* * *"), "cron:"),
        (spec(cron="0 25 * * *"), "cron:"),
        (spec(timezone="Europe/Nowhere"), "time zone:"),
        (spec(queue="bad{queue}"), "queue:"),
        (spec(job_name=""), "job name:"),
        (spec(priority=11), "priority:"),
        (spec(priority="urgent"), "priority:"),
        (spec(concurrency_policy="Replace"), "concurrency_policy:"),
        (spec(starting_deadline=0), "starting_deadline:"),
        (spec(starting_deadline=float("nan")), "starting_deadline:"),
        (spec(payload={"a": {1, 2}}), "payload"),
        (spec(suspend="yes"), "suspend:"),
    ],
)
async def test_bad_input_writes_nothing(
    client: Client, snapshot: Snapshot, bad: ScheduleSpec, needle: str
) -> None:
    await client.add_schedule(spec("other", queue="q"))
    before = snapshot()
    with pytest.raises(InvalidArgumentError, match=needle):
        await client.add_schedule(bad)
    assert snapshot() == before


async def test_payload_over_the_queue_limit_writes_nothing(
    client: Client, snapshot: Snapshot
) -> None:
    await client.configure("q", max_payload_bytes=100)
    before = snapshot()
    with pytest.raises(PayloadTooLargeError, match="over the limit"):
        await client.add_schedule(spec(payload="x" * 200))
    assert snapshot() == before


async def test_a_run_over_a_lowered_limit_is_missed_not_retried(
    client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(spec(payload="x" * 200))
    await fire_due(client.store, START_MS)
    await client.configure("q", max_payload_bytes=100)
    assert await outcomes(client, START_MS + MIN) == ["too_large"]
    assert await outcomes(client, START_MS + MIN + 1) == []
    state = (await client.get_schedule("report")).state  # type: ignore[union-attr]
    assert (state.missed, state.fired) == (1, 0)
    with pytest.raises(PayloadTooLargeError):
        await client.trigger_schedule("report")
    assert job_ticks(r, "q", "report") == []


def test_sync_client_has_the_schedule_methods(sync_client: Any) -> None:
    added = sync_client.add_schedule(spec())
    assert sync_client.get_schedule("report") == added
    assert [s.spec.name for s in sync_client.schedules()] == ["report"]
    assert sync_client.suspend_schedule("report") and sync_client.resume_schedule("report")
    assert sync_client.trigger_schedule("report").created
    assert sync_client.remove_schedule("report")
