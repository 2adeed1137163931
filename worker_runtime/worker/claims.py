"""Which queues a worker claims from, and what keeps a claim nobody waits for from costing
jobs an attempt: each claim's deadline on the Redis clock, and handing back what a claim
without reply leased."""

from __future__ import annotations

import asyncio
import logging
import time

from worker_runtime.engine import writes
from worker_runtime.engine.connection import SOCKET_TIMEOUT
from worker_runtime.engine.store import AsyncStore
from worker_runtime.engine.writes import ClaimResult

log = logging.getLogger("blackroad.worker")

#: A claim Redis receives later than this after it was sent leases nothing: the worker
#: may have given up on it (its first try times out after SOCKET_TIMEOUT), and jobs
#: leased to a worker that never learns of them would each be charged an attempt.
CLAIM_WAIT_MS = int(SOCKET_TIMEOUT * 1000 / 2)


class ClaimGuard:
    """One worker's view of the Redis clock and of its claims' outcomes, per queue."""

    def __init__(self, store: AsyncStore, worker: str) -> None:
        self.store = store
        self.worker = worker
        #: Redis clock minus ``time.monotonic()`` in ms; None until first learnt.
        self.offset_ms: float | None = None
        #: The highest lease token received per queue.
        self.max_token: dict[str, int] = {}
        #: Per queue, when (Redis clock) a claim whose outcome is unknown was sent.
        self.unanswered: dict[str, int] = {}

    def redis_now(self) -> int:
        """The Redis clock now, as far as the last reply tells. The offset is taken when a
        reply arrives, after its script ran: it errs early, so a claim's deadline only
        shrinks by the reply's transit, never outlasts our wait for it."""
        return int(time.monotonic() * 1000 + (self.offset_ms or 0))

    async def before_claim(self, queue: str) -> int:
        """Settles an earlier unanswered claim on ``queue``; returns the next claim's
        deadline (``not_after_ms``)."""
        if self.offset_ms is None:
            seconds, micros = await self.store.redis.time()
            self.offset_ms = seconds * 1000 + micros // 1000 - time.monotonic() * 1000
        if queue in self.unanswered:
            await self._disown(queue)
        return self.redis_now() + CLAIM_WAIT_MS

    def failed(self, queue: str, not_after_ms: int) -> None:
        """The claim got no reply (an outage), or a reply saying it came too late (redis-py
        resent it after a timeout): Redis may have served an earlier copy of it."""
        self.unanswered.setdefault(queue, not_after_ms - CLAIM_WAIT_MS)

    def answered(self, queue: str, got: ClaimResult) -> None:
        self.offset_ms = got.redis_now_ms - time.monotonic() * 1000
        if got.jobs:
            top = max(int(j.token) for j in got.jobs)
            self.max_token[queue] = max(top, self.max_token.get(queue, 0))

    async def _disown(self, queue: str) -> None:
        """Hands back, uncharged, the jobs a claim without reply leased to us: we never
        started them (jobs start only from a reply). Sequential claims make every lease
        of ours with a token above the highest we received one of those. Run only once
        that claim's deadline has passed, so that no copy of it can lease more after."""
        since = self.unanswered[queue]
        wait_ms = since + CLAIM_WAIT_MS + 1 - self.redis_now()
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
        op = writes.disown(queue, self.worker, self.max_token.get(queue, 0), since)
        n = await self.store.run(op)
        del self.unanswered[queue]
        if n:
            log.warning("handed back %d jobs of %s from a claim whose reply was lost", n, queue)


class ClaimOrder:
    """The queues to claim from with how many slots each: strict order, or by weight
    (``--queues a:3,b:1``: stride scheduling across calls, so shares hold however few
    slots are free)."""

    def __init__(self, queues: list[str], weights: dict[str, float] | None) -> None:
        self.queues = queues
        self.weights = weights
        self._pass: dict[str, float] = {q: 0.0 for q in queues}

    def plan(self, free: int) -> list[tuple[str, int]]:
        if not self.weights:
            return [(q, free) for q in self.queues]
        weights = self.weights
        order = sorted(self.queues, key=lambda q: (self._pass[q], self.queues.index(q)))
        total = sum(weights[q] for q in order)
        plan = [(q, max(1, round(free * weights[q] / total))) for q in order]
        return plan + [(q, free) for q in order]  # then any slot left, in the same order

    def claimed(self, queue: str, n: int) -> None:
        """``n`` jobs were claimed from ``queue`` (a dry queue's turn counts as one)."""
        if self.weights:
            self._pass[queue] += max(1, n) / self.weights[queue]
