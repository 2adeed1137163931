"""Read-only ops for live views: enqueues and recent finishes per queue, pages of a state.

The dashboard (and any other reader) derives rates from these instead of reading keys itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker_runtime.engine.keys import QueueKeys
from worker_runtime.engine.operation import Op
from worker_runtime.engine.reads import job_ids


@dataclass(frozen=True)
class Activity:
    """One snapshot of a queue's flow: jobs ever enqueued, and jobs finished since a time."""

    now_ms: int
    #: Jobs created since the queue was made, as the enqueue scripts count them (a dedupe
    #: hit, a retry or a purge leaves it alone; deleting the queue resets it to 0).
    enqueued: int
    completed: int
    dead: int
    cancelled: int


def activity(since_ms: Mapping[str, int]) -> Op[dict[str, Activity]]:
    """Per queue, the enqueue counters' total and the jobs finished after its ``since_ms``
    (Redis clock), all in one MULTI block: one round trip however many queues. Finished jobs
    are counted by their finish time, so a rate computed from this stays right however
    seldom it is read (within the queue's keep_completed limit)."""
    queues = list(since_ms)

    def parse(r: list[Any]) -> dict[str, Activity]:
        seconds, micros = r[0]
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        found = {}
        for n, queue in enumerate(queues):
            counters, completed, dead, cancelled = r[1 + n * 4 : 5 + n * 4]
            enqueued = sum(int(c) for c in counters)
            found[queue] = Activity(now_ms, enqueued, int(completed), int(dead), int(cancelled))
        return found

    commands: list[tuple[str | int | float, ...]] = [("TIME",)]
    for queue in queues:
        k, after = QueueKeys.of(queue), f"({since_ms[queue]}"
        commands.append(("HVALS", k.enqueued))
        commands += [("ZCOUNT", key, after, "+inf") for key in (k.completed, k.dead, k.cancelled)]
    return Op(parse, commands=commands)


@dataclass(frozen=True)
class Page:
    """One page of the ids in a state set, and how many the set holds in all."""

    total: int
    ids: list[str]


def page(queue: str, state: str, offset: int, limit: int) -> Op[Page]:
    """Ids ``offset`` .. ``offset + limit - 1`` of a state (in ``reads.job_ids`` order) with
    the set's size: one ranged read, so a page of a million-job set costs what a page costs."""
    ids = job_ids(queue, state, offset, limit)

    def parse(r: list[Any]) -> Page:
        return Page(int(r[0]), ids.parse(r[1:]))

    return Op(parse, commands=[("ZCARD", QueueKeys.of(queue).state_set(state)), *ids.commands])


def sizes(queue: str, job_ids: Sequence[str]) -> Op[list[int]]:
    """Bytes of each job's record plus its result (0: no such job), without reading them:
    a reader can leave out the heavy ones (a payload may be up to max_payload_bytes)."""
    k = QueueKeys.of(queue)

    def parse(r: list[Any]) -> list[int]:
        return [int(r[n]) + int(r[n + 1]) if int(r[n]) else 0 for n in range(0, len(r), 2)]

    commands = [
        (c, key, i) for i in job_ids for c, key in (("HSTRLEN", k.jobs), ("HSTRLEN", k.result))
    ]
    return Op(parse, commands=commands)


def server_time_ms() -> Op[int]:
    """Now on the Redis clock, which every time the engine stores is measured by."""

    def parse(r: list[Any]) -> int:
        seconds, micros = r[0]
        return int(seconds) * 1000 + int(micros) // 1000

    return Op(parse, commands=[("TIME",)])
