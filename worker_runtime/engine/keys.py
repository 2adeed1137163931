"""Every Redis key name the engine and the operator use, and the keys each Lua script takes.

Key schema (all keys of one queue share the hash tag ``{queue}`` so Redis Cluster keeps a
queue on one slot and every Lua script touches one slot only):

    brq:{q}:jobs       hash  id -> "<enqueued ms>\\n<meta json>\\n<payload json>"
    brq:{q}:pending    zset  id -> priority * 1e13 + sequence (FIFO within a priority)
    brq:{q}:delayed    zset  id -> due time ms
    brq:{q}:dprio      hash  id -> priority, for delayed jobs
    brq:{q}:since      hash  id -> ms a pending job became pending, when that was not its
                       enqueue (due, retried, released): aging counts its wait from there
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
    brq:{q}:config     hash  queue settings (see models.QueueConfig), and three fields of
                       the scripts' own (not settings; QueueConfig ignores them), read
                       with the settings for free: ~uses, the kinds of optional state
                       the queue holds (lua/includes/uses.lua); ~aged_at, when aging last
                       ran (ms); ~watch, until when (ms) a listener may watch its events
    brq:{q}:recovery   hash  at -> last recover call ms, grace -> no recovery before (ms)
    brq:{q}:policy     hash  pass:<level> (weighted fairness state)
    brq:{q}:limiter    zset  the queue's rate limit log: one entry per start in the window
    brq:{q}:keyrate    hash  rate_key -> tat (per-key rate limits)
    brq:{q}:keyrun     hash  rate_key -> jobs running now (per-key caps)
    brq:{q}:rkey       hash  running id -> its rate_key
    brq:{q}:progress   hash  id -> {"pct", "msg", "at"} reported by the handler
    brq:{q}:enqueued   hash  "<priority>\\n<job name>" -> jobs created since the queue was
                       made (blackroad_jobs_enqueued_total; deleting the queue resets it)
    brq:{q}:waiting    zset  id -> enqueue ms: jobs waiting for their dependencies
    brq:{q}:deps       hash  id -> {"on": [ids], "left": [ids still unfinished], "policy":
                       cancel|run|wait, "due": ms or -1, "note": what a failed dependency
                       did, "released": ms}: a job's dependencies (kept for job info)
    brq:{q}:dependants hash  id -> newline-joined ids of the jobs that depend on it
    brq:{q}:wake       pub/sub channel: something became pending or due
    brq:{q}:done       pub/sub channel: ids that finished (completed, dead, cancelled),
                       newline-joined: what Client.wait listens to
    brq:{q}:events     pub/sub channel: one JSON message per script call listing its job
                       events (enqueued, started, progress, completed, failed, retried,
                       dead, cancelled, released), published only while someone subscribes
                       and config's ~watch lies ahead (lua/includes/eventsOn.lua): what
                       Client.events sets, then listens to

Cron schedules, under the tag of the queue their runs go to, so the fire script claims a
tick and enqueues its run in one slot (not part of ``QueueKeys.all_keys``: deleting a
queue's data leaves its schedules alone):

    brq:{q}:schedules  hash  schedule name -> spec json (cron, tz, job, body of each run)
    brq:{q}:schedstate hash  schedule name -> "cursor|last tick|next tick|missed|fired|
                       skipped|last job id" (see lua/includes/readState.lua)

Global keys (not tied to a queue):

    brq:queues         set   every queue name ever configured or enqueued to
    brq:workers        zset  worker name -> last heartbeat ms
    brq:worker:{brq:workers}:<name>  string  JSON description of a live worker (with a
                       TTL); tagged with the registry's own name so that workerbeat and
                       the MGET of every description touch one slot on a cluster
    brq:schedules      hash  schedule name -> its queue (names are unique across queues)
    brq:limiter:{name} hash  limit, period: a rate limit shared by several queues
    brq:limiter:{name}:log  zset  its log of starts (both in their own hash slot, which
                       the claim script touches together with the queue's; on a Redis
                       Cluster where that slot is not the queue's, the permits script
                       takes them first, then the claim runs alone: engine.limits)
    brq:operator:claims  hash  queue name -> "namespace/name/uid" of the JobQueue that
                       manages it (written by the operator only)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

PREFIX = "brq"
QUEUES = f"{PREFIX}:queues"
WORKERS = f"{PREFIX}:workers"
#: Global registry of cron schedules: names are unique across queues.
SCHEDULES = f"{PREFIX}:schedules"
#: Which JobQueue resource manages each engine queue.
OPERATOR_CLAIMS = f"{PREFIX}:operator:claims"

#: State sets, in the order the stats script reports them.
STATE_SETS = ("pending", "delayed", "running", "completed", "dead", "cancelled", "waiting")


def limiter_key(name: str) -> str:
    """The definition (limit, period) of a rate limiter shared by several queues."""
    return f"{PREFIX}:limiter:{{{name}}}"


def limiter_log_key(name: str) -> str:
    """The log of starts of a shared rate limiter."""
    return limiter_key(name) + ":log"


def worker_key(name: str) -> str:
    """A worker's description, in the slot of ``WORKERS`` (its hash tag is that name)."""
    return f"{PREFIX}:worker:{{{WORKERS}}}:{name}"


#: The data keys of one queue (every key ``QueueKeys.all_keys`` deletes).
SUFFIXES = (
    *("jobs", "pending", "delayed", "dprio", "running", "lease", "att", "hist", "completed"),
    *("dead", "cancelled", "result", "reason", "dedupe", "dk", "cancelreq", "seq", "config"),
    *("recovery", "policy", "limiter", "keyrate", "keyrun", "rkey", "progress", "since"),
    *("enqueued", "waiting", "deps", "dependants"),
)


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
    since: str
    enqueued: str
    waiting: str
    deps: str
    dependants: str
    wake: str
    done: str
    events: str
    schedules: str
    schedstate: str

    @classmethod
    @lru_cache(maxsize=1024)
    def of(cls, name: str) -> QueueKeys:
        tag = f"{PREFIX}:{{{name}}}:"
        keys = {s: tag + s for s in SUFFIXES}
        extra = {s: tag + s for s in ("wake", "done", "events", "schedules", "schedstate")}
        return cls(name=name, **keys, **extra)

    def state_set(self, state: str) -> str:
        if state not in STATE_SETS:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATE_SETS)}")
        return str(getattr(self, state))

    def all_keys(self) -> list[str]:
        return [str(getattr(self, s)) for s in SUFFIXES]

    def for_script(self, script: str, **others: str) -> dict[str, str]:
        """The keys ``script`` takes, by name: ``others`` first, then this queue's keys of
        the same name; optional keys only when given in ``others``."""
        spec = SCRIPT_KEYS[script]
        keys = {n: others[n] if n in others else str(getattr(self, n)) for n in spec.required}
        keys.update((n, others[n]) for n in spec.optional if n in others)
        return keys


@dataclass(frozen=True)
class ScriptKeys:
    """The keys of one Lua script by name, in KEYS order. The loader binds them to ``K``
    (``K.pending`` is ``KEYS[1]`` ...) and checks that callers pass exactly these."""

    required: tuple[str, ...]
    #: Trailing keys a caller may leave out; the script then sees them as nil.
    optional: tuple[str, ...] = ()

    @classmethod
    def of(cls, required: str, optional: str = "") -> ScriptKeys:
        return cls(tuple(required.split()), tuple(optional.split()))

    @property
    def names(self) -> tuple[str, ...]:
        return self.required + self.optional


#: Every script's keys (lua/<script>.lua). The names are QueueKeys attributes unless the
#: op passes them itself (``state``, ``workers``, ``worker``, ``claims``, ``shared_limiter``,
#: and ``limiter`` or ``config`` when a shared limiter stands in for the queue's own).
SCRIPT_KEYS: dict[str, ScriptKeys] = {
    "enqueue": ScriptKeys.of("jobs pending delayed dprio seq config dedupe dk enqueued"),
    "enqueuedeps": ScriptKeys.of(
        "jobs pending delayed dprio seq config dedupe dk enqueued waiting deps dependants "
        "completed dead cancelled reason cancelreq att hist result progress since"
    ),
    "claim": ScriptKeys.of(
        "pending delayed dprio running lease jobs att seq config policy limiter keyrate keyrun "
        "rkey since",
        optional="shared_limiter",
    ),
    "heartbeat": ScriptKeys.of("running lease cancelreq"),
    "complete": ScriptKeys.of(
        "running lease att hist completed result jobs dedupe dk cancelreq config cancelled "
        "reason progress rkey keyrun waiting deps dependants pending delayed dprio seq since"
    ),
    "fail": ScriptKeys.of(
        "running lease att hist jobs delayed dprio dead reason dedupe dk config cancelreq "
        "cancelled result progress rkey keyrun waiting deps dependants pending seq since"
    ),
    "recover": ScriptKeys.of(
        "running lease att hist jobs delayed dead reason dedupe dk config cancelreq cancelled "
        "result recovery dprio progress rkey keyrun waiting deps dependants pending seq since"
    ),
    "release": ScriptKeys.of(
        "running lease att pending cancelreq cancelled reason dedupe dk jobs hist result "
        "config progress rkey keyrun since waiting deps dependants delayed dprio seq"
    ),
    "progress": ScriptKeys.of("lease progress jobs config"),
    "configure": ScriptKeys.of("config"),
    "dropqueue": ScriptKeys.of(" ".join(SUFFIXES) + " schedules"),
    "cancel": ScriptKeys.of(
        "pending delayed dprio running cancelreq cancelled reason jobs dedupe dk config att "
        "hist result progress since waiting deps dependants seq"
    ),
    "retry": ScriptKeys.of("jobs dead cancelled reason att pending seq dedupe dk since config"),
    "purge": ScriptKeys.of(
        "state jobs hist result reason att dedupe dk dprio lease cancelreq progress rkey keyrun "
        "since deps dependants waiting pending delayed seq cancelled config"
    ),
    "stats": ScriptKeys.of("pending delayed running completed dead cancelled jobs config waiting"),
    "workerbeat": ScriptKeys.of("workers worker"),
    "schedput": ScriptKeys.of("schedules schedstate"),
    "schedsuspend": ScriptKeys.of("schedules"),
    "fire": ScriptKeys.of(
        "schedules schedstate jobs pending delayed dprio seq config dedupe dk running enqueued"
    ),
    "permits": ScriptKeys.of("shared_limiter limiter"),
    "ownerreplace": ScriptKeys.of("claims"),
    "ownerrelease": ScriptKeys.of("claims"),
}
