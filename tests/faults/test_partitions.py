"""Network partitions between real worker processes and Redis (in its own namespace) in the
middle of a drain: no job dies that never ran, none is lost, duplicates stay within the
jobs in flight, and readiness drops during the cut and comes back by itself."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from devstack.rediscluster import queue_on_slot_range
from tests.engine.invariants import check_queue
from tests.faults.netns import FAULTS, Fault, IsolatedCluster, IsolatedRedis, require_netns
from tests.worker.fleet import Fleet
from worker_runtime import JobSpec, SyncClient
from worker_runtime.engine.connection import connect_sync
from worker_runtime.errors import RedisUnavailableError

pytestmark = pytest.mark.slow

JOBS = 3000
WORKERS = 2
CUT_S = 8.0
CONCURRENCY = 10
#: One queue on each master of the cluster.
SPREAD = [queue_on_slot_range(i, prefix=f"part{i}-") for i in range(3)]


@pytest.fixture
def isolated(tmp_path: Path) -> Iterator[IsolatedRedis]:
    require_netns()
    (tmp_path / "redis").mkdir()
    server = IsolatedRedis(tmp_path / "redis")
    try:
        server.start()
        yield server
    finally:
        server.close()


class ReadyWatch:
    """Polls every worker's /readyz in a thread; records (monotonic time, worker, ready)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.seen: list[tuple[float, int, bool | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            for i in range(WORKERS):
                self.seen.append((time.monotonic(), i, self.fleet.ready(i)))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def first(self, worker: int, after: float, ready: bool) -> float | None:
        return next((t for t, i, s in self.seen if i == worker and t >= after and s is ready), None)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_partition_mid_drain_kills_no_job_that_never_ran(
    isolated: IsolatedRedis, tmp_path: Path, fault: Fault
) -> None:
    _drain_through_a_cut(isolated, ["q"], tmp_path, fault)


@pytest.fixture
def isolated_cluster(tmp_path: Path) -> Iterator[IsolatedCluster]:
    require_netns()
    (tmp_path / "cluster").mkdir()
    cluster = IsolatedCluster(tmp_path / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.mark.parametrize("fault", FAULTS)
def test_a_partition_of_a_cluster_mid_drain_kills_no_job_that_never_ran(
    isolated_cluster: IsolatedCluster, tmp_path: Path, fault: Fault
) -> None:
    """The three masters in one namespace, the workers on the host: every master's client
    port cut for 8 s (the cluster bus, inside the namespace, keeps the cluster ok)."""
    _drain_through_a_cut(isolated_cluster, SPREAD, tmp_path, fault)


def _drain_through_a_cut(
    server: IsolatedRedis | IsolatedCluster, queues: list[str], tmp_path: Path, fault: Fault
) -> None:
    c = SyncClient(server.url)
    r = cast(redis.Redis, connect_sync(server.url, decode_responses=True))
    fleet = Fleet(
        server.url, tmp_path, queues=",".join(queues), concurrency=CONCURRENCY, health=True
    )
    watch: ReadyWatch | None = None
    try:
        for q in queues:
            c.configure(q, lease_ms=3000, max_attempts=1)
        specs = [JobSpec(queues[n % len(queues)], "work", {"s": 0.03}) for n in range(JOBS)]
        ids = [e.id for e in c.enqueue_many(specs)]
        for i in range(WORKERS):
            fleet.start(i)
        fleet.wait_until(lambda: all(fleet.ready(i) for i in range(WORKERS)), 60)
        watch = ReadyWatch(fleet)
        fleet.wait_until(lambda: len(fleet.executions("start")) >= JOBS // 3, 120)
        started, done = fleet.executions("start"), fleet.executions("done")
        in_flight = len(set(started) - set(done))
        cut_at, cut_ms = time.monotonic(), int(time.time() * 1000)
        with server.partitioned(fault):
            time.sleep(CUT_S)
        healed_at = time.monotonic()
        client_errors: list[str] = []
        fleet.wait_until(lambda: _finished(c, queues, client_errors) == JOBS, 240)
        fleet.wait_until(lambda: all(fleet.ready(i) for i in range(WORKERS)), 60)
        watch.close()

        queue_of: dict[str, str] = {}
        states: dict[str, str] = {}
        for q in queues:
            found = check_queue(r, q)  # I1: every job in exactly one state set
            states.update(found)
            queue_of.update(dict.fromkeys(found, q))
        assert set(states) == set(ids), "a job was lost"
        assert set(states.values()) <= {"completed", "dead"}
        starts = fleet.executions("start")
        dead = [i for i, s in states.items() if s == "dead"]
        never_ran = [i for i in dead if i not in starts]
        hist = [r.hget(f"brq:{{{queue_of[i]}}}:hist", i) for i in never_ran[:3]]
        assert never_ran == [], f"{len(never_ran)} dead without running: {hist} (cut at {cut_ms})"
        duplicates = sum(n - 1 for n in starts.values())
        # Only a job held at the cut may run twice (its lease ran out meanwhile); the log's
        # count of them lags by a few, so bound it by every slot.
        assert duplicates <= WORKERS * CONCURRENCY, "more reruns than jobs held at the cut"
        reasons = {r.hget(f"brq:{{{queue_of[i]}}}:reason", i) for i in dead}

        detected = [watch.first(i, cut_at, False) for i in range(WORKERS)]
        assert all(t is not None for t in detected), "a worker never reported not-ready"
        # The bound (the watchdog's is the 5 s socket timeout): not ready within 10 s
        # of the cut, and ready again with no restart, the same processes as before.
        late = [round(t - cut_at, 1) for t in detected if t is not None and t - cut_at > 10]
        assert late == [], f"not ready only {late} s after the cut"
        back = [watch.first(i, healed_at, True) for i in range(WORKERS)]
        assert all(t is not None for t in back), "a worker did not report ready after healing"
        assert fleet.starts == WORKERS and all(fleet.alive(i) for i in range(WORKERS))
        print(
            f"\n{fault} {CUT_S:g} s mid-drain of {JOBS} jobs on {len(queues)} queue(s) "
            f"({in_flight} in flight): "
            f"not ready after {', '.join(f'{t - cut_at:.1f}' for t in detected if t)} s; "
            f"ready {', '.join(f'{t - healed_at:.1f}' for t in back if t)} s after healing; "
            f"dead {len(dead)} (never ran 0, reasons {sorted(map(str, reasons))}); "
            f"duplicates {duplicates}; lost 0; {_handed_back(tmp_path)} jobs of unanswered "
            f"claims handed back uncharged; the test's own client failed {len(client_errors)} "
            f"times after healing {sorted(set(client_errors))[:2]}"
        )
    finally:
        if watch is not None:
            watch.close()
        fleet.close()
        c.close()
        r.close()


def _finished(c: SyncClient, queues: list[str], errors: list[str]) -> int:
    """Jobs that ended; -1 when this (producer's) client got an error, which is counted:
    the workers are under test here, and the producer's errors are reported."""
    try:
        return sum(s.completed + s.dead for s in map(c.stats, queues))
    except RedisUnavailableError as exc:
        errors.append(str(exc))
        return -1


def _handed_back(workdir: Path) -> int:
    found = re.compile(r"handed back (\d+) jobs")
    logs = (log.read_text() for log in workdir.glob("worker-*.log"))
    return sum(int(m[1]) for text in logs for m in found.finditer(text))
