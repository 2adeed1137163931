"""Validation and serialisation of jobs before they are enqueued: bad input never reaches
Redis."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from numbers import Real
from typing import Any

from worker_runtime import errors
from worker_runtime.engine.bodies import meta_line, payload_json, plain_meta_line
from worker_runtime.engine.validation import (
    check_job_id,
    check_job_name,
    check_queue_name,
    check_rate_key,
    check_utf8,
)
from worker_runtime.models import JobSpec, Priority, parse_priority, shown


@dataclass(slots=True)
class PreparedJob:
    """A job validated and serialised, ready for the enqueue script (not frozen: a frozen
    dataclass's ``__init__`` costs three times as much, and a bulk enqueue makes 1,000)."""

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
    #: The job name: the enqueue script counts jobs per name and priority.
    name: str = ""
    #: The jobs it waits for (the enqueuedeps script): an id of the same queue, or
    #: ``"<queue> <id>"`` (ids and queue names have no spaces); and its policy.
    depends_on: tuple[str, ...] = ()
    dependency_policy: str = "cancel"


#: Longest ``delay``, and furthest ``run_at`` from now: 10 years (of 365 days), in seconds.
MAX_DELAY_S = 315_360_000
#: Longest ``timeout`` of a job: a week, the bound of a queue's own timeout_ms.
MAX_TIMEOUT_S = 604_800
#: Random bytes to id characters: the low 5 bits of a byte pick one of [a-z2-7] (256 is a
#: multiple of 32, so each of the 32 is equally likely).
_ID_CHARS = bytes(b"abcdefghijklmnopqrstuvwxyz234567"[b & 31] for b in range(256))


def new_job_ids(n: int) -> list[str]:
    """``n`` ids of 16 characters of [a-z2-7] (80 random bits each), made in one go; no
    id can start with "-", which a command line would read as an option."""
    block = os.urandom(16 * n).translate(_ID_CHARS).decode()
    return [block[i : i + 16] for i in range(0, 16 * n, 16)]


def new_job_id() -> str:
    return new_job_ids(1)[0]


def new_job_id_data() -> bytes:
    """One id as ``new_job_id`` makes them, in ASCII bytes: for a command packed by hand."""
    return os.urandom(16).translate(_ID_CHARS)


def _ms(value: object, field: str, upper: float, what: str) -> int:
    """``value`` seconds in whole ms, checked to lie in 0..``upper`` (NaN never does)."""
    if type(value) is not float and type(value) is not int:  # the common case, fast
        if isinstance(value, bool) or not isinstance(value, Real | Decimal):
            raise errors.InvalidArgumentError(
                f"{field}: must be a number of seconds, got {type(value).__name__} {shown(value)}",
                field=field,
            )
        try:
            number = float(value)
        except (OverflowError, ValueError):  # beyond any float, or a signalling NaN
            number = math.nan
    else:
        number = value
    if not 0 <= number <= upper:
        message = f"{field}: must be {what}, got {shown(value)}"
        raise errors.InvalidArgumentError(message, field=field)
    return round(number * 1000)


def _unix_time(value: object) -> object:
    """A timezone-aware datetime as Unix seconds; anything else as it is (``_ms`` checks it).
    A naive datetime is refused: its zone would be a guess."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise errors.InvalidArgumentError(
                f"run_at: {value.isoformat()} has no time zone; give an aware datetime "
                "(e.g. datetime.now(timezone.utc)) or a Unix time",
                field="run_at",
            )
        return value.timestamp()
    return value


def prepare_many(specs: Sequence[JobSpec]) -> list[PreparedJob]:
    """Validates and serialises jobs; raises before anything is sent."""
    ids = new_job_ids(sum(1 for s in specs if s.job_id is None))
    checked: set[tuple[str, str]] = set()
    out = []
    for spec in specs:
        # Names that are no strings may be unhashable: the checks refuse them first.
        strings = isinstance(spec.queue, str) and isinstance(spec.name, str)
        if not strings or (spec.queue, spec.name) not in checked:
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


#: The common priorities as ``parse_priority`` gives them, by the value given.
_PRIORITIES: dict[object, int] = {**{p: int(p) for p in Priority}, **{i: i for i in range(11)}}


def plain_priority(priority: object) -> int | None:
    """The priority a plain job's ``priority`` stands for, when it is one of the common
    values; None sends it through the full checks."""
    if type(priority) is not int and type(priority) is not Priority:  # True == 1: no bool
        return None
    return _PRIORITIES.get(priority)


def _prepare(spec: JobSpec, job_id: str) -> PreparedJob:
    """The common job (a name, a payload, perhaps a priority) the short way; any other
    through ``_prepare_full``, which checks every field."""
    if (
        spec.job_id is None
        and spec.delay is None
        and spec.run_at is None
        and spec.max_attempts is None
        and spec.timeout is None
        and spec.dedupe_key is None
        and spec.rate_key is None
        and spec.depends_on is None
        and spec.on_dependency_failure == "cancel"
    ):
        priority = plain_priority(spec.priority)
        if priority is not None:
            payload, size = payload_json(spec.payload, spec.name)
            meta = plain_meta_line(spec.name, priority)
            return PreparedJob(
                spec.queue, job_id, priority, -1, -1, "", meta + payload, size, True, spec.name
            )
    return _prepare_full(spec, job_id)


def _prepare_full(spec: JobSpec, job_id: str) -> PreparedJob:
    if spec.job_id is not None:
        check_job_id(job_id)
    priority = parse_priority(spec.priority)
    delay_ms = run_at_ms = -1
    if spec.delay is not None:
        delay_ms = _ms(spec.delay, "delay", MAX_DELAY_S, "seconds from 0 to 10 years")
    if spec.run_at is not None:
        run_at_ms = _ms(
            _unix_time(spec.run_at),
            "run_at",
            time.time() + MAX_DELAY_S,
            "a Unix time at most 10 years ahead",
        )
    if spec.delay is not None and spec.run_at is not None:
        raise errors.InvalidArgumentError("delay and run_at: give one, not both", field="delay")
    meta: dict[str, Any] = {"n": spec.name, "p": priority}
    plain = True
    if spec.max_attempts is not None:
        plain = False
        if type(spec.max_attempts) is not int or not 1 <= spec.max_attempts <= 1000:
            raise errors.InvalidArgumentError(
                f"max_attempts: must be an integer from 1 to 1000, got {shown(spec.max_attempts)}",
                field="max_attempts",
            )
        meta["ma"] = spec.max_attempts
    if spec.timeout is not None:
        plain = False
        timeout_ms = _ms(spec.timeout, "timeout", MAX_TIMEOUT_S, "seconds from 0 to a week")
        meta["to"] = max(1, timeout_ms)
    if spec.dedupe_key is not None:
        plain = False
        if not isinstance(spec.dedupe_key, str) or not 0 < len(spec.dedupe_key) <= 256:
            raise errors.InvalidArgumentError(
                f"dedupe_key: must be 1 to 256 characters, got {shown(spec.dedupe_key)}",
                field="dedupe_key",
            )
        if not spec.dedupe_key.isascii():
            check_utf8(spec.dedupe_key, "dedupe_key", "dedupe_key")
        meta["dk"] = spec.dedupe_key
    if spec.rate_key is not None:
        plain = False
        check_rate_key(spec.rate_key)
        meta["rk"] = spec.rate_key
    depends_on = _dependencies(spec)
    payload, payload_bytes = payload_json(spec.payload, spec.name)
    return PreparedJob(
        queue=spec.queue,
        id=job_id,
        priority=priority,
        delay_ms=delay_ms,
        run_at_ms=run_at_ms,
        dedupe_key=spec.dedupe_key or "",
        body=(plain_meta_line(spec.name, priority) if plain else meta_line(meta)) + payload,
        payload_bytes=payload_bytes,
        generated_id=spec.job_id is None,
        name=spec.name,
        depends_on=depends_on,
        dependency_policy=spec.on_dependency_failure,
    )


#: Most dependencies of one job.
MAX_DEPENDENCIES = 100


def _dependencies(spec: JobSpec) -> tuple[str, ...]:
    """The checked, de-duplicated dependencies of a job, as the enqueuedeps script takes
    them; its policy is checked too."""
    if spec.on_dependency_failure not in ("cancel", "run", "wait"):
        raise errors.InvalidArgumentError(
            "on_dependency_failure: one of cancel, run, wait; "
            f"got {shown(spec.on_dependency_failure)}",
            field="on_dependency_failure",
        )
    if spec.depends_on is None:
        return ()
    if isinstance(spec.depends_on, str) or not isinstance(spec.depends_on, Sequence):
        raise errors.InvalidArgumentError(
            f"depends_on: a list of job ids or (queue, id) pairs, got {shown(spec.depends_on)}",
            field="depends_on",
        )
    refs = tuple(dict.fromkeys(_dependency(spec, dep) for dep in spec.depends_on))
    if len(refs) > MAX_DEPENDENCIES:
        raise errors.InvalidArgumentError(
            f"depends_on: at most {MAX_DEPENDENCIES} jobs, got {len(refs)}", field="depends_on"
        )
    return refs


def _dependency(spec: JobSpec, dep: object) -> str:
    """One dependency as the script takes it: a bare id for a job of the same queue (also
    when named as ``(its queue, id)``), else ``"<queue> <id>"``."""
    queue = spec.queue
    if isinstance(dep, tuple):
        if len(dep) != 2 or not all(isinstance(part, str) for part in dep):
            raise errors.InvalidArgumentError(
                f"depends_on: {shown(dep)} is not a (queue, id) pair", field="depends_on"
            )
        queue, dep = dep
        try:
            check_queue_name(queue)
        except errors.InvalidArgumentError as exc:
            raise errors.InvalidArgumentError(f"depends_on: {exc}", field="depends_on") from None
    if not isinstance(dep, str):
        raise errors.InvalidArgumentError(
            f"depends_on: {shown(dep)} is neither a job id nor a (queue, id) pair",
            field="depends_on",
        )
    check_job_id(dep, field="depends_on")
    if queue == spec.queue and dep == spec.job_id:
        raise errors.InvalidArgumentError(
            f"depends_on: job {dep} cannot depend on itself", field="depends_on"
        )
    return dep if queue == spec.queue else f"{queue} {dep}"
