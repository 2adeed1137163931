"""Example handlers: the ones the examples in manifests/ and `make run` use."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from worker_runtime.control import PermanentFailure
from worker_runtime.handlers import handler
from worker_runtime.worker.execution import JobContext


@handler("noop")
async def noop(payload: Any) -> None:
    return None


@handler("agent_task:inference")
async def inference(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Pretends to run a model: sleeps ``ms`` milliseconds and fails ``fail_rate`` of the time."""
    await asyncio.sleep(float(payload.get("ms", 50)) / 1000)
    if random.random() < float(payload.get("fail_rate", 0.0)):
        raise RuntimeError("model server answered 503")
    return {"agent": payload.get("agent", "default"), "tokens": random.randint(10, 500)}


@handler("agent_task:invalid")
def invalid(payload: Any) -> None:
    raise PermanentFailure("this input can never succeed")


@handler("maintenance:cleanup")
def cleanup(payload: Any) -> dict[str, int]:
    return {"removed": 0}
