"""Several schedulers at once: every tick exactly once over a simulated hour, and restarts."""

from __future__ import annotations

import asyncio
import random
import socket
from collections import Counter

import redis

from tests.cron.conftest import START_MS, job_ticks
from worker_runtime import Client
from worker_runtime.cron.scheduler import fire_due, run_scheduler
from worker_runtime.cron.schedules import ScheduleSpec
from worker_runtime.cron.transitions import Fired
from worker_runtime.engine.store import AsyncStore

HOUR = 3_600_000
MINUTELY = ScheduleSpec("minutely", "*/1 * * * *", "q", "tick", {"every": "minute"})
TEN_SECONDS = ScheduleSpec("ten-seconds", "*/10 * * * * *", "q", "tick", {"every": "10s"})


def expected(step_ms: int, start: int = START_MS, end: int = START_MS + HOUR) -> list[int]:
    return list(range(start + step_ms, end + 1, step_ms))


async def setup(client: Client) -> None:
    await client.add_schedule(MINUTELY)
    await client.add_schedule(TEN_SECONDS)
    # The first pass takes both up at START_MS: their ticks are those after it.
    assert {f.outcome for f in await fire_due(client.store, START_MS)} == {"initialised"}


def check_exactly_once(r: redis.Redis, fired: list[Fired], end: int = START_MS + HOUR) -> None:
    assert job_ticks(r, "q", "minutely") == expected(60_000, end=end)
    assert job_ticks(r, "q", "ten-seconds") == expected(10_000, end=end)
    outcomes = Counter(f.outcome for f in fired)
    runs = len(expected(60_000, end=end)) + len(expected(10_000, end=end))
    assert outcomes["fired"] == runs  # no tick was enqueued twice, not even as "exists"
    assert set(outcomes) <= {"fired", "stale"}, outcomes


async def test_three_interleaved_schedulers_for_a_simulated_hour(
    client: Client, stores: list[AsyncStore], r: redis.Redis
) -> None:
    await setup(client)
    rng = random.Random(4)
    skew = [0, -400, 300]  # the three hosts' clocks disagree a little
    fired: list[Fired] = []
    now = START_MS
    while now < START_MS + HOUR:
        # Steps under 10 s minus the skews: some scheduler looks before every next tick.
        now = min(now + rng.randint(200, 9_000), START_MS + HOUR)
        callers = rng.sample(range(3), rng.randint(1, 3))
        for i in callers:
            fired += await fire_due(stores[i], min(now + skew[i], START_MS + HOUR))
    fired += await fire_due(stores[0], START_MS + HOUR)
    check_exactly_once(r, fired)
    for name in ("minutely", "ten-seconds"):
        state = (await client.get_schedule(name)).state  # type: ignore[union-attr]
        assert state.missed == 0 and state.skipped == 0


async def test_three_concurrent_schedulers_for_a_simulated_hour(
    client: Client, stores: list[AsyncStore], r: redis.Redis
) -> None:
    await setup(client)
    fired: list[Fired] = []
    for now in [*range(START_MS + 1_000, START_MS + HOUR, 2_500), START_MS + HOUR]:
        # The three passes interleave at every Redis round trip.
        results = await asyncio.gather(*(fire_due(s, now) for s in stores))
        fired += [f for result in results for f in result]
    check_exactly_once(r, fired)
    assert Counter(f.outcome for f in fired)["stale"] > 0  # they did race for ticks


async def test_restart_keeps_state_in_redis_only(
    redis_url: str, client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(MINUTELY)
    # Catch-up runs after the downtime need a deadline; without one only the latest runs.
    await client.add_schedule(
        ScheduleSpec("ten-seconds", "*/10 * * * * *", "q", "tick", starting_deadline=60)
    )
    fired: list[Fired] = []
    first = Client.from_url(redis_url)
    fired += await fire_due(first.store, START_MS)
    for now in range(START_MS + 3_000, START_MS + HOUR // 2, 3_000):
        fired += await fire_due(first.store, now)
    await first.close()
    # Down for 35 s (three ticks of ten-seconds, no minute tick), then a fresh process.
    second = Client.from_url(redis_url)
    for now in range(START_MS + HOUR // 2 + 35_000, START_MS + HOUR + 1, 3_000):
        fired += await fire_due(second.store, now)
    fired += await fire_due(second.store, START_MS + HOUR)
    await second.close()
    assert Counter(f.outcome for f in fired) == Counter({"fired": 60 + 360, "initialised": 2})
    assert job_ticks(r, "q", "minutely") == expected(60_000)
    assert job_ticks(r, "q", "ten-seconds") == expected(10_000)


async def test_run_scheduler_loop_fires_on_a_simulated_clock(
    client: Client, r: redis.Redis
) -> None:
    await client.add_schedule(MINUTELY)
    stop = asyncio.Event()
    now = START_MS - 1_000

    def clock() -> int:
        nonlocal now
        now += 1_000
        if now >= START_MS + 10 * 60_000:
            stop.set()
        return min(now, START_MS + 10 * 60_000)

    await asyncio.wait_for(run_scheduler(client.store, stop, interval_s=0.001, now_ms=clock), 60)
    ticks = job_ticks(r, "q", "minutely")
    # The loop reads the clock twice a round: the last minute may fall on either read.
    assert ticks[:9] == expected(60_000, end=START_MS + 9 * 60_000) and len(ticks) in (9, 10)


async def test_run_scheduler_rides_out_an_unreachable_redis() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = Client.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.2)
    stop = asyncio.Event()
    attempts = 0

    def clock() -> int:
        nonlocal attempts
        attempts += 1
        if attempts >= 4:
            stop.set()
        return START_MS

    await asyncio.wait_for(run_scheduler(down.store, stop, interval_s=0.001, now_ms=clock), 60)
    await down.close()
    assert attempts >= 4
