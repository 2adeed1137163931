"""Ghost claims and silent stalls without a network namespace: a claim that reaches Redis
after its caller stopped waiting, the worker's TCP options, and the readiness watchdog."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from tests.redis_server import RedisServer
from tests.worker.conftest import WorkerFactory, wait_for
from worker_runtime import Client
from worker_runtime.engine import connection, writes
from worker_runtime.handlers import build_handler
from worker_runtime.worker.claims import CLAIM_WAIT_MS
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.health import Watchdog
from worker_runtime.worker.loop import Worker


async def test_a_claim_that_arrives_after_its_deadline_leases_nothing_and_charges_nothing(
    client: Client, r: redis.Redis
) -> None:
    job = await client.enqueue("q", "t", max_attempts=1)
    now = (await client.store.run(writes.claim("q", "w", 0))).redis_now_ms
    assert now > 0
    late = await client.store.run(writes.claim("q", "w", 10, not_after_ms=now - 1))
    assert late.expired and late.jobs == []
    assert r.zscore("brq:{q}:pending", job.id) is not None
    assert r.hget("brq:{q}:att", job.id) is None and r.hlen("brq:{q}:lease") == 0
    on_time = await client.store.run(writes.claim("q", "w", 10, not_after_ms=now + 60_000))
    assert not on_time.expired
    assert [(j.id, j.attempt) for j in on_time.jobs] == [(job.id, 1)]


async def test_the_worker_sends_claims_with_a_deadline_near_the_redis_clock(
    client: Client, make_worker: WorkerFactory
) -> None:
    async with make_worker({}) as worker:
        await wait_for(lambda: _true(worker.claims.offset_ms is not None))
        redis_now = (await client.store.run(writes.claim("other", "w", 0))).redis_now_ms
        not_after = worker.claims.redis_now() + CLAIM_WAIT_MS
        # Never later than the worker's wait, and close to now + CLAIM_WAIT_MS.
        assert redis_now < not_after <= redis_now + CLAIM_WAIT_MS + 50


async def _true(value: bool) -> bool:
    return value


async def test_tcp_connections_carry_keepalive_and_a_user_timeout(redis_url: str) -> None:
    conn = connection.connect_async(redis_url)
    assert not isinstance(conn, redis.asyncio.RedisCluster)
    try:
        await conn.ping()
        pooled = conn.connection_pool._available_connections[0]
        assert pooled._writer is not None
        sock: socket.socket = pooled._writer.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        user_timeout = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        assert 0 < user_timeout <= connection.SOCKET_TIMEOUT * 1000
        idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
        count = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)
        interval = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL)
        assert idle + count * interval <= connection.SOCKET_TIMEOUT
    finally:
        await conn.aclose()


def test_keepalive_options_fit_within_shorter_timeouts() -> None:
    opts = connection.keepalive_options(2.0)
    assert opts[socket.TCP_USER_TIMEOUT] == 2000
    assert opts[socket.TCP_KEEPIDLE] + opts[socket.TCP_KEEPCNT] * opts[socket.TCP_KEEPINTVL] <= 2


async def test_watchdog_is_fresh_only_while_round_trips_succeed() -> None:
    dog = Watchdog(limit_s=0.3, interval_s=0.05)
    answers = [True]

    async def ping() -> bool:
        if not answers[0]:
            await asyncio.sleep(10)  # a silent partition: no reply, no error
        return True

    closing = [False]
    task = asyncio.create_task(dog.run(ping, lambda: closing[0]))
    try:
        await asyncio.sleep(0.2)
        assert dog.fresh()
        answers[0] = False
        await wait_for(lambda: _true(not dog.fresh()), 5)
        answers[0] = True
        await wait_for(lambda: _true(dog.fresh()), 5)
    finally:
        closing[0] = True
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.signal(signal.SIGCONT)
    server.stop()


async def test_a_frozen_redis_clears_readiness_within_the_watchdog_limit(
    own_redis: RedisServer,
) -> None:
    c = Client.from_url(own_redis.url)
    worker = Worker(c.store, ["q"], {})
    task = asyncio.create_task(worker.run())
    try:
        await wait_for(lambda: _true(worker.ready), 10)
        own_redis.signal(signal.SIGSTOP)  # connections stay up, nothing is answered
        loop = asyncio.get_running_loop()
        frozen_at = loop.time()
        await wait_for(lambda: _true(not worker.ready), 3 * connection.SOCKET_TIMEOUT)
        detected = loop.time() - frozen_at
        own_redis.signal(signal.SIGCONT)
        await wait_for(lambda: _true(worker.ready), 30)
        print(f"\nnot ready {detected:.1f} s after Redis froze; ready again by itself")
    finally:
        own_redis.signal(signal.SIGCONT)
        worker.stop()
        await asyncio.wait_for(task, 30)
        await c.close()


async def test_disown_hands_back_only_the_leases_of_an_unanswered_claim_uncharged(
    client: Client, r: redis.Redis
) -> None:
    ids = [(await client.enqueue("q", "t", max_attempts=1)).id for _ in range(5)]
    held = await client.store.run(writes.claim("q", "w", 2))
    other = await client.store.run(writes.claim("q", "other", 1))
    sent = held.redis_now_ms
    lost = await client.store.run(writes.claim("q", "w", 2))  # its reply "never came"
    top = max(int(j.token) for j in held.jobs)
    assert await client.store.run(writes.disown("q", "w", top, sent)) == 2
    lost_ids = {j.id for j in lost.jobs}
    assert set(r.zrange("brq:{q}:delayed", 0, -1)) == lost_ids
    assert r.hkeys("brq:{q}:att") == []  # no attempt charged
    running = set(r.zrange("brq:{q}:running", 0, -1))
    assert running == {j.id for j in held.jobs} | {j.id for j in other.jobs}
    again = await client.store.run(writes.claim("q", "x", 10))
    assert {j.id for j in again.jobs} == lost_ids | (set(ids) - running - lost_ids)
    assert {j.attempt for j in again.jobs} == {1}


async def test_a_worker_hands_back_what_a_claim_without_reply_leased_before_claiming_again(
    client: Client, r: redis.Redis, make_worker: WorkerFactory
) -> None:
    ran: list[str] = []

    async def t(payload: object, ctx: JobContext) -> None:
        ran.append(ctx.id)

    async with make_worker({"t": build_handler("t", t)}, name="w9") as worker:
        await wait_for(lambda: _true(worker.claims.offset_ms is not None))
        await client.configure("q", paused=True)
        await asyncio.sleep(0.2)
        job = await client.enqueue("q", "t", max_attempts=1)
        await client.configure("q", paused=False)
        # As if the worker's last claim had been served but its reply lost in a partition.
        sent = worker.claims.redis_now()
        lost = await client.store.run(writes.claim("q", "w9", 1))
        assert [j.id for j in lost.jobs] == [job.id]
        worker.claims.unanswered["q"] = sent
        worker._wake.set()
        await wait_for(lambda: _true(ran == [job.id]), 10)
    assert r.zscore("brq:{q}:completed", job.id) is not None
    assert r.zcard("brq:{q}:dead") == 0


async def test_before_any_claim_the_worker_takes_each_queues_lease_from_its_config(
    client: Client, make_worker: WorkerFactory
) -> None:
    """The recover loop's first call (at start-up, before any claim reply told the lease)
    sets the stall guard's threshold from the lease: a 30 s default there would take a
    Redis pause of a few seconds for none and expire the leases of jobs still running."""
    await client.configure("q", lease_ms=2000, paused=True)
    await client.configure("other", lease_ms=5000)
    async with make_worker({}, queues=["q", "other"]) as worker:
        await wait_for(lambda: _true(worker.settings.config["q"].paused))  # read at start-up
        assert worker.settings.lease_ms == {"q": 2000, "other": 5000}
    async with make_worker({}, queues=["q"], lease_ms=7000) as worker:
        await wait_for(lambda: _true(worker.settings.config["q"].paused))
        assert worker.settings.lease_ms == {"q": 7000}  # --lease-ms overrides the config
