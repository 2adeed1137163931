"""Validation and serialisation of jobs before they are enqueued: bad input never reaches
Redis."""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from worker_runtime import errors
from worker_runtime.engine.validation import (
    check_job_id,
    check_job_name,
    check_queue_name,
    check_rate_key,
)
from worker_runtime.models import JobSpec, parse_priority


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
    #: The id was made here (not given): if it ever collides, the client makes another.
    generated_id: bool = False


#: One encoder for every job: json.dumps with options builds a new encoder per call,
#: which costs more than the encoding of a small payload.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _dumps(value: Any, what: str, field: str | None = None) -> str:
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise errors.PayloadError(f"{what}: not JSON-serialisable ({exc})", field=field) from None


def new_job_ids(n: int) -> list[str]:
    """``n`` ids of 16 characters of [a-z2-7] (80 random bits each), encoded in one go; no
    id can start with "-", which a command line would read as an option."""
    block = base64.b32encode(os.urandom(10 * n)).decode().lower()
    return [block[i : i + 16] for i in range(0, 16 * n, 16)]


def new_job_id() -> str:
    return new_job_ids(1)[0]


def _check_positive(value: float | None, field: str) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise errors.InvalidArgumentError(
            f"{field}: must be a finite number >= 0, got {value!r}", field=field
        )


def prepare_many(specs: Sequence[JobSpec]) -> list[PreparedJob]:
    """Validates and serialises jobs; raises before anything is sent."""
    ids = new_job_ids(sum(1 for s in specs if s.job_id is None))
    checked: set[tuple[str, str]] = set()
    out = []
    for spec in specs:
        if (spec.queue, spec.name) not in checked:
            check_queue_name(spec.queue)
            check_job_name(spec.name)
            checked.add((spec.queue, spec.name))
        out.append(_prepare(spec, ids.pop() if spec.job_id is None else spec.job_id))
    return out


def prepare(spec: JobSpec) -> PreparedJob:
    """Validates and serialises one job; raises before anything is sent."""
    check_queue_name(spec.queue)
    check_job_name(spec.name)
    return _prepare(spec, spec.job_id if spec.job_id is not None else new_job_id())


def _prepare(spec: JobSpec, job_id: str) -> PreparedJob:
    if spec.job_id is not None:
        check_job_id(job_id)
    priority = parse_priority(spec.priority)
    _check_positive(spec.delay, "delay")
    _check_positive(spec.run_at, "run_at")
    _check_positive(spec.timeout, "timeout")
    if spec.delay is not None and spec.run_at is not None:
        raise errors.InvalidArgumentError("delay and run_at: give one, not both", field="delay")
    if spec.max_attempts is not None and not 1 <= spec.max_attempts <= 1000:
        raise errors.InvalidArgumentError(
            "max_attempts: must be from 1 to 1000", field="max_attempts"
        )
    if spec.dedupe_key is not None and not 0 < len(spec.dedupe_key) <= 256:
        raise errors.InvalidArgumentError(
            "dedupe_key: must be 1 to 256 characters", field="dedupe_key"
        )
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
    payload = _dumps(spec.payload, f"payload of job {spec.name!r}", "payload")
    return PreparedJob(
        queue=spec.queue,
        id=job_id,
        priority=priority,
        delay_ms=round(spec.delay * 1000) if spec.delay is not None else -1,
        run_at_ms=round(spec.run_at * 1000) if spec.run_at is not None else -1,
        dedupe_key=spec.dedupe_key or "",
        body=_dumps(meta, "job options") + "\n" + payload,
        payload_bytes=len(payload.encode()),
        generated_id=spec.job_id is None,
    )
