"""engine.pipelining through the client: concurrent script calls share a round trip, each
with its own reply or typed error; commands are packed as redis-py packs them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from redis.asyncio.connection import Connection

from worker_runtime import Client, JobSpec
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.pipelining import AutoPipeline, _pack, pack
from worker_runtime.errors import PayloadTooLargeError, RedisUnavailableError

SAMPLES: list[tuple[Any, ...]] = [
    ("EVALSHA", "a" * 40, 2, "brq:{q}:jobs", "brq:{q}:pending", "é", 5, -1, ""),
    ("SET", "k", 1.5, 0.1, 1e16, -0.0, 10**20, b"\x00\xff"),
    ("PING",),
]


@pytest.mark.parametrize("args", SAMPLES)
def test_commands_are_packed_as_redis_py_packs_them(args: tuple[Any, ...]) -> None:
    expected = b"".join(Connection().pack_command(*args))
    assert pack(*args) == expected
    assert _pack(args) == expected  # the fallback without hiredis


def _pipe(client: Client) -> AutoPipeline:
    assert client.store.autopipeline is not None
    return client.store.autopipeline


async def test_concurrent_enqueues_share_one_round_trip(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "warm")
    before = _pipe(client).batches
    done = await asyncio.gather(*(client.enqueue("q", "j", {"i": i}) for i in range(50)))
    # The first goes out at once (nothing else was on the wire); the 49 made meanwhile
    # share the next round trip.
    assert _pipe(client).batches == before + 2
    assert all(e.created for e in done) and len({e.id for e in done}) == 50
    for i, e in enumerate(done):
        job = await client.get_job(e.id)
        assert job is not None and job.payload == {"i": i}
    assert r.zcard(QueueKeys.of("q").pending) == 51


async def test_a_refused_call_fails_alone_in_its_batch(client: Client, r: redis.Redis) -> None:
    await client.configure("q", max_payload_bytes=100)
    before = _pipe(client).batches
    payloads: list[Any] = [{"i": 1}, "x" * 200, {"i": 3}]
    done = await asyncio.gather(
        *(client.enqueue("q", "j", p) for p in payloads), return_exceptions=True
    )
    assert _pipe(client).batches == before + 2  # the first alone, then the refused one's
    assert isinstance(done[1], PayloadTooLargeError) and done[1].field == "payload"
    assert not isinstance(done[0], BaseException) and done[0].created
    assert not isinstance(done[2], BaseException) and done[2].created
    assert r.hlen(QueueKeys.of("q").jobs) == 2


async def test_a_call_cancelled_before_its_batch_is_not_sent(
    client: Client, r: redis.Redis
) -> None:
    await client.enqueue("q", "warm")
    before = _pipe(client).batches
    first = asyncio.create_task(client.enqueue("q", "first"))
    call = asyncio.create_task(client.enqueue("q", "j"))
    await asyncio.sleep(0)  # the first is on the wire; the call waits for the next batch
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert (await first).created
    await asyncio.sleep(0.05)
    assert _pipe(client).batches == before + 1
    assert r.hlen(QueueKeys.of("q").jobs) == 2


async def test_calls_waiting_behind_a_cancelled_call_are_still_sent(
    client: Client, r: redis.Redis
) -> None:
    """A caller that sent its call itself and is cancelled awaiting the reply (its job may
    be stored or not, as with any cancelled call) still hands on the calls made meanwhile;
    the next call reconnects."""
    await client.enqueue("q", "warm")
    first = asyncio.create_task(client.enqueue("q", "first"))
    await asyncio.sleep(0)  # on the wire, awaiting its reply
    waiting = [asyncio.create_task(client.enqueue("q", "j", i)) for i in range(3)]
    await asyncio.sleep(0)  # queued behind it
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    done = await asyncio.gather(*waiting)
    assert all(e.created for e in done)
    assert (await client.enqueue("q", "after")).created
    assert r.hlen(QueueKeys.of("q").jobs) in (5, 6)  # "first" stored or not


async def test_one_call_at_a_time_is_one_batch_each(client: Client, r: redis.Redis) -> None:
    before = _pipe(client).batches
    for i in range(5):
        assert (await client.enqueue("q", "j", i)).created
    assert _pipe(client).batches == before + 5
    assert r.hlen(QueueKeys.of("q").jobs) == 5


async def test_scripts_flushed_from_redis_are_loaded_again(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "j")
    r.script_flush()
    done = await asyncio.gather(*(client.enqueue("q", "j", i) for i in range(3)))
    assert all(e.created for e in done)
    r.script_flush()
    many = await client.enqueue_many([JobSpec("q", "j", i) for i in range(3)])
    assert all(e.created for e in many)
    r.script_flush()
    claimed = await client.store.run(writes.claim("q", "w", 10))
    assert len(claimed.jobs) == 7


async def test_concurrent_ops_of_different_scripts_get_their_own_replies(client: Client) -> None:
    await client.enqueue_many([JobSpec("q", "j", i) for i in range(5)])
    stats, claimed, enqueued = await asyncio.gather(
        client.stats("q"),
        client.store.run(writes.claim("q", "w", 2)),
        client.enqueue("q", "j", 9),
    )
    assert len(claimed.jobs) == 2 and enqueued.created
    assert stats.pending + stats.running in (5, 6)  # before or after the enqueue


async def test_a_stalled_redis_fails_the_batch_after_the_socket_timeout(
    redis_url: str, r: redis.Redis
) -> None:
    """The held connection's deadline (one timer, not redis-py's per-command one) still
    ends a call that gets no reply, and its reconnections (three tries in all), typed; the
    next call reconnects."""
    async with Client.from_url(redis_url, socket_timeout=0.3) as client:
        await client.enqueue("q", "warm")
        r.client_pause(10_000, all=False)  # Redis holds writes (scripts too): no reply
        try:
            with pytest.raises(RedisUnavailableError, match="no reply within"):
                await client.enqueue("q", "j")
            assert r.hlen(QueueKeys.of("q").jobs) == 1
        finally:
            r.client_unpause()
        assert (await client.enqueue("q", "after")).created
