"""BlackRoad Queues: the engine, its client and the worker runtime.

The public names load on first use (PEP 562), so that importing one sub-module (the
operator imports ``worker_runtime.models``) does not pull in Redis, the client and the worker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from worker_runtime.models import (
        Dependency,
        DependencyPolicy,
        Enqueued,
        EventType,
        Job,
        JobEvent,
        JobSpec,
        JobState,
        Priority,
    )
    from worker_runtime.queue_config import QueueConfig
    from worker_runtime.worker.execution import BatchItem, JobContext

#: Public name -> the module that defines it.
_WHERE = {
    "BatchItem": "worker_runtime.worker.execution",
    "Client": "worker_runtime.client",
    "Dependency": "worker_runtime.models",
    "DependencyPolicy": "worker_runtime.models",
    "Enqueued": "worker_runtime.models",
    "EventType": "worker_runtime.models",
    "InvalidArgumentError": "worker_runtime.errors",
    "Job": "worker_runtime.models",
    "JobContext": "worker_runtime.worker.execution",
    "JobEvent": "worker_runtime.models",
    "JobNotFoundError": "worker_runtime.errors",
    "JobSpec": "worker_runtime.models",
    "JobState": "worker_runtime.models",
    "PayloadError": "worker_runtime.errors",
    "PayloadTooLargeError": "worker_runtime.errors",
    "PermanentFailure": "worker_runtime.control",
    "Priority": "worker_runtime.models",
    "QueueConfig": "worker_runtime.queue_config",
    "QueueError": "worker_runtime.errors",
    "Retry": "worker_runtime.control",
    "SyncClient": "worker_runtime.client",
    "handler": "worker_runtime.handlers",
}

__all__ = [
    "BatchItem",
    "Client",
    "Dependency",
    "DependencyPolicy",
    "Enqueued",
    "EventType",
    "InvalidArgumentError",
    "Job",
    "JobContext",
    "JobEvent",
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'worker_runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
