"""Aging counts a job's wait from when it last became pending, one level per rule."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.invariants import check_queue
from worker_runtime import Client
from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import InvalidArgumentError
from worker_runtime.queue_config import AgingRule, QueueConfig

#: LOW -> NORMAL -> HIGH -> CRITICAL, one minute each.
MINUTE_RULES = [
    AgingRule(from_priority=8, to_priority=5, after_ms=60_000),
    AgingRule(from_priority=5, to_priority=1, after_ms=60_000),
    AgingRule(from_priority=1, to_priority=0, after_ms=60_000),
]


def _now_ms(r: redis.Redis) -> int:
    sec, usec = r.time()
    return int(sec) * 1000 + int(usec) // 1000


def _enqueued_ago(r: redis.Redis, queue: str, job_id: str, ms: int) -> None:
    """Time travel: the job's record says it was enqueued ``ms`` ago."""
    k = QueueKeys.of(queue)
    rec = r.hget(k.jobs, job_id)
    assert isinstance(rec, str)
    r.hset(k.jobs, job_id, f"{_now_ms(r) - ms}\n{rec.split(chr(10), 1)[1]}")


async def _aging_pass(client: Client, r: redis.Redis, queue: str) -> None:
    """Runs the claim script's aging step; the queue's one running slot is taken, so it
    claims nothing."""
    r.hdel(QueueKeys.of(queue).config, "~aged_at")
    got = await client.store.run(writes.claim(queue, "w", 1))
    assert got.jobs == []


async def _blocked_queue(client: Client, queue: str, rules: list[AgingRule]) -> None:
    await client.configure(queue, aging_rules=rules, max_running=1)
    blocker = await client.enqueue(queue, "blocker", priority="critical")
    got = await client.store.run(writes.claim(queue, "w", 1))
    assert [j.id for j in got.jobs] == [blocker.id]


async def _level(client: Client, job_id: str) -> int:
    job = await client.get_job(job_id)
    assert job is not None
    return job.priority


async def test_a_delayed_job_waits_from_when_it_became_due(client: Client, r: redis.Redis) -> None:
    await _blocked_queue(client, "q", MINUTE_RULES)
    job = await client.enqueue("q", "j", priority="low", delay=0.2)
    _enqueued_ago(r, "q", job.id, 3_600_000)  # enqueued an hour ago, due just now
    await asyncio.sleep(0.3)
    await _aging_pass(client, r, "q")
    assert await _level(client, job.id) == 8  # counted from enqueue it would be 0
    r.hset(QueueKeys.of("q").since, job.id, _now_ms(r) - 61_000)  # due 61 s ago
    await _aging_pass(client, r, "q")
    assert await _level(client, job.id) == 5
    check_queue(r, "q")


async def test_a_dead_job_retried_starts_over_at_its_original_priority(
    client: Client, r: redis.Redis
) -> None:
    await client.configure("q", aging_rules=MINUTE_RULES)
    job = await client.enqueue("q", "j", priority="low")
    claimed = (await client.store.run(writes.claim("q", "w", 1))).jobs[0]
    failed = writes.fail("q", job.id, claimed.token, reason="E", error="e", permanent=True)
    assert (await client.store.run(failed)).outcome == "dead"
    _enqueued_ago(r, "q", job.id, 3_600_000)
    await _blocked_queue(client, "q", MINUTE_RULES)
    await client.retry(job.id)
    await _aging_pass(client, r, "q")
    assert await _level(client, job.id) == 8
    check_queue(r, "q")


async def test_a_released_job_waits_from_its_release(client: Client, r: redis.Redis) -> None:
    await client.configure("q", aging_rules=MINUTE_RULES)
    job = await client.enqueue("q", "j", priority="low")
    claimed = (await client.store.run(writes.claim("q", "w", 1))).jobs[0]
    _enqueued_ago(r, "q", job.id, 3_600_000)
    assert await client.store.run(writes.release("q", [(job.id, claimed.token)])) == 1
    await _blocked_queue(client, "q", MINUTE_RULES)
    await _aging_pass(client, r, "q")
    assert await _level(client, job.id) == 8
    check_queue(r, "q")


@pytest.mark.parametrize(("source", "target"), [(0, 10), (8, 9), (5, 5)])
async def test_a_rule_that_does_not_promote_is_refused(
    client: Client, r: redis.Redis, source: int, target: int
) -> None:
    rule = {"from_priority": source, "to_priority": target, "after_ms": 60_000}
    with pytest.raises(InvalidArgumentError, match="aging_rules") as raised:
        await client.configure("q", aging_rules=[rule])
    assert raised.value.field is not None and raised.value.field.startswith("aging_rules")
    assert r.dbsize() == 0


def _aged_level(rules: list[AgingRule], priority: int, waited_ms: int) -> int:
    """The documented rule: each rule's wait counts from the previous promotion."""
    by_level = {rule.from_priority: rule for rule in rules}
    level, spent = priority, 0
    while level in by_level and waited_ms >= spent + by_level[level].after_ms:
        spent += by_level[level].after_ms
        level = by_level[level].to_priority
    return level


@st.composite
def _rules(draw: st.DrawFn) -> list[AgingRule]:
    """A chain of rules from some levels to higher ones, waits in whole seconds."""
    sources = draw(st.lists(st.integers(1, 10), min_size=1, max_size=4, unique=True))
    return [
        AgingRule(
            from_priority=s,
            to_priority=draw(st.integers(0, s - 1)),
            after_ms=draw(st.integers(1, 20)) * 1000,
        )
        for s in sources
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rules=_rules(),
    priority=st.integers(0, 10),
    # Half a second off every whole second, so no wait sits on a rule's boundary.
    waited_ms=st.integers(0, 90).map(lambda s: s * 1000 + 500),
    became_pending=st.sampled_from(["enqueued", "due"]),
)
async def test_the_level_of_a_pending_job_follows_the_rules_from_when_it_became_pending(
    client: Client,
    r: redis.Redis,
    rules: list[AgingRule],
    priority: int,
    waited_ms: int,
    became_pending: str,
) -> None:
    queue = f"prop-{uuid.uuid4().hex[:8]}"
    QueueConfig(aging_rules=rules)  # the strategy only draws valid rules
    await _blocked_queue(client, queue, rules)
    job = await client.enqueue(queue, "j", priority=priority)
    if became_pending == "enqueued":
        _enqueued_ago(r, queue, job.id, waited_ms)
    else:  # as if it had been delayed: enqueued long ago, pending since waited_ms
        _enqueued_ago(r, queue, job.id, 10 * 3_600_000)
        r.hset(QueueKeys.of(queue).since, job.id, _now_ms(r) - waited_ms)
    await _aging_pass(client, r, queue)
    level = await _level(client, job.id)
    assert level == _aged_level(rules, priority, waited_ms)
    assert level <= priority  # never moved down
    job_info = await client.get_job(job.id)
    assert job_info is not None and job_info.original_priority == priority


async def test_a_finished_job_shows_the_level_it_ran_at(client: Client, r: redis.Redis) -> None:
    await _blocked_queue(client, "q", MINUTE_RULES)
    job = await client.enqueue("q", "j", priority="low")
    _enqueued_ago(r, "q", job.id, 61_000)
    await _aging_pass(client, r, "q")
    assert await _level(client, job.id) == 5
    r.hdel(QueueKeys.of("q").config, "max_running")
    claimed = (await client.store.run(writes.claim("q", "w", 1))).jobs[0]
    assert claimed.id == job.id
    await client.store.run(writes.complete("q", "w", [(job.id, claimed.token, "")]))
    done = await client.get_job(job.id)
    assert done is not None and str(done.state) == "completed"
    assert (done.priority, done.original_priority) == (5, 8)
    assert [a.priority for a in done.history] == [5]
