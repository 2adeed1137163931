"""Reads what a reconcile needs (Secrets, JobQueues, Deployments, Redis) into Observed records."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import replace

from queue_operator import kube
from queue_operator.constants import DEFAULT_REDIS_KEY, DEFAULT_REDIS_SECRET
from queue_operator.models.workerpool import Autoscaling, WorkerPoolSpec
from queue_operator.problems import Problem
from queue_operator.reconcile.common import Meta
from queue_operator.reconcile.jobqueue import QueueObserved, RedisHealth, Target, queue_target
from queue_operator.reconcile.schedule import ScheduleObserved
from queue_operator.reconcile.workerpool import PoolObserved
from queue_operator.redis_admin import RedisAdmin, RedisAdminError
from worker_runtime.engine.urls import TLS_DIR_FILES, RedisUrlError, parse_url, with_tls_dir
from worker_runtime.queue_config import QueueConfig


async def redis_url(namespace: str, target: Target) -> str | Problem:
    """The URL from the target's Secret, or the problem saying what to create."""
    data = await kube.read_secret(namespace, target.secret_name)
    if data is None:
        message = (
            f"Secret {target.secret_name} not found in namespace {namespace}: create it with "
            f"key {target.secret_key} holding the Redis URL, or set spec.redis.secretRef"
        )
        return Problem("RedisSecretMissing", message)
    value = data.get(target.secret_key)
    if value is None:
        message = f"Secret {target.secret_name} has no key {target.secret_key!r}"
        return Problem("RedisSecretMissing", message)
    url = value.decode().strip()
    try:
        parse_url(url)
    except RedisUrlError as exc:  # its text names the part at fault, never a password
        where = f"Secret {target.secret_name} key {target.secret_key!r}"
        return Problem("RedisUrlInvalid", f"{where}: {exc.detail}")
    if not url.lower().startswith("rediss"):
        return url
    return with_tls_dir(url, tls_files(namespace, target.secret_name, data))


def tls_files(namespace: str, secret: str, data: dict[str, bytes]) -> str:
    """A private directory holding the Secret's ca.crt, tls.crt and tls.key (those it has),
    for the operator's own connections; the worker pods get them mounted instead."""
    root = os.path.join(tempfile.gettempdir(), f"blackroad-operator-{os.getuid()}")
    directory = os.path.join(root, f"{namespace}.{secret}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for name in TLS_DIR_FILES:
        path = os.path.join(directory, name)
        if name not in data:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            continue
        if _content(path) == data[name]:
            continue  # rewritten only on change: a connection may be reading it now
        fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data[name])
        os.replace(path + ".new", path)
    return directory


def _content(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def owner_id(namespace: str, name: str, uid: str) -> str:
    return f"{namespace}/{name}/{uid}"


async def _claim_holder(admin: RedisAdmin, url: str, queue: str, mine: str) -> str:
    holder = await admin.claim(url, queue, mine)
    if holder == mine:
        return mine
    namespace, name, uid = [*holder.split("/", 2), "", ""][:3]
    other = await kube.get_custom("jobqueues", namespace, name) if name else None
    alive = other is not None and other["metadata"].get("uid") == uid
    if not alive and await admin.replace_claim(url, queue, holder, mine):
        return mine  # the previous owner is gone (deleted while no operator ran)
    return holder


async def observe_jobqueue(
    admin: RedisAdmin, meta: Meta, target: Target | Problem
) -> tuple[QueueObserved, str | None]:
    """What Redis and Kubernetes say about one JobQueue, and its Redis URL when known."""
    if isinstance(target, Problem):
        return QueueObserved(), None  # the plan reports the spec
    url = await redis_url(meta.namespace, target)
    if isinstance(url, Problem):
        return QueueObserved(secret_problem=url), None
    health = await admin.health(url)
    if not health.reachable:
        return QueueObserved(redis=health), url
    mine = owner_id(meta.namespace, meta.name, meta.uid)
    try:
        holder = await _claim_holder(admin, url, target.queue_name, mine)
        if holder != mine:
            conflict = holder.rsplit("/", 1)[0]
            return QueueObserved(redis=health, conflict_owner=conflict), url
        current = await admin.read_config(url, target.queue_name)
        overview = await admin.overview(url, target.queue_name)
    except RedisAdminError as exc:
        return QueueObserved(redis=RedisHealth(reachable=False, error=str(exc))), url
    observed = QueueObserved(
        redis=health, current_config=current, stats=overview.stats, overview=overview
    )
    return observed, url


async def pool_targets(
    namespace: str, spec: WorkerPoolSpec
) -> tuple[dict[str, Target | Problem], int | None]:
    """Each listed JobQueue's target, or why it cannot be served; and their longest job
    timeout (ms)."""
    out: dict[str, Target | Problem] = {}
    longest: int | None = None
    for name in dict.fromkeys(q.name for q in spec.queues):
        jq = await kube.get_custom("jobqueues", namespace, name)
        if jq is None:
            message = f"not found in namespace {namespace}; create it or remove it from spec.queues"
            out[name] = Problem("QueueNotReady", message, "spec.queues")
            continue
        target = queue_target(name, jq.get("spec") or {})
        if isinstance(target, Problem):
            target = Problem("QueueNotReady", f"invalid: {target.message}")
        else:
            timeout = int((jq.get("spec") or {}).get("timeoutMs") or QueueConfig().timeout_ms)
            longest = max(longest or 0, timeout)
        out[name] = target
    return out, longest


async def observe_pool(
    admin: RedisAdmin, namespace: str, name: str, spec: WorkerPoolSpec
) -> PoolObserved:
    """The pool's JobQueues, their backlog within the next poll, and its Deployment."""
    queues, longest = await pool_targets(namespace, spec)
    seen = PoolObserved(
        queues,
        None,
        deployment=await kube.get_deployment(namespace, name),
        longest_timeout_ms=longest,
        pdb=await kube.get_pdb(namespace, name),
    )
    targets = [t for t in queues.values() if isinstance(t, Target)]
    if not targets or len(targets) != len(queues):
        return seen
    url = await redis_url(namespace, targets[0])
    if isinstance(url, Problem):
        return replace(seen, secret_problem=url)
    horizon_ms = (spec.autoscaling or Autoscaling()).poll_seconds * 1000
    try:
        total = 0
        for target in {t.queue_name: t for t in targets}.values():
            total += (await admin.backlog(url, target.queue_name, horizon_ms)).total
    except RedisAdminError as exc:
        return replace(seen, redis_error=str(exc))
    return replace(seen, backlog=total)


async def pool_redis_url(namespace: str, observed: PoolObserved) -> str | None:
    """The Redis URL of a pool whose queues all resolved (None otherwise)."""
    targets = [t for t in observed.queues.values() if isinstance(t, Target)]
    if not targets:
        return None
    url = await redis_url(namespace, targets[0])
    return None if isinstance(url, Problem) else url


async def schedule_target(namespace: str, queue: str) -> Target | Problem:
    """The target of the Schedule's JobQueue, or why there is none."""
    jq = await kube.get_custom("jobqueues", namespace, queue)
    if jq is None or jq["metadata"].get("deletionTimestamp"):
        state = "is being deleted" if jq else "not found"
        message = (
            f"JobQueue {queue} {state} in namespace {namespace}: nothing fires until it exists; "
            "create it or fix spec.queue."
        )
        return Problem("QueueNotFound", message, "spec.queue")
    target = queue_target(queue, jq.get("spec") or {})
    if isinstance(target, Problem):
        message = f"JobQueue {queue} has an invalid spec ({target.message}); fix it first."
        return Problem("QueueNotReady", message)
    return target


async def observe_schedule(
    admin: RedisAdmin, namespace: str, engine_name: str, queue: str | None
) -> tuple[ScheduleObserved, str | None]:
    """What Kubernetes and Redis say about one Schedule, and its Redis URL when known."""
    if queue is None:
        return ScheduleObserved(), None  # the plan reports the spec
    target = await schedule_target(namespace, queue)
    if isinstance(target, Problem):
        return ScheduleObserved(queue_problem=target), None
    url = await redis_url(namespace, target)
    if isinstance(url, Problem):
        return ScheduleObserved(target=target, secret_problem=url), None
    try:
        stored = await admin.get_schedule(url, engine_name)
    except RedisAdminError as exc:
        return ScheduleObserved(target=target, redis_error=str(exc)), url
    return ScheduleObserved(target=target, stored=stored), url


async def schedule_redis_url(namespace: str, queue: str | None) -> str | None:
    """The Redis a Schedule's queue uses, else the namespace's default (for deletion)."""
    target = await schedule_target(namespace, queue) if queue is not None else None
    if not isinstance(target, Target):
        # The JobQueue went first (a namespace or a whole file deleted): try the default.
        target = Target("", DEFAULT_REDIS_SECRET, DEFAULT_REDIS_KEY)
    url = await redis_url(namespace, target)
    return None if isinstance(url, Problem) else url
