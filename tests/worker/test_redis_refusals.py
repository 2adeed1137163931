"""A Redis that refuses commands (OOM at maxmemory, MISCONF on a full disk, READONLY on a
replica) is an outage to a worker process: it stays up, reports not ready, keeps what it
could not store, and finishes every acknowledged job by itself once Redis serves again."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import in_ci
from tests.engine.invariants import check_queue
from tests.redis_server import RedisServer
from tests.worker.fleet import Fleet
from worker_runtime import JobSpec, SyncClient
from worker_runtime.engine import reads
from worker_runtime.engine.keys import QueueKeys
from worker_runtime.errors import RedisUnavailableError, StorageFullError

pytestmark = pytest.mark.slow

JOBS = 600
#: How long Redis keeps refusing; short enough that no lease (30 s) runs out meanwhile.
REFUSAL_S = 4.0


@dataclass
class Figures:
    not_ready_after_s: float
    ready_again_after_s: float
    drained_after_s: float
    refused_enqueues: int
    #: Jobs that had run but whose completion Redis had refused when it served again.
    kept_outcomes: int

    def show(self, what: str) -> str:
        return (
            f"\n{what}: not ready {self.not_ready_after_s:.2f}s after Redis refused, ready "
            f"{self.ready_again_after_s:.2f}s and drained {self.drained_after_s:.2f}s after "
            f"it served again; {self.refused_enqueues} enqueues refused, "
            f"{self.kept_outcomes} completions kept until then"
        )


@pytest.fixture
def fleets() -> Iterator[list[Fleet]]:
    made: list[Fleet] = []
    yield made
    for f in made:
        f.close()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``predicate`` held; fails the test after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout}s"
        time.sleep(0.05)
    return time.monotonic() - started


def _ride_out(
    url: str,
    tmp_path: Path,
    fleets: list[Fleet],
    refuse: Callable[[], object],
    serve: Callable[[], object],
    refusal: type[RedisUnavailableError],
    *,
    keeps_outcomes: bool,
) -> Figures:
    """Drains JOBS jobs with one worker process; Redis refuses for REFUSAL_S meanwhile while
    a producer keeps enqueueing. Checks the worker's side and returns the figures."""
    c = SyncClient(url)
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        c.configure("q", max_attempts=20, backoff_base_ms=100)
        acknowledged = [e.id for e in c.enqueue_many([JobSpec("q", "work", {"s": 0.05})] * JOBS)]
        fleet = Fleet(url, tmp_path, concurrency=10, health=True)
        fleets.append(fleet)
        fleet.start(0)
        _wait(lambda: fleet.ready(0) is True and len(fleet.executions()) > 50, 30, "started")

        refuse()
        refused_at = time.monotonic()
        refused = 0
        while time.monotonic() - refused_at < REFUSAL_S:
            try:
                acknowledged.append(c.enqueue("q", "work", {"s": 0.05}).id)
            except refusal as exc:
                assert type(exc) is refusal, exc
                refused += 1
            if fleet.ready(0) is False:
                break
            time.sleep(0.05)
        not_ready = time.monotonic() - refused_at
        assert fleet.ready(0) is False, "still ready while Redis refuses"
        assert refused > 0, "the producer got no typed error"
        while time.monotonic() - refused_at < REFUSAL_S:
            assert fleet.alive(0), f"the worker exited; logs in {tmp_path}"
            assert fleet.ready(0) is False, "ready while Redis refuses"
            time.sleep(0.1)

        # Plain reads: the client's own (MULTI) are refused at maxmemory too.
        kept = len(fleet.executions()) - int(r.zcard(QueueKeys.of("q").completed))
        # At maxmemory Redis still takes completions (complete.lua's first write frees
        # memory); with MISCONF it takes no write at all, so some outcomes waited.
        assert kept > 0 or not keeps_outcomes, "no completion was refused: too late a fault"
        serve()
        served_at = time.monotonic()
        ready_again = _wait(lambda: fleet.ready(0) is True, 30, "ready again")
        _wait(lambda: c.stats("q").completed >= len(acknowledged), 120, "drained")
        drained = time.monotonic() - served_at

        states = check_queue(r, "q")
        assert {states[i] for i in acknowledged} == {"completed"}, "an acknowledged job is lost"
        assert set(fleet.executions()) >= set(acknowledged)
        assert fleet.alive(0) and fleet.starts == 1, "the worker was restarted"
        return Figures(not_ready, ready_again, drained, refused, kept)
    finally:
        c.close()
        r.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


def test_maxmemory_reached_while_draining(
    own_redis: RedisServer, tmp_path: Path, fleets: list[Fleet]
) -> None:
    admin = redis.Redis.from_url(own_redis.url)

    def refuse() -> object:
        used = int(admin.info("memory")["used_memory"])
        return admin.config_set("maxmemory", used // 2)  # noeviction (the default): writes refused

    try:
        figures = _ride_out(
            own_redis.url,
            tmp_path,
            fleets,
            refuse,
            lambda: admin.config_set("maxmemory", "512mb"),
            StorageFullError,
            keeps_outcomes=False,
        )
        print(figures.show("maxmemory"))
    finally:
        admin.close()


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (needs root); in CI its absence is a failure, elsewhere a skip."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        why = f"cannot mount a tmpfs (root needed): {done.stderr.strip()}"
        if in_ci():
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_aof_disk_full_while_draining(
    small_tmpfs: Path, tmp_path: Path, fleets: list[Fleet]
) -> None:
    server = RedisServer(small_tmpfs, aof=True)
    server.start()
    filler = small_tmpfs / "filler"

    def refuse() -> None:
        # Fills what is left of the disk; the AOF's next write fails: MISCONF.
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={filler}", "bs=16k"], capture_output=True, check=False
        )

    try:
        figures = _ride_out(
            server.url,
            tmp_path,
            fleets,
            refuse,
            lambda: filler.unlink(),
            StorageFullError,
            keeps_outcomes=True,
        )
        print(figures.show("AOF disk full"))
    finally:
        server.stop()


def test_a_worker_on_a_replica_waits_for_the_failover(
    own_redis: RedisServer, tmp_path: Path, fleets: list[Fleet]
) -> None:
    (tmp_path / "replica").mkdir()
    replica = RedisServer(tmp_path / "replica")
    replica.start()
    primary = SyncClient(own_redis.url)
    on_replica = SyncClient(replica.url)
    r = redis.Redis.from_url(replica.url, decode_responses=True)
    try:
        r.replicaof("127.0.0.1", own_redis.port)
        ids = [e.id for e in primary.enqueue_many([JobSpec("q", "work", {"s": 0.01})] * 200)]
        # Until the registry has replicated, the replica does not know the queue at all.
        _wait(lambda: on_replica.run(reads.stats("q")).pending == 200, 10, "replicated")
        with pytest.raises(RedisUnavailableError, match=r"^READONLY ") as caught:
            on_replica.enqueue("q", "work", {})
        assert not isinstance(caught.value, StorageFullError)

        fleet = Fleet(replica.url, tmp_path, concurrency=10, health=True)
        fleets.append(fleet)
        fleet.start(0)
        _wait(lambda: fleet.ready(0) is not None, 30, "health server up")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert fleet.alive(0), f"the worker exited; logs in {tmp_path}"
            assert fleet.ready(0) is False, "ready on a read-only replica"
            time.sleep(0.1)
        assert not fleet.executions("start"), "a job ran without a lease"

        r.replicaof("NO", "ONE")  # the failover: the replica is the primary now
        promoted_at = time.monotonic()
        ready_after = _wait(lambda: fleet.ready(0) is True, 30, "ready after the failover")
        _wait(lambda: on_replica.stats("q").completed == 200, 60, "drained")
        assert {check_queue(r, "q")[i] for i in ids} == {"completed"}
        assert fleet.alive(0) and fleet.starts == 1
        print(
            f"\nREADONLY: ready {ready_after:.2f}s and drained "
            f"{time.monotonic() - promoted_at:.2f}s after the failover"
        )
    finally:
        primary.close()
        on_replica.close()
        r.close()
        replica.stop()
