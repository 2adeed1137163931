"""The engine's data types: priorities, states, stored queue settings, jobs and their history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal

from worker_runtime.errors import InvalidArgumentError


class Priority(IntEnum):
    """Named priorities; any integer from 0 (first) to 10 (last) is valid."""

    CRITICAL = 0
    HIGH = 1
    NORMAL = 5
    LOW = 8
    BULK = 10


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for an error message about bad input;
    never fails (repr refuses ints of over 4,300 digits and very deep lists)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<a {type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_priority(value: str | int) -> int:
    """A priority from a name (``high``) or an integer 0-10."""
    if isinstance(value, bool):
        raise InvalidArgumentError(
            "priority: must be a name or an integer from 0 to 10", field="priority"
        )
    if isinstance(value, str):
        name = value.strip().upper()
        if name in Priority.__members__:
            return int(Priority[name])
        try:
            value = int(name)
        except ValueError:
            names = ", ".join(p.name.lower() for p in Priority)
            raise InvalidArgumentError(
                f"priority: {shown(value)} is neither a name ({names}) nor an integer 0-10",
                field="priority",
            ) from None
    if not isinstance(value, int):
        names = ", ".join(p.name.lower() for p in Priority)
        raise InvalidArgumentError(
            f"priority: {shown(value)} must be an integer 0-10 or a level name ({names})",
            field="priority",
        )
    if not 0 <= value <= 10:
        raise InvalidArgumentError(
            f"priority: {shown(value)} is out of range; use 0 (first) to 10", field="priority"
        )
    return int(value)


class JobState(StrEnum):
    PENDING = "pending"
    DELAYED = "delayed"
    RUNNING = "running"
    COMPLETED = "completed"
    DEAD = "dead"
    CANCELLED = "cancelled"
    #: Enqueued with dependencies that have not all completed yet.
    WAITING = "waiting"


#: Default weights of weighted fairness, by priority level.
DEFAULT_WEIGHTS: dict[int, float] = {0: 10, 1: 5, 5: 2, 8: 1, 10: 0.5}
#: Default aging as (from_priority, to_priority, after_ms): LOW to NORMAL after 30 min,
#: NORMAL to HIGH after 15, HIGH to CRITICAL after 5.
DEFAULT_AGING_STEPS: tuple[tuple[int, int, int], ...] = (
    (8, 5, 1_800_000),
    (5, 1, 900_000),
    (1, 0, 300_000),
)


@dataclass(frozen=True)
class StoredConfig:
    """A queue's settings as stored in its config hash, with every default: what the worker
    and the Lua scripts read. No validation here: whoever writes the hash validates first
    (``queue_config.QueueConfig``, pydantic), so a worker never imports pydantic.

    These defaults are the only ones: QueueConfig, the Lua scripts (engine/lua/generated.py)
    and the JobQueue resource take theirs from here.
    """

    max_attempts: int = 3
    backoff_base_ms: int = 10_000
    backoff_max_ms: int = 3_600_000
    timeout_ms: int = 300_000
    lease_ms: int = 30_000
    result_ttl_ms: int = 86_400_000
    keep_completed: int = 10_000
    dead_ttl_ms: int = 2_592_000_000
    keep_dead: int = 100_000
    max_payload_bytes: int = 524_288
    paused: bool = False
    fairness: Literal["strict", "weighted"] = "strict"
    weights: dict[int, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    aging: bool = True
    aging_rules: tuple[tuple[int, int, int], ...] = DEFAULT_AGING_STEPS
    rate_limit: int | None = None
    rate_period_ms: int = 1000
    rate_limiter: str | None = None
    key_rate_limit: int | None = None
    key_rate_period_ms: int = 1000
    max_running: int | None = None
    key_max_running: int | None = None

    def to_redis(self) -> dict[str, str]:
        """Flat strings for the config hash; None becomes "" (the field is deleted)."""
        out: dict[str, str] = {}
        for k, v in self.__dict__.items():
            if v is None:
                out[k] = ""
            elif isinstance(v, bool):
                out[k] = "1" if v else "0"
            elif k == "weights":
                out[k] = ",".join(f"{p}:{w:g}" for p, w in sorted(v.items()))
            elif k == "aging_rules":
                out[k] = ",".join(f"{a}:{b}:{c}" for a, b, c in v)
            else:
                out[k] = str(v)
        return out

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> StoredConfig:
        """The settings a config hash holds; fields it lacks (or holds as "") read as the
        defaults, and fields that are no settings (the scripts' own) are ignored."""
        data: dict[str, Any] = {}
        for k, v in raw.items():
            if k not in CONFIG_FIELDS or v == "":
                continue
            if k in ("paused", "aging"):
                data[k] = v == "1"
            elif k == "weights":
                data[k] = {int(p): float(w) for p, w in (x.split(":") for x in v.split(","))}
            elif k == "aging_rules":
                data[k] = tuple(
                    (int(a), int(b), int(c))
                    for a, b, c in (x.split(":") for x in v.split(",") if x)
                )
            elif k in ("fairness", "rate_limiter"):
                data[k] = v
            else:
                data[k] = int(v)
        return cls(**data)


#: The settings' names, in declaration order.
CONFIG_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(StoredConfig))
#: Settings stored as integers (or unset): the Lua scripts read them as numbers.
NUMERIC_CONFIG_FIELDS: frozenset[str] = frozenset(
    f.name for f in fields(StoredConfig) if f.type in ("int", "int | None")
)


@dataclass(frozen=True)
class JobSpec:
    """One job to enqueue; see Client.enqueue for the meaning of each field."""

    queue: str
    name: str
    payload: Any = None
    priority: int | str = Priority.NORMAL
    delay: float | None = None
    #: A Unix time in seconds, or a timezone-aware datetime.
    run_at: float | datetime | None = None
    max_attempts: int | None = None
    timeout: float | None = None
    dedupe_key: str | None = None
    job_id: str | None = None
    rate_key: str | None = None
    #: Jobs that must complete before this one may run: an id of a job of the same queue,
    #: or ``(queue, id)`` of a job of another queue (on the same Redis).
    depends_on: Sequence[Dependency] | None = None
    #: What this job does when a dependency ends dead or cancelled.
    on_dependency_failure: DependencyPolicy = "cancel"


#: What a dependant does when one of its dependencies ends dead or cancelled: is cancelled
#: too (reason DependencyFailed), runs anyway, or waits (a retried dependency may complete).
DependencyPolicy = Literal["cancel", "run", "wait"]
#: A job depended on: its id (a job of the same queue), or ``(queue, id)``.
Dependency = str | tuple[str, str]

#: "created", "exists" (the id was taken) or "deduplicated" (the dedupe key was held).
EnqueueOutcome = Literal["created", "exists", "deduplicated"]


@dataclass(frozen=True)
class Enqueued:
    """The outcome of enqueueing one job."""

    id: str
    queue: str
    created: bool
    outcome: EnqueueOutcome


#: How one attempt ended, as the scripts record it in the job's history.
AttemptOutcome = Literal["completed", "failed", "dead", "cancelled"]


@dataclass(frozen=True)
class Attempt:
    attempt: int
    worker: str
    started_ms: int
    ended_ms: int
    outcome: AttemptOutcome
    reason: str | None = None
    error: str | None = None
    #: The priority level it ran at (aging may have raised it); None when not recorded.
    priority: int | None = None


@dataclass
class Job:
    """A job as ``get_job`` sees it."""

    id: str
    queue: str
    name: str
    payload: Any
    state: JobState
    priority: int
    enqueued_ms: int
    attempts: int
    max_attempts: int | None
    timeout_ms: int | None
    dedupe_key: str | None
    history: list[Attempt] = field(default_factory=list)
    result: Any = None
    reason: str | None = None
    worker: str | None = None
    lease_deadline_ms: int | None = None
    due_ms: int | None = None
    finished_ms: int | None = None
    cancel_requested: bool = False
    #: The priority it was enqueued with; ``priority`` is its current one (aging).
    original_priority: int | None = None
    rate_key: str | None = None
    #: {"pct": 0-100, "msg": str, "at": ms} as last reported by the handler.
    progress: dict[str, Any] | None = None
    #: The jobs it depends on, those of them it still waits for, its policy on a failed
    #: dependency and what a failed one did (``note``); the jobs that depend on it.
    depends_on: list[str] = field(default_factory=list)
    waiting_on: list[str] = field(default_factory=list)
    on_dependency_failure: DependencyPolicy | None = None
    dependency_note: str | None = None
    dependants: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "history"}
        d["state"] = str(self.state)
        d["history"] = [a.__dict__ for a in self.history]
        return d


#: What happened to a job, as ``Client.events`` reports it.
EventType = Literal[
    "enqueued",
    "started",
    "progress",
    "completed",
    "failed",
    "retried",
    "dead",
    "cancelled",
    #: A waiting job's dependencies are settled: it is pending (or delayed) now.
    "released",
]


@dataclass(frozen=True)
class JobEvent:
    """One thing that happened to a job, published by the script that made it happen."""

    queue: str
    type: EventType
    id: str
    #: None when the record was gone already (a foreign or trimmed one).
    name: str | None
    #: The attempt it concerns; 0 for enqueued and retried (no attempt made yet).
    attempt: int | None
    #: When it happened, ms on the Redis clock.
    at_ms: int
    #: Why a job failed, died or was cancelled.
    reason: str | None = None
    #: When a failed job is due again (ms).
    due_ms: int | None = None
    #: Progress events: percent and message.
    pct: float | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class QueueStats:
    queue: str
    pending: int
    delayed: int
    running: int
    completed: int
    dead: int
    cancelled: int
    oldest_pending_age_ms: int | None
    paused: bool
    #: Jobs waiting for their dependencies.
    waiting: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ClaimedJob:
    """A job leased to a worker: what the worker needs to run it and to report back."""

    id: str
    queue: str
    name: str
    token: str
    attempt: int
    priority: int
    enqueued_ms: int
    max_attempts: int | None
    timeout_ms: int | None
    raw_payload: str
    #: How long it waited since it became due (its run_at, its retry time; else its
    #: enqueue), on the Redis clock: blackroad_queue_latency_seconds.
    waited_ms: int = 0

    def payload(self) -> Any:
        return json.loads(self.raw_payload)
