"""Random sequences of every transition, checking the engine's invariants after each step:
each job is in exactly one state, no running job lacks a lease, and no job is lost."""

from __future__ import annotations

from typing import cast

import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.engine.invariants import check_queue
from worker_runtime import SyncClient
from worker_runtime.engine import writes
from worker_runtime.engine.connection import connect_sync
from worker_runtime.engine.keys import QueueKeys

Q = "prop"
K = QueueKeys.of(Q)


class EngineMachine(RuleBasedStateMachine):
    url = ""

    @initialize()
    def setup(self) -> None:
        # connect_sync: a plain or a cluster client, as the URL says (tests/topology reruns
        # this machine on a Redis Cluster); both serve the one-slot commands used here.
        self.r = cast(redis.Redis, connect_sync(self.url))
        self.r.flushall()
        self.c = SyncClient(self.url)
        self.created: set[str] = set()
        self.held: dict[str, str] = {}  # what the worker believes it holds: id -> token
        self.stale: list[tuple[str, str]] = []
        self.terminal: set[str] = set()
        self.counter = 0
        self.deps: dict[str, tuple[list[str], str]] = {}  # dependant -> (dependencies, policy)

    def teardown(self) -> None:
        if hasattr(self, "c"):
            self.c.close()
            self.r.close()

    @rule(
        prio=st.integers(0, 10),
        delayed=st.booleans(),
        dedupe=st.none() | st.sampled_from(["a", "b"]),
        attempts=st.integers(1, 3),
    )
    def enqueue(self, prio: int, delayed: bool, dedupe: str | None, attempts: int) -> None:
        self.counter += 1  # deterministic ids keep hypothesis's replays identical
        e = self.c.enqueue(
            Q,
            "j",
            {"p": prio},
            priority=prio,
            delay=30 if delayed else None,
            dedupe_key=dedupe,
            max_attempts=attempts,
            job_id=f"job{self.counter}",
        )
        if e.created:
            self.created.add(e.id)
        else:
            assert e.id in self.created and e.id not in self.terminal

    @precondition(lambda self: self.created)
    @rule(data=st.data(), policy=st.sampled_from(["cancel", "run", "wait"]))
    def enqueue_dependant(self, data: st.DataObject, policy: str) -> None:
        deps = data.draw(st.lists(st.sampled_from(sorted(self.created)), min_size=1, max_size=3))
        self.counter += 1
        e = self.c.enqueue(
            Q,
            "j",
            job_id=f"job{self.counter}",
            depends_on=deps,
            on_dependency_failure=policy,  # type: ignore[arg-type]
        )
        self.created.add(e.id)
        self.deps[e.id] = (deps, policy)

    @rule(n=st.integers(1, 4))
    def claim(self, n: int) -> None:
        got = self.c.run(writes.claim(Q, "w", n))
        for job in got.jobs:
            assert job.id not in self.held, "a job was leased twice at once"
            self.held[job.id] = job.token

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(sorted(self.held)))
        token = self.held.pop(job_id)
        (code,) = self.c.run(writes.complete(Q, "w", [(job_id, token, '"ok"')]))
        assert code in (1, -2)
        self.terminal.add(job_id)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), permanent=st.booleans())
    def fail(self, data: st.DataObject, permanent: bool) -> None:
        job_id = data.draw(st.sampled_from(sorted(self.held)))
        token = self.held.pop(job_id)
        out = self.c.run(
            writes.fail(Q, job_id, token, reason="Error", error="e", permanent=permanent, draw=0.3)
        )
        assert out.outcome in ("retry", "dead", "cancelled")
        if out.outcome != "retry":
            self.terminal.add(job_id)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def expire(self, data: st.DataObject) -> None:
        """Time travel: this job's lease deadline passes; the worker still thinks it holds it."""
        job_id = data.draw(st.sampled_from(sorted(self.held)))
        self.r.zadd(K.running, {job_id: 0}, xx=True)
        self.stale.append((job_id, self.held.pop(job_id)))

    @rule()
    def recover(self) -> None:
        self.c.run(writes.recover(Q))

    @precondition(lambda self: self.stale)
    @rule()
    def zombie_reports(self) -> None:
        """A worker that lost its lease reports; it must be refused unless still valid."""
        job_id, token = self.stale.pop()
        lease = self.r.hget(K.lease, job_id)
        still_valid = isinstance(lease, str) and lease.split("|")[0] == token
        (code,) = self.c.run(writes.complete(Q, "zombie", [(job_id, token, "")]))
        assert (code != -1) == still_valid
        if still_valid:
            self.terminal.add(job_id)

    @rule()
    def due(self) -> None:
        """Time travel: every delayed job becomes due."""
        for job_id in self.r.zrange(K.delayed, 0, -1):
            self.r.zadd(K.delayed, {str(job_id): 0})

    @precondition(lambda self: self.created)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(sorted(self.created)))
        outcome = self.c.cancel(job_id, queue=Q)
        if outcome == "cancelled":
            self.terminal.add(job_id)

    @precondition(lambda self: self.held)
    @rule()
    def heartbeat(self) -> None:
        lost, _ = self.c.run(writes.heartbeat(Q, 30_000, sorted(self.held.items())))
        assert lost == []

    @precondition(lambda self: self.held)
    @rule()
    def release(self) -> None:
        self.c.run(writes.release(Q, sorted(self.held.items())))
        self.held.clear()

    @invariant()
    def nothing_lost_and_one_state_each(self) -> None:
        if not hasattr(self, "r"):
            return
        states = check_queue(self.r, Q)
        assert set(states) == self.created, "a job was lost or appeared from nowhere"
        for job_id in self.held:
            assert states[job_id] == "running"
        for job_id in self.terminal:
            assert states[job_id] in ("completed", "dead", "cancelled")
        for job_id, (deps, policy) in self.deps.items():
            # Released only once every dependency completed (policy run: finished).
            if states[job_id] in ("pending", "delayed", "running", "completed"):
                done = ("completed", "dead", "cancelled") if policy == "run" else ("completed",)
                assert all(states[d] in done for d in deps), (job_id, deps, policy)


def test_engine_state_machine(redis_url: str) -> None:
    EngineMachine.url = redis_url
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=80,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
