"""What every part of the client stands on: the store, its connection and the lookups of
queues and jobs the other parts share."""

from __future__ import annotations

from typing import Any, Self

from worker_runtime.engine import reads
from worker_runtime.engine.connection import DEFAULT_URL, connect_async
from worker_runtime.engine.store import AsyncStore, Durability
from worker_runtime.engine.validation import check_queue_name
from worker_runtime.errors import JobNotFoundError, QueueNotFoundError
from worker_runtime.queue_config import QueueConfig


class ClientCore:
    """The connection of an asynchronous client, and the lookups its parts share."""

    def __init__(self, store: AsyncStore, *, durable: Durability | None = None) -> None:
        self.store = store
        #: When set, every enqueue waits for a replica's confirmation (see ``from_url``).
        self.durable = durable

    @classmethod
    def from_url(
        cls,
        url: str = DEFAULT_URL,
        *,
        durable: bool = False,
        durable_timeout: float = 1.0,
        **options: Any,
    ) -> Self:
        """A client of the Redis at ``url`` (see ``engine.urls``). ``durable=True`` makes an
        enqueue return only once a replica holds it (Redis ``WAIT``, at most
        ``durable_timeout`` seconds, else ``NotReplicatedError``), so a failover cannot lose
        an acknowledged job; it costs a replication round trip per enqueue call."""
        wait = Durability(1, max(1, round(durable_timeout * 1000))) if durable else None
        return cls(AsyncStore(connect_async(url, **options)), durable=wait)

    async def close(self) -> None:
        await self.store.redis.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _queue_of(self, job_id: str, queue: str | None) -> str:
        if queue is not None:
            check_queue_name(queue)
            return queue
        found = await self.store.run(reads.locate(await self.queues(), job_id))
        if found is None:
            raise JobNotFoundError(f"job {job_id}: not found in any known queue")
        return found

    async def require_queue(self, queue: str) -> None:
        """Raises QueueNotFoundError unless ``queue`` was ever configured or enqueued to."""
        check_queue_name(queue)
        if not await self.store.run(reads.queue_exists(queue)):
            raise QueueNotFoundError(
                f"queue {queue!r}: no such queue; 'blackroad queue list' shows them"
            )

    async def queues(self) -> list[str]:
        return await self.store.queues()

    async def config(self, queue: str) -> QueueConfig:
        check_queue_name(queue)
        return QueueConfig.from_redis(await self.store.run(reads.read_config(queue)))
