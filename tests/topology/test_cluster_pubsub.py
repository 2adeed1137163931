"""Sharded pub/sub on a three-master Redis Cluster: the ``Client.wait`` tests (woken only
by the completion message) run again there (this module points ``client``, ``r`` and
``redis_url`` at the cluster, and every test of that module is collected here too),
``Client.events`` of queues on three masters, a worker woken on each master, and
listeners that follow their queue's slot to the promoted replica after a failover."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis

import tests.engine.test_wait
from tests.engine.test_wait import no_fallback
from tests.topology.on_cluster import client, r, redis_url, reuse
from tests.topology.rediscluster import (
    RedisCluster,
    key_slot,
    live_master_of_slot,
    queue_on_slot_range,
)
from tests.worker.conftest import wait_for
from worker_runtime.client import Client
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import RedisUnavailableError
from worker_runtime.handlers import build_handler
from worker_runtime.worker import loop as worker_loop
from worker_runtime.worker.execution import JobContext
from worker_runtime.worker.loop import Worker

# The fixtures; no_fallback: the wait tests' autouse one (no re-reads, messages only).
__all__ = ["client", "no_fallback", "r", "redis_url"]

reuse(globals(), tests.engine.test_wait)

SPREAD = [queue_on_slot_range(i, prefix=f"ev{i}-") for i in range(3)]


async def test_events_of_queues_on_three_masters(
    client: Client, redis_cluster: RedisCluster
) -> None:
    """The scripts publish events only while the queue's master counts a subscriber, so the
    listener subscribes on each queue's master."""
    stream = client.events(SPREAD)
    first = asyncio.ensure_future(anext(stream))
    for q in SPREAD:
        master = redis_cluster.master_of_slot(key_slot(q))
        with redis.Redis(port=master.port, decode_responses=True) as conn:
            channel = QueueKeys.of(q).events
            while conn.execute_command("PUBSUB", "SHARDNUMSUB", channel)[1] == 0:
                await asyncio.sleep(0.01)
    ids = {(await client.enqueue(q, "j")).id: q for q in SPREAD}
    got = [await asyncio.wait_for(first, 10)]
    got += [await asyncio.wait_for(anext(stream), 10) for _ in range(2)]
    assert {(e.type, e.id, e.queue) for e in got} == {("enqueued", i, q) for i, q in ids.items()}
    for q in SPREAD:
        [job] = (await client.store.run(writes.claim(q, "w", 1))).jobs
        [e] = [await asyncio.wait_for(anext(stream), 10)]
        assert (e.type, e.id, e.queue) == ("started", job.id, q)
    await stream.aclose()


def _shard_subscribers(cluster: RedisCluster, channel: str) -> tuple[int, int]:
    """(sharded, plain) subscribers of ``channel`` on the master of its slot."""
    master = live_master_of_slot(cluster, key_slot(channel.split("{")[1].split("}")[0]))
    with redis.Redis(port=master.port, decode_responses=True) as conn:
        sharded = conn.execute_command("PUBSUB", "SHARDNUMSUB", channel)[1]
        plain = conn.execute_command("PUBSUB", "NUMSUB", channel)[1]
    return int(sharded), int(plain)


async def _subscribed(cluster: RedisCluster, channels: list[str]) -> None:
    async def ready() -> bool:
        return all(_shard_subscribers(cluster, c)[0] > 0 for c in channels)

    await wait_for(ready, timeout=30)


async def test_a_worker_is_woken_on_each_master_by_sharded_pubsub(
    client: Client, redis_cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker polls every 60 s here: a job that starts at once was woken by SPUBLISH on
    its queue's master (the worker listens with SSUBSCRIBE there, not with SUBSCRIBE)."""
    monkeypatch.setattr(worker_loop, "IDLE_WAIT_S", 60.0)
    started: dict[str, float] = {}

    async def work(payload: Any, ctx: JobContext) -> None:
        started[ctx.id] = time.monotonic()

    worker = Worker(client.store, SPREAD, {"j": build_handler("j", work)}, concurrency=4)
    task = asyncio.create_task(worker.run())
    try:
        wakes = [QueueKeys.of(q).wake for q in SPREAD]
        await _subscribed(redis_cluster, wakes)
        assert all(_shard_subscribers(redis_cluster, c)[1] == 0 for c in wakes)
        await asyncio.sleep(0.5)  # the worker's first claims are done: it is idle now
        latencies = []
        for q in SPREAD:
            sent = time.monotonic()
            job = await client.enqueue(q, "j")

            async def ran(job_id: str = job.id) -> bool:
                return job_id in started

            await wait_for(ran, timeout=30)
            latencies.append(started[job.id] - sent)
        print("sharded wake-up, enqueue to start (s):", [f"{s:.4f}" for s in latencies])
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


async def test_listeners_follow_their_queue_to_the_promoted_replica(
    replicated_cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL the master of a queue: the worker's wake-up listener and an events listener
    subscribe again on the promoted replica, and are woken and told from there."""
    monkeypatch.setattr(worker_loop, "IDLE_WAIT_S", 60.0)
    queue = queue_on_slot_range(0, prefix="follow-")
    keys = QueueKeys.of(queue)
    started: set[str] = set()

    async def work(payload: Any, ctx: JobContext) -> None:
        started.add(ctx.id)

    async with Client.from_url(replicated_cluster.url) as client:
        stream = client.events([queue])
        first = asyncio.ensure_future(anext(stream))
        worker = Worker(client.store, [queue], {"j": build_handler("j", work)}, concurrency=2)
        task = asyncio.create_task(worker.run())
        try:
            await _subscribed(replicated_cluster, [keys.wake, keys.events])
            victim = live_master_of_slot(replicated_cluster, key_slot(queue))
            victim.kill()
            killed = time.monotonic()

            async def promoted() -> bool:
                try:
                    return live_master_of_slot(replicated_cluster, key_slot(queue)) is not victim
                except LookupError:
                    return False

            await wait_for(promoted, timeout=60)
            promoted_s = time.monotonic() - killed
            await _subscribed(replicated_cluster, [keys.wake, keys.events])
            followed_s = time.monotonic() - killed
            job_id = await _enqueue_until_served(client, queue)
            event = await asyncio.wait_for(first, 30)
            assert (event.type, event.id) == ("enqueued", job_id)

            async def ran() -> bool:
                return job_id in started

            await wait_for(ran, timeout=30)  # woken: the worker would poll after 60 s
            print(
                f"sharded pub/sub failover: replica promoted {promoted_s:.1f} s after the "
                f"kill, listeners subscribed on it {followed_s:.1f} s after"
            )
        finally:
            worker.stop()
            await asyncio.wait_for(task, 60)
            await stream.aclose()


async def _enqueue_until_served(client: Client, queue: str) -> str:
    for _ in range(300):
        try:
            return (await client.enqueue(queue, "j", job_id="after-failover")).id
        except RedisUnavailableError:
            await asyncio.sleep(0.1)
    raise AssertionError("no master took the enqueue")
