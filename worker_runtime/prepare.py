"""Validation and serialisation of jobs before they are enqueued: bad input never reaches
Redis."""

from __future__ import annotations

import base64
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from worker_runtime import errors
from worker_runtime.models import JobSpec, parse_priority
from worker_runtime.validation import (
    check_job_id,
    check_job_name,
    check_queue_name,
    check_rate_key,
)


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
