"""Job dependencies: a dependant waits until its dependencies complete, is released by the
script that completes the last one, and follows its policy when one dies or is cancelled."""

from __future__ import annotations

import pytest
import redis

from worker_runtime import SyncClient
from worker_runtime.engine import writes
from worker_runtime.errors import InvalidArgumentError
from worker_runtime.models import JobSpec, JobState

Q = "deps"


def _run(c: SyncClient, job_id: str, outcome: str = "complete") -> None:
    """Claims every pending job and finishes ``job_id`` (the others are released)."""
    claimed = c.run(writes.claim(Q, "w", 1000)).jobs
    mine = [j for j in claimed if j.id == job_id]
    assert mine, f"{job_id} was not pending"
    others = [(j.id, j.token) for j in claimed if j.id != job_id]
    if others:
        c.run(writes.release(Q, others))
    job = mine[0]
    if outcome == "complete":
        assert c.run(writes.complete(Q, "w", [(job.id, job.token, "1")])) == [1]
    else:
        c.run(writes.fail(Q, job.id, job.token, reason="Boom", error="boom", permanent=True))


def _state(c: SyncClient, job_id: str) -> JobState:
    job = c.get_job(job_id, Q)
    assert job is not None
    return job.state


def test_a_dependant_waits_for_every_dependency(sync_client: SyncClient) -> None:
    c = sync_client
    a, b = c.enqueue(Q, "a").id, c.enqueue(Q, "b").id
    child = c.enqueue(Q, "child", depends_on=[a, b]).id
    assert _state(c, child) is JobState.WAITING
    assert c.stats(Q).waiting == 1
    assert [j.id for j in c.list_jobs(Q, "waiting")] == [child]
    _run(c, a)
    info = c.get_job(child, Q)
    assert info is not None
    assert (info.state, info.depends_on, info.waiting_on) == (JobState.WAITING, [a, b], [b])
    assert info.on_dependency_failure == "cancel"
    parent = c.get_job(a, Q)
    assert parent is not None and parent.dependants == [child]
    _run(c, b)
    info = c.get_job(child, Q)
    assert info is not None and (info.state, info.waiting_on) == (JobState.PENDING, [])
    _run(c, child)
    assert _state(c, child) is JobState.COMPLETED


def test_unknown_dependency_is_refused_and_nothing_is_written(
    sync_client: SyncClient, r: redis.Redis
) -> None:
    c = sync_client
    c.enqueue(Q, "a")
    before = sorted(map(str, r.keys())), r.dbsize()
    with pytest.raises(InvalidArgumentError, match="depends_on: no job nope in queue") as exc:
        c.enqueue(Q, "child", depends_on=["nope"])
    assert exc.value.field == "depends_on"
    elsewhere = c.enqueue("other", "x").id  # a job of another queue is unknown here
    with pytest.raises(InvalidArgumentError, match="depends_on"):
        c.enqueue(Q, "child", depends_on=[elsewhere])
    r.delete(*[k for k in map(str, r.keys()) if "{other}" in k])
    r.srem("brq:queues", "other")
    assert (sorted(map(str, r.keys())), r.dbsize()) == before
    for bad in ("a b", ["a b"], [1], "abc"):
        with pytest.raises(InvalidArgumentError, match="depends_on") as exc:
            c.enqueue(Q, "child", depends_on=bad)  # type: ignore[arg-type]
        assert exc.value.field == "depends_on"
    with pytest.raises(InvalidArgumentError, match="itself"):
        c.enqueue(Q, "child", job_id="me", depends_on=["me"])
    with pytest.raises(InvalidArgumentError, match="on_dependency_failure"):
        c.enqueue(Q, "child", on_dependency_failure="ignore")  # type: ignore[arg-type]


def test_completed_dependencies_count_at_once_and_delays_hold(sync_client: SyncClient) -> None:
    c = sync_client
    a = c.enqueue(Q, "a").id
    _run(c, a)
    assert _state(c, c.enqueue(Q, "now", depends_on=[a]).id) is JobState.PENDING
    b = c.enqueue(Q, "b").id
    later = c.enqueue(Q, "later", depends_on=[b], delay=3600).id
    _run(c, b)
    job = c.get_job(later, Q)
    assert job is not None and job.state is JobState.DELAYED and job.due_ms is not None


def test_jobs_of_one_call_may_depend_on_earlier_ones(sync_client: SyncClient) -> None:
    c = sync_client
    first, second, third = c.enqueue_many(
        [
            JobSpec(Q, "first", job_id="first"),
            JobSpec(Q, "second", job_id="second", depends_on=["first"]),
            JobSpec(Q, "third", job_id="third", depends_on=["first", "second"]),
        ]
    )
    assert [first.created, second.created, third.created] == [True, True, True]
    assert [_state(c, i) for i in ("first", "second", "third")] == [
        JobState.PENDING,
        JobState.WAITING,
        JobState.WAITING,
    ]
    _run(c, "first")
    _run(c, "second")
    assert _state(c, "third") is JobState.PENDING


@pytest.mark.parametrize("how", ["dead", "cancelled"])
def test_policies_on_a_failed_dependency(sync_client: SyncClient, how: str) -> None:
    c = sync_client
    a = c.enqueue(Q, "a", max_attempts=1).id
    cancel = c.enqueue(Q, "cancel", depends_on=[a]).id
    grandchild = c.enqueue(Q, "grandchild", depends_on=[cancel], on_dependency_failure="run").id
    run = c.enqueue(Q, "run", depends_on=[a], on_dependency_failure="run").id
    wait = c.enqueue(Q, "wait", depends_on=[a], on_dependency_failure="wait").id
    if how == "dead":
        _run(c, a, "fail")
    else:
        assert c.cancel(a, Q) == "cancelled"
    job = c.get_job(cancel, Q)
    assert job is not None and job.state is JobState.CANCELLED
    assert job.reason == "DependencyFailed"
    assert job.dependency_note == f"dependency {a} ended {how}"
    # The cancelled dependant's own dependants learn of it in the same step.
    assert _state(c, grandchild) is JobState.PENDING
    job = c.get_job(run, Q)
    assert job is not None and job.state is JobState.PENDING
    assert job.dependency_note == f"dependency {a} ended {how}; ran anyway (policy run)"
    job = c.get_job(wait, Q)
    assert job is not None and job.state is JobState.WAITING and job.waiting_on == [a]
    assert "policy wait" in (job.dependency_note or "")
    # Retried and completed, the dependency releases the one that waited.
    c.retry(a, Q)
    _run(c, a)
    assert _state(c, wait) is JobState.PENDING
    assert _state(c, cancel) is JobState.CANCELLED


def test_a_dependency_that_failed_before_the_enqueue(sync_client: SyncClient) -> None:
    c = sync_client
    a = c.enqueue(Q, "a").id
    c.cancel(a, Q)
    job = c.get_job(c.enqueue(Q, "x", depends_on=[a]).id, Q)
    assert job is not None and (job.state, job.reason) == (JobState.CANCELLED, "DependencyFailed")
    assert _state(c, c.enqueue(Q, "y", depends_on=[a], on_dependency_failure="run").id) is (
        JobState.PENDING
    )
    assert _state(c, c.enqueue(Q, "z", depends_on=[a], on_dependency_failure="wait").id) is (
        JobState.WAITING
    )


def test_cancelling_a_waiting_job_tells_its_dependants(sync_client: SyncClient) -> None:
    c = sync_client
    a = c.enqueue(Q, "a").id
    b = c.enqueue(Q, "b", depends_on=[a]).id
    d = c.enqueue(Q, "d", depends_on=[b]).id
    assert c.cancel(b, Q) == "cancelled"
    assert _state(c, b) is JobState.CANCELLED
    assert _state(c, d) is JobState.CANCELLED
    _run(c, a)  # a's dependant is gone already: nothing to release
    assert c.stats(Q).waiting == 0


def test_retention_trimming_does_not_strand_a_dependant(sync_client: SyncClient) -> None:
    c = sync_client
    c.configure(Q, keep_completed=0)
    a, b = c.enqueue(Q, "a").id, c.enqueue(Q, "b").id
    child = c.enqueue(Q, "child", depends_on=[a, b]).id
    _run(c, a)
    assert c.get_job(a, Q) is None  # trimmed at once
    _run(c, b)
    assert _state(c, child) is JobState.PENDING


def test_purge_and_delete_clear_the_dependency_keys(
    sync_client: SyncClient, r: redis.Redis
) -> None:
    c = sync_client
    a = c.enqueue(Q, "a").id
    c.enqueue(Q, "b", depends_on=[a])
    assert c.purge(Q) == 2
    assert not r.exists("brq:{deps}:deps", "brq:{deps}:dependants", "brq:{deps}:waiting")
    a = c.enqueue(Q, "a").id
    c.enqueue(Q, "b", depends_on=[a])
    assert c.delete_queue(Q) == 2
    assert not [k for k in map(str, r.keys()) if "{deps}" in k]


@pytest.mark.parametrize("state", ["pending", "dead"])
def test_purging_a_dependency_applies_the_policies(sync_client: SyncClient, state: str) -> None:
    c = sync_client
    a = c.enqueue(Q, "a", max_attempts=1).id
    cancel = c.enqueue(Q, "cancel", depends_on=[a]).id
    run = c.enqueue(Q, "run", depends_on=[a], on_dependency_failure="run").id
    wait = c.enqueue(Q, "wait", depends_on=[a], on_dependency_failure="wait").id
    if state == "dead":
        _run(c, a, "fail")
        assert _state(c, wait) is JobState.WAITING  # waits for a retry of a
    # One call (Client.purge loops, and would take the released job too).
    assert c.run(writes.purge(Q, state)) == 1
    assert c.get_job(a, Q) is None
    job = c.get_job(cancel, Q)
    assert job is not None and job.state is JobState.CANCELLED
    if state == "pending":
        assert job.dependency_note == f"dependency {a} was purged"
    job = c.get_job(wait, Q)
    # Nothing is left to retry: a waiting dependant of a purged job is cancelled.
    assert job is not None and job.state is JobState.CANCELLED
    assert job.dependency_note == f"dependency {a} was purged"
    assert _state(c, run) is JobState.PENDING
    assert c.stats(Q).waiting == 0


def test_purging_waiting_jobs_leaves_no_trace(sync_client: SyncClient, r: redis.Redis) -> None:
    c = sync_client
    a = c.enqueue(Q, "a").id
    b = c.enqueue(Q, "b", depends_on=[a]).id
    c.enqueue(Q, "d", depends_on=[b])
    assert c.purge(Q, ["waiting"]) == 2
    assert c.stats(Q).cancelled == 0  # d was purged with b, not cancelled into another set
    assert r.hkeys("brq:{deps}:deps") == []
