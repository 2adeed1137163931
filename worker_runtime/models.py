"""The engine's data types: priorities, states, queue settings, jobs and their history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from worker_runtime.errors import InvalidArgumentError
from worker_runtime.names import QUEUE_NAME_PATTERN


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


class AgingRule(BaseModel):
    """Jobs waiting longer than ``after_ms`` at ``from_priority`` move to ``to_priority``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_priority: int = Field(ge=0, le=10, description="Level the rule takes jobs from.")
    to_priority: int = Field(ge=0, le=10, description="Level it promotes them to (lower).")
    after_ms: int = Field(ge=1000, description="Wait after which a job is promoted.")

    @model_validator(mode="after")
    def _promotes(self) -> AgingRule:
        # A rule to the same or a lower level would demote jobs, or loop between levels.
        if self.to_priority >= self.from_priority:
            raise ValueError(
                f"to_priority {self.to_priority} must be a higher level (a lower number) than "
                f"from_priority {self.from_priority}"
            )
        return self


#: Default weights of weighted fairness, by priority level.
DEFAULT_WEIGHTS: dict[int, float] = {0: 10, 1: 5, 5: 2, 8: 1, 10: 0.5}
#: Default aging: LOW to NORMAL after 30 min, NORMAL to HIGH after 15, HIGH to CRITICAL after 5.
DEFAULT_AGING: tuple[AgingRule, ...] = (
    AgingRule(from_priority=8, to_priority=5, after_ms=1_800_000),
    AgingRule(from_priority=5, to_priority=1, after_ms=900_000),
    AgingRule(from_priority=1, to_priority=0, after_ms=300_000),
)


class QueueConfig(BaseModel):
    """Settings of one queue, stored in its config hash and read by the Lua scripts.

    Its defaults are the only ones: the Lua scripts read them from a table generated from
    this class (engine/lua/generated.py) and the JobQueue resource takes its own from here.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_attempts: int = Field(3, ge=1, le=1000, description="Attempts before a job is dead.")
    backoff_base_ms: int = Field(10_000, ge=0, le=86_400_000, description="First retry delay.")
    backoff_max_ms: int = Field(3_600_000, ge=0, le=604_800_000, description="Longest delay.")
    timeout_ms: int = Field(300_000, ge=1, le=604_800_000, description="Default job timeout.")
    lease_ms: int = Field(30_000, ge=1000, le=3_600_000, description="Visibility timeout.")
    result_ttl_ms: int = Field(
        86_400_000, ge=0, le=31_536_000_000, description="How long completed jobs are kept."
    )
    keep_completed: int = Field(10_000, ge=0, description="Most completed jobs kept.")
    dead_ttl_ms: int = Field(
        2_592_000_000, ge=0, le=31_536_000_000, description="How long dead jobs are kept."
    )
    keep_dead: int = Field(100_000, ge=0, description="Most dead jobs kept.")
    max_payload_bytes: int = Field(
        524_288, ge=1, le=536_870_912, description="Largest payload accepted, in bytes."
    )
    paused: bool = Field(False, description="A paused queue accepts jobs and hands out none.")
    fairness: Literal["strict", "weighted"] = Field(
        "strict",
        description="strict: always the highest priority first; weighted: each priority level "
        "gets a share of claims proportional to its weight (no level starves).",
    )
    weights: dict[int, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Weight per priority level (0-10) for weighted fairness; unlisted levels "
        "weigh 1.",
    )
    aging: bool = Field(True, description="Promote jobs that wait too long (see aging_rules).")
    aging_rules: list[AgingRule] = Field(
        default_factory=lambda: list(DEFAULT_AGING),
        description="Jobs waiting longer than after_ms at from_priority move to to_priority.",
    )
    rate_limit: int | None = Field(
        None, ge=1, description="Most jobs started per rate_period_ms across all workers."
    )
    rate_period_ms: int = Field(1000, ge=1, le=86_400_000, description="Rate limit window.")
    rate_limiter: str | None = Field(
        None,
        pattern=QUEUE_NAME_PATTERN,
        description="Name of a rate limit shared with other queues (instead of rate_limit).",
    )
    key_rate_limit: int | None = Field(
        None, ge=1, description="Most jobs per rate_key started per key_rate_period_ms."
    )
    key_rate_period_ms: int = Field(1000, ge=1, le=86_400_000, description="Per-key window.")
    max_running: int | None = Field(
        None, ge=1, description="Most jobs of this queue running at once, across all workers."
    )
    key_max_running: int | None = Field(
        None, ge=1, description="Most jobs of one rate_key running at once."
    )

    def to_redis(self) -> dict[str, str]:
        """Flat strings for the config hash; None becomes "" (the field is deleted)."""
        out: dict[str, str] = {}
        for k, v in self:
            if v is None:
                out[k] = ""
            elif isinstance(v, bool):
                out[k] = "1" if v else "0"
            elif k == "weights":
                out[k] = ",".join(f"{p}:{w:g}" for p, w in sorted(v.items()))
            elif k == "aging_rules":
                out[k] = ",".join(f"{r.from_priority}:{r.to_priority}:{r.after_ms}" for r in v)
            else:
                out[k] = str(v)
        return out

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> QueueConfig:
        data: dict[str, Any] = {}
        for k, v in raw.items():
            if k not in cls.model_fields or v == "":
                continue
            if k in ("paused", "aging"):
                data[k] = v == "1"
            elif k == "weights":
                data[k] = {int(p): float(w) for p, w in (x.split(":") for x in v.split(","))}
            elif k == "aging_rules":
                data[k] = [
                    AgingRule(from_priority=int(a), to_priority=int(b), after_ms=int(c))
                    for a, b, c in (x.split(":") for x in v.split(",") if x)
                ]
            elif k in ("fairness", "rate_limiter"):
                data[k] = v
            else:
                data[k] = int(v)
        return cls.model_validate(data)


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
