"""Pub/sub subscriptions on any topology: one connection on a single Redis (standalone or
Sentinel); on a Redis Cluster, sharded pub/sub (SSUBSCRIBE) on the master of each
channel's slot, one connection per master, subscribed again wherever the slot went after
a failover. Pub/sub is at-most-once: what is published while a subscription is being
restored is missed, which every listener allows for (a re-read, a poll, "live" events).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

import redis.asyncio as aredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from worker_runtime.engine.clusternodes import master_of, node_client, refresh
from worker_runtime.engine.connection import SOCKET_TIMEOUT
from worker_runtime.engine.redis_errors import unavailable
from worker_runtime.engine.store import AsyncStore
from worker_runtime.errors import RedisUnavailableError

#: (channel, data) of one message.
Message = tuple[str, str]
#: How long one read of a connection blocks before it looks again.
POLL_S = 1.0
#: How long a broken subscription is restored (a failover takes a few seconds) before the
#: caller gets the error.
FOLLOW_S = 20.0


class SlotMovedError(RedisConnectionError):
    """The master no longer serves a channel's slot (it told us with SUNSUBSCRIBE)."""


class Subscription:
    """Messages of ``channels`` from the moment ``open`` returns (every channel's
    subscription confirmed by Redis) until ``close``."""

    def __init__(
        self,
        store: AsyncStore,
        channels: Sequence[str],
        follow_s: float = FOLLOW_S,
        on_restore: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.channels = list(channels)
        self.follow_s = follow_s
        #: Called once subscribed again (events: set the watch field anew, which a failover
        #: may have lost with the rest of the old master's last writes).
        self.on_restore = on_restore
        self._received: asyncio.Queue[Message] = asyncio.Queue()
        self._readers: list[asyncio.Task[None]] = []
        self._pubsubs: list[PubSub] = []
        self._clients: list[aredis.Redis] = []
        #: Instant empty reads in a row (see ``_read_one``).
        self._quick = 0

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Subscribes; ``RedisUnavailableError`` when Redis cannot serve it now."""
        try:
            await self._connect()
        except (RedisError, OSError) as exc:
            await self.close()
            raise _typed(exc) from exc

    async def get(self, timeout: float) -> Message | None:
        """The next message, or None after ``timeout`` seconds. A broken connection (or a
        slot moved to another master) is subscribed again, for up to ``follow_s``
        seconds, then its error is raised (``RedisUnavailableError``)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while True:
            if not self._received.empty():
                return self._received.get_nowait()
            left = until - loop.time()
            if left <= 0:
                return None
            try:
                if len(self._pubsubs) == 1:
                    # One connection: read it here, without a task in between (a wake-up
                    # is on the claim's critical path).
                    await self._read_one(self._pubsubs[0], left)
                    continue
                broken = next((r for r in self._readers if r.done()), None)
                if broken is not None:
                    broken.result()  # its error
                    raise RedisConnectionError("a pub/sub reader ended")
                message = await self._wait_readers(left)
                if message is not None:
                    return message
            except (RedisError, OSError) as exc:
                await self._restore(exc)

    async def _wait_readers(self, seconds: float) -> Message | None:
        """A message the readers kept, or None once one ended or ``seconds`` passed."""
        getter = asyncio.ensure_future(self._received.get())
        try:
            await asyncio.wait(
                [getter, *self._readers], timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not getter.done():
                getter.cancel()
        return getter.result() if getter.done() and not getter.cancelled() else None

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for pubsub in self._pubsubs:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
        for client in self._clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        self._readers, self._pubsubs, self._clients = [], [], []

    async def _connect(self) -> None:
        client = self.store.redis
        if not isinstance(client, aredis.RedisCluster):
            pubsub = client.pubsub()
            self._pubsubs.append(pubsub)
            await pubsub.subscribe(*self.channels)
            await self._confirmed(pubsub, len(self.channels))
            return
        await refresh(client, again=False)
        by_master: dict[str, list[str]] = {}
        nodes = {}
        for channel in self.channels:
            node = master_of(client, channel)
            nodes[node.name] = node
            by_master.setdefault(node.name, []).append(channel)
        for name, names in by_master.items():
            own = node_client(nodes[name])
            self._clients.append(own)
            pubsub = own.pubsub()
            self._pubsubs.append(pubsub)
            # One SSUBSCRIBE per channel: a master refuses channels of several slots in one.
            for channel in names:
                await pubsub.ssubscribe(channel)
            await self._confirmed(pubsub, len(names))
        if len(self._pubsubs) > 1:
            self._readers = [asyncio.create_task(self._read(p)) for p in self._pubsubs]

    async def _confirmed(self, pubsub: PubSub, count: int) -> None:
        """Reads until Redis confirmed ``count`` subscriptions (keeping any message)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + SOCKET_TIMEOUT
        while count > 0:
            left = until - loop.time()
            if left <= 0:
                raise RedisTimeoutError("no subscription confirmed in time")
            message = await pubsub.get_message(timeout=left)
            if message is None:
                continue
            if message["type"] in ("subscribe", "ssubscribe"):
                count -= 1
            else:
                self._keep(message)

    async def _read(self, pubsub: PubSub) -> None:
        """A reader task of one of several connections (a cluster's masters)."""
        while True:
            await self._read_one(pubsub, POLL_S)

    async def _read_one(self, pubsub: PubSub, timeout: float) -> None:
        """Reads one message (kept) or waits ``timeout``; raises when the connection is
        gone or the slot moved."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        message = await pubsub.get_message(timeout=timeout)
        if message is None:
            # After the kernel dropped the connection (TCP_USER_TIMEOUT), redis-py returns
            # None at once, forever, without yielding: the event loop would starve. A few
            # instant Nones in a row: the connection is gone.
            self._quick = self._quick + 1 if loop.time() - asked < 0.01 else 0
            if self._quick >= 3:
                self._quick = 0
                raise RedisConnectionError("the pub/sub connection returns nothing")
            return
        self._quick = 0
        if message["type"] == "sunsubscribe":
            raise SlotMovedError(f"{message['channel']}: its slot moved to another master")
        self._keep(message)

    def _keep(self, message: dict[str, Any]) -> None:
        if message["type"] in ("message", "smessage"):
            self._received.put_nowait((str(message["channel"]), str(message["data"])))

    async def _restore(self, error: BaseException) -> None:
        """Subscribes anew, asking a cluster where each slot is served now."""
        await self.close()
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.follow_s, 0.1
        while True:
            try:
                if isinstance(self.store.redis, aredis.RedisCluster):
                    await refresh(self.store.redis)
                await self._connect()
                if self.on_restore is not None:
                    await self.on_restore()
                return
            except (RedisError, OSError, RedisUnavailableError) as exc:
                error = exc
                await self.close()
            if loop.time() + delay > deadline:
                raise _typed(error) from error
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)


def _typed(exc: BaseException) -> BaseException:
    typed = unavailable(exc)
    return exc if typed is None else typed
