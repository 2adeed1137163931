"""Claims under a rate limiter shared by queues of different Redis Cluster slots: permits
taken on the limiter's slot first, then a claim of at most that many jobs on the queue's
slot, then the unused permits handed back (``lua/permits.lua`` says what it guarantees).
Everywhere else a claim checks the limiter in the same script, as before.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from redis.crc import key_slot

from worker_runtime.engine import writes
from worker_runtime.engine.keys import QueueKeys, limiter_key, limiter_log_key
from worker_runtime.engine.operation import Op
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.engine.writes import ClaimResult

log = logging.getLogger("blackroad.worker")


def _keys(limiter: str) -> dict[str, str]:
    return {"shared_limiter": limiter_key(limiter), "limiter": limiter_log_key(limiter)}


def take_permits(limiter: str, want: int, prefix: str) -> Op[tuple[int, int]]:
    """Up to ``want`` permits of ``limiter`` now: (granted, ms until one frees if none)."""

    def parse(reply: list[Any]) -> tuple[int, int]:
        return int(reply[0]), int(reply[1])

    return Op(parse, "permits", _keys(limiter), ["take", prefix, want])


def settle_permits(limiter: str, prefix: str, taken: int, used: int, start_ms: int) -> Op[int]:
    """Hands back the permits of a take that its claim did not use; returns how many."""
    args: list[str | int | float] = ["settle", prefix, taken, used, start_ms]
    return Op(lambda r: int(r[0]), "permits", _keys(limiter), args)


def split_slots(store: AsyncStore, queue: str, limiter: str | None) -> bool:
    """Whether a claim on ``queue`` needs two steps: a cluster where ``limiter`` lives in
    another slot than the queue (one script may touch one slot only)."""
    if limiter is None or not store.cluster:
        return False
    return key_slot(limiter_key(limiter).encode()) != key_slot(QueueKeys.of(queue).jobs.encode())


async def claim(
    store: AsyncStore,
    queue: str,
    worker: str,
    count: int,
    lease_ms: int = -1,
    limiter: str | None = None,
    not_after_ms: int = -1,
    send: Callable[[Op[ClaimResult]], Awaitable[ClaimResult]] | None = None,
) -> ClaimResult:
    """``writes.claim`` sent by ``send`` (the worker's, which may add acknowledgements to
    the round trip; ``store.run`` by default), in two steps where the limiter's slot is
    not the queue's. A claim that fails (Redis down) keeps its permits: under-use, never
    more starts than permits; a failed hand-back likewise."""
    run = send or store.run
    if limiter is None or not split_slots(store, queue, limiter):
        return await run(writes.claim(queue, worker, count, lease_ms, limiter, not_after_ms))
    prefix = f"{worker}:{secrets.token_hex(6)}"
    granted, retry_ms = await store.run(take_permits(limiter, count, prefix))
    got = await run(writes.claim(queue, worker, granted, lease_ms, None, not_after_ms))
    if granted:
        try:
            op = settle_permits(limiter, prefix, granted, len(got.jobs), got.redis_now_ms)
            await store.run(op)
        except REDIS_DOWN as exc:
            log.warning("permits of limiter %s not handed back (under-use only): %s", limiter, exc)
    if granted == 0 and retry_ms > 0:
        due = retry_ms if got.next_due_ms is None else min(got.next_due_ms, retry_ms)
        return dataclasses.replace(got, next_due_ms=due)
    return got
