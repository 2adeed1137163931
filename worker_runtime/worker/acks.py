"""Group commit of successful outcomes: every job that finished since the last write is
reported in one round trip."""

from __future__ import annotations

import asyncio
from collections import Counter

from worker_runtime.engine import writes
from worker_runtime.engine.chunking import chunk_by_queue
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.worker.inflight import Held, InFlight
from worker_runtime.worker.metrics import NoMetrics

_STATUS = {1: "completed", -1: "lease_lost", -2: "cancelled"}

#: Most flushes tried at shutdown before the rest is left to lease recovery.
FINAL_FLUSHES = 20
#: Longest wait between tries while Redis cannot store the outcomes.
RETRY_MAX_S = 2.0


class AckBatcher:
    """Collects successes while a write is under way and sends them all in the next one,
    so a busy worker pays one round trip per batch rather than per job."""

    def __init__(
        self, store: AsyncStore, worker_name: str, inflight: InFlight, metrics: NoMetrics
    ) -> None:
        self._store = store
        self._worker_name = worker_name
        self._inflight = inflight
        self._metrics = metrics
        self._pending: list[tuple[Held, str]] = []
        self._ready = asyncio.Event()
        self._closing = False
        #: Writes refused in a row; the next try waits longer.
        self._failures = 0

    def __len__(self) -> int:
        """Successes not yet written."""
        return len(self._pending)

    def add(self, held: Held, result: str) -> None:
        """Queues the success of ``held`` (``result`` is its JSON, or "") for the next write."""
        self._pending.append((held, result))
        self._ready.set()

    def close(self) -> None:
        """Ends ``run`` after its current write."""
        self._closing = True
        self._ready.set()

    async def run(self) -> None:
        """Writes whatever is pending whenever there is something, until ``close``."""
        while not self._closing:
            await self._ready.wait()
            self._ready.clear()
            await self.flush()

    async def flush_all(self) -> None:
        """At shutdown: writes what is pending, a bounded number of times if Redis is down."""
        for _ in range(FINAL_FLUSHES):
            if not self._pending:
                return
            await self.flush()

    async def flush(self) -> None:
        """Writes every pending success in one pipeline of complete calls."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        chunks = chunk_by_queue(batch, _queue_of)
        calls = [
            writes.complete(q, self._worker_name, [(h.job.id, h.job.token, r) for h, r in items])
            for q, items in chunks
        ]
        try:
            replies = await self._store.run_many(calls)
        except REDIS_DOWN:
            # Kept, never dropped: retried until stored, or until the lease runs out and the
            # fencing token refuses it (the job was recovered and runs again).
            self._pending = batch + self._pending
            self._failures += 1
            await asyncio.sleep(min(RETRY_MAX_S, 0.05 * 2 ** min(self._failures, 6)))
            self._ready.set()
            return
        except BaseException:
            self._pending = batch + self._pending  # a bug or a cancellation: still not dropped
            raise
        self._failures = 0
        self._inflight.forget_all([held for held, _ in batch])
        counts: Counter[tuple[str, str, str]] = Counter()
        for (_, items), codes in zip(chunks, replies, strict=True):
            for (held, _), code in zip(items, codes, strict=True):
                counts[(held.job.queue, held.job.name, _STATUS[code])] += 1
        for labels, n in counts.items():
            self._metrics.finished(*labels, n)


def _queue_of(ack: tuple[Held, str]) -> str:
    return ack[0].job.queue
