"""The durable mode on a Redis Cluster: each master runs its scripts and then WAIT on the
same connection, so an acknowledged durable enqueue is on the replica of its slot, and a
master SIGKILLed under a durable producer loses none of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

import pytest
import redis

from tests.topology.rediscluster import (
    RedisCluster,
    key_slot,
    live_master_of_slot,
    queue_on_slot_range,
    replica_of_slot,
)
from worker_runtime.client import Client
from worker_runtime.engine.connection import connect_sync
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import NotReplicatedError, RedisUnavailableError
from worker_runtime.models import JobSpec

QUEUES = [queue_on_slot_range(i, prefix=f"du{i}-") for i in range(3)]


def _on_replica(cluster: RedisCluster, queue: str, job_id: str) -> bool:
    replica = replica_of_slot(cluster, key_slot(queue))
    with redis.Redis(port=replica.port, decode_responses=True) as conn:
        conn.execute_command("READONLY")
        return bool(conn.hexists(QueueKeys.of(queue).jobs, job_id))


async def test_a_durable_enqueue_is_on_the_replicas_when_it_returns(
    replicated_cluster: RedisCluster,
) -> None:
    async with Client.from_url(replicated_cluster.url, durable=True) as client:
        for n in range(20):
            done = await client.enqueue(QUEUES[n % 3], "job", {"n": n})
            # No waiting here: WAIT on that master returned only once its replica had it.
            assert _on_replica(replicated_cluster, QUEUES[n % 3], done.id)
        specs = [JobSpec(q, "job", {"i": i}) for i in range(5) for q in QUEUES]
        many = await client.enqueue_many(specs)
        for spec, got in zip(specs, many, strict=True):
            assert _on_replica(replicated_cluster, spec.queue, got.id)
    print(f"durable on a cluster: {await _cost(replicated_cluster.url)}")


async def _cost(url: str) -> str:
    """Enqueue calls per second, plain and durable (three jobs per call, one per master)."""

    async def rate(durable: bool) -> float:
        async with Client.from_url(url, durable=durable) as client:
            started = time.monotonic()
            for n in range(100):
                await client.enqueue_many([JobSpec(q, "job", {"n": n}) for q in QUEUES])
            return 100 / (time.monotonic() - started)

    plain, durable = await rate(False), await rate(True)
    return f"{plain:.0f} calls/s plain, {durable:.0f} calls/s durable (3 masters per call)"


async def test_without_replicas_it_says_not_replicated(cluster_url: str) -> None:
    async with Client.from_url(cluster_url, durable=True, durable_timeout=0.05) as client:
        with pytest.raises(NotReplicatedError, match="0 of 1 replicas"):
            await client.enqueue(QUEUES[1], "job", job_id="same")
        async with Client.from_url(cluster_url) as plain:
            assert (await plain.enqueue(QUEUES[1], "job", job_id="same")).outcome == "exists"


async def test_a_killed_master_loses_no_acknowledged_durable_enqueue(
    replicated_cluster: RedisCluster,
) -> None:
    """A producer sends three jobs per call (one per master) with the durable mode; the
    master of one queue is SIGKILLed, its replica promoted, the dead node restarted (it
    rejoins as the new master's replica, so WAIT can be satisfied again)."""
    acked: list[tuple[str, str]] = []
    tally = {"unavailable": 0, "not replicated": 0}
    stop = asyncio.Event()

    async def produce() -> None:
        n = 0
        async with Client.from_url(
            replicated_cluster.url, durable=True, durable_timeout=0.5
        ) as client:
            while not stop.is_set():
                specs = [JobSpec(q, "w", {"n": n}, job_id=f"j{n:06d}") for q in QUEUES]
                try:
                    await client.enqueue_many(specs)
                except NotReplicatedError:
                    tally["not replicated"] += 1
                except (RedisUnavailableError, redis.RedisError):
                    tally["unavailable"] += 1
                else:
                    acked.extend((s.queue, str(s.job_id)) for s in specs)
                    n += 1
                    continue
                await asyncio.sleep(0.02)

    task = asyncio.create_task(produce())
    try:
        await _until(lambda: len(acked) >= 600, 60)
        victim = live_master_of_slot(replicated_cluster, key_slot(QUEUES[0]))
        victim.kill()
        at_kill = len(acked)
        await _until(
            lambda: live_master_of_slot(replicated_cluster, key_slot(QUEUES[0])) != victim, 60
        )
        await asyncio.to_thread(victim.start)
        await asyncio.to_thread(replicated_cluster.wait_for, replicated_cluster.settled, 60, "ok")
        back = len(acked)
        await _until(lambda: len(acked) >= back + 600, 60)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    conn = cast(redis.Redis, connect_sync(replicated_cluster.url))
    try:
        lost = [(q, i) for q, i in acked if not conn.hexists(QueueKeys.of(q).jobs, i)]
    finally:
        conn.close()
    print(
        f"durable cluster failover: {len(acked)} acknowledged ({at_kill} before the kill), "
        f"{len(lost)} lost, {tally['unavailable']} calls refused while no master served the "
        f"slot, {tally['not replicated']} written without a replica's confirmation (sent again)"
    )
    assert lost == []


async def _until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except (LookupError, redis.RedisError):
            pass
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
