"""BlackRoad Queues: the engine, its client and the worker runtime."""

from worker_runtime.client import Client, SyncClient
from worker_runtime.control import PermanentFailure, Retry
from worker_runtime.errors import (
    InvalidArgumentError,
    JobNotFoundError,
    PayloadError,
    PayloadTooLargeError,
    QueueError,
)
from worker_runtime.handlers import handler
from worker_runtime.models import Enqueued, Job, JobSpec, JobState, Priority, QueueConfig
from worker_runtime.worker.execution import BatchItem, JobContext

__all__ = [
    "BatchItem",
    "Client",
    "Enqueued",
    "InvalidArgumentError",
    "Job",
    "JobContext",
    "JobNotFoundError",
    "JobSpec",
    "JobState",
    "PayloadError",
    "PayloadTooLargeError",
    "PermanentFailure",
    "Priority",
    "QueueConfig",
    "QueueError",
    "Retry",
    "SyncClient",
    "handler",
]
