"""Keeps a background loop running: one that fails is logged with its cause and restarted."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("blackroad.worker")

#: Wait before the first restart of a failed loop; it doubles with each failure in a row.
RESTART_MIN_S = 0.2
#: Longest wait between restarts, which also bounds how often a broken loop logs.
RESTART_MAX_S = 30.0
#: A loop that ran this long before it failed counts as healthy: its next restart is quick.
HEALTHY_S = 60.0


def restart_delay(failures: int) -> float:
    """Seconds before restart number ``failures`` (1-based) of a loop failing in a row."""
    return float(min(RESTART_MAX_S, RESTART_MIN_S * 2 ** min(failures - 1, 20)))


async def supervise(
    name: str, loop: Callable[[], Awaitable[None]], closing: Callable[[], bool]
) -> None:
    """Runs ``loop()`` until it returns or is cancelled, restarting it after any exception.

    A background loop (heartbeats, recovery, acknowledgements) that died silently would
    leave the process up but no longer doing its part, and one whose exception escaped
    would take the process down: neither is allowed. The first failure of a streak is
    logged with its traceback, the next ones in one line each (at most one per
    ``RESTART_MAX_S``). ``closing()`` says the worker is stopping: no restart then.
    """
    failures = 0
    while True:
        started = time.monotonic()
        try:
            await loop()
            return
        except Exception as exc:
            if time.monotonic() - started >= HEALTHY_S:
                failures = 0
            failures += 1
            if closing():
                log.warning("background task %s failed while stopping: %r", name, exc)
                return
            delay = restart_delay(failures)
            if failures == 1:
                log.error("background task %s failed; restarting it", name, exc_info=exc)
            else:
                log.error(
                    "background task %s failed again (%d in a row): %r; restarting in %.1fs",
                    name,
                    failures,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
