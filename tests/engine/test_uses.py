"""The ~uses field (lua/includes/uses.lua): a completion skips the commands for state its
queue never held, and never skips state that exists, on a new queue or one from before."""

from __future__ import annotations

import redis

from tests.engine.invariants import check_queue
from worker_runtime import Client
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.models import ClaimedJob

USES = "~uses"


async def _claim(client: Client, queue: str = "q", n: int = 1) -> list[ClaimedJob]:
    got = await client.store.run(writes.claim(queue, "w", n))
    assert len(got.jobs) == n
    return got.jobs


async def _complete(client: Client, job: ClaimedJob, result: str = "") -> int:
    (code,) = await client.store.run(writes.complete(job.queue, "w", [(job.id, job.token, result)]))
    return code


async def test_a_new_queue_starts_with_nothing_and_learns_each_kind(
    client: Client, r: redis.Redis
) -> None:
    await client.enqueue("q", "j")
    assert r.hget(QueueKeys.of("q").config, USES) == ""
    await _complete(client, (await _claim(client))[0], '{"x":1}')
    assert r.hget(QueueKeys.of("q").config, USES) == "r"
    assert (await client.get_job((await client.enqueue("q", "j", dedupe_key="k")).id)) is not None
    assert set(str(r.hget(QueueKeys.of("q").config, USES))) == {"r", "d"}
    check_queue(r, "q")


async def test_dedupe_key_is_released_on_completion_of_a_new_queue(
    client: Client, r: redis.Redis
) -> None:
    first = await client.enqueue("q", "j", dedupe_key="once")
    assert (await client.enqueue("q", "j", dedupe_key="once")).id == first.id
    assert await _complete(client, (await _claim(client))[0]) == 1
    again = await client.enqueue("q", "j", dedupe_key="once")
    assert again.created and again.id != first.id
    check_queue(r, "q")


async def test_cancel_request_is_seen_by_the_completion(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "j")
    job = (await _claim(client))[0]
    assert await client.cancel(job.id) == "requested"
    assert "c" in str(r.hget(QueueKeys.of("q").config, USES))
    assert await _complete(client, job) == -2
    check_queue(r, "q")


async def test_per_key_running_slots_are_freed(client: Client, r: redis.Redis) -> None:
    await client.configure("q", key_max_running=1)
    await client.enqueue("q", "j", rate_key="tenant")
    await client.enqueue("q", "j", rate_key="tenant")
    job = (await _claim(client))[0]
    assert "k" in str(r.hget(QueueKeys.of("q").config, USES))
    assert await _complete(client, job) == 1
    await _claim(client)  # the slot came back
    check_queue(r, "q")


async def test_a_dependant_in_another_queue_is_released(client: Client, r: redis.Redis) -> None:
    await client.enqueue("other", "j")  # "other" is a new queue: ~uses is ''
    dep = (await _claim(client, "other"))[0]
    waiting = await client.enqueue("q", "j", depends_on=[("other", dep.id)])
    assert "w" in str(r.hget(QueueKeys.of("other").config, USES))
    assert await _complete(client, dep) == 1
    info = await client.get_job(waiting.id)
    assert info is not None and info.state == "pending"
    check_queue(r, "q")
    check_queue(r, "other")


async def test_a_retried_job_takes_its_dedupe_key_again_and_frees_it(
    client: Client, r: redis.Redis
) -> None:
    r.hset(QueueKeys.of("q").config, USES, "")
    await client.enqueue("q", "j", dedupe_key="once", max_attempts=1)
    job = (await _claim(client))[0]
    await client.store.run(
        writes.fail("q", job.id, job.token, reason="Error", error="x", permanent=True)
    )
    r.hset(QueueKeys.of("q").config, USES, "")  # as if dedupe keys had never been used
    await client.retry(job.id)
    assert "d" in str(r.hget(QueueKeys.of("q").config, USES))
    retried = (await _claim(client))[0]
    assert retried.attempt == 1
    assert await _complete(client, retried) == 1
    assert (await client.enqueue("q", "j", dedupe_key="once")).created
    check_queue(r, "q")


async def test_a_queue_from_before_the_field_gets_every_letter(
    client: Client, r: redis.Redis
) -> None:
    await client.enqueue("q", "j", dedupe_key="old")
    job = (await _claim(client))[0]
    r.hdel(QueueKeys.of("q").config, USES)  # written by a version without the field
    assert await _complete(client, job) == 1
    assert (await client.enqueue("q", "j", dedupe_key="old")).created
    assert set(str(r.hget(QueueKeys.of("q").config, USES))) == set("dckwrsahp")
    check_queue(r, "q")


async def test_the_field_is_no_setting(client: Client) -> None:
    await client.enqueue("q", "j")
    assert (await client.config("q")).keep_completed == 10_000


async def test_a_retried_attempt_is_counted_on_a_new_queue(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "j")
    first = (await _claim(client))[0]
    out = await client.store.run(
        writes.fail("q", first.id, first.token, reason="Error", error="x", delay_ms=0)
    )
    assert out.outcome == "retry"
    assert "a" in str(r.hget(QueueKeys.of("q").config, USES))
    second = (await _claim(client))[0]  # promoted from delayed: a since entry too
    assert "s" in str(r.hget(QueueKeys.of("q").config, USES))
    assert (second.id, second.attempt) == (first.id, 2)
    check_queue(r, "q")
    assert await _complete(client, second) == 1
    check_queue(r, "q")


async def test_a_released_job_keeps_its_attempt_count(client: Client, r: redis.Redis) -> None:
    await client.enqueue("q", "j")
    first = (await _claim(client))[0]
    await client.store.run(
        writes.fail("q", first.id, first.token, reason="Error", error="x", delay_ms=0)
    )
    second = (await _claim(client))[0]
    r.hset(QueueKeys.of("q").config, USES, "")  # as if nothing had been retried yet
    r.delete(QueueKeys.of("q").att, QueueKeys.of("q").since)
    assert await client.store.run(writes.release("q", [(second.id, second.token)])) == 1
    assert set("sa") <= set(str(r.hget(QueueKeys.of("q").config, USES)))
    third = (await _claim(client))[0]
    assert third.attempt == 2
    check_queue(r, "q")


async def test_a_job_back_from_the_dead_keeps_its_history(client: Client, r: redis.Redis) -> None:
    e = await client.enqueue("q", "j", max_attempts=1)
    job = (await _claim(client))[0]
    await client.store.run(
        writes.fail("q", job.id, job.token, reason="Error", error="x", permanent=True)
    )
    r.hset(QueueKeys.of("q").config, USES, "")  # as if no job had come back yet
    await client.retry(job.id)
    assert "h" in str(r.hget(QueueKeys.of("q").config, USES))
    again = (await _claim(client))[0]
    assert again.attempt == 1
    assert await _complete(client, again) == 1
    info = await client.get_job(e.id)
    assert info is not None
    assert [a.outcome for a in info.history] == ["dead", "completed"]
    check_queue(r, "q")


async def test_progress_of_a_completed_job_is_trimmed_with_it(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", keep_completed=0)
    e = await client.enqueue("q", "j")
    job = (await _claim(client))[0]
    assert await client.store.run(writes.progress("q", job.id, job.token, 50, "half"))
    assert "p" in str(r.hget(QueueKeys.of("q").config, USES))
    assert await _complete(client, job) == 1
    assert await client.get_job(e.id) is None
    assert not r.exists(QueueKeys.of("q").progress)
    check_queue(r, "q")
