"""Cron schedules in Redis: the store-level API and the scheduler loop that fires ticks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections import defaultdict
from collections.abc import Callable

from worker_runtime.cron import expressions as cron
from worker_runtime.cron import transitions
from worker_runtime.cron.schedules import (
    Schedule,
    ScheduleNotFoundError,
    ScheduleSpec,
    check_schedule_name,
    prepare_schedule,
)
from worker_runtime.cron.schedules import now_ms as wall_clock_ms
from worker_runtime.cron.transitions import Fired, Loaded
from worker_runtime.engine import reads
from worker_runtime.engine.redis_errors import REDIS_DOWN
from worker_runtime.engine.store import AsyncStore
from worker_runtime.errors import InvalidArgumentError, PayloadTooLargeError
from worker_runtime.models import Enqueued, StoredConfig

log = logging.getLogger("blackroad.scheduler")

#: Most ticks of one schedule looked at in one step; a longer gap is passed over in steps,
#: so a day-long outage of a per-second schedule never blocks the event loop for long.
MAX_TICKS = 10_000
#: Longest back-off between attempts while Redis is unreachable, in seconds.
MAX_BACKOFF_S = 30.0


async def add_schedule(store: AsyncStore, spec: ScheduleSpec) -> Schedule:
    """Creates or replaces a schedule (validated before anything is written)."""
    prepared = prepare_schedule(spec)
    queue, name = prepared.spec.queue, prepared.spec.name
    limit = StoredConfig.from_redis(await store.run(reads.read_config(queue))).max_payload_bytes
    if prepared.payload_bytes > limit:
        raise PayloadTooLargeError(
            f"schedule {name!r}: payload is {prepared.payload_bytes} bytes, over the limit "
            f"of {limit} bytes of queue {queue!r}",
            field="payload",
        )
    next_tick = cron.next_fire_ms(prepared.spec.cron, prepared.spec.timezone, wall_clock_ms())
    previous = await store.run(transitions.registry_get(name))
    # Definition first, registry second, old copy last: the registry names the one true
    # copy, so an add cut short leaves at most an orphan that schedulers ignore.
    await store.run(transitions.put(prepared, next_tick))
    await store.run(transitions.registry_set(name, queue))
    await store.register_queues([queue])
    if previous is not None and previous != queue:
        await store.run(transitions.delete(previous, name))
    found = await get_schedule(store, name)
    assert found is not None
    return found


async def remove_schedule(store: AsyncStore, name: str) -> bool:
    """Deletes a schedule with its state; False when there was none."""
    check_schedule_name(name)
    queue = await store.run(transitions.registry_get(name))
    if queue is None:
        return False
    await store.run(transitions.registry_delete(name))
    await store.run(transitions.delete(queue, name))
    return True


async def _load_all(store: AsyncStore) -> dict[str, Loaded]:
    by_queue: dict[str, set[str]] = defaultdict(set)
    for name, queue in (await store.run(transitions.registry())).items():
        by_queue[queue].add(name)
    found: dict[str, Loaded] = {}
    for queue, names in sorted(by_queue.items()):
        loaded: dict[str, Loaded] = await store.run(transitions.load(queue, names))
        found.update(loaded)
    return found


async def list_schedules(store: AsyncStore) -> list[Schedule]:
    """Every schedule with its state, by name."""
    loaded = await _load_all(store)
    return [loaded[n].schedule for n in sorted(loaded)]


async def _loaded(store: AsyncStore, name: str) -> Loaded:
    check_schedule_name(name)
    queue = await store.run(transitions.registry_get(name))
    found = await store.run(transitions.load(queue, {name})) if queue is not None else {}
    if name not in found:
        raise ScheduleNotFoundError(f"schedule {name!r}: no such schedule")
    return found[name]


async def get_schedule(store: AsyncStore, name: str) -> Schedule | None:
    try:
        return (await _loaded(store, name)).schedule
    except ScheduleNotFoundError:
        return None


async def trigger_schedule(store: AsyncStore, name: str) -> Enqueued:
    """Enqueues one run now, outside the tick sequence (even if suspended or Forbid)."""
    spec = (await _loaded(store, name)).schedule.spec
    job_id = f"schedrun:{name}:{secrets.token_hex(6)}"
    done = await store.run(transitions.fire(spec, "trigger", job_id=job_id))
    return Enqueued(job_id, spec.queue, done.outcome == "fired", "created")


async def set_suspended(store: AsyncStore, name: str, suspend: bool) -> bool:
    """Suspends or resumes; returns False when it already was so."""
    spec = (await _loaded(store, name)).schedule.spec
    return await store.run(transitions.set_suspended(spec.queue, name, suspend))


def _plan(item: Loaded, ticks: list[int], more: bool, now: int) -> tuple[list[int], list[int]]:
    """Splits due ticks into (passed over as missed, to run)."""
    if item.schedule.spec.suspend:
        return ticks, []
    if item.deadline_ms is not None:
        split = sum(1 for t in ticks if now - t > item.deadline_ms)
    else:
        # No deadline: after a gap only the latest due tick runs, never a burst.
        split = len(ticks) if more else len(ticks) - 1
    return ticks[:split], ticks[split:]


async def _advance(store: AsyncStore, item: Loaded, now: int, out: list[Fired]) -> int | None:
    """Fires the due ticks of one schedule; returns its next tick (None: unknown)."""
    spec, cursor = item.schedule.spec, item.cursor
    if cursor == "":
        nxt = cron.next_fire_ms(spec.cron, spec.timezone, now)
        out.append(await store.run(transitions.fire(spec, "init", at_ms=now, next_tick_ms=nxt)))
        return nxt
    known = item.schedule.state.next_tick_ms
    if known is not None and known > now:
        return known  # the common case: nothing due, no cron arithmetic at all
    while True:
        ticks = cron.fire_times(spec.cron, spec.timezone, int(cursor), now, MAX_TICKS)
        if not ticks:
            return cron.next_fire_ms(spec.cron, spec.timezone, int(cursor))
        after = cron.next_fire_ms(spec.cron, spec.timezone, ticks[-1])
        more = after <= now
        late, run = _plan(item, ticks, more, now)
        steps: list[tuple[str, int, int, int]] = []  # mode, tick, missed, next tick
        if not run:
            steps.append(("skip", late[-1], 0 if spec.suspend else len(late), after))
        for i, tick in enumerate(run):
            nxt = run[i + 1] if i + 1 < len(run) else after
            steps.append(("tick", tick, len(late) if i == 0 else 0, nxt))
        for mode, tick, missed, nxt in steps:
            done = await store.run(
                transitions.fire(
                    spec,
                    mode,
                    at_ms=tick,
                    expected=cursor,
                    missed=missed,
                    next_tick_ms=nxt,
                    job_id=f"sched:{spec.name}:{tick}" if mode == "tick" else "",
                )
            )
            out.append(done)
            if done.outcome == "stale":
                return None  # another scheduler is ahead: it owns these ticks
            cursor = str(tick)
        if not more:
            return after


async def _pass(store: AsyncStore, now: int) -> tuple[list[Fired], int | None]:
    out: list[Fired] = []
    earliest: int | None = None
    for item in (await _load_all(store)).values():
        try:
            nxt = await _advance(store, item, now, out)
        except (ScheduleNotFoundError, InvalidArgumentError) as exc:
            # Removed meanwhile, or a definition this version cannot read: skip only it.
            log.warning("schedule %s: %s", item.schedule.spec.name, exc)
            continue
        if nxt is not None and (earliest is None or nxt < earliest):
            earliest = nxt
    return out, earliest


async def fire_due(store: AsyncStore, now_ms: int) -> list[Fired]:
    """One scheduler pass at time ``now_ms``: fires (or passes over) every due tick."""
    return (await _pass(store, now_ms))[0]


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))


async def run_scheduler(
    store: AsyncStore,
    stop: asyncio.Event,
    *,
    interval_s: float = 1.0,
    now_ms: Callable[[], int] | None = None,
) -> None:
    """Fires due ticks until ``stop`` is set; any number may run at once, anywhere.

    Sleeps until the next tick or ``interval_s`` (so new schedules are seen), and rides
    out Redis outages with capped exponential back-off.
    """
    clock = now_ms or wall_clock_ms
    failures = 0
    while not stop.is_set():
        try:
            fired, earliest = await _pass(store, clock())
        except Exception as exc:
            # Outages are expected; anything else is logged in full, but a scheduler that
            # died would silently stop every schedule, so both back off and try again.
            failures += 1
            if not isinstance(exc, REDIS_DOWN):
                log.exception("scheduler: pass failed; retrying")
            elif failures == 1:
                log.warning("scheduler: Redis unreachable (%s); retrying", exc)
            delay = min(MAX_BACKOFF_S, interval_s * 2 ** min(failures, 10))
            await _wait(stop, delay * random.uniform(0.8, 1.2))
            continue
        if failures:
            log.info("scheduler: Redis reachable again")
            failures = 0
        for f in fired:
            if f.outcome in ("fired", "missed", "forbidden", "too_large"):
                log.info("schedule %s tick %s: %s %s", f.name, f.tick_ms, f.outcome, f.job_id)
        wait = interval_s
        if earliest is not None:
            # One ms past the tick, so the next pass sees it as due.
            wait = min(interval_s, (earliest - clock() + 1) / 1000)
        await _wait(stop, wait)
