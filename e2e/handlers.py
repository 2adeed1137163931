"""Handlers of the e2e pools (HANDLERS=e2e.handlers; the kind suite bakes them into an image)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from worker_runtime.engine.connection import connect_async
from worker_runtime.handlers import handler

#: Redis key a gated job needs before it can succeed: "the downstream is fixed".
GATE_KEY = "e2e:gate:{}"


@handler("e2e:sleep")
async def sleep(payload: dict[str, Any]) -> dict[str, Any]:
    """Pretends to work for ``ms`` milliseconds."""
    await asyncio.sleep(float(payload.get("ms", 50)) / 1000)
    return {"slept_ms": payload.get("ms", 50)}


@handler("e2e:gated")
async def gated(payload: dict[str, Any]) -> str:
    """Fails until the test opens the gate: a job that dead-letters, then succeeds on retry."""
    # Any topology the pool runs on (a cluster URL too).
    conn = connect_async(os.environ["REDIS_URL"])
    try:
        if not await conn.exists(GATE_KEY.format(payload["gate"])):
            raise RuntimeError(f"downstream {payload['gate']} is down")
    finally:
        await conn.aclose()
    return "passed"
