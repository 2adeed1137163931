"""Handlers the benchmark runs on our engine: a stamped no-op and a 30 s sleeper."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.peers.common import stamp
from worker_runtime.handlers import handler


@handler("bench_noop")
async def bench_noop(payload: dict[str, Any]) -> None:
    stamp(float(payload.get("t", 0.0)))


@handler("bench_sleep")
async def bench_sleep(payload: Any) -> None:
    """Holds its lease for ``s`` seconds (default 30): jobs in flight for the scale run."""
    await asyncio.sleep(float(payload.get("s", 30)) if isinstance(payload, dict) else 30.0)
