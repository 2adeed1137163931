"""Pub/sub on a three-master Redis Cluster: the ``Client.wait`` tests (woken only by the
completion message) run again there (this module points ``client``, ``r`` and ``redis_url``
at the cluster, and every test of that module is collected here too), and ``Client.events``
of queues on three masters."""

from __future__ import annotations

import asyncio

import redis

import tests.engine.test_wait
from tests.engine.test_wait import no_fallback
from tests.topology.on_cluster import client, r, redis_url, reuse
from tests.topology.rediscluster import RedisCluster, key_slot, queue_on_slot_range
from worker_runtime.client import Client
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys

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
            while conn.execute_command("PUBSUB", "NUMSUB", channel)[1] == 0:
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
