"""The live job events of queues: subscribing to their events channels and decoding them.

Each script call that changes jobs publishes ONE message on ``brq:{q}:events`` listing its
events, and only while someone subscribes (``lua/includes/eventsOn.lua``): a listener first
sets its queues' config field ``~watch`` to a time ahead, renewed while it listens, so that a
script on a queue nobody watches reads that with its config instead of asking PUBSUB NUMSUB
(a foreign subscriber must set it too). Pub/sub is
at-most-once: a listener that is disconnected misses what happened meanwhile, so events
tell what is happening; ``get_job`` tells what is true.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast, get_args

from redis.asyncio import RedisCluster

from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.store import AsyncStore
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import InvalidArgumentError
from worker_runtime.models import EventType, JobEvent

_TYPES = frozenset(get_args(EventType))
#: How long one read of the subscription blocks; the loop goes on until it is closed.
POLL_S = 1.0
#: The config field the scripts read (eventsOn.lua): they publish while it lies ahead of
#: the Redis clock (ms). Set that far ahead, renewed this often: a listener that stops
#: leaves the scripts asking NUMSUB (the cost it saves) for at most WATCH_MS.
WATCH_FIELD = "~watch"
WATCH_MS = 600_000
WATCH_RENEW_S = 60.0


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_message(queue: str, data: str | bytes) -> list[JobEvent]:
    """The events of one message; anything malformed (a foreign publisher) is skipped."""
    try:
        body = json.loads(data)
        at, items = int(body["at"]), body["events"]
    except (ValueError, KeyError, TypeError):
        return []
    out = []
    for e in items if isinstance(items, list) else []:
        if not isinstance(e, dict) or e.get("type") not in _TYPES or "id" not in e:
            continue
        name, reason, msg = e.get("name"), e.get("reason"), e.get("msg")
        pct = e.get("pct")
        out.append(
            JobEvent(
                queue=queue,
                type=cast(EventType, e["type"]),
                id=str(e["id"]),
                name=name if isinstance(name, str) else None,
                attempt=_opt_int(e.get("attempt")),
                at_ms=at,
                reason=reason if isinstance(reason, str) else None,
                due_ms=_opt_int(e.get("due")),
                pct=float(pct) if isinstance(pct, int | float) else None,
                message=msg if isinstance(msg, str) else None,
            )
        )
    return out


async def listen(store: AsyncStore, queues: Sequence[str]) -> AsyncGenerator[JobEvent, None]:
    """Every event of ``queues`` from the moment of subscription, until the caller stops."""
    if isinstance(queues, str) or not queues:
        raise InvalidArgumentError("queues: give a list of one or more queue names", field="queues")
    for q in queues:
        check_queue_name(q)
    channels = {QueueKeys.of(q).events: q for q in queues}
    # Before subscribing: a script that sees the field also counts the subscriber once
    # the subscription exists, so no event after it is missed.
    await _watch(store, queues)
    pubsubs = await _subscriptions(store, list(channels))
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    readers = [asyncio.create_task(_read(store, p, received)) for p in pubsubs]
    # Among the readers: its error (Redis gone) ends the stream like theirs.
    readers.append(asyncio.create_task(_renew(store, queues)))
    try:
        while True:
            message = await _next(received, readers)
            queue = channels.get(str(message["channel"]))
            if queue is not None:
                for event in parse_message(queue, message["data"]):
                    yield event
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for pubsub in pubsubs:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


async def _watch(store: AsyncStore, queues: Sequence[str]) -> None:
    """Sets the queues' WATCH_FIELD to WATCH_MS past the Redis clock."""
    sec, usec = await store.call(store.redis.time())
    until = str(int(sec) * 1000 + int(usec) // 1000 + WATCH_MS)
    for q in queues:
        await store.call(store.redis.hset(QueueKeys.of(q).config, WATCH_FIELD, until))


async def _renew(store: AsyncStore, queues: Sequence[str]) -> None:
    while True:
        await asyncio.sleep(WATCH_RENEW_S)
        await _watch(store, queues)


async def _subscriptions(store: AsyncStore, channels: list[str]) -> list[Any]:
    """Subscriptions to ``channels``: one connection on a single Redis; on a cluster one per
    master, on the master of each channel's slot, since the scripts publish only while that
    master counts a subscriber (``eventsOn``: PUBSUB NUMSUB is per node)."""
    client = store.redis
    if not isinstance(client, RedisCluster):
        pubsub = client.pubsub()
        await store.call(pubsub.subscribe(*channels))
        return [pubsub]
    await store.call(client.initialize())
    by_node: dict[str, tuple[Any, list[str]]] = {}
    for channel in channels:
        node = client.get_node_from_key(channel)
        assert node is not None
        by_node.setdefault(node.name, (node, []))[1].append(channel)
    pubsubs = []
    for node, names in by_node.values():
        pubsub = client.pubsub(node=node)
        pubsubs.append(pubsub)
        await store.call(pubsub.subscribe(*names))
    return pubsubs


async def _read(store: AsyncStore, pubsub: Any, into: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        message = await store.call(
            pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
        )
        if message is not None and message.get("type") == "message":
            await into.put(message)


async def _next(
    received: asyncio.Queue[dict[str, Any]], readers: list[asyncio.Task[None]]
) -> dict[str, Any]:
    """The next message of any subscription; a reader's error (Redis gone) is raised."""
    getter = asyncio.ensure_future(received.get())
    try:
        done, _ = await asyncio.wait([getter, *readers], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getter.done():
            getter.cancel()
    if getter in done:
        return getter.result()
    failed = next(iter(done))
    failed.result()  # raises the reader's error
    raise RuntimeError("an events subscription ended")  # a reader never returns otherwise
