"""Generated dependency graphs, in one queue or spread over three, finished in random orders
(complete, die, cancel): no dependant is released before its dependencies complete, none
is left waiting once they have all finished, and each policy is applied with its reason
visible in job info."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker_runtime import SyncClient
from worker_runtime.engine import writes
from worker_runtime.models import Job, JobSpec, JobState

#: The queues a graph's jobs are spread over (the first one only, or all).
QUEUES = ("dag", "dag-b", "dag-c")
FINISHED = (JobState.COMPLETED, JobState.DEAD, JobState.CANCELLED)
#: The states a job reaches only once it was released (or never waited).
RELEASED = (JobState.PENDING, JobState.DELAYED, JobState.RUNNING, JobState.COMPLETED)


@dataclass(frozen=True)
class Node:
    deps: tuple[int, ...]
    policy: str
    queue: str = QUEUES[0]


@st.composite
def dags(draw: st.DrawFn, queues: int) -> list[Node]:
    """Up to 12 jobs in up to ``queues`` queues; each depends on up to 3 earlier ones (so
    no cycles), of any queue."""
    n = draw(st.integers(2, 12))
    nodes = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        policy = draw(st.sampled_from(["cancel", "run", "wait"]))
        nodes.append(Node(tuple(deps), policy, draw(st.sampled_from(QUEUES[:queues]))))
    return nodes


def _ref(nodes: list[Node], of: int, dep: int) -> str:
    """How job ``of`` names its dependency ``dep`` in job info."""
    same = nodes[of].queue == nodes[dep].queue
    return f"j{dep}" if same else f"{nodes[dep].queue} j{dep}"


def _jobs(c: SyncClient, nodes: list[Node]) -> dict[str, Job]:
    out = {}
    for i, node in enumerate(nodes):
        job = c.get_job(f"j{i}", node.queue)
        assert job is not None
        out[job.id] = job
    return out


def _check(jobs: dict[str, Job], nodes: list[Node], cancelled_by_hand: set[str]) -> None:
    for i, node in enumerate(nodes):
        job = jobs[f"j{i}"]
        deps = [jobs[f"j{d}"] for d in node.deps]
        failed = [d for d in deps if d.state in (JobState.DEAD, JobState.CANCELLED)]
        if job.state in RELEASED and job.id not in cancelled_by_hand:
            # Never released early: every dependency completed (or, policy run, finished).
            allowed = FINISHED if node.policy == "run" else (JobState.COMPLETED,)
            assert all(d.state in allowed for d in deps), (job.id, [d.state for d in deps])
            if failed and job.state is not JobState.COMPLETED:
                assert "policy run" in (job.dependency_note or "")
        if job.state is JobState.WAITING:
            # Never stranded: it waits for an unfinished dependency, or (policy wait) for the
            # retry of a failed one.
            unfinished = [d for d in deps if d.state not in FINISHED]
            assert unfinished or (node.policy == "wait" and failed), (job.id, node)
            assert set(job.waiting_on) <= {_ref(nodes, i, d) for d in node.deps}
        if job.state is JobState.CANCELLED and job.id not in cancelled_by_hand:
            assert node.policy == "cancel" and failed, (job.id, node)
            assert job.reason == "DependencyFailed" and job.dependency_note


@pytest.mark.parametrize("queues", [1, 3])
@pytest.mark.parametrize("batch", [False, True])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_graphs_finish_in_random_orders(
    sync_client: SyncClient, r: redis.Redis, batch: bool, queues: int, data: st.DataObject
) -> None:
    nodes = data.draw(dags(queues))
    r.flushall()
    c = sync_client
    where = {f"j{i}": node.queue for i, node in enumerate(nodes)}
    specs = [
        JobSpec(
            node.queue,
            f"n{i}",
            job_id=f"j{i}",
            max_attempts=1,
            depends_on=[(nodes[d].queue, f"j{d}") for d in node.deps] or None,
            on_dependency_failure=node.policy,  # type: ignore[arg-type]
        )
        for i, node in enumerate(nodes)
    ]
    if batch:
        # One call per run of jobs of one queue: a job may name earlier jobs of its call.
        runs = [list(g) for _, g in itertools.groupby(specs, key=lambda s: s.queue)]
        for run in runs:
            c.enqueue_many(run)
    else:
        for spec in specs:
            c.enqueue_many([spec])
    by_hand: set[str] = set()
    for _ in range(3 * len(nodes)):
        jobs = _jobs(c, nodes)
        _check(jobs, nodes, by_hand)
        waiting = sorted(i for i, j in jobs.items() if j.state is JobState.WAITING)
        claimed = [j for q in QUEUES[:queues] for j in c.run(writes.claim(q, "w", 100)).jobs]
        if not claimed and not waiting:
            break
        action = data.draw(st.sampled_from(["complete", "die", "cancel", "cancel-waiting"]))
        if action == "cancel-waiting" and waiting:
            victim = data.draw(st.sampled_from(waiting))
            assert c.cancel(victim, where[victim]) == "cancelled"
            by_hand.add(victim)
        if not claimed:
            continue
        job = data.draw(st.sampled_from(claimed))
        for q in QUEUES[:queues]:
            rest = [(j.id, j.token) for j in claimed if j is not job and where[j.id] == q]
            if rest:
                c.run(writes.release(q, rest))
        q = where[job.id]
        if action == "die":
            c.run(writes.fail(q, job.id, job.token, reason="Boom", error="x", permanent=True))
        elif action == "cancel":
            assert c.cancel(job.id, q) == "requested"
            by_hand.add(job.id)
            c.run(writes.complete(q, "w", [(job.id, job.token, "")]))
        else:
            c.run(writes.complete(q, "w", [(job.id, job.token, "")]))
    jobs = _jobs(c, nodes)
    _check(jobs, nodes, by_hand)
