"""Fixtures for running an in-process Worker against the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from worker_runtime import Client
from worker_runtime.handlers import Handler
from worker_runtime.worker.loop import Worker

WorkerFactory = Callable[..., Any]


@pytest.fixture
def make_worker(client: Client) -> WorkerFactory:
    """``async with make_worker(handlers, queues=[...], **options) as worker:`` runs it."""

    @asynccontextmanager
    async def run(
        handlers: dict[str, Handler], queues: list[str] | None = None, **options: Any
    ) -> AsyncIterator[Worker]:
        worker = Worker(client.store, queues or ["q"], handlers, **options)
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait_for(task, 30)

    return run


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Polls until ``predicate`` holds; fails the test after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
