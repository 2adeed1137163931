"""The producer's API: enqueue jobs, inspect and steer them, read queue stats.

``Client`` is asyncio; ``SyncClient`` offers the same methods blocking, by running a
``Client`` on a private event loop thread (so it also works inside a running loop). The
parts: ``core`` (the store, shared lookups), ``producing`` (enqueue), ``browsing`` (reads),
``waiting`` (wait, events), ``managing`` (cancel, retry, purge, queues, schedules).
"""

from __future__ import annotations

from worker_runtime.client.async_client import Client
from worker_runtime.client.sync_client import SyncClient

__all__ = ["Client", "SyncClient"]
