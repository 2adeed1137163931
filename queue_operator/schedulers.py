"""One engine scheduler loop per Redis that this operator's active Schedules live in.

A Schedule holds its Redis only while its kopf daemon runs. kopf stops every daemon when
peering pauses the operator (another replica leads) and at exit, so loops run on the active
peer only: the engine's atomic tick claim would make double firing impossible anyway, but a
paused replica should not even try.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from queue_operator.redis_admin import RedisAdmin

log = logging.getLogger("blackroad.operator")


@dataclass
class _Loop:
    task: asyncio.Task[None]
    stop: asyncio.Event


class SchedulerPool:
    """Starts and stops scheduler loops as Schedules come, go, move or lose the lead."""

    def __init__(self, admin: RedisAdmin, interval_s: float = 1.0) -> None:
        self._admin = admin
        self._interval = interval_s
        #: Schedule uid -> the Redis URL its engine schedule was last written to.
        self._urls: dict[str, str] = {}
        #: Schedule uids whose daemon runs, i.e. this replica is the active peer.
        self._attached: set[str] = set()
        self._loops: dict[str, _Loop] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    def url_of(self, uid: str) -> str | None:
        return self._urls.get(uid)

    def hold(self, uid: str, url: str) -> None:
        """Records where the Schedule ``uid`` lives (its loop starts once it is attached)."""
        self._urls[uid] = url
        self._sync()

    def forget(self, uid: str) -> None:
        """The Schedule's engine schedule is gone from Redis: it needs no loop any more."""
        self._urls.pop(uid, None)
        self._sync()

    def attach(self, uid: str) -> None:
        self._attached.add(uid)
        self._sync()

    def detach(self, uid: str) -> None:
        self._attached.discard(uid)
        self._sync()

    def running(self) -> int:
        """How many loops run (for tests and metrics)."""
        return len(self._loops)

    def _sync(self) -> None:
        wanted = {self._urls[u] for u in self._attached if u in self._urls}
        for url in list(self._loops):
            # A loop that ended on its own (a bug in it) is restarted below.
            if url not in wanted or self._loops[url].task.done():
                self._stop(url)
        for url in wanted - set(self._loops):
            stop = asyncio.Event()
            task = asyncio.get_running_loop().create_task(
                self._admin.run_scheduler(url, stop, self._interval)
            )
            self._loops[url] = _Loop(task, stop)

    def _stop(self, url: str) -> None:
        loop = self._loops.pop(url)
        loop.stop.set()
        # Keep a reference until it ends, or the event loop may collect it mid-flight.
        self._stopping.add(loop.task)
        loop.task.add_done_callback(self._stopping.discard)

    async def close(self) -> None:
        """Stops every loop and waits for them (before the Redis clients close)."""
        self._attached.clear()
        for url in list(self._loops):
            self._stop(url)
        tasks = list(self._stopping)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.error("A scheduler loop failed: %r", result)
