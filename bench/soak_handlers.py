"""The handler of the soak runs: appends each job's id to the file in SOAK_LOG."""

from __future__ import annotations

import os
from typing import Any

from worker_runtime.handlers import handler
from worker_runtime.worker.execution import JobContext


@handler("soak")
async def soak(payload: Any, ctx: JobContext) -> None:
    # One short O_APPEND write is atomic: concurrent workers never interleave their lines.
    fd = os.open(os.environ["SOAK_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{ctx.id}\n".encode())
    finally:
        os.close(fd)
