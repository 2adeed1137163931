"""The overview's figures against a real Redis: rates measured by the Redis clock."""

from __future__ import annotations

import time

import pytest

from dashboard.data import RATE_WINDOW_MS, Rates, Snapshot, queue_row
from tests.dashboard.seed import Seeded
from worker_runtime.client import Client
from worker_runtime.engine import activity


async def test_the_first_completion_rate_uses_the_redis_clock(
    redis_url: str, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dashboard's host runs an hour ahead of Redis: "the last minute" is Redis's.
    ahead = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: ahead)
    async with Client.from_url(redis_url) as client:
        rows = {r.stats.queue: r for r in await Snapshot(client).queues()}
    assert rows["emails"].completion_rate == len(seeded.completed) * 1000 / RATE_WINDOW_MS


async def test_the_enqueue_rate_is_the_counters_change_over_redis_time(
    redis_url: str, seeded: Seeded
) -> None:
    # The old estimate (change of unfinished + finished) counted a purge of 3 pending jobs
    # as 3 fewer arrivals, and could not tell a dedupe hit from a new job.
    async with Client.from_url(redis_url) as client:
        store, rates = client.store, Rates()
        first = (await store.run(activity.activity({"emails": 0})))["emails"]
        assert first.enqueued == 10  # every job the seed made on emails
        rates.add("emails", first)
        for n in range(5):
            await client.enqueue("emails", "send_email", {"n": n}, dedupe_key=f"k{n}")
        await client.enqueue("emails", "send_email", {"n": 0}, dedupe_key="k0")  # a hit
        assert await client.purge("emails", ["pending"]) == 8
        await client.retry_dead("emails")
        later = {"emails": first.now_ms}
        second = (await store.run(activity.activity(later)))["emails"]
        enqueue_rate, _ = rates.add("emails", second)
    assert second.enqueued == 15
    assert enqueue_rate == 5 * 1000 / max(1, second.now_ms - first.now_ms)


async def test_the_overview_shows_each_queues_enqueued_total(
    redis_url: str, seeded: Seeded
) -> None:
    async with Client.from_url(redis_url) as client:
        snapshot = Snapshot(client)
        rows = {r.stats.queue: r for r in await snapshot.queues()}
        assert (rows["emails"].enqueued, rows["reports"].enqueued) == (10, 1)
        assert rows["emails"].live()["enqueued"] == "10"
        assert (await queue_row(client, "emails")).enqueued == 10
