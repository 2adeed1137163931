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
import functools
import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast, get_args

from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.store import AsyncStore
from worker_runtime.engine.subscription import Subscription
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import InvalidArgumentError, RedisUnavailableError
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
    """Every event of ``queues`` from the moment of subscription, until the caller stops.
    On a cluster each queue's channel is subscribed on its slot's master (where the
    scripts count listeners, PUBSUB SHARDNUMSUB, and publish, SPUBLISH), and followed to
    the new master after a failover."""
    if isinstance(queues, str) or not queues:
        raise InvalidArgumentError("queues: give a list of one or more queue names", field="queues")
    for q in queues:
        check_queue_name(q)
    channels = {QueueKeys.of(q).events: q for q in queues}
    # Before subscribing: a script that sees the field also counts the subscriber once
    # the subscription exists, so no event after it is missed.
    await _watch(store, queues)
    renew = asyncio.create_task(_renew(store, queues))
    try:
        rewatch = functools.partial(_watch, store, queues)
        async with Subscription(store, list(channels), on_restore=rewatch) as subscription:
            while True:
                if renew.done():
                    renew.result()  # its error (not one of Redis being away) ends the stream
                message = await subscription.get(POLL_S)
                if message is None:
                    continue
                queue = channels.get(message[0])
                if queue is not None:
                    for event in parse_message(queue, message[1]):
                        yield event
    finally:
        renew.cancel()
        await asyncio.gather(renew, return_exceptions=True)


async def _watch(store: AsyncStore, queues: Sequence[str]) -> None:
    """Sets the queues' WATCH_FIELD to WATCH_MS past the Redis clock."""
    sec, usec = await store.call(store.redis.time())
    until = str(int(sec) * 1000 + int(usec) // 1000 + WATCH_MS)
    for q in queues:
        await store.call(store.redis.hset(QueueKeys.of(q).config, WATCH_FIELD, until))


async def _renew(store: AsyncStore, queues: Sequence[str]) -> None:
    """Renews the watch while the stream lives; while Redis (a master, in a failover)
    cannot serve it, tries again a few seconds later: the field lasts WATCH_MS."""
    wait = WATCH_RENEW_S
    while True:
        await asyncio.sleep(wait)
        try:
            await _watch(store, queues)
            wait = WATCH_RENEW_S
        except RedisUnavailableError:
            wait = 2.0
