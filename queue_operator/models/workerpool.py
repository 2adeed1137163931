"""The WorkerPool resource: a Deployment of workers for some queues, autoscaled on backlog."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from queue_operator.models.common import K8S_NAME, CRModel, StatusBase

_OPAQUE: JsonDict = {"x-kubernetes-preserve-unknown-fields": True}
_OPAQUE_LIST: JsonDict = {"items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
_INT_OR_PERCENT: JsonDict = {"x-kubernetes-int-or-string": True}
_PERCENT = re.compile(r"^[0-9]{1,3}%$")
#: Default of spec.maxGraceSeconds: the longest grace a pool asks for unless told otherwise.
DEFAULT_MAX_GRACE_SECONDS = 3600


class PoolQueue(CRModel):
    """One JobQueue the pool serves."""

    name: str = Field(description="A JobQueue in this namespace.", max_length=253, pattern=K8S_NAME)
    weight: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Share of claims for weighted order (all queues need a weight then); "
        "without weights queues are served in strict list order.",
    )


class Autoscaling(CRModel):
    """Replicas from queue backlog: clamp(ceil(backlog / targetBacklogPerReplica), min, max)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.minReplicas <= self.maxReplicas",
                    "message": "minReplicas must not exceed maxReplicas",
                }
            ]
        }
    )

    enabled: bool = Field(True, description="Scale on backlog; when false spec.replicas decides.")
    mode: Literal["operator", "external"] = Field(
        "operator",
        description="operator: the operator sets the Deployment's replicas from the backlog. "
        "external: an HPA or KEDA owns them (see manifests/examples/autoscaling/); the operator "
        "never writes replicas and still reports the backlog (status.backlog and the metric "
        "blackroad_workerpool_backlog).",
    )
    min_replicas: int = Field(1, ge=0, le=1000, description="Fewest replicas; 0 scales to zero.")
    max_replicas: int = Field(10, ge=1, le=1000, description="Most replicas.")
    target_backlog_per_replica: int = Field(
        10,
        ge=1,
        le=1_000_000,
        description="Backlog (pending + running + delayed due within the next poll) one "
        "replica should carry; usually about its concurrency.",
    )
    scale_up_stabilization_seconds: int = Field(
        0,
        ge=0,
        le=3600,
        description="Scale up only to the lowest recommendation of this window (0: at once).",
    )
    scale_down_stabilization_seconds: int = Field(
        300,
        ge=0,
        le=86_400,
        description="Scale down only to the highest recommendation of this window.",
    )
    poll_seconds: int = Field(15, ge=1, le=3600, description="How often the backlog is read.")


class PodOverrides(CRModel):
    """Fields copied into the worker pods' template."""

    labels: dict[str, str] | None = Field(None, description="Extra pod labels.", max_length=64)
    annotations: dict[str, str] | None = Field(
        None, description="Extra pod annotations.", max_length=64
    )
    node_selector: dict[str, str] | None = Field(
        None, description="Pod nodeSelector.", max_length=64
    )
    tolerations: list[dict[str, Any]] | None = Field(
        None, description="Pod tolerations.", max_length=64, json_schema_extra=_OPAQUE_LIST
    )
    affinity: dict[str, Any] | None = Field(
        None, description="Pod affinity (core/v1 Affinity).", json_schema_extra=_OPAQUE
    )
    service_account_name: str | None = Field(
        None, description="Service account of the worker pods.", max_length=253, pattern=K8S_NAME
    )
    image_pull_secrets: list[str] | None = Field(
        None, description="Names of image pull Secrets.", max_length=16
    )
    priority_class_name: str | None = Field(
        None, description="Pod priorityClassName.", max_length=253, pattern=K8S_NAME
    )


class DisruptionBudget(CRModel):
    """A PodDisruptionBudget for the worker pods (owned by the pool); give exactly one field."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.minAvailable) != has(self.maxUnavailable)",
                    "message": "give exactly one of minAvailable and maxUnavailable",
                }
            ]
        }
    )

    min_available: int | str | None = Field(
        None,
        description="Pods that must stay up during voluntary disruptions (a number or a "
        "percentage such as 50%).",
        json_schema_extra=_INT_OR_PERCENT,
    )
    max_unavailable: int | str | None = Field(
        None,
        description="Pods that may be down during voluntary disruptions (a number or a "
        "percentage).",
        json_schema_extra=_INT_OR_PERCENT,
    )

    @model_validator(mode="after")
    def _one_count(self) -> DisruptionBudget:
        given = [v for v in (self.min_available, self.max_unavailable) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of minAvailable and maxUnavailable")
        for value in given:
            if isinstance(value, str) and not _PERCENT.match(value):
                raise ValueError(f"{value!r} is neither a number nor a percentage such as 50%")
            if isinstance(value, int) and value < 0:
                raise ValueError("a disruption budget count must not be negative")
        return self


_REPLICAS_WITHIN_MAX: JsonDict = {
    "rule": "!has(self.autoscaling) || !self.autoscaling.enabled || !has(self.replicas) "
    "|| self.replicas <= self.autoscaling.maxReplicas",
    "message": "replicas (a floor while autoscaling is enabled) must not exceed "
    "autoscaling.maxReplicas",
}


class WorkerPoolSpec(CRModel):
    """Desired worker Deployment."""

    model_config = ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [_REPLICAS_WITHIN_MAX]}
    )

    queues: list[PoolQueue] = Field(
        description="JobQueues to serve, in strict priority order unless weighted.",
        min_length=1,
        max_length=32,
    )
    image: str = Field(description="Worker image (runs `blackroad worker start`).", max_length=512)
    image_pull_policy: str | None = Field(
        None, description="Always, IfNotPresent or Never.", pattern="^(Always|IfNotPresent|Never)$"
    )
    handlers: str = Field(
        description="Python module(s) registering the @handler functions (HANDLERS).",
        max_length=1024,
        pattern=r"^[A-Za-z0-9_.,:/ -]+$",
    )
    concurrency: int = Field(10, ge=1, le=100_000, description="Jobs one worker holds at once.")
    replicas: int | None = Field(
        None,
        ge=0,
        le=1000,
        description="Replicas when autoscaling is off (default 1). With autoscaling on it is a "
        "floor: the autoscaler never goes below it. `kubectl scale wp` writes this field.",
    )
    resources: dict[str, Any] | None = Field(
        None, description="Container resources (requests/limits).", json_schema_extra=_OPAQUE
    )
    env: list[dict[str, Any]] | None = Field(
        None,
        description="Extra container env (core/v1 EnvVar); REDIS_URL, QUEUES, HANDLERS, "
        "WORKER_CONCURRENCY and PORT are set by the operator.",
        max_length=128,
        json_schema_extra=_OPAQUE_LIST,
    )
    env_from: list[dict[str, Any]] | None = Field(
        None,
        description="Container envFrom (core/v1 EnvFromSource).",
        max_length=32,
        json_schema_extra=_OPAQUE_LIST,
    )
    pod: PodOverrides | None = Field(None, description="Pod template overrides.")
    termination_grace_period_seconds: int | None = Field(
        None,
        ge=2,
        le=86_400,
        description="Pod grace period. Unset: the longest timeoutMs of the pool's queues plus "
        "5 s, at least 30 and at most maxGraceSeconds. The worker's own grace (--grace) is "
        "this minus min(5, half of it), so running jobs finish before the kubelet's SIGKILL; "
        "a job still running then is handed back to its queue without an attempt counted.",
    )
    max_grace_seconds: int = Field(
        DEFAULT_MAX_GRACE_SECONDS,
        ge=2,
        le=86_400,
        description="Cap of the grace period derived from the queues' job timeout (a "
        "scale-down or rollout waits at most this long for running jobs).",
    )
    disruption_budget: DisruptionBudget | None = Field(
        None, description="A PodDisruptionBudget for the worker pods, owned by the pool."
    )
    autoscaling: Autoscaling | None = Field(None, description="Backlog-based autoscaling.")


class WorkerPoolStatus(StatusBase):
    """What the operator last decided and saw."""

    replicas: int | None = Field(None, description="Replicas of the Deployment (for /scale).")
    ready_replicas: int | None = Field(None, description="Ready worker pods.")
    desired_replicas: int | None = Field(None, description="Replicas the operator asked for.")
    backlog: int | None = Field(None, description="Backlog at the last decision.")
    queues: str | None = Field(None, description="Engine queues served, as the worker sees them.")
    selector: str | None = Field(None, description="Pod label selector (for /scale).")
    last_scale_time: str | None = Field(
        None, description="When replicas last changed.", json_schema_extra={"format": "date-time"}
    )
    last_scale_reason: str | None = Field(None, description="Why replicas are what they are.")
    recommendations: list[Recommendation] | None = Field(
        None,
        description="Autoscaler memory, kept so restarts and peers keep the windows.",
        max_length=2048,
    )


class Recommendation(CRModel):
    """One autoscaler recommendation kept for a stabilization window."""

    time: float = Field(description="Unix time of the recommendation.")
    replicas: int = Field(description="Replicas recommended then.")


WorkerPoolStatus.model_rebuild()
