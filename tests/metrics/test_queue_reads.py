"""The queue-level reads behind the exporter: enqueue counters kept by the scripts, latency
from the moment a job became due, live workers per queue."""

from __future__ import annotations

import redis

from worker_runtime import Client, JobSpec
from worker_runtime.cron.schedules import ScheduleSpec
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.overview import enqueue_counts, queue_overviews, workers_per_queue


def _hincrby_calls(r: redis.Redis) -> int:
    stats = r.info("commandstats").get("cmdstat_hincrby")
    return int(stats["calls"]) if stats else 0


async def test_counters_count_created_jobs_per_name_and_priority(client: Client) -> None:
    await client.enqueue_many([JobSpec("q", "a", {"i": i}) for i in range(3)])
    await client.enqueue_many(
        [JobSpec("q", "a", {}, priority=0), JobSpec("q", "b", {}, delay=60), JobSpec("q", "a", {})]
    )
    await client.enqueue("q", "b", {}, dedupe_key="k")
    await client.enqueue("q", "b", {}, dedupe_key="k")  # a dedupe hit creates nothing
    counts = await client.store.run(enqueue_counts("q"))
    assert counts == {("a", 5): 4, ("a", 0): 1, ("b", 5): 2}


async def test_a_bulk_enqueue_of_one_name_costs_one_counter_command(
    client: Client, r: redis.Redis
) -> None:
    before = _hincrby_calls(r)
    await client.enqueue_many([JobSpec("q", "bulk", {"i": i}) for i in range(1000)])
    assert _hincrby_calls(r) - before == 1
    assert await client.store.run(enqueue_counts("q")) == {("bulk", 5): 1000}


async def test_cron_runs_count_as_enqueued(client: Client) -> None:
    await client.add_schedule(ScheduleSpec("nightly", "0 3 * * *", "q", "report", priority=1))
    await client.trigger_schedule("nightly")
    assert await client.store.run(enqueue_counts("q")) == {("report", 1): 1}


async def test_deleting_the_queue_resets_its_counters(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "a", {})
    await client.delete_queue("q")
    assert not r.exists(QueueKeys.of("q").enqueued)
    await client.enqueue("q", "a", {})
    assert await client.store.run(enqueue_counts("q")) == {("a", 5): 1}


async def test_latency_counts_from_when_a_delayed_job_became_due(
    client: Client, r: redis.Redis
) -> None:
    e = await client.enqueue("q", "j", {}, delay=600)
    now_ms = int(r.time()[0]) * 1000
    # As if the job had been due for 5 s: its wait starts then, not at its enqueue (just
    # now) and not 600 s before its due time.
    r.zadd(QueueKeys.of("q").delayed, {e.id: now_ms - 5000})
    (job,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    assert 5000 <= job.waited_ms < 600_000


async def test_latency_of_a_retry_counts_from_its_retry_time(
    client: Client, r: redis.Redis
) -> None:
    e = await client.enqueue("q", "j", {}, max_attempts=3)
    jobs = QueueKeys.of("q").jobs
    _, rest = str(r.hget(jobs, e.id)).split("\n", 1)
    r.hset(jobs, e.id, "1000\n" + rest)  # as if enqueued in 1970
    (first,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    assert first.waited_ms > 10**12  # a first attempt waits from its enqueue
    retry = writes.fail("q", first.id, first.token, reason="Error", error="boom", delay_ms=0)
    await client.store.run(retry)
    (second,) = (await client.store.run(writes.claim("q", "w", 1))).jobs
    assert second.attempt == 2 and second.waited_ms < 10**9  # from its retry time


async def test_overview_counts_live_workers_per_queue(client: Client) -> None:
    for name, queues in (("w1", ["q", "p"]), ("w2", ["q"])):
        beat = writes.worker_beat(name, {"name": name, "queues": queues}, 60_000)
        await client.store.run(beat)
    await client.enqueue("q", "a", {})
    await client.enqueue("p", "a", {})
    q, p = await queue_overviews(client.store, ["q", "p"])
    assert (q.queue, q.workers_active, q.stats.pending, dict(q.enqueued)) == (
        "q",
        2,
        1,
        {("a", 5): 1},
    )
    assert (p.workers_active, p.stats.pending) == (1, 1)
    await client.store.run(writes.worker_beat("w2", None, 60_000))  # w2 stops
    (q,) = await queue_overviews(client.store, ["q"])
    assert q.workers_active == 1


def test_workers_per_queue_counts_a_worker_once_per_queue() -> None:
    found = workers_per_queue([{"queues": ["a", "a", "b"]}, {"queues": ["a"]}, {}])
    assert found == {"a": 2, "b": 1}
