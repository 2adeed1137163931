"""Handlers for the fault tests: each execution is appended to a log outside Redis."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from worker_runtime import handler
from worker_runtime.worker.execution import JobContext


def _log(kind: str, job_id: str) -> None:
    # O_APPEND writes of one short line are atomic, so concurrent workers never interleave.
    fd = os.open(os.environ["FAULT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{kind} {job_id}\n".encode())
    finally:
        os.close(fd)


@handler("work")
async def work(payload: dict[str, Any], ctx: JobContext) -> None:
    _log("start", ctx.id)
    await asyncio.sleep(float(payload.get("s", 0.01)))
    _log("done", ctx.id)


@handler("crash")
async def crash(payload: Any, ctx: JobContext) -> None:
    _log("start", ctx.id)
    os._exit(1)
