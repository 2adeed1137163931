"""Handlers of the metrics tests: a success, a retry, and failures of two error types."""

from __future__ import annotations

import asyncio
from typing import Any

from worker_runtime import PermanentFailure, Retry, handler
from worker_runtime.worker.execution import JobContext


@handler("resize")
async def resize(payload: Any) -> dict[str, bool]:
    await asyncio.sleep(0.01)
    return {"ok": True}


@handler("flaky")
async def flaky(payload: Any, ctx: JobContext) -> None:
    if ctx.attempt == 1:
        raise Retry(0.2)


@handler("broken")
async def broken(payload: Any) -> None:
    raise ValueError("bad input")


@handler("refused")
def refused(payload: Any) -> None:
    raise PermanentFailure("never")
