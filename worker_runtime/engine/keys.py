"""Every Redis key name the engine uses, in one place.

Key schema (all keys of one queue share the hash tag ``{queue}`` so Redis Cluster keeps a
queue on one slot and every Lua script touches one slot only):

    brq:{q}:jobs       hash  id -> "<enqueued ms>\\n<meta json>\\n<payload json>"
    brq:{q}:pending    zset  id -> priority * 1e13 + sequence (FIFO within a priority)
    brq:{q}:delayed    zset  id -> due time ms
    brq:{q}:dprio      hash  id -> priority, for delayed jobs
    brq:{q}:running    zset  id -> lease deadline ms (Redis server clock)
    brq:{q}:lease      hash  id -> "token|worker|attempt|start ms|pending score"
    brq:{q}:att        hash  id -> attempts made, for jobs between attempts
    brq:{q}:hist       hash  id -> comma-joined JSON objects, one per finished attempt
    brq:{q}:completed  zset  id -> finish time ms
    brq:{q}:dead       zset  id -> death time ms
    brq:{q}:cancelled  zset  id -> cancel time ms
    brq:{q}:result     hash  id -> result json
    brq:{q}:reason     hash  id -> why a job is dead or cancelled
    brq:{q}:dedupe     hash  dedupe key -> id, while that job is unfinished
    brq:{q}:dk         hash  id -> dedupe key
    brq:{q}:cancelreq  set   running ids whose cancellation was requested
    brq:{q}:seq        string  sequence numbers and fencing tokens
    brq:{q}:config     hash  queue settings (see models.QueueConfig)
    brq:{q}:recovery   hash  at -> last recover call ms, grace -> no recovery before (ms)
    brq:{q}:policy     hash  aged_at (ms), pass:<level> (weighted fairness state)
    brq:{q}:limiter    zset  the queue's rate limit log: one entry per start in the window
    brq:{q}:keyrate    hash  rate_key -> tat (per-key rate limits)
    brq:{q}:keyrun     hash  rate_key -> jobs running now (per-key caps)
    brq:{q}:rkey       hash  running id -> its rate_key
    brq:{q}:progress   hash  id -> {"pct", "msg", "at"} reported by the handler
    brq:{q}:wake       pub/sub channel: something became pending or due

Cron schedules (key names built in schedule_ops.py), under the tag of the queue their runs
go to, so the fire script claims a tick and enqueues its run in one slot:

    brq:{q}:schedules  hash  schedule name -> spec json (cron, tz, job, body of each run)
    brq:{q}:schedstate hash  schedule name -> "cursor|last tick|next tick|missed|fired|
                       skipped|last job id" (see lua/includes/schedule.lua)

Global keys (not tied to a queue):

    brq:queues         set   every queue name ever configured or enqueued to
    brq:workers        zset  worker name -> last heartbeat ms
    brq:worker:<name>  string  JSON description of a live worker (with a TTL)
    brq:schedules      hash  schedule name -> its queue (names are unique across queues)
    brq:limiter:{name} hash  limit, period: a rate limit shared by several queues
    brq:limiter:{name}:log  zset  its log of starts (both in their own hash slot: shared
                       limiters need a single Redis, not Cluster)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "brq"
QUEUES = f"{PREFIX}:queues"
WORKERS = f"{PREFIX}:workers"

#: Queue names: letters, digits and ``._:-``; braces would break the hash tag.
QUEUE_NAME = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

#: State sets, in the order the stats script reports them.
STATE_SETS = ("pending", "delayed", "running", "completed", "dead", "cancelled")


def limiter_key(name: str) -> str:
    return f"{PREFIX}:limiter:{{{name}}}"


def worker_key(name: str) -> str:
    return f"{PREFIX}:worker:{name}"


SUFFIXES = (
    "jobs", "pending", "delayed", "dprio", "running", "lease", "att", "hist", "completed",
    "dead", "cancelled", "result", "reason", "dedupe", "dk", "cancelreq", "seq", "config",
    "recovery", "policy", "limiter", "keyrate", "keyrun", "rkey", "progress",
)  # fmt: skip


@dataclass(frozen=True)
class QueueKeys:
    """The key names of one queue; build with ``QueueKeys.of(name)``."""

    name: str
    jobs: str
    pending: str
    delayed: str
    dprio: str
    running: str
    lease: str
    att: str
    hist: str
    completed: str
    dead: str
    cancelled: str
    result: str
    reason: str
    dedupe: str
    dk: str
    cancelreq: str
    seq: str
    config: str
    recovery: str
    policy: str
    limiter: str
    keyrate: str
    keyrun: str
    rkey: str
    progress: str
    wake: str

    @classmethod
    def of(cls, name: str) -> QueueKeys:
        tag = f"{PREFIX}:{{{name}}}:"
        keys = {s: tag + s for s in SUFFIXES}
        return cls(name=name, wake=tag + "wake", **keys)

    def state_set(self, state: str) -> str:
        if state not in STATE_SETS:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATE_SETS)}")
        return str(getattr(self, state))

    def all_keys(self) -> list[str]:
        return [str(getattr(self, s)) for s in SUFFIXES]
