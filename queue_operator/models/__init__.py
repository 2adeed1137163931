"""Pydantic models of the custom resources; the CRDs in crds/ are generated from them."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from queue_operator.models.common import Condition, CRModel, StatusBase
from queue_operator.models.jobqueue import JobQueueSpec, JobQueueStatus
from queue_operator.models.schedule import ScheduleSpec, ScheduleStatus
from queue_operator.models.workerpool import WorkerPoolSpec, WorkerPoolStatus


@dataclass(frozen=True)
class Column:
    """An additionalPrinterColumn."""

    name: str
    type: str
    json_path: str
    description: str = ""


@dataclass(frozen=True)
class Kind:
    """One CRD: names, models, printer columns and the optional /scale subresource."""

    kind: str
    plural: str
    short_name: str
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[Column, ...]
    description: str
    scale: bool = False

    @property
    def singular(self) -> str:
        return self.kind.lower()


_AGE = Column("Age", "date", ".metadata.creationTimestamp")
_READY = Column("Ready", "boolean", ".status.ready", "Mirror of the Ready condition")

JOBQUEUE = Kind(
    kind="JobQueue",
    plural="jobqueues",
    short_name="jq",
    spec=JobQueueSpec,
    status=JobQueueStatus,
    description="A queue of the BlackRoad job engine: its settings, written into Redis by "
    "the operator, and its live depth.",
    columns=(
        Column("Queue", "string", ".status.queueName", "Engine queue name"),
        Column("Pending", "integer", ".status.pending"),
        Column("Running", "integer", ".status.running"),
        Column("Delayed", "integer", ".status.delayed"),
        Column("Dead", "integer", ".status.dead"),
        Column("Oldest", "date", ".status.oldestPendingTime", "Age of the oldest pending job"),
        Column("Paused", "boolean", ".status.paused"),
        _READY,
        _AGE,
    ),
)
WORKERPOOL = Kind(
    kind="WorkerPool",
    plural="workerpools",
    short_name="wp",
    spec=WorkerPoolSpec,
    status=WorkerPoolStatus,
    description="A Deployment of BlackRoad workers serving some JobQueues, autoscaled on "
    "their backlog.",
    columns=(
        Column("Queues", "string", ".status.queues"),
        Column("Desired", "integer", ".status.desiredReplicas"),
        Column("Ready", "integer", ".status.readyReplicas"),
        Column("Backlog", "integer", ".status.backlog"),
        _AGE,
    ),
    scale=True,
)
SCHEDULE = Kind(
    kind="Schedule",
    plural="schedules",
    short_name="jsched",
    spec=ScheduleSpec,
    status=ScheduleStatus,
    description="A cron schedule that enqueues one job into a JobQueue on every tick.",
    columns=(
        Column("Cron", "string", ".spec.cron"),
        Column("Queue", "string", ".spec.queue"),
        Column("Last", "date", ".status.lastScheduleTime"),
        Column("Next", "string", ".status.nextScheduleTime", "Next tick (RFC 3339)"),
        Column("Suspended", "boolean", ".spec.suspend"),
        _AGE,
    ),
)
KINDS = (JOBQUEUE, WORKERPOOL, SCHEDULE)

__all__ = [
    "JOBQUEUE",
    "KINDS",
    "SCHEDULE",
    "WORKERPOOL",
    "CRModel",
    "Column",
    "Condition",
    "JobQueueSpec",
    "JobQueueStatus",
    "Kind",
    "ScheduleSpec",
    "ScheduleStatus",
    "StatusBase",
    "WorkerPoolSpec",
    "WorkerPoolStatus",
]
