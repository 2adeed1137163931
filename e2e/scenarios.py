"""The e2e scenarios, written once against a ``System``: the local stack or a kind cluster."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import yaml

from devstack.kube import KubeReader
from e2e.handlers import GATE_KEY
from worker_runtime.client import SyncClient
from worker_runtime.engine.connection import connect_sync
from worker_runtime.models import Job, JobSpec

API_VERSION = "queues.blackroad.io/v1alpha1"
JSON = dict[str, Any]


class System(Protocol):
    """What a scenario needs from the system under test."""

    #: Worker image and HANDLERS of the test pools.
    image: str
    handlers: str
    #: Redis as the test process reaches it (the pods may use another address).
    redis_url: str
    kube: KubeReader

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]: ...

    def workers(self, namespace: str, pool: str) -> list[str]:
        """Live worker processes of a pool (pids locally, pod names on a cluster)."""
        ...

    def alive(self, worker: str) -> bool:
        """Whether that worker still runs (a pod being deleted may still run its process)."""
        ...

    def kill_worker(self, worker: str) -> None:
        """SIGKILL one worker process."""
        ...

    def kill_operator(self) -> None:
        """SIGKILL the operator and have it come back, as a Deployment would."""
        ...


def log(message: str) -> None:
    print(f"[e2e] {message}", file=sys.__stderr__, flush=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def wait_for(check: Callable[[], Any], *, timeout: float = 30, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def cr(kind: str, name: str, spec: JSON) -> JSON:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def apply(system: System, namespace: str, *docs: JSON) -> None:
    system.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(docs))


def pool(system: System, name: str, queue: str, **spec: Any) -> JSON:
    base = {
        "queues": [{"name": queue}],
        "image": system.image,
        "handlers": system.handlers,
        "imagePullPolicy": "IfNotPresent",
        "concurrency": 20,
        "terminationGracePeriodSeconds": 5,
    }
    return cr("WorkerPool", name, {**base, **spec})


def replicas(system: System, namespace: str, name: str) -> int | None:
    dep = system.kube.deployment(namespace, name)
    return None if dep is None else int(dep["spec"].get("replicas", 0))


def condition(obj: JSON | None, type_: str) -> str:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return str(c.get("status"))
    return ""


def wait_queue_ready(system: System, namespace: str, name: str) -> None:
    wait_for(
        lambda: condition(system.kube.resource(namespace, "jobqueues", name), "Ready") == "True",
        what=f"JobQueue {name} Ready",
    )


def wait_workers(
    system: System, namespace: str, name: str, count: int, timeout: float = 60
) -> None:
    wait_for(
        lambda: len(system.workers(namespace, name)) == count,
        timeout=timeout,
        what=f"{count} live workers in pool {name}",
    )


def job_in(client: SyncClient, job_id: str, state: str) -> Job | None:
    job = client.get_job(job_id)
    return job if job is not None and job.state == state else None


def all_done(client: SyncClient, queue: str, total: int) -> bool:
    s = client.stats(queue)
    return s.completed == total and s.pending + s.delayed + s.running + s.dead == 0


# -- scenarios ------------------------------------------------------------------------------


def examples_run(system: System, namespace: str = "blackroad") -> None:
    """The applied examples: every queue Ready, the pool's worker runs jobs of each queue."""
    for queue in ("lucidia", "alice", "default"):
        wait_queue_ready(system, namespace, queue)
    wait_for(
        lambda: len(system.workers(namespace, "agents")) >= 1,
        timeout=90,
        what="a worker of the example pool",
    )
    wait_for(
        lambda: (
            condition(system.kube.resource(namespace, "schedules", "nightly-cleanup"), "Ready")
            == "True"
        ),
        what="the example Schedule Ready",
    )
    got = system.kubectl("get", "jq,wp,jsched", "-n", namespace).stdout
    assert "nightly-cleanup" in got and "agents" in got, got
    with SyncClient(system.redis_url) as client:
        before = {q: client.stats(q).completed for q in ("lucidia", "alice", "default")}
        ids = client.enqueue_many([JobSpec(q, "noop") for q in before for _ in range(10)])
        for e in ids:
            wait_for(
                partial(job_in, client, e.id, "completed"), timeout=60, what=f"example job {e.id}"
            )


def burst_scales_up_drains_and_returns(system: System, namespace: str, jobs: int = 2000) -> None:
    """2,000 jobs: Deployment replicas and worker processes go up, drain, back to minimum."""
    queue, name = unique("burst"), "burst"
    scaling = {
        "enabled": True,
        "minReplicas": 1,
        "maxReplicas": 4,
        "targetBacklogPerReplica": 100,
        "scaleDownStabilizationSeconds": 2,
        "pollSeconds": 1,
    }
    apply(
        system, namespace, cr("JobQueue", queue, {}), pool(system, name, queue, autoscaling=scaling)
    )
    wait_queue_ready(system, namespace, queue)
    wait_workers(system, namespace, name, 1, timeout=90)
    started = time.monotonic()
    with SyncClient(system.redis_url) as client:
        client.enqueue_many([JobSpec(queue, "e2e:sleep", {"ms": 150}) for _ in range(jobs)])
        seen_replicas, seen_workers, ever = 0, 0, set[str]()
        while not all_done(client, queue, jobs):
            seen_replicas = max(seen_replicas, replicas(system, namespace, name) or 0)
            live = system.workers(namespace, name)
            seen_workers, ever = max(seen_workers, len(live)), ever | set(live)
            assert time.monotonic() - started < 120, f"not drained: {client.stats(queue)}"
            time.sleep(0.2)
        log(
            f"{jobs} jobs drained in {time.monotonic() - started:.1f}s with up to "
            f"{seen_replicas} replicas and {seen_workers} worker processes"
        )
    assert seen_replicas > 1, "the Deployment never scaled up"
    assert seen_workers > 1, "no second worker process ever ran"
    wait_for(
        lambda: replicas(system, namespace, name) == 1,
        timeout=60,
        what="the Deployment back at minReplicas",
    )
    wait_for(
        lambda: (
            len(system.workers(namespace, name)) == 1 and sum(system.alive(w) for w in ever) <= 1
        ),
        timeout=60,
        what="the extra worker processes to exit",
    )
    st = (system.kube.resource(namespace, "workerpools", name) or {}).get("status") or {}
    assert st.get("desiredReplicas") == 1, st


def dead_letter_then_cli_retry(system: System, namespace: str) -> None:
    """A failing job lands in the dead letters; `blackroad dlq retry` completes it."""
    queue, gate = unique("dlq"), unique("gate")
    apply(
        system,
        namespace,
        cr("JobQueue", queue, {"maxAttempts": 1}),
        pool(system, "dlq", queue, replicas=1, autoscaling={"enabled": False}),
    )
    wait_queue_ready(system, namespace, queue)
    with SyncClient(system.redis_url) as client:
        job = client.enqueue(queue, "e2e:gated", {"gate": gate})
        wait_for(
            partial(job_in, client, job.id, "dead"), timeout=90, what="the job in the dead letters"
        )
        assert [j.id for j in client.dead_letters(queue)] == [job.id]
        conn = connect_sync(system.redis_url)
        conn.set(GATE_KEY.format(gate), "open")
        conn.close()
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "worker_runtime",
                "--redis-url",
                system.redis_url,
                "dlq",
                "retry",
                queue,
                job.id,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert cli.returncode == 0, cli.stderr
        done = wait_for(
            partial(job_in, client, job.id, "completed"),
            timeout=60,
            what="the retried job to complete",
        )
        assert done.result == "passed"
        assert client.dead_letters(queue) == []


def delete_pool_stops_workers(system: System, namespace: str) -> None:
    """`kubectl delete workerpool` removes the Deployment and stops its processes."""
    queue = unique("del")
    apply(
        system,
        namespace,
        cr("JobQueue", queue, {}),
        pool(system, "doomed", queue, replicas=2, autoscaling={"enabled": False}),
    )
    wait_workers(system, namespace, "doomed", 2, timeout=90)
    doomed = system.workers(namespace, "doomed")
    system.kubectl("delete", "workerpool", "doomed", "-n", namespace, "--wait=true")
    wait_for(
        lambda: system.kube.deployment(namespace, "doomed") is None,
        timeout=60,
        what="the Deployment to go",
    )
    wait_for(
        lambda: not any(system.alive(w) for w in doomed),
        timeout=60,
        what=f"the pool's workers {doomed} to stop",
    )
    assert system.workers(namespace, "doomed") == []


def chaos_every_job_completes(system: System, namespace: str, jobs: int = 400) -> None:
    """SIGKILL the operator and one worker mid-run: every job still completes once."""
    queue, name = unique("chaos"), "chaos"
    apply(
        system,
        namespace,
        cr("JobQueue", queue, {"leaseMs": 2000, "maxAttempts": 5}),
        pool(system, name, queue, concurrency=10, replicas=2, autoscaling={"enabled": False}),
    )
    wait_queue_ready(system, namespace, queue)
    wait_workers(system, namespace, name, 2, timeout=90)
    with SyncClient(system.redis_url) as client:
        client.enqueue_many([JobSpec(queue, "e2e:sleep", {"ms": 300}) for _ in range(jobs)])
        wait_for(
            lambda: client.stats(queue).completed >= jobs // 5,
            timeout=60,
            what="the run to be under way",
        )
        victim = system.workers(namespace, name)[0]
        system.kill_operator()
        system.kill_worker(victim)
        log(f"killed the operator and worker {victim} at {client.stats(queue)}")
        wait_for(
            lambda: all_done(client, queue, jobs), timeout=120, what=f"all {jobs} jobs completed"
        )
    # The restarted operator reconciles again: the pool is back to two live workers.
    wait_workers(system, namespace, name, 2, timeout=90)
    wait_for(
        lambda: (
            ((system.kube.resource(namespace, "jobqueues", queue) or {}).get("status") or {}).get(
                "pending"
            )
            == 0
        ),
        timeout=60,
        what="the restarted operator to refresh the queue's status",
    )


def schedule_fires_on_time(system: System, namespace: str) -> None:
    """A Schedule firing every 2 s: each run is enqueued within a second of its tick, and runs."""
    queue = unique("sched")
    every = {"cron": "*/2 * * * * *", "queue": queue, "jobName": "e2e:sleep", "payload": {"ms": 1}}
    apply(
        system,
        namespace,
        cr("JobQueue", queue, {}),
        pool(system, "sched", queue, replicas=1, autoscaling={"enabled": False}),
        cr("Schedule", "every-2s", every),
    )

    def status() -> JSON:
        got = system.kube.resource(namespace, "schedules", "every-2s") or {}
        return got.get("status") or {}

    wait_for(lambda: (status().get("runs") or 0) >= 3, timeout=60, what="three runs")
    run_ids = set()
    with SyncClient(system.redis_url) as client:
        for _ in range(2):
            job_id = status()["lastJobId"]
            assert job_id.startswith(f"sched:{namespace}/every-2s:"), job_id
            tick_ms = int(job_id.rsplit(":", 1)[1])
            assert tick_ms % 2000 == 0, job_id
            job = wait_for(
                partial(job_in, client, job_id, "completed"),
                timeout=30,
                what=f"run {job_id} to complete",
            )
            late_ms = job.enqueued_ms - tick_ms
            assert 0 <= late_ms < 1000, f"run {job_id} enqueued {late_ms} ms after its tick"
            run_ids.add(job_id)
            wait_for(partial(_moved_on, status, job_id), timeout=10, what="the next tick")
    assert len(run_ids) == 2
    assert condition(system.kube.resource(namespace, "schedules", "every-2s"), "Ready") == "True"


def _moved_on(status: Callable[[], JSON], job_id: str) -> bool:
    return status().get("lastJobId") != job_id


def invalid_queue_refused(system: System, namespace: str) -> None:
    """The API server refuses an invalid JobQueue and names the field."""
    for spec, field in (
        ({"maxAttempts": 0}, "spec.maxAttempts"),
        ({"fairness": "random"}, "spec.fairness"),
    ):
        bad = system.kubectl(
            "apply",
            "-n",
            namespace,
            "-f",
            "-",
            check=False,
            input=yaml.safe_dump(cr("JobQueue", "bad", spec)),
        )
        assert bad.returncode != 0 and field in bad.stderr, bad.stderr
    got = system.kubectl("get", "jobqueue", "bad", "-n", namespace, check=False)
    assert got.returncode != 0, "the invalid JobQueue was stored"
