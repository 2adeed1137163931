"""Client.wait: the result of a finished job, told by the completion channel."""

from __future__ import annotations

import asyncio

import pytest

from worker_runtime import Client
from worker_runtime.client import waiting as client_module
from worker_runtime.engine import writes
from worker_runtime.errors import (
    InvalidArgumentError,
    JobCancelledError,
    JobDeadError,
    JobNotFoundError,
    WaitTimeoutError,
)


@pytest.fixture(autouse=True)
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiters never re-read on their own: only a completion message can wake them."""
    monkeypatch.setattr(client_module, "WAIT_RECHECK_S", 3600.0)


async def _claim_one(client: Client, queue: str, lease_ms: int = -1) -> tuple[str, str]:
    [job] = (await client.store.run(writes.claim(queue, "w", 1, lease_ms))).jobs
    return job.id, job.token


async def test_wait_returns_the_result_when_a_worker_completes_the_job(client: Client) -> None:
    job = await client.enqueue("q", "j")
    waiter = asyncio.create_task(client.wait(job.id))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    job_id, token = await _claim_one(client, "q")
    await client.store.run(writes.complete("q", "w", [(job_id, token, '{"answer": 42}')]))
    assert await asyncio.wait_for(waiter, 10) == {"answer": 42}
    assert await client.wait(job.id) == {"answer": 42}  # finished already: at once


async def test_a_job_that_dies_or_is_cancelled_raises(client: Client) -> None:
    await client.configure("q", max_attempts=1)
    doomed = await client.enqueue("q", "j")
    waiter = asyncio.create_task(client.wait(doomed.id))
    await asyncio.sleep(0.05)
    job_id, token = await _claim_one(client, "q")
    await client.store.run(
        writes.fail("q", job_id, token, reason="ValueError", error="ValueError: kaboom\nTb")
    )
    with pytest.raises(JobDeadError, match=r"dead \(ValueError\): ValueError: kaboom"):
        await asyncio.wait_for(waiter, 10)

    pending = await client.enqueue("q", "j")
    waiter = asyncio.create_task(client.wait(pending.id))
    await asyncio.sleep(0.05)
    assert await client.cancel(pending.id) == "cancelled"
    with pytest.raises(JobCancelledError):
        await asyncio.wait_for(waiter, 10)


async def test_a_lease_that_expires_for_the_last_time_wakes_the_waiter(client: Client) -> None:
    await client.configure("q", max_attempts=1)
    job = await client.enqueue("q", "j")
    waiter = asyncio.create_task(client.wait(job.id))
    await _claim_one(client, "q", lease_ms=100)
    await asyncio.sleep(0.2)
    assert await client.store.run(writes.recover("q")) == (0, 1, 0)
    with pytest.raises(JobDeadError, match="LeaseExpired"):
        await asyncio.wait_for(waiter, 10)


async def test_timeout_unknown_job_and_bad_timeout(client: Client) -> None:
    job = await client.enqueue("q", "j")
    with pytest.raises(WaitTimeoutError, match="still pending"):
        await client.wait(job.id, timeout=0.2)
    with pytest.raises(JobNotFoundError):
        await client.wait("no-such-job", timeout=1)
    with pytest.raises(InvalidArgumentError, match="timeout"):
        await client.wait(job.id, timeout=-1)
