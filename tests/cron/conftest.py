"""Fixtures of the cron tests: a simulated clock's epoch, extra stores, keyspace snapshots."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
import redis
from click.testing import CliRunner, Result

from worker_runtime import Client
from worker_runtime.cli import cli
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.store import AsyncStore

#: The simulated clock's start: a Monday, 10:00:00 UTC (a whole minute, so ticks align).
START_MS = int(datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp() * 1000)

Snapshot = Callable[[], tuple[int, list[str]]]
Run = Callable[..., Result]


@pytest.fixture
def run(redis_url: str) -> Run:
    """Invokes ``blackroad --redis-url <test redis> ARGS...``."""
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["--redis-url", redis_url, *args])


@pytest.fixture
async def stores(redis_url: str) -> AsyncIterator[list[AsyncStore]]:
    """Three stores on three connections: three independent schedulers."""
    clients = [Client.from_url(redis_url) for _ in range(3)]
    yield [c.store for c in clients]
    for c in clients:
        await c.close()


@pytest.fixture
def snapshot(r: redis.Redis) -> Snapshot:
    """DBSIZE and the sorted keyspace, to prove that a call wrote nothing."""

    def take() -> tuple[int, list[str]]:
        return int(r.dbsize()), sorted(map(str, r.keys()))

    return take


def job_ticks(r: redis.Redis, queue: str, name: str) -> list[int]:
    """Tick times of the runs of schedule ``name`` in ``queue``, from their job ids."""
    prefix = f"sched:{name}:"
    ids = [str(i) for i in r.hkeys(QueueKeys.of(queue).jobs)]
    return sorted(int(i[len(prefix) :]) for i in ids if i.startswith(prefix))
