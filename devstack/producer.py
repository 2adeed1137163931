"""The demo's producer: a realistic mix for the example queues, with a periodic burst."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from worker_runtime.client import SyncClient
from worker_runtime.models import JobSpec

#: A Schedule that fires while you watch (the example one runs nightly).
DEMO_SCHEDULE = """\
apiVersion: queues.blackroad.io/v1alpha1
kind: Schedule
metadata: {name: demo-every-10s, namespace: blackroad}
spec: {cron: "*/10 * * * * *", queue: default, jobName: maintenance:cleanup, payload: {}}
"""

#: The queues of manifests/examples/queues.yaml.
QUEUES = ("lucidia", "alice", "default")
_PRIORITIES = ("critical", "high", "normal", "normal", "normal", "low", "bulk")


@dataclass
class DemoProducer:
    """Each ``tick`` enqueues a few jobs; every ``burst_every`` seconds a burst lands on
    ``default`` (the one queue without a rate limit or cap), so the pool scales up."""

    client: SyncClient
    rng: random.Random = field(default_factory=random.Random)
    burst_after: float = 10.0
    burst_every: float = 90.0
    burst_size: int = 600
    #: Share of jobs that can never succeed (dead letters at once, PermanentFailure).
    poison_rate: float = 0.03
    #: Failure rate of the model calls: some succeed on retry, some run out of attempts.
    fail_rate: float = 0.15
    enqueued: int = 0
    _next_burst: float | None = None

    def tick(self, elapsed: float) -> int:
        specs = [self._job() for _ in range(self.rng.randint(3, 15))]
        if self._next_burst is None:
            self._next_burst = self.burst_after
        if elapsed >= self._next_burst:
            specs += [self._burst_job() for _ in range(self.burst_size)]
            self._next_burst = elapsed + self.burst_every
        self.client.enqueue_many(specs)
        self.enqueued += len(specs)
        return len(specs)

    def _job(self) -> JobSpec:
        rng = self.rng
        queue = rng.choice(QUEUES)
        delay = rng.uniform(1, 15) if rng.random() < 0.15 else None
        if rng.random() < self.poison_rate:
            return JobSpec(queue, "agent_task:invalid", {"agent": queue}, delay=delay)
        payload = {"agent": queue, "ms": rng.randint(20, 400), "fail_rate": self.fail_rate}
        return JobSpec(
            queue,
            "agent_task:inference",
            payload,
            priority=rng.choice(_PRIORITIES),
            delay=delay,
            max_attempts=2,
        )

    def _burst_job(self) -> JobSpec:
        payload = {"agent": "batch", "ms": self.rng.randint(200, 800)}
        return JobSpec("default", "agent_task:inference", payload, priority="bulk")
