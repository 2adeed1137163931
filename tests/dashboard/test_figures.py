"""The overview's figures against a real Redis: rates measured by the Redis clock."""

from __future__ import annotations

import time

import pytest

from dashboard.data import RATE_WINDOW_MS, Snapshot
from tests.dashboard.seed import Seeded
from worker_runtime.client import Client


async def test_the_first_completion_rate_uses_the_redis_clock(
    redis_url: str, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dashboard's host runs an hour ahead of Redis: "the last minute" is Redis's.
    ahead = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: ahead)
    async with Client.from_url(redis_url) as client:
        rows = {r.stats.queue: r for r in await Snapshot(client).queues()}
    assert rows["emails"].completion_rate == len(seeded.completed) * 1000 / RATE_WINDOW_MS
