"""A queue's settings validated (pydantic), as the CLI, the client and the operator write them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from worker_runtime.models import DEFAULT_AGING_STEPS, DEFAULT_WEIGHTS, StoredConfig
from worker_runtime.names import QUEUE_NAME_PATTERN

#: Every default, from the one place that declares them.
_D = StoredConfig()


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


def _rules(steps: tuple[tuple[int, int, int], ...]) -> list[AgingRule]:
    return [AgingRule(from_priority=a, to_priority=b, after_ms=c) for a, b, c in steps]


#: Default aging: LOW to NORMAL after 30 min, NORMAL to HIGH after 15, HIGH to CRITICAL after 5.
DEFAULT_AGING: tuple[AgingRule, ...] = tuple(_rules(DEFAULT_AGING_STEPS))


class QueueConfig(BaseModel):
    """Settings of one queue, checked before they are stored in its config hash.

    The fields are those of ``models.StoredConfig`` (what a worker reads back, without
    pydantic), with its defaults; here each gets its bounds and its documentation.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_attempts: int = Field(
        _D.max_attempts, ge=1, le=1000, description="Attempts before a job is dead."
    )
    backoff_base_ms: int = Field(
        _D.backoff_base_ms, ge=0, le=86_400_000, description="First retry delay."
    )
    backoff_max_ms: int = Field(
        _D.backoff_max_ms, ge=0, le=604_800_000, description="Longest delay."
    )
    timeout_ms: int = Field(_D.timeout_ms, ge=1, le=604_800_000, description="Default job timeout.")
    lease_ms: int = Field(_D.lease_ms, ge=1000, le=3_600_000, description="Visibility timeout.")
    result_ttl_ms: int = Field(
        _D.result_ttl_ms, ge=0, le=31_536_000_000, description="How long completed jobs are kept."
    )
    keep_completed: int = Field(_D.keep_completed, ge=0, description="Most completed jobs kept.")
    dead_ttl_ms: int = Field(
        _D.dead_ttl_ms, ge=0, le=31_536_000_000, description="How long dead jobs are kept."
    )
    keep_dead: int = Field(_D.keep_dead, ge=0, description="Most dead jobs kept.")
    max_payload_bytes: int = Field(
        _D.max_payload_bytes,
        ge=1,
        le=536_870_912,
        description="Largest payload accepted, in bytes.",
    )
    paused: bool = Field(_D.paused, description="A paused queue accepts jobs and hands out none.")
    fairness: Literal["strict", "weighted"] = Field(
        _D.fairness,
        description="strict: always the highest priority first; weighted: each priority level "
        "gets a share of claims proportional to its weight (no level starves).",
    )
    weights: dict[int, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Weight per priority level (0-10) for weighted fairness; unlisted levels "
        "weigh 1.",
    )
    aging: bool = Field(_D.aging, description="Promote jobs that wait too long (see aging_rules).")
    aging_rules: list[AgingRule] = Field(
        default_factory=lambda: _rules(_D.aging_rules),
        description="Jobs waiting longer than after_ms at from_priority move to to_priority.",
    )
    rate_limit: int | None = Field(
        _D.rate_limit, ge=1, description="Most jobs started per rate_period_ms across all workers."
    )
    rate_period_ms: int = Field(
        _D.rate_period_ms, ge=1, le=86_400_000, description="Rate limit window."
    )
    rate_limiter: str | None = Field(
        _D.rate_limiter,
        pattern=QUEUE_NAME_PATTERN,
        description="Name of a rate limit shared with other queues (instead of rate_limit).",
    )
    key_rate_limit: int | None = Field(
        _D.key_rate_limit,
        ge=1,
        description="Most jobs per rate_key started per key_rate_period_ms.",
    )
    key_rate_period_ms: int = Field(
        _D.key_rate_period_ms, ge=1, le=86_400_000, description="Per-key window."
    )
    max_running: int | None = Field(
        _D.max_running,
        ge=1,
        description="Most jobs of this queue running at once, across all workers.",
    )
    key_max_running: int | None = Field(
        _D.key_max_running, ge=1, description="Most jobs of one rate_key running at once."
    )

    def stored(self) -> StoredConfig:
        """These settings as a worker reads them back."""
        data = self.model_dump()
        data["aging_rules"] = tuple(
            (r.from_priority, r.to_priority, r.after_ms) for r in self.aging_rules
        )
        return StoredConfig(**data)

    def to_redis(self) -> dict[str, str]:
        """Flat strings for the config hash; None becomes "" (the field is deleted)."""
        return self.stored().to_redis()

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> QueueConfig:
        """The settings a config hash holds, validated (the worker reads them unvalidated,
        as ``StoredConfig.from_redis``)."""
        data = asdict(StoredConfig.from_redis(raw))
        data["aging_rules"] = _rules(data["aging_rules"])
        return cls.model_validate(data)
