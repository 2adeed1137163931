"""Dependencies on jobs of other queues (one Redis): the script that finishes the last
dependency releases or cancels the dependant in its own queue in the same atomic step."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devstack.localredis import free_port
from worker_runtime import SyncClient
from worker_runtime.engine import writes
from worker_runtime.errors import InvalidArgumentError
from worker_runtime.models import JobSpec, JobState


def _finish(c: SyncClient, queue: str, job_id: str, outcome: str = "complete") -> None:
    """Claims the pending jobs of ``queue``, finishes ``job_id`` and releases the others."""
    claimed = c.run(writes.claim(queue, "w", 1000)).jobs
    mine = [j for j in claimed if j.id == job_id]
    assert mine, f"{job_id} was not pending in {queue}"
    others = [(j.id, j.token) for j in claimed if j.id != job_id]
    if others:
        c.run(writes.release(queue, others))
    job = mine[0]
    if outcome == "complete":
        assert c.run(writes.complete(queue, "w", [(job.id, job.token, "1")])) == [1]
    else:
        c.run(writes.fail(queue, job.id, job.token, reason="Boom", error="boom", permanent=True))


def _state(c: SyncClient, queue: str, job_id: str) -> JobState:
    job = c.get_job(job_id, queue)
    assert job is not None
    return job.state


def test_a_dependant_waits_for_jobs_of_two_other_queues(
    sync_client: SyncClient, r: redis.Redis
) -> None:
    c = sync_client
    a = c.enqueue("xa", "a").id
    b = c.enqueue("xb", "b").id
    own = c.enqueue("xc", "own").id
    child = c.enqueue("xc", "child", depends_on=[("xa", a), ("xb", b), own, ("xc", own)]).id
    info = c.get_job(child, "xc")
    assert info is not None and info.state is JobState.WAITING
    # The same queue named explicitly is a plain id; others read "<queue> <id>".
    assert info.depends_on == [f"xa {a}", f"xb {b}", own]
    parent = c.get_job(a, "xa")
    assert parent is not None and parent.dependants == [f"xc {child}"]
    _finish(c, "xa", a)
    _finish(c, "xc", own)
    info = c.get_job(child, "xc")
    assert info is not None and info.waiting_on == [f"xb {b}"]
    assert c.stats("xc").waiting == 1
    listener = r.pubsub()  # type: ignore[no-untyped-call]  # untyped in redis-py
    listener.subscribe("brq:{xc}:events", "brq:{xc}:wake")
    _finish(c, "xb", b)
    assert _state(c, "xc", child) is JobState.PENDING
    # The dependant's queue hears of it on its own channels: its workers wake.
    heard = [listener.get_message(timeout=1.0) for _ in range(4)]
    listener.close()
    data = [str(m["data"]) for m in heard if m and m["type"] == "message"]
    assert any('"released"' in d and child in d for d in data), data
    assert "1" in data
    _finish(c, "xc", child)
    assert _state(c, "xc", child) is JobState.COMPLETED


@pytest.mark.parametrize("policy", ["cancel", "run", "wait"])
def test_policies_apply_across_queues(sync_client: SyncClient, policy: str) -> None:
    c = sync_client
    dep = c.enqueue("ya", "dep").id
    child = c.enqueue("yb", "child", depends_on=[("ya", dep)], on_dependency_failure=policy).id  # type: ignore[arg-type]
    grandchild = c.enqueue("yc", "grand", depends_on=[("yb", child)]).id
    _finish(c, "ya", dep, "fail")
    info = c.get_job(child, "yb")
    assert info is not None and info.dependency_note is not None
    assert f"dependency ya {dep} ended dead" in info.dependency_note
    expected = {"cancel": JobState.CANCELLED, "run": JobState.PENDING, "wait": JobState.WAITING}
    assert info.state is expected[policy]
    # A cancel cascades into the third queue in the same step.
    grand = JobState.CANCELLED if policy == "cancel" else JobState.WAITING
    assert _state(c, "yc", grandchild) is grand
    if policy == "wait":
        c.retry(dep, "ya")
        _finish(c, "ya", dep)
        assert _state(c, "yb", child) is JobState.PENDING


def test_finished_dependencies_of_other_queues_count_at_once(sync_client: SyncClient) -> None:
    c = sync_client
    done = c.enqueue("za", "done").id
    _finish(c, "za", done)
    dead = c.enqueue("za", "dead").id
    _finish(c, "za", dead, "fail")
    assert _state(c, "zb", c.enqueue("zb", "x", depends_on=[("za", done)]).id) is JobState.PENDING
    cancelled = c.enqueue("zb", "y", depends_on=[("za", done), ("za", dead)]).id
    assert _state(c, "zb", cancelled) is JobState.CANCELLED


def test_purging_or_cancelling_a_dependency_of_another_queue(sync_client: SyncClient) -> None:
    c = sync_client
    d1, d2 = c.enqueue("pa", "d1").id, c.enqueue("pa", "d2").id
    waits = c.enqueue("pb", "w", depends_on=[("pa", d1)], on_dependency_failure="wait").id
    runs = c.enqueue("pb", "r", depends_on=[("pa", d2)], on_dependency_failure="run").id
    c.cancel(d2, "pa")
    assert _state(c, "pb", runs) is JobState.PENDING
    c.purge("pa", ["pending"])
    assert _state(c, "pb", waits) is JobState.CANCELLED  # nothing is left to retry


def test_unknown_dependency_of_another_queue_writes_nothing(
    sync_client: SyncClient, r: redis.Redis
) -> None:
    c = sync_client
    a = c.enqueue("qa", "a").id
    before = sorted(map(str, r.keys()))
    with pytest.raises(InvalidArgumentError, match="no job nope in queue 'qa'") as exc:
        c.enqueue("qb", "child", depends_on=[("qa", a), ("qa", "nope")])
    assert exc.value.field == "depends_on"
    with pytest.raises(InvalidArgumentError, match=r"no job .* in queue 'qb'"):
        c.enqueue("qb", "child", depends_on=[a])  # a bare id is of the job's own queue
    assert sorted(map(str, r.keys())) == before
    for bad in [("qa",), ("qa", a, "x"), ("bad name", a), ("qa", 7), ("qa", "a b")]:
        with pytest.raises(InvalidArgumentError, match="depends_on") as exc:
            c.enqueue("qb", "child", depends_on=[bad])  # type: ignore[list-item]
        assert exc.value.field == "depends_on"
    with pytest.raises(InvalidArgumentError, match="itself"):
        c.enqueue("qb", "child", job_id="me", depends_on=[("qb", "me")])
    # Another queue's job of the same id is not the job itself.
    c.enqueue("qa", "same", job_id="me")
    assert _state(c, "qb", c.enqueue("qb", "c", job_id="me", depends_on=[("qa", "me")]).id) is (
        JobState.WAITING
    )


def test_deleting_the_dependants_queue_breaks_nothing(
    sync_client: SyncClient, r: redis.Redis
) -> None:
    c = sync_client
    dep = c.enqueue("da", "dep").id
    c.enqueue("db", "child", depends_on=[("da", dep)])
    c.enqueue_many([JobSpec("db", "other", depends_on=[("da", dep)], on_dependency_failure="run")])
    assert c.delete_queue("db") == 2
    _finish(c, "da", dep)
    job = c.get_job(dep, "da")
    assert job is not None and job.state is JobState.COMPLETED
    assert not [k for k in map(str, r.keys()) if "{db}" in k]  # nothing recreated there


@pytest.fixture
def cluster_node(tmp_path: Path) -> Iterator[str]:
    """A one-node Redis Cluster holding every slot (a plain client reaches all of them)."""
    proc, port = _start_cluster_node(tmp_path)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _start_cluster_node(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Started and serving every slot; a port another process took meanwhile (free_port
    only finds one that was free) means another try on a new port, never an endless wait."""
    binary = shutil.which("redis-server")
    assert binary is not None
    for attempt in range(3):
        port = free_port()
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
        args += ["--dir", str(workdir), "--save", "", "--appendonly", "no"]
        args += ["--cluster-config-file", f"nodes-{attempt}.conf"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn = redis.Redis(port=port, decode_responses=True, socket_timeout=2, retry=NO_RETRY)
        try:
            if _serve_every_slot(proc, conn):
                return proc, port
        finally:
            conn.close()
        proc.terminate()
        proc.wait(timeout=10)
    raise AssertionError("a one-node Redis Cluster did not start in 3 tries")


#: One try per command: the loop around it is the retry, bounded by its deadline.
NO_RETRY = Retry(NoBackoff(), 0)


def _serve_every_slot(proc: subprocess.Popen[bytes], conn: redis.Redis) -> bool:
    deadline = time.monotonic() + 15
    added = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if not added:
                conn.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)  # type: ignore[no-untyped-call]
                added = True
            if "cluster_state:ok" in str(conn.execute_command("CLUSTER", "INFO")):  # type: ignore[no-untyped-call]
                return True
        except redis.ConnectionError:
            pass
        time.sleep(0.02)
    return False


def test_a_cluster_refuses_dependencies_across_queues(cluster_node: str) -> None:
    with SyncClient(cluster_node) as c:
        a = c.enqueue("ka", "a").id
        with pytest.raises(InvalidArgumentError, match="need a single Redis") as exc:
            c.enqueue("kb", "child", depends_on=[("ka", a)])
        assert exc.value.field == "depends_on"
        assert c.stats("ka").pending == 1 and "kb" not in c.queues()
        # Within one queue nothing changed: one slot, as before.
        child = c.enqueue("ka", "child", depends_on=[a]).id
        assert _state(c, "ka", child) is JobState.WAITING
