"""The JobQueue resource: one engine queue's settings (spec) and live depth (status)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue, model_validator

from queue_operator.models.common import CRModel, SecretKeyRef, StatusBase
from worker_runtime.models import DEFAULT_WEIGHTS
from worker_runtime.names import QUEUE_NAME_PATTERN
from worker_runtime.queue_config import DEFAULT_AGING, QueueConfig

_DAY_MS = 86_400_000
_YEAR_MS = 31_536_000_000
#: The engine's defaults, the one source of this resource's.
_ENGINE = QueueConfig()


class RedisRef(CRModel):
    """Where the queue lives."""

    secret_ref: SecretKeyRef | None = Field(
        None,
        description="Secret holding the Redis URL (redis://, rediss:// or unix://, with "
        "user:password@ for ACL users). Without it the operator's default is used: the Secret "
        "blackroad-redis (key url) in this namespace.",
    )


class PriorityWeight(CRModel):
    """The share of claims one priority level gets under weighted fairness."""

    priority: int = Field(ge=0, le=10, description="Priority level, 0 (first) to 10 (last).")
    weight: float = Field(gt=0, le=1000, description="Relative weight of that level.")


class AgingRuleSpec(CRModel):
    """Jobs waiting longer than afterMs at fromPriority move to toPriority."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.toPriority < self.fromPriority",
                    "message": "toPriority must be a higher level (a lower number) than "
                    "fromPriority",
                }
            ]
        }
    )

    from_priority: int = Field(ge=0, le=10, description="Level the rule takes jobs from.")
    to_priority: int = Field(ge=0, le=10, description="Level it promotes them to (lower).")
    after_ms: int = Field(ge=1000, le=_YEAR_MS, description="Wait after which a job moves up.")

    @model_validator(mode="after")
    def _promotes(self) -> AgingRuleSpec:
        if self.to_priority >= self.from_priority:
            raise ValueError("toPriority must be a higher level (a lower number) than fromPriority")
        return self


_IMMUTABLE: list[JsonValue] = [{"rule": "self == oldSelf", "message": "queueName is immutable"}]


class JobQueueSpec(CRModel):
    """Desired settings of one engine queue; field names mirror the engine's QueueConfig."""

    queue_name: str | None = Field(
        None,
        description="Engine queue name (what producers pass to enqueue); defaults to "
        "metadata.name. Immutable.",
        max_length=100,
        pattern=QUEUE_NAME_PATTERN,
        json_schema_extra={"x-kubernetes-validations": _IMMUTABLE},
    )
    redis: RedisRef | None = Field(None, description="Redis connection; operator default if unset.")
    max_attempts: int = Field(
        _ENGINE.max_attempts, ge=1, le=1000, description="Attempts before a job is dead."
    )
    backoff_base_ms: int = Field(
        _ENGINE.backoff_base_ms,
        ge=0,
        le=_DAY_MS,
        description="First retry delay; doubles per attempt, jittered.",
    )
    backoff_max_ms: int = Field(
        _ENGINE.backoff_max_ms, ge=0, le=7 * _DAY_MS, description="Longest delay."
    )
    timeout_ms: int = Field(
        _ENGINE.timeout_ms, ge=1, le=7 * _DAY_MS, description="Default job timeout."
    )
    lease_ms: int = Field(
        _ENGINE.lease_ms,
        ge=1000,
        le=3_600_000,
        description="Lease (visibility timeout) of a claimed job.",
    )
    result_ttl_ms: int = Field(
        _ENGINE.result_ttl_ms,
        ge=0,
        le=_YEAR_MS,
        description="How long completed jobs and results are kept.",
    )
    keep_completed: int = Field(
        _ENGINE.keep_completed, ge=0, le=100_000_000, description="Most completed jobs kept."
    )
    dead_ttl_ms: int = Field(
        _ENGINE.dead_ttl_ms, ge=0, le=_YEAR_MS, description="How long dead jobs are kept."
    )
    keep_dead: int = Field(
        _ENGINE.keep_dead, ge=0, le=100_000_000, description="Most dead jobs kept."
    )
    max_payload_bytes: int = Field(
        _ENGINE.max_payload_bytes,
        ge=1,
        le=536_870_912,
        description="Largest payload accepted, in bytes.",
    )
    paused: bool = Field(
        _ENGINE.paused, description="A paused queue accepts jobs and hands out none."
    )
    fairness: Literal["strict", "weighted"] = Field(
        _ENGINE.fairness,
        description="strict: highest priority first; weighted: each level gets a share of "
        "claims proportional to its weight.",
    )
    weights: list[PriorityWeight] | None = Field(
        None,
        description="Weights for weighted fairness (engine default: 0=10, 1=5, 5=2, 8=1, "
        "10=0.5; unlisted levels weigh 1).",
        max_length=11,
    )
    aging: bool = Field(
        _ENGINE.aging, description="Promote jobs that wait too long (see agingRules)."
    )
    aging_rules: list[AgingRuleSpec] | None = Field(
        None,
        description="Promotion rules (engine default: 8->5 after 30 min, 5->1 after 15 min, "
        "1->0 after 5 min).",
        max_length=16,
    )
    rate_limit: int | None = Field(
        None, ge=1, le=1_000_000_000, description="Most jobs started per ratePeriodMs."
    )
    rate_period_ms: int = Field(
        _ENGINE.rate_period_ms, ge=1, le=_DAY_MS, description="Rate limit window."
    )
    rate_limiter: str | None = Field(
        None,
        max_length=100,
        pattern=QUEUE_NAME_PATTERN,
        description="Name of a rate limit shared with other queues (instead of rateLimit).",
    )
    key_rate_limit: int | None = Field(
        None, ge=1, le=1_000_000_000, description="Most jobs per rate key per keyRatePeriodMs."
    )
    key_rate_period_ms: int = Field(
        _ENGINE.key_rate_period_ms, ge=1, le=_DAY_MS, description="Per-key rate window."
    )
    max_running: int | None = Field(
        None, ge=1, le=1_000_000, description="Most jobs of this queue running at once."
    )
    key_max_running: int | None = Field(
        None, ge=1, le=1_000_000, description="Most jobs of one rate key running at once."
    )
    deletion_policy: Literal["Retain", "Delete"] = Field(
        "Retain",
        description="On deletion of the JobQueue: Retain keeps the queue's jobs and config in "
        "Redis; Delete purges every key of the queue.",
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> JobQueueSpec:
        if self.backoff_base_ms > self.backoff_max_ms:
            raise ValueError("backoffBaseMs must not exceed backoffMaxMs")
        return self

    def engine_config(self) -> dict[str, Any]:
        """The QueueConfig fields this spec sets (engine defaults fill the lists left unset)."""
        exclude = {"queue_name", "redis", "deletion_policy", "weights", "aging_rules"}
        fields: dict[str, Any] = {k: v for k, v in self.model_dump().items() if k not in exclude}
        # Unset lists mean the engine defaults, written explicitly so removing them from the
        # spec also reverts them in Redis.
        weights = (
            {w.priority: w.weight for w in self.weights}
            if self.weights is not None
            else dict(DEFAULT_WEIGHTS)
        )
        rules = self.aging_rules if self.aging_rules is not None else DEFAULT_AGING
        fields["weights"] = weights
        fields["aging_rules"] = [
            {"from_priority": r.from_priority, "to_priority": r.to_priority, "after_ms": r.after_ms}
            for r in rules
        ]
        return fields


class JobQueueStatus(StatusBase):
    """What the operator last saw of the queue."""

    queue_name: str | None = Field(None, description="Engine queue name producers enqueue to.")
    pending: int | None = Field(None, description="Jobs waiting to run.")
    delayed: int | None = Field(None, description="Jobs scheduled for later (incl. back-off).")
    running: int | None = Field(None, description="Jobs leased to a worker.")
    completed: int | None = Field(None, description="Completed jobs still retained.")
    dead: int | None = Field(None, description="Dead-lettered jobs.")
    cancelled: int | None = Field(None, description="Cancelled jobs still retained.")
    oldest_pending_time: str | None = Field(
        None,
        description="Enqueue time of the oldest pending job (RFC 3339); its age is the Oldest "
        "column.",
        json_schema_extra={"format": "date-time"},
    )
    paused: bool | None = Field(None, description="Whether the engine queue is paused.")
    last_update_time: str | None = Field(
        None, description="When these numbers were read.", json_schema_extra={"format": "date-time"}
    )
