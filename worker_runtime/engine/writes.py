"""Builders of the engine's state transitions: which Lua script to call with which keys
and arguments, and how to read its answer (return codes become exceptions here).

Each op names its script's keys (see ``keys.SCRIPT_KEYS``); the store puts them in order.
Reads live in ``reads``, job validation in ``prepare``; both are re-exported so callers
need only ``from worker_runtime.engine import writes``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from worker_runtime import errors
from worker_runtime.engine.keys import (
    WORKERS,
    QueueKeys,
    limiter_key,
    limiter_log_key,
    worker_key,
)
from worker_runtime.engine.operation import Op, loads, parse_record
from worker_runtime.engine.prepare import PreparedJob, new_job_id, prepare
from worker_runtime.engine.reads import (
    job_info,
    jobs_info,
    live_workers,
    locate,
    read_config,
    stats,
    worker_descriptions,
)
from worker_runtime.models import ClaimedJob, Enqueued, EnqueueOutcome

__all__ = [
    "Op",
    "PreparedJob",
    "job_info",
    "jobs_info",
    "live_workers",
    "locate",
    "new_job_id",
    "parse_record",
    "prepare",
    "read_config",
    "stats",
    "worker_descriptions",
]

#: Most jobs sent in one enqueue script call; larger batches are split and pipelined.
ENQUEUE_CHUNK = 1000
#: Most jobs one claim, heartbeat, complete or release call may carry: Redis's Lua cannot
#: unpack more than about 8,000 values, and a script that fails halfway has already
#: written what it wrote (the claim script also caps itself).
MAX_BATCH = 1000
#: The name given to a claimed job whose record cannot be read.
UNDECODABLE = "(undecodable record)"
#: Most delayed jobs promoted by one claim call.
PROMOTE_LIMIT = 1000


def _check_batch(n: int) -> None:
    if n > MAX_BATCH:
        raise errors.InvalidArgumentError(f"batch: at most {MAX_BATCH} jobs per call, got {n}")


#: The enqueuedeps script's code for a dependency that names no job.
UNKNOWN_DEPENDENCY = -12

#: Its code for a dependency of another queue on a Redis Cluster (single Redis only).
CROSS_QUEUE_ON_CLUSTER = -13

_OUTCOMES: dict[int, EnqueueOutcome] = {1: "created", 0: "exists", 2: "deduplicated"}


@lru_cache(maxsize=4096)
def _script_keys(queue: str, script: str, limiter: str | None = None) -> Mapping[str, str]:
    """The keys of a script call on ``queue`` (with its shared ``limiter``), built once: a
    read-only view that every call shares, so the store also knows its KEYS list by it."""
    k = QueueKeys.of(queue)
    if limiter is None:
        return MappingProxyType(k.for_script(script))
    shared = {"limiter": limiter_log_key(limiter), "shared_limiter": limiter_key(limiter)}
    return MappingProxyType(k.for_script(script, **shared))


def enqueue(queue: str, jobs: Sequence[PreparedJob]) -> Op[list[Enqueued]]:
    _check_batch(len(jobs))
    k = QueueKeys.of(queue)
    # Jobs with dependencies take the heavier script; the common enqueue stays light.
    script = "enqueuedeps" if any(j.depends_on for j in jobs) else "enqueue"
    args: list[str | int | float] = [k.wake, len(jobs)]
    for j in jobs:
        args += [j.id, j.priority, j.delay_ms, j.run_at_ms, j.dedupe_key, j.body]
        if script == "enqueuedeps":
            args += ["\n".join(j.depends_on), j.dependency_policy]
    args += _counter_runs(jobs)

    def parse(reply: list[Any]) -> list[Enqueued]:
        if reply and int(reply[0]) == UNKNOWN_DEPENDENCY:
            dep_queue, _, dep = jobs[int(reply[1])].depends_on[int(reply[2])].rpartition(" ")
            raise errors.InvalidArgumentError(
                f"depends_on: no job {dep} in queue {dep_queue or queue!r} (a job may depend "
                "only on existing jobs, or on earlier jobs of its queue in the same call)",
                field="depends_on",
            )
        if reply and int(reply[0]) == CROSS_QUEUE_ON_CLUSTER:
            dep_queue, _, dep = jobs[int(reply[1])].depends_on[int(reply[2])].rpartition(" ")
            raise errors.InvalidArgumentError(
                f"depends_on: job {dep} is in queue {dep_queue!r}; dependencies across queues "
                "need a single Redis (this is a Redis Cluster): depend on jobs of the same queue",
                field="depends_on",
            )
        if reply and int(reply[0]) < 0:
            job = jobs[int(reply[1])]
            # A generated id names a job that was never created: say only what was refused.
            which = "job" if job.generated_id else f"job {job.id}"
            raise errors.error_for(int(reply[0]), f"{which} ({job.payload_bytes} bytes)")
        return [
            Enqueued(str(reply[i + 1]), queue, int(reply[i]) == 1, _OUTCOMES[int(reply[i])])
            for i in range(0, len(reply), 2)
        ]

    return Op(parse, script, _script_keys(queue, script), args)


def _counter_runs(jobs: Sequence[PreparedJob]) -> list[str | int | float]:
    """The enqueue counters' fields as runs of consecutive jobs: ``m, field, length, ...``;
    a bulk enqueue of one name and priority is one run (one HINCRBY in the script)."""
    runs: list[str | int | float] = []
    last = None
    for j in jobs:
        field = f"{j.priority}\n{j.name}"
        if field == last:
            runs[-1] = int(runs[-1]) + 1
        else:
            runs += [field, 1]
            last = field
    return [len(runs) // 2, *runs]


@dataclass(frozen=True)
class ClaimResult:
    jobs: list[ClaimedJob]
    lease_ms: int
    paused: bool
    #: Milliseconds until the next delayed job is due; None when nothing is delayed.
    next_due_ms: int | None
    #: The Redis clock when the script ran (ms).
    redis_now_ms: int = 0
    #: The claim arrived after its ``not_after_ms`` and leased nothing.
    expired: bool = False


#: A job's meta as the worker reads it (name, priority, max attempts, timeout ms), by its
#: JSON: most jobs of a queue share a handful, so most are not decoded at all.
_Meta = tuple[str, int, Any, Any]
_METAS: dict[str, _Meta] = {}
#: Bound of that cache (unique metas, as dedupe keys make them, start it afresh).
_METAS_MAX = 512


def _claimed(
    queue: str, job_id: str, token: Any, attempt: Any, record: str, waited: Any
) -> ClaimedJob:
    """One job of a claim's reply: its lease (id, token, attempt), its record, its wait."""
    try:
        enqueued, text, payload = record.split("\n", 2)
        enq = int(enqueued)
        meta = _METAS.get(text)
        if meta is None:
            parsed = loads(text)
            meta = (str(parsed["n"]), int(parsed["p"]), parsed.get("ma"), parsed.get("to"))
            if len(_METAS) >= _METAS_MAX:
                _METAS.clear()
            _METAS[text] = meta
    except (ValueError, KeyError, TypeError):
        # Written by a foreign producer: hand it out so that the worker sends it to the
        # dead letters as Undecodable (a job is never silently dropped).
        enq, payload, meta = 0, "", (UNDECODABLE, 5, None, None)
    name, priority, max_attempts, timeout_ms = meta
    waited_ms = max(0, int(waited))
    # Positional: a frozen dataclass's keyword call costs a fifth more, once per job.
    return ClaimedJob(
        job_id,
        queue,
        name,
        str(token),
        int(attempt),
        priority,
        enq,
        max_attempts,
        timeout_ms,
        payload,
        waited_ms,
    )


def claim(
    queue: str,
    worker: str,
    count: int,
    lease_ms: int = -1,
    limiter: str | None = None,
    not_after_ms: int = -1,
) -> Op[ClaimResult]:
    """``limiter`` names the shared rate limiter the queue's config refers to, if any;
    ``not_after_ms`` (Redis clock) is when the caller stops waiting for the reply: a claim
    Redis receives later leases nothing (-1: no limit)."""
    _check_batch(count)

    def parse(reply: list[Any]) -> ClaimResult:
        status, lease, now = int(reply[0]), int(reply[1]), int(reply[2])
        jobs = [_claimed(queue, *reply[i : i + 5]) for i in range(3, len(reply), 5)]
        due = status if status >= 0 else None
        return ClaimResult(jobs, lease, status == -2, due, now, status == -3)

    keys = _script_keys(queue, "claim", limiter or None)
    return Op(parse, "claim", keys, [worker, count, lease_ms, PROMOTE_LIMIT, not_after_ms])


def heartbeat(
    queue: str, lease_ms: int, held: Sequence[tuple[str, str]]
) -> Op[tuple[list[str], list[str]]]:
    """Returns (lost ids, cancel-requested ids)."""
    _check_batch(len(held))
    args: list[str | int | float] = [lease_ms]
    for job_id, token in held:
        args += [job_id, token]

    def parse(reply: list[Any]) -> tuple[list[str], list[str]]:
        return list(reply[0]), list(reply[1])

    return Op(parse, "heartbeat", _script_keys(queue, "heartbeat"), args)


def complete(queue: str, worker: str, done: Sequence[tuple[str, str, str]]) -> Op[list[int]]:
    """``done`` holds (id, token, result json or ""); returns one code per job."""
    _check_batch(len(done))
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [worker, k.wake, k.done]
    for item in done:
        args += item
    return Op(_codes, "complete", _script_keys(queue, "complete"), args)


def _codes(reply: list[Any]) -> list[int]:
    return [int(c) for c in reply]


#: What became of a failed attempt: retried (scheduled at due_ms), dead, lease lost (the
#: failure was not recorded) or cancelled (its cancellation was requested meanwhile).
FailResult = Literal["retry", "dead", "lease_lost", "cancelled"]


@dataclass(frozen=True)
class FailOutcome:
    outcome: FailResult
    due_ms: int | None = None
    reason: str | None = None


def fail(
    queue: str,
    job_id: str,
    token: str,
    *,
    reason: str,
    error: str,
    permanent: bool = False,
    delay_ms: int = -1,
    draw: float = 0.0,
) -> Op[FailOutcome]:
    k = QueueKeys.of(queue)

    def parse(reply: list[Any]) -> FailOutcome:
        code = int(reply[0])
        if code == 1:
            return FailOutcome("retry", due_ms=int(reply[1]))
        if code == 2:
            return FailOutcome("dead", reason=str(reply[1]))
        return FailOutcome("lease_lost" if code == errors.LEASE_LOST else "cancelled")

    mode = "permanent" if permanent else "retry"
    args: list[str | int | float] = [
        k.wake,
        job_id,
        token,
        reason,
        error,
        mode,
        delay_ms,
        repr(draw),
        k.done,
    ]
    return Op(parse, "fail", _script_keys(queue, "fail"), args)


def recover(queue: str, limit: int = 500, stall_ms: int = 2**40) -> Op[tuple[int, int, int]]:
    """Returns (requeued, dead, cancelled); see recover.lua for the stall guard and the
    spreading of recovered jobs."""
    k = QueueKeys.of(queue)
    seed = secrets.randbelow(2**31 - 2)
    args: list[str | int | float] = [k.wake, limit, stall_ms, seed, k.done]
    return Op(lambda r: (int(r[0]), int(r[1]), int(r[2])), "recover", k.for_script("recover"), args)


def disown(queue: str, worker: str, max_token: int, since_ms: int) -> Op[int]:
    """After a claim whose reply never came: ``worker``'s leases with a token above
    ``max_token`` (the highest it received) and begun after ``since_ms`` (Redis clock)
    become due again, no attempt charged. Returns how many (recovers nothing else)."""
    k = QueueKeys.of(queue)
    seed = secrets.randbelow(2**31 - 2)
    args: list[str | int | float] = [k.wake, 500, 2**40, seed, k.done, worker, max_token, since_ms]
    return Op(lambda r: int(r[3]), "recover", k.for_script("recover"), args)


def release(queue: str, held: Sequence[tuple[str, str]]) -> Op[int]:
    _check_batch(len(held))
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [k.wake, k.done]
    for job_id, token in held:
        args += [job_id, token]
    return Op(int, "release", _script_keys(queue, "release"), args)


def progress(queue: str, job_id: str, token: str, percent: float, message: str) -> Op[bool]:
    """Records progress; False when the lease was lost."""
    args: list[str | int | float] = [job_id, token, percent, message]
    return Op(lambda r: int(r) == 1, "progress", _script_keys(queue, "progress"), args)


def define_limiter(name: str, limit: int, period_ms: int) -> Op[int]:
    """Creates or changes a rate limiter shared by the queues whose rate_limiter names it."""
    # configure publishes on its first argument: a channel of the limiter's own slot, as a
    # script on a Redis Cluster may publish on its keys' slot only.
    wake = limiter_key(name) + ":wake"
    args: list[str | int | float] = [wake, "limit", limit, "period", period_ms]
    return Op(int, "configure", {"config": limiter_key(name)}, args)


#: What a cancel did: cancelled at once, requested (the job is running) or too late.
CancelResult = Literal["cancelled", "requested", "finished"]
_CANCEL: dict[int, CancelResult] = {1: "cancelled", 2: "requested", 0: "finished"}


def cancel(queue: str, job_id: str) -> Op[CancelResult]:
    """Returns "cancelled", "requested" (it is running) or "finished" (too late)."""
    k = QueueKeys.of(queue)

    def parse(reply: Any) -> CancelResult:
        if int(reply) < 0:
            raise errors.error_for(int(reply), f"job {job_id}")
        return _CANCEL[int(reply)]

    return Op(parse, "cancel", k.for_script("cancel"), [job_id, k.done])


def retry(queue: str, job_ids: Sequence[str]) -> Op[None]:
    k = QueueKeys.of(queue)

    def parse(reply: list[Any]) -> None:
        for job_id, code in zip(job_ids, reply, strict=True):
            if int(code) < 0:
                raise errors.error_for(int(code), f"job {job_id}")

    return Op(parse, "retry", k.for_script("retry"), [k.wake, "ids", 0, *job_ids])


def retry_all(queue: str, limit: int = 500) -> Op[int]:
    k = QueueKeys.of(queue)
    return Op(lambda r: int(r[0]), "retry", k.for_script("retry"), [k.wake, "all", limit])


def purge(queue: str, state: str, limit: int = 1000, older_than_ms: int = -1) -> Op[int]:
    k = QueueKeys.of(queue)
    keys = k.for_script("purge", state=k.state_set(state))
    return Op(int, "purge", keys, [limit, older_than_ms])


def drop_queue(queue: str, force: bool = False) -> Op[int]:
    """Deletes every key of ``queue``; returns how many jobs went with it. Raises
    QueueBusyError while jobs run (unless ``force``) or schedules enqueue to it."""
    k = QueueKeys.of(queue)

    def parse(reply: Any) -> int:
        if int(reply) < 0:
            raise errors.error_for(int(reply), f"queue {queue!r}")
        return int(reply)

    return Op(parse, "dropqueue", k.for_script("dropqueue"), ["force" if force else ""])


def configure(queue: str, fields: dict[str, str]) -> Op[int]:
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [k.wake]
    for name, value in fields.items():
        args += [name, value]
    return Op(int, "configure", k.for_script("configure"), args)


def worker_beat(name: str, description: dict[str, Any] | None, ttl_ms: int) -> Op[int]:
    """Registers (or, with ``description=None``, removes) a live worker."""
    body = json.dumps(description, separators=(",", ":")) if description is not None else ""
    keys = {"workers": WORKERS, "worker": worker_key(name)}
    return Op(int, "workerbeat", keys, [name, body, ttl_ms])
