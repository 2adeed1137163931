"""Fixtures of the CLI tests: a runner bound to the test Redis, snapshots, dead jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import redis
from click.testing import CliRunner, Result

from worker_runtime.cli import cli
from worker_runtime.client import Client
from worker_runtime.engine import writes

Run = Callable[..., Result]
Snapshot = Callable[[], tuple[int, list[str]]]
MakeDead = Callable[..., list[str]]
Claim = Callable[[str], list[str]]


@pytest.fixture
def run(redis_url: str) -> Run:
    """Invokes ``blackroad --redis-url <test redis> ARGS...``."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, ["--redis-url", redis_url, *args], input=input)

    return invoke


@pytest.fixture
def snapshot(r: redis.Redis) -> Snapshot:
    """DBSIZE and the sorted keyspace, to prove that a command wrote nothing."""

    def take() -> tuple[int, list[str]]:
        return int(r.dbsize()), sorted(map(str, r.keys()))

    return take


async def _kill(url: str, queue: str, count: int, error: str) -> list[str]:
    async with Client.from_url(url) as client:
        ids = [
            (await client.enqueue(queue, "report", {"n": i}, max_attempts=1)).id
            for i in range(count)
        ]
        claimed = await client.store.run(writes.claim(queue, "worker-1", count))
        for job in claimed.jobs:
            await client.store.run(
                writes.fail(queue, job.id, job.token, reason="Error", error=error, permanent=True)
            )
        return ids


@pytest.fixture
def make_dead(redis_url: str) -> MakeDead:
    """Enqueues ``count`` jobs to ``queue`` and fails each for good; returns their ids."""

    def make(queue: str, count: int = 1, error: str = "ValueError: boom\nTraceback") -> list[str]:
        return asyncio.run(_kill(redis_url, queue, count, error))

    return make


def assert_one_line_error(result: Result, exit_code: int, *needles: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]


async def _claim(url: str, queue: str) -> list[str]:
    async with Client.from_url(url) as client:
        return [
            job.id for job in (await client.store.run(writes.claim(queue, "worker-1", 10))).jobs
        ]


@pytest.fixture
def claim(redis_url: str) -> Claim:
    """Leases up to 10 jobs of ``queue`` to "worker-1", as a worker would; returns their ids."""
    return lambda queue: asyncio.run(_claim(redis_url, queue))
