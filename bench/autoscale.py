"""The autoscaler's reaction in the `make run` stack (devstack: Redis, the devcluster API and
its process kubelet, the operator): a burst of jobs lands on an idle pool at its minimum, and
the clock runs from the enqueue to (a) the Deployment's spec.replicas changing, (b) its
readyReplicas reaching that new count (worker processes up), (c) the backlog drained
(pending + running + delayed == 0) and (d) the pool back at its minimum."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack import procs
from devstack.kube import KubeReader
from devstack.stack import Stack, StackConfig
from worker_runtime import Client, JobSpec

API_VERSION = "queues.blackroad.io/v1alpha1"
NAMESPACE = "bench-autoscale"
QUEUE = POOL = "burst"
#: Every process this run starts carries it; whatever still does after stop() is killed.
MARKER = "BLACKROAD_BENCH_AUTOSCALE"
SAMPLE_S = 0.05


@dataclass(frozen=True)
class Settings:
    """The example pool's (manifests/examples/workerpool.yaml) concurrency, minReplicas,
    maxReplicas and targetBacklogPerReplica; pollSeconds 1 instead of 15 and a 10 s scale-down
    window instead of 300 s, so the run measures the reaction rather than the poll phase and
    returns to the minimum in seconds. Operator tick and status interval are `make run`'s."""

    jobs: int = 5_000
    handler: str = "agent_task:inference"
    handler_ms: int = 10
    concurrency: int = 20
    min_replicas: int = 1
    max_replicas: int = 10
    target_backlog_per_replica: int = 20
    poll_seconds: int = 1
    scale_up_stabilization_s: int = 0
    scale_down_stabilization_s: int = 10
    operator_tick_s: float = 1.0
    status_interval_s: float = 2.0
    #: Give up on any one phase after this long.
    timeout_s: float = 180.0


def _manifests(s: Settings) -> str:
    scaling = {
        "enabled": True,
        "minReplicas": s.min_replicas,
        "maxReplicas": s.max_replicas,
        "targetBacklogPerReplica": s.target_backlog_per_replica,
        "scaleUpStabilizationSeconds": s.scale_up_stabilization_s,
        "scaleDownStabilizationSeconds": s.scale_down_stabilization_s,
        "pollSeconds": s.poll_seconds,
    }
    pool = {
        "queues": [{"name": QUEUE}],
        "image": "blackroad-queues/worker:dev",  # the process kubelet runs it from the repo
        "handlers": "worker_runtime.examples",
        "imagePullPolicy": "IfNotPresent",
        "concurrency": s.concurrency,
        "terminationGracePeriodSeconds": 5,
        "autoscaling": scaling,
    }
    docs = [
        {"apiVersion": API_VERSION, "kind": "JobQueue", "metadata": {"name": QUEUE}, "spec": {}},
        {"apiVersion": API_VERSION, "kind": "WorkerPool", "metadata": {"name": POOL}, "spec": pool},
    ]
    return yaml.safe_dump_all(docs)


class _Watch:
    """Samples the pool's Deployment and the queue; remembers when each milestone was first seen."""

    def __init__(self, kube: KubeReader, client: Client, s: Settings) -> None:
        self.kube, self.client, self.s = kube, client, s
        self.t0 = 0.0
        self.spec = self.ready = 0
        self.backlog = 0
        self.timeline: list[dict[str, Any]] = []

    def deployment(self) -> tuple[int, int]:
        dep = self.kube.deployment(NAMESPACE, POOL) or {}
        spec = int((dep.get("spec") or {}).get("replicas") or 0)
        ready = int((dep.get("status") or {}).get("readyReplicas") or 0)
        return spec, ready

    async def sample(self) -> None:
        spec, ready = self.deployment()
        st = await self.client.stats(QUEUE)
        self.backlog = st.pending + st.running + st.delayed
        if (spec, ready) != (self.spec, self.ready) and self.t0:
            self.timeline.append(
                {
                    "t_s": round(time.monotonic() - self.t0, 2),
                    "replicas": spec,
                    "ready": ready,
                    "backlog": self.backlog,
                }
            )
        self.spec, self.ready = spec, ready

    async def until(self, what: str, done: Any) -> float:
        """Samples until ``done()``; seconds since the enqueue."""
        deadline = time.monotonic() + self.s.timeout_s
        while True:
            await self.sample()
            if done():
                return round(time.monotonic() - self.t0, 2)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no {what} within {self.s.timeout_s:.0f} s (replicas {self.spec}, "
                    f"ready {self.ready}, backlog {self.backlog})"
                )
            await asyncio.sleep(SAMPLE_S)


async def _wait_idle_at_minimum(w: _Watch, s: Settings) -> float:
    """Until the pool runs exactly minReplicas ready workers and the queue is empty, held for
    three polls (so the autoscaler's last recommendations are at the minimum too)."""
    t0 = time.monotonic()
    steady_since: float | None = None
    while True:
        await w.sample()
        ok = w.spec == s.min_replicas and w.ready == s.min_replicas and w.backlog == 0
        if not ok:
            steady_since = None
        elif steady_since is None:
            steady_since = time.monotonic()
        elif time.monotonic() - steady_since >= 3 * s.poll_seconds:
            return round(time.monotonic() - t0, 1)
        if time.monotonic() - t0 > s.timeout_s:
            raise TimeoutError(f"pool not idle at its minimum: {w.spec}/{w.ready}/{w.backlog}")
        await asyncio.sleep(0.2)


async def _burst(w: _Watch, client: Client, s: Settings) -> dict[str, Any]:
    """One burst on the idle pool, timed from the enqueue call."""
    idle_s = await _wait_idle_at_minimum(w, s)
    w.timeline = []
    specs = [JobSpec(QUEUE, s.handler, {"ms": s.handler_ms}) for _ in range(s.jobs)]
    w.t0 = time.monotonic()
    await client.enqueue_many(specs)
    enqueue_s = round(time.monotonic() - w.t0, 3)
    first = w.spec
    changed = await w.until("replicas change", lambda: w.spec != first)
    new = w.spec
    ready = await w.until(f"{new} ready replicas", lambda: w.ready >= new)
    drained = await w.until("drain", lambda: w.backlog == 0)
    back = await w.until(
        "return to minReplicas", lambda: w.spec == s.min_replicas and w.ready == s.min_replicas
    )
    dead = (await client.stats(QUEUE)).dead
    return {
        "idle_wait_s": idle_s,
        "enqueue_s": enqueue_s,
        "replicas_before": first,
        "a_replicas_changed_s": changed,
        "replicas_after_first_change": new,
        "b_ready_at_new_count_s": ready,
        "c_backlog_drained_s": drained,
        "d_back_at_min_s": back,
        "peak_replicas": max([new, *(e["replicas"] for e in w.timeline)]),
        "peak_ready_replicas": max([0, *(e["ready"] for e in w.timeline)]),
        "drain_jobs_per_s": round(s.jobs / drained) if drained else None,
        # The queue keeps 10,000 completed jobs (keep_completed), so no completed count here.
        "dead": dead,
        "timeline": list(w.timeline),
    }


def _stat(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def _measure(stack: Stack, s: Settings, rounds: int) -> dict[str, Any]:
    ns = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NAMESPACE}}}\n"
    stack.kubectl("apply", "-f", "-", input=ns)
    stack.apply_redis_secret(NAMESPACE)
    stack.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=_manifests(s))
    stack.kubectl(
        "wait",
        "-n",
        NAMESPACE,
        "--for=condition=Ready",
        f"jobqueue/{QUEUE}",
        "--timeout=90s",
        timeout=95,
    )
    kube = KubeReader(stack.kubeconfig)
    try:
        async with Client.from_url(stack.redis_url) as client:
            w = _Watch(kube, client, s)
            runs = [await _burst(w, client, s) for _ in range(rounds)]
    finally:
        kube.close()
    keys = (
        "a_replicas_changed_s",
        "b_ready_at_new_count_s",
        "c_backlog_drained_s",
        "d_back_at_min_s",
        "drain_jobs_per_s",
    )
    return {
        "settings": asdict(s),
        "rounds": rounds,
        "summary": {k: _stat([r[k] for r in runs]) for k in keys},
        "runs": runs,
    }


def _marked(value: str) -> list[int]:
    """Live pids whose environment has MARKER=value (Linux /proc)."""
    found, needle = [], f"{MARKER}={value}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and procs.alive(int(entry.name)):
            found.append(int(entry.name))
    return found


async def autoscaler(s: Settings | None = None, rounds: int = 3) -> dict[str, Any]:
    """Starts the stack (no examples, no demo producer), measures, and stops every process it
    started, on failure too."""
    s = s or Settings()
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="bench-autoscale-") as tmp:
        config = StackConfig(
            state_dir=Path(tmp),
            examples=False,
            operator_tick=s.operator_tick_s,
            status_interval=s.status_interval_s,
            env={MARKER: run_id},
        )
        stack = Stack(config)
        t0 = time.monotonic()
        try:
            stack.start()
            started_s = round(time.monotonic() - t0, 1)
            out = await _measure(stack, s, rounds)
            out["stack_start_s"] = started_s
        finally:
            stack.stop()
            left = _marked(run_id)
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    procs.kill_group(pid)
                    os.kill(pid, 9)
    if left:
        out["left_behind_killed"] = left
    return out
