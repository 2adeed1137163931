"""The wake-up listener of a worker serving several queues: each queue's enqueue wakes it.
(It used to take the subscription confirmations of three channels, returned as instant
Nones, for a dead connection, and subscribed again forever: the worker only polled.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.worker.conftest import WorkerFactory, wait_for
from worker_runtime import Client
from worker_runtime.handlers import build_handler
from worker_runtime.worker import loop as worker_loop
from worker_runtime.worker.execution import JobContext


async def test_a_worker_of_four_queues_is_woken_by_each(
    client: Client, make_worker: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_loop, "IDLE_WAIT_S", 60.0)  # only a wake-up starts a job
    queues = ["a", "b", "c", "d"]
    started: set[str] = set()

    async def work(payload: Any, ctx: JobContext) -> None:
        started.add(ctx.id)

    async with make_worker({"j": build_handler("j", work)}, queues=queues):
        await asyncio.sleep(0.5)  # subscribed, first claims done: idle
        for q in queues * 2:
            job = await client.enqueue(q, "j")

            async def ran(job_id: str = job.id) -> bool:
                return job_id in started

            await wait_for(ran, timeout=30)
