"""Group commit of successful outcomes: every job that finished since the last write is
reported in one round trip, on its own or riding along with the worker's next claim."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from worker_runtime.engine import writes
from worker_runtime.engine.chunking import chunk_by_queue
from worker_runtime.engine.operation import Op
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.worker.inflight import Held, InFlight
from worker_runtime.worker.metrics import NoMetrics

_STATUS = {1: "completed", -1: "lease_lost", -2: "cancelled"}

#: Most flushes tried at shutdown before the rest is left to lease recovery.
FINAL_FLUSHES = 20
#: Longest wait between tries while Redis cannot store the outcomes.
RETRY_MAX_S = 2.0


@dataclass(frozen=True, slots=True)
class AckWrite:
    """Successes taken for one write: the complete calls, one per queue chunk."""

    batch: list[tuple[Held, str]]
    chunks: list[tuple[str, list[tuple[Held, str]]]]
    calls: list[Op[list[int]]]


class AckBatcher:
    """Collects successes while a write is under way and sends them all in the next one,
    so a busy worker pays one round trip per batch rather than per job.

    While the claim loop ``rides`` (it is claiming, or waits for a slot: every success frees
    one, so a claim follows), the successes wait for that claim and go in its round trip,
    before it (``take``); otherwise ``run`` writes them on its own."""

    def __init__(
        self, store: AsyncStore, worker_name: str, inflight: InFlight, metrics: NoMetrics
    ) -> None:
        self._store = store
        self._worker_name = worker_name
        self._inflight = inflight
        self._metrics = metrics
        #: Outcomes are counted by status only for metrics that record them.
        self._counting = type(metrics) is not NoMetrics
        self._pending: list[tuple[Held, str]] = []
        self._ready = asyncio.Event()
        self._closing = False
        self._riding = False
        #: Writes refused in a row; the next try waits longer.
        self._failures = 0

    def __len__(self) -> int:
        """Successes not yet written."""
        return len(self._pending)

    def add(self, held: Held, result: str) -> None:
        """Queues the success of ``held`` (``result`` is its JSON, or "") for the next write."""
        self._pending.append((held, result))
        self._ready.set()

    def ride(self, on: bool) -> None:
        """Whether the next claim carries the pending successes; off: ``run`` writes them."""
        self._riding = on
        if not on and self._pending:
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
            if not self._riding:
                await self.flush()

    async def flush_all(self) -> None:
        """At shutdown: writes what is pending, a bounded number of times if Redis is down."""
        for _ in range(FINAL_FLUSHES):
            if not self._pending:
                return
            await self.flush()

    async def flush(self) -> None:
        """Writes every pending success in one pipeline of complete calls."""
        write = self.take()
        if write is None:
            return
        try:
            replies = await self._store.run_many(write.calls)
        except REDIS_DOWN:
            # Kept, never dropped: retried until stored, or until the lease runs out and the
            # fencing token refuses it (the job was recovered and runs again).
            self.refused(write)
            self._failures += 1
            await asyncio.sleep(min(RETRY_MAX_S, 0.05 * 2 ** min(self._failures, 6)))
            self._ready.set()
            return
        except BaseException:
            self.refused(write)  # a bug or a cancellation: still not dropped
            raise
        self._failures = 0
        self.stored(write, replies)

    def take(self) -> AckWrite | None:
        """Takes every pending success for one write; None when there is none. The caller
        reports the write's fate: ``stored`` or ``refused``."""
        batch, self._pending = self._pending, []
        if not batch:
            return None
        chunks = chunk_by_queue(batch, _queue_of)
        name = self._worker_name
        calls = [
            writes.complete(q, name, [(h.job.id, h.job.token, r) for h, r in items])
            for q, items in chunks
        ]
        return AckWrite(batch, chunks, calls)

    def refused(self, write: AckWrite) -> None:
        """The write may not have been stored: its successes go first in the next one."""
        self._pending = write.batch + self._pending

    def stored(self, write: AckWrite, replies: list[Any]) -> None:
        """The write's replies (one list of codes per call) came back."""
        self._inflight.forget_all([held for held, _ in write.batch])
        if not self._counting:
            return
        counts: Counter[tuple[str, str, str]] = Counter()
        for (_, items), codes in zip(write.chunks, replies, strict=True):
            for (held, _), code in zip(items, codes, strict=True):
                counts[(held.job.queue, held.job.name, _STATUS[code])] += 1
        for labels, n in counts.items():
            self._metrics.finished(*labels, n)


def _queue_of(ack: tuple[Held, str]) -> str:
    return ack[0].job.queue
