"""Pure builders of engine operations: what to send to Redis and how to read the answer.

An ``Op`` is either one Lua script call or one MULTI block of read commands, plus the
function that turns the raw reply into typed values (or raises the mapped error). The
async and sync stores run the same ops, so the engine's logic exists once.
"""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from worker_runtime import errors
from worker_runtime.keys import STATE_SETS, WORKERS, QueueKeys, limiter_key, worker_key
from worker_runtime.models import (
    Attempt,
    ClaimedJob,
    Enqueued,
    Job,
    JobSpec,
    JobState,
    QueueStats,
    parse_priority,
)
from worker_runtime.validation import (
    check_job_id,
    check_job_name,
    check_queue_name,
    check_rate_key,
)

T = TypeVar("T")

#: Most jobs sent in one enqueue script call; larger batches are split and pipelined.
ENQUEUE_CHUNK = 1000
#: Most delayed jobs promoted by one claim call.
PROMOTE_LIMIT = 1000


@dataclass(frozen=True)
class Op(Generic[T]):
    parse: Callable[[Any], T]
    script: str | None = None
    keys: Sequence[str] = ()
    args: Sequence[str | int | float] = ()
    commands: Sequence[tuple[str | int | float, ...]] = field(default_factory=tuple)


@dataclass(frozen=True)
class PreparedJob:
    """A job validated and serialised, ready for the enqueue script."""

    queue: str
    id: str
    priority: int
    delay_ms: int
    run_at_ms: int
    dedupe_key: str
    body: str
    payload_bytes: int


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise errors.PayloadError(f"{what}: not JSON-serialisable ({exc})") from None


def new_job_id() -> str:
    """16 characters of [a-z2-7] (80 random bits): no id can start with "-", which a
    command line would read as an option."""
    return base64.b32encode(os.urandom(10)).decode().lower()


def _check_positive(value: float | None, field: str) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise errors.InvalidArgumentError(f"{field}: must be a finite number >= 0, got {value!r}")


def prepare(spec: JobSpec) -> PreparedJob:
    """Validates and serialises one job; raises before anything is sent."""
    check_queue_name(spec.queue)
    check_job_name(spec.name)
    job_id = spec.job_id if spec.job_id is not None else new_job_id()
    check_job_id(job_id)
    priority = parse_priority(spec.priority)
    _check_positive(spec.delay, "delay")
    _check_positive(spec.run_at, "run_at")
    _check_positive(spec.timeout, "timeout")
    if spec.delay is not None and spec.run_at is not None:
        raise errors.InvalidArgumentError("delay and run_at: give one, not both")
    if spec.max_attempts is not None and not 1 <= spec.max_attempts <= 1000:
        raise errors.InvalidArgumentError("max_attempts: must be from 1 to 1000")
    if spec.dedupe_key is not None and not 0 < len(spec.dedupe_key) <= 256:
        raise errors.InvalidArgumentError("dedupe_key: must be 1 to 256 characters")
    meta: dict[str, Any] = {"n": spec.name, "p": priority}
    if spec.max_attempts is not None:
        meta["ma"] = spec.max_attempts
    if spec.timeout is not None:
        meta["to"] = max(1, round(spec.timeout * 1000))
    if spec.dedupe_key is not None:
        meta["dk"] = spec.dedupe_key
    if spec.rate_key is not None:
        check_rate_key(spec.rate_key)
        meta["rk"] = spec.rate_key
    payload = _dumps(spec.payload, f"payload of job {spec.name!r}")
    return PreparedJob(
        queue=spec.queue,
        id=job_id,
        priority=priority,
        delay_ms=round(spec.delay * 1000) if spec.delay is not None else -1,
        run_at_ms=round(spec.run_at * 1000) if spec.run_at is not None else -1,
        dedupe_key=spec.dedupe_key or "",
        body=_dumps(meta, "job options") + "\n" + payload,
        payload_bytes=len(payload.encode()),
    )


_OUTCOMES = {1: "created", 0: "exists", 2: "deduplicated"}


def enqueue(queue: str, jobs: Sequence[PreparedJob]) -> Op[list[Enqueued]]:
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [k.wake, len(jobs)]
    for j in jobs:
        args += [j.id, j.priority, j.delay_ms, j.run_at_ms, j.dedupe_key, j.body]

    def parse(reply: list[Any]) -> list[Enqueued]:
        if reply and int(reply[0]) < 0:
            job = jobs[int(reply[1])]
            raise errors.error_for(int(reply[0]), f"job {job.id} ({job.payload_bytes} bytes)")
        return [
            Enqueued(str(reply[i + 1]), queue, int(reply[i]) == 1, _OUTCOMES[int(reply[i])])
            for i in range(0, len(reply), 2)
        ]

    keys = [k.jobs, k.pending, k.delayed, k.dprio, k.seq, k.config, k.dedupe, k.dk]
    return Op(parse, "enqueue", keys, args)


@dataclass(frozen=True)
class ClaimResult:
    jobs: list[ClaimedJob]
    lease_ms: int
    paused: bool
    #: Milliseconds until the next delayed job is due; None when nothing is delayed.
    next_due_ms: int | None


def parse_record(record: str) -> tuple[int, dict[str, Any], str]:
    enqueued, meta, payload = record.split("\n", 2)
    return int(enqueued), json.loads(meta), payload


def claim(
    queue: str, worker: str, count: int, lease_ms: int = -1, limiter: str | None = None
) -> Op[ClaimResult]:
    """``limiter`` names the shared rate limiter the queue's config refers to, if any."""
    k = QueueKeys.of(queue)

    def parse(reply: list[Any]) -> ClaimResult:
        status, lease = int(reply[0]), int(reply[1])
        jobs = []
        for i in range(2, len(reply), 4):
            enq, meta, payload = parse_record(reply[i + 3])
            jobs.append(
                ClaimedJob(
                    id=reply[i],
                    queue=queue,
                    name=meta["n"],
                    token=str(reply[i + 1]),
                    attempt=int(reply[i + 2]),
                    priority=int(meta["p"]),
                    enqueued_ms=enq,
                    max_attempts=meta.get("ma"),
                    timeout_ms=meta.get("to"),
                    raw_payload=payload,
                )
            )
        return ClaimResult(jobs, lease, status == -2, status if status >= 0 else None)

    keys = [
        k.pending, k.delayed, k.dprio, k.running, k.lease, k.jobs, k.att, k.seq, k.config,
        k.policy, limiter_key(limiter) + ":log" if limiter else k.limiter, k.keyrate,
        k.keyrun, k.rkey, limiter_key(limiter) if limiter else k.policy,
    ]  # fmt: skip
    return Op(parse, "claim", keys, [worker, count, lease_ms, PROMOTE_LIMIT])


def heartbeat(
    queue: str, lease_ms: int, held: Sequence[tuple[str, str]]
) -> Op[tuple[list[str], list[str]]]:
    """Returns (lost ids, cancel-requested ids)."""
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [lease_ms]
    for job_id, token in held:
        args += [job_id, token]

    def parse(reply: list[Any]) -> tuple[list[str], list[str]]:
        return list(reply[0]), list(reply[1])

    return Op(parse, "heartbeat", [k.running, k.lease, k.cancelreq], args)


def complete(queue: str, worker: str, done: Sequence[tuple[str, str, str]]) -> Op[list[int]]:
    """``done`` holds (id, token, result json or ""); returns one code per job."""
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [worker, k.wake]
    for item in done:
        args += list(item)
    keys = [
        k.running, k.lease, k.att, k.hist, k.completed, k.result, k.jobs, k.dedupe, k.dk,
        k.cancelreq, k.config, k.cancelled, k.reason, k.progress, k.rkey, k.keyrun,
    ]  # fmt: skip
    return Op(lambda r: [int(c) for c in r], "complete", keys, args)


@dataclass(frozen=True)
class FailOutcome:
    #: "retry" (scheduled at due_ms), "dead", "lease_lost" or "cancelled".
    outcome: str
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

    keys = [
        k.running, k.lease, k.att, k.hist, k.jobs, k.delayed, k.dprio, k.dead, k.reason,
        k.dedupe, k.dk, k.config, k.cancelreq, k.cancelled, k.result, k.progress, k.rkey,
        k.keyrun,
    ]  # fmt: skip
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
    ]
    return Op(parse, "fail", keys, args)


def recover(queue: str, limit: int = 500, stall_ms: int = 2**40) -> Op[tuple[int, int, int]]:
    """Returns (requeued, dead, cancelled); see recover-16.lua for the stall guard and the
    spreading of recovered jobs."""
    k = QueueKeys.of(queue)
    keys = [
        k.running, k.lease, k.att, k.hist, k.jobs, k.delayed, k.dead, k.reason, k.dedupe,
        k.dk, k.config, k.cancelreq, k.cancelled, k.result, k.recovery, k.dprio, k.progress,
        k.rkey, k.keyrun,
    ]  # fmt: skip
    args: list[str | int | float] = [k.wake, limit, stall_ms, secrets.randbelow(2**31 - 2)]
    return Op(lambda r: (int(r[0]), int(r[1]), int(r[2])), "recover", keys, args)


def release(queue: str, held: Sequence[tuple[str, str]]) -> Op[int]:
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [k.wake]
    for job_id, token in held:
        args += [job_id, token]
    keys = [
        k.running, k.lease, k.att, k.pending, k.cancelreq, k.cancelled, k.reason, k.dedupe,
        k.dk, k.jobs, k.hist, k.result, k.config, k.progress, k.rkey, k.keyrun,
    ]  # fmt: skip
    return Op(int, "release", keys, args)


def progress(queue: str, job_id: str, token: str, percent: float, message: str) -> Op[bool]:
    """Records progress; False when the lease was lost."""
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [job_id, token, percent, message]
    return Op(lambda r: int(r) == 1, "progress", [k.lease, k.progress], args)


def define_limiter(name: str, limit: int, period_ms: int) -> Op[int]:
    """Creates or changes a rate limiter shared by the queues whose rate_limiter names it."""
    args: list[str | int | float] = ["", "limit", limit, "period", period_ms]
    return Op(int, "configure", [limiter_key(name)], args)


_CANCEL = {1: "cancelled", 2: "requested", 0: "finished"}


def cancel(queue: str, job_id: str) -> Op[str]:
    """Returns "cancelled", "requested" (it is running) or "finished" (too late)."""
    k = QueueKeys.of(queue)

    def parse(reply: Any) -> str:
        if int(reply) < 0:
            raise errors.error_for(int(reply), f"job {job_id}")
        return _CANCEL[int(reply)]

    keys = [
        k.pending, k.delayed, k.dprio, k.running, k.cancelreq, k.cancelled, k.reason, k.jobs,
        k.dedupe, k.dk, k.config, k.att, k.hist, k.result, k.progress,
    ]  # fmt: skip
    return Op(parse, "cancel", keys, [job_id])


def _retry_keys(k: QueueKeys) -> list[str]:
    return [k.jobs, k.dead, k.cancelled, k.reason, k.att, k.pending, k.seq, k.dedupe, k.dk]


def retry(queue: str, job_ids: Sequence[str]) -> Op[None]:
    k = QueueKeys.of(queue)

    def parse(reply: list[Any]) -> None:
        for job_id, code in zip(job_ids, reply, strict=True):
            if int(code) < 0:
                raise errors.error_for(int(code), f"job {job_id}")

    return Op(parse, "retry", _retry_keys(k), [k.wake, "ids", 0, *job_ids])


def retry_all(queue: str, limit: int = 500) -> Op[int]:
    k = QueueKeys.of(queue)
    return Op(lambda r: int(r[0]), "retry", _retry_keys(k), [k.wake, "all", limit])


def purge(queue: str, state: str, limit: int = 1000, older_than_ms: int = -1) -> Op[int]:
    k = QueueKeys.of(queue)
    keys = [
        k.state_set(state), k.jobs, k.hist, k.result, k.reason, k.att, k.dedupe, k.dk,
        k.dprio, k.lease, k.cancelreq, k.progress, k.rkey, k.keyrun,
    ]  # fmt: skip
    return Op(int, "purge", keys, [limit, older_than_ms])


def configure(queue: str, fields: dict[str, str]) -> Op[int]:
    k = QueueKeys.of(queue)
    args: list[str | int | float] = [k.wake]
    for name, value in fields.items():
        args += [name, value]
    return Op(int, "configure", [k.config], args)


def read_config(queue: str) -> Op[dict[str, str]]:
    return Op(lambda r: dict(r[0]), commands=[("HGETALL", QueueKeys.of(queue).config)])


def stats(queue: str) -> Op[QueueStats]:
    k = QueueKeys.of(queue)

    def parse(r: list[Any]) -> QueueStats:
        now, counts, oldest = int(r[0]), [int(x) for x in r[1:7]], int(r[7])
        pending, delayed, running, completed, dead, cancelled = counts
        return QueueStats(
            queue,
            pending,
            delayed,
            running,
            completed,
            dead,
            cancelled,
            oldest_pending_age_ms=max(0, now - oldest) if oldest >= 0 else None,
            paused=bool(int(r[8])),
        )

    keys = [k.pending, k.delayed, k.running, k.completed, k.dead, k.cancelled, k.jobs, k.config]
    return Op(parse, "stats", keys, [])


def locate(queues: Sequence[str], job_id: str) -> Op[str | None]:
    """The queue that holds ``job_id``, probing each known queue."""

    def parse(r: list[Any]) -> str | None:
        return next((q for q, found in zip(queues, r, strict=True) if found), None)

    return Op(parse, commands=[("HEXISTS", QueueKeys.of(q).jobs, job_id) for q in queues])


def _decode_or_raw(text: str) -> Any:
    """A payload, or its raw text when a foreign producer wrote something that is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _history(raw: str | None) -> list[Attempt]:
    if not raw:
        return []
    return [
        Attempt(e["a"], e["w"], e["s"], e["e"], e["o"], e.get("r"), e.get("err"))
        for e in json.loads("[" + raw + "]")
    ]


def job_info(queue: str, job_id: str) -> Op[Job | None]:
    k = QueueKeys.of(queue)
    commands: list[tuple[str | int | float, ...]] = [("HGET", k.jobs, job_id)]
    commands += [("ZSCORE", getattr(k, s), job_id) for s in STATE_SETS]
    commands += [
        (cmd, key, job_id)
        for cmd, key in (
            ("HGET", k.lease), ("HGET", k.att), ("HGET", k.hist), ("HGET", k.result),
            ("HGET", k.reason), ("SISMEMBER", k.cancelreq), ("HGET", k.progress),
        )
    ]  # fmt: skip

    def parse(r: list[Any]) -> Job | None:
        if r[0] is None:
            return None
        enq, meta, payload = parse_record(r[0])
        scores = dict(zip(STATE_SETS, r[1:7], strict=True))
        state = next((JobState(s) for s, v in scores.items() if v is not None), None)
        lease, att, hist, result, reason, cancel_req, prog = r[7:14]
        history = _history(hist)
        job = Job(
            id=job_id,
            queue=queue,
            name=meta["n"],
            payload=_decode_or_raw(payload),
            state=state or JobState.PENDING,
            priority=int(meta["p"]),
            original_priority=int(meta["p"]),
            enqueued_ms=enq,
            attempts=len(history),
            max_attempts=meta.get("ma"),
            timeout_ms=meta.get("to"),
            dedupe_key=meta.get("dk"),
            history=history,
            result=json.loads(result) if result else None,
            reason=reason,
            cancel_requested=bool(cancel_req),
            rate_key=meta.get("rk"),
            progress=json.loads(prog) if prog else None,
        )
        if state is JobState.PENDING and scores["pending"] is not None:
            job.priority = int(float(scores["pending"]) // 10**13)  # raised by aging
        if state is JobState.RUNNING and lease:
            _token, job.worker, attempt = lease.split("|", 3)[:3]
            job.attempts = int(attempt)
            job.lease_deadline_ms = int(float(scores["running"]))
        elif att:
            job.attempts = int(att)
        if state is JobState.DELAYED:
            job.due_ms = int(float(scores["delayed"]))
        if state in (JobState.COMPLETED, JobState.DEAD, JobState.CANCELLED):
            job.finished_ms = int(float(scores[str(state)]))
        return job

    return Op(parse, commands=commands)


def worker_beat(name: str, description: dict[str, Any] | None, ttl_ms: int) -> Op[int]:
    """Registers (or, with ``description=None``, removes) a live worker."""
    body = json.dumps(description, separators=(",", ":")) if description is not None else ""
    return Op(int, "workerbeat", [WORKERS, worker_key(name)], [name, body, ttl_ms])


def live_workers() -> Op[list[str]]:
    return Op(lambda r: list(r[0]), commands=[("ZRANGE", WORKERS, 0, -1)])


def worker_descriptions(names: Sequence[str]) -> Op[list[dict[str, Any]]]:
    def parse(r: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(v) for v in r[0] if v]

    return Op(parse, commands=[("MGET", *[worker_key(n) for n in names])])


def jobs_info(queue: str, job_ids: Sequence[str]) -> Op[list[Job]]:
    """Several jobs of one queue in one round trip; missing ones are left out."""
    single = [job_info(queue, i) for i in job_ids]
    width = len(single[0].commands) if single else 0

    def parse(r: list[Any]) -> list[Job]:
        found = [op.parse(r[n * width : (n + 1) * width]) for n, op in enumerate(single)]
        return [j for j in found if j is not None]

    return Op(parse, commands=[c for op in single for c in op.commands])
