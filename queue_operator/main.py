"""kopf glue: observe, call the pure reconcile functions, apply the plan, write status.

Handlers are registered on a private registry built by ``Operator`` (tests build several;
kopf's global registry stays untouched). Every pass is level-triggered and idempotent, so
kopf re-running a pass that was cut short by a crash converges to the same state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import kopf

from queue_operator import kube, observe
from queue_operator.constants import GROUP, VERSION
from queue_operator.metrics import OperatorMetrics
from queue_operator.models import JobQueueSpec, ScheduleSpec, WorkerPoolSpec
from queue_operator.poolapply import apply_pool_plan
from queue_operator.problems import Problem
from queue_operator.reconcile.common import JSON, Event, Meta, parse_spec, status_patch
from queue_operator.reconcile.jobqueue import (
    QueueObserved,
    RedisHealth,
    reconcile_jobqueue,
    target_of,
)
from queue_operator.reconcile.schedule import (
    SchedulePlan,
    engine_name,
    reconcile_schedule,
    rejection,
)
from queue_operator.reconcile.workerpool import PoolObserved, reconcile_workerpool
from queue_operator.redis_admin import RedisAdmin, RedisAdminError, ScheduleRejectedError
from queue_operator.schedulers import SchedulerPool

log = logging.getLogger("blackroad.operator")


@dataclass(frozen=True)
class OperatorConfig:
    """Timing of the operator's passes."""

    #: Seconds between timer ticks; each object is reconciled when due or when its spec changed.
    tick: float = 1.0
    #: Seconds between JobQueue and Schedule status refreshes.
    status_interval: float = 5.0
    #: Longest sleep of a scheduler loop, so it sees new schedules this soon (seconds).
    scheduler_interval: float = 1.0


@dataclass
class _Due:
    generation: int | None = None
    next_at: float = 0.0


@dataclass
class Operator:
    """Handlers plus the state they share (Redis clients, metrics, schedule of passes)."""

    config: OperatorConfig = field(default_factory=OperatorConfig)
    admin: RedisAdmin = field(default_factory=RedisAdmin)
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    registry: kopf.OperatorRegistry = field(default_factory=kopf.OperatorRegistry)
    schedulers: SchedulerPool = field(init=False)
    _due: dict[str, _Due] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.schedulers = SchedulerPool(self.admin, self.config.scheduler_interval)
        register(self)

    def is_due(self, uid: str, generation: int | None) -> bool:
        due = self._due.get(uid)
        return due is None or due.generation != generation or time.monotonic() >= due.next_at

    def done(self, uid: str, generation: int | None, requeue_after: float) -> None:
        self._due[uid] = _Due(generation, time.monotonic() + requeue_after)

    def forget(self, uid: str) -> None:
        self._due.pop(uid, None)


def _meta(body: kopf.Body) -> Meta:
    m = body["metadata"]
    return Meta(m["name"], m["namespace"], m["uid"], m.get("generation"))


def _spec(body: kopf.Body) -> JSON:
    return dict(body.get("spec") or {})


def _now() -> datetime:
    return datetime.now(UTC)


def _write(body: kopf.Body, patch: kopf.Patch, status: JSON, events: list[Event]) -> None:
    changes = status_patch(dict(body.get("status") or {}), status)
    for key, value in changes.items():
        patch.status[key] = value
    for event in events:
        kube.post_event(body, event.type, event.reason, event.message)


async def jobqueue_pass(op: Operator, body: kopf.Body, patch: kopf.Patch) -> None:
    meta, spec = _meta(body), parse_spec(JobQueueSpec, _spec(body))
    old = dict(body.get("status") or {})
    observed, url = await observe.observe_jobqueue(op.admin, meta, target_of(meta.name, spec))
    plan = reconcile_jobqueue(meta, spec, old, observed, _now(), op.config.status_interval)
    if plan.config_changes and url and plan.target:
        try:
            await op.admin.apply_config(url, plan.target.queue_name, plan.config_changes)
        except RedisAdminError as exc:
            failed = QueueObserved(redis=RedisHealth(False, error=str(exc)))
            plan = reconcile_jobqueue(meta, spec, old, failed, _now(), op.config.status_interval)
    if plan.target:
        reachable = observed.redis is not None and observed.redis.reachable
        op.metrics.set_queue(plan.target.queue_name, observed.overview, reachable)
    reason = next((c["reason"] for c in plan.status["conditions"] if c["type"] == "Ready"), "")
    op.metrics.reconciled("JobQueue", reason)
    _write(body, patch, plan.status, plan.events)
    op.done(meta.uid, meta.generation, plan.requeue_after)


async def jobqueue_delete(op: Operator, body: kopf.Body, logger: Any) -> None:
    meta, spec = _meta(body), parse_spec(JobQueueSpec, _spec(body))
    op.forget(meta.uid)
    target = target_of(meta.name, spec)
    if isinstance(spec, Problem) or isinstance(target, Problem):
        return
    op.metrics.forget_queue(target.queue_name)
    url = await observe.redis_url(meta.namespace, target)
    if isinstance(url, Problem):
        logger.warning(f"Leaving Redis untouched: {url.message}")
        return
    try:
        holder = await op.admin.claim(url, target.queue_name, observe.owner_id(*_ids(meta)))
        if holder != observe.owner_id(*_ids(meta)):
            return  # another JobQueue manages this queue: never purge its jobs
        if spec.deletion_policy == "Delete":
            await op.admin.delete_queue(url, target.queue_name)
            logger.info(f"Purged queue {target.queue_name!r} (deletionPolicy Delete)")
        await op.admin.release(url, target.queue_name, holder)
    except RedisAdminError as exc:
        raise kopf.TemporaryError(f"Redis unreachable while deleting: {exc}", delay=2) from None


def _ids(meta: Meta) -> tuple[str, str, str]:
    return meta.namespace, meta.name, meta.uid


async def workerpool_pass(op: Operator, body: kopf.Body, patch: kopf.Patch) -> None:
    meta, spec = _meta(body), parse_spec(WorkerPoolSpec, _spec(body))
    old = dict(body.get("status") or {})
    if isinstance(spec, Problem):
        observed = PoolObserved({}, None)  # nothing to look at: the plan reports the spec
    else:
        observed = await observe.observe_pool(op.admin, meta.namespace, meta.name, spec)
    plan = reconcile_workerpool(meta, spec, old, observed, _now())
    await apply_pool_plan(op.admin, meta, plan, observed)
    op.metrics.set_pool(meta.namespace, meta.name, plan.status)
    _write(body, patch, plan.status, plan.events)
    op.done(meta.uid, meta.generation, plan.requeue_after)


def _queue_of(raw_spec: JSON) -> str | None:
    # From the raw spec, so an invalid Schedule is still found (and removed) in its Redis.
    queue = raw_spec.get("queue")
    return queue if isinstance(queue, str) and queue else None


async def schedule_pass(op: Operator, body: kopf.Body, patch: kopf.Patch) -> None:
    meta, raw = _meta(body), _spec(body)
    spec = parse_spec(ScheduleSpec, raw)
    old, name = dict(body.get("status") or {}), engine_name(meta)
    observed, url = await observe.observe_schedule(op.admin, meta.namespace, name, _queue_of(raw))
    plan = reconcile_schedule(meta, spec, old, observed, _now(), op.config.status_interval)
    events = list(plan.events)
    if plan.upsert is not None and url:
        try:
            observed = replace(observed, stored=await op.admin.upsert_schedule(url, plan.upsert))
        except RedisAdminError as exc:
            observed = replace(observed, redis_error=str(exc))
        except ScheduleRejectedError as exc:
            observed = replace(observed, rejected=rejection(str(exc), exc.field))
        # Plan again from what Redis now holds; keep the first plan's events (ScheduleApplied).
        plan = reconcile_schedule(meta, spec, old, observed, _now(), op.config.status_interval)
        events += [e for e in plan.events if e not in events]
    await _place_schedule(op, meta.uid, name, plan, url)
    reason = next((c["reason"] for c in plan.status["conditions"] if c["type"] == "Ready"), "")
    op.metrics.reconciled("Schedule", reason)
    _write(body, patch, plan.status, events)
    op.done(meta.uid, meta.generation, plan.requeue_after)


async def _place_schedule(
    op: Operator, uid: str, name: str, plan: SchedulePlan, url: str | None
) -> None:
    """Keeps one engine schedule per Schedule, and the scheduler loops where they live."""
    previous = op.schedulers.url_of(uid)
    if plan.unschedule:
        where = previous or url
        if where is not None and await _unschedule(op, where, name):
            op.schedulers.forget(uid)
    elif plan.status.get("ready") and url:
        if previous not in (None, url) and not await _unschedule(op, previous, name):
            # Moved to another Redis while the old one is down: its copy stays there.
            log.warning("Schedule %s: could not remove it from its previous Redis", name)
        op.schedulers.hold(uid, url)


async def _unschedule(op: Operator, url: str, name: str) -> bool:
    try:
        await op.admin.remove_schedule(url, name)
    except RedisAdminError:
        return False  # the next pass tries again
    return True


async def schedule_delete(op: Operator, body: kopf.Body, logger: Any) -> None:
    meta, queue = _meta(body), _queue_of(_spec(body))
    op.forget(meta.uid)
    url = op.schedulers.url_of(meta.uid) or await observe.schedule_redis_url(meta.namespace, queue)
    if url is None:
        logger.warning("No Redis found for this Schedule; nothing to remove")
    else:
        try:
            await op.admin.remove_schedule(url, engine_name(meta))
        except RedisAdminError as exc:
            raise kopf.TemporaryError(f"Redis unreachable while deleting: {exc}", delay=2) from None
    op.schedulers.forget(meta.uid)


def register(op: Operator) -> None:
    """Registers every handler of ``op`` on ``op.registry``."""
    registry, tick = op.registry, op.config.tick

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.startup(registry=registry)
    def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        kube.reset()
        # Progress and diff-base in our own annotations; status stays for the user.
        settings.persistence.finalizer = f"{GROUP}/finalizer"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=GROUP, key="last-handled-configuration"
        )

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await op.schedulers.close()  # before the clients the loops use
        await op.admin.close()

    @kopf.timer(GROUP, VERSION, "jobqueues", id="jobqueue", interval=tick, registry=registry)
    async def jobqueue_timer(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        if op.is_due(body["metadata"]["uid"], body["metadata"].get("generation")):
            await jobqueue_pass(op, body, patch)

    @kopf.on.delete(
        GROUP, VERSION, "jobqueues", id="jobqueue-delete", registry=registry, retries=10
    )
    async def on_jobqueue_delete(body: kopf.Body, logger: Any, **_: Any) -> None:
        await jobqueue_delete(op, body, logger)

    @kopf.timer(GROUP, VERSION, "workerpools", id="workerpool", interval=tick, registry=registry)
    async def workerpool_timer(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        if op.is_due(body["metadata"]["uid"], body["metadata"].get("generation")):
            await workerpool_pass(op, body, patch)

    @kopf.on.delete(
        GROUP, VERSION, "workerpools", id="workerpool-delete", registry=registry, optional=True
    )
    def on_workerpool_delete(body: kopf.Body, **_: Any) -> None:
        # The Deployment goes with its ownerReference; only the operator's memory is left.
        op.forget(body["metadata"]["uid"])
        op.metrics.forget_pool(body["metadata"]["namespace"], body["metadata"]["name"])

    register_schedules(op)


def register_schedules(op: Operator) -> None:
    """Registers the Schedule handlers: reconcile timer, scheduler daemon, finalizer."""
    registry, tick = op.registry, op.config.tick

    @kopf.timer(GROUP, VERSION, "schedules", id="schedule", interval=tick, registry=registry)
    async def schedule_timer(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        if op.is_due(body["metadata"]["uid"], body["metadata"].get("generation")):
            await schedule_pass(op, body, patch)

    @kopf.daemon(
        GROUP,
        VERSION,
        "schedules",
        id="schedule-scheduler",
        registry=registry,
        cancellation_timeout=10,
    )
    async def schedule_daemon(meta: kopf.Meta, stopped: kopf.DaemonStopped, **_: Any) -> None:
        # Runs while this replica serves the Schedule; kopf stops it when peering pauses us.
        uid = meta["uid"]
        op.schedulers.attach(uid)
        try:
            await stopped.wait()
        finally:
            op.schedulers.detach(uid)

    @kopf.on.delete(
        GROUP, VERSION, "schedules", id="schedule-delete", registry=registry, retries=10
    )
    async def on_schedule_delete(body: kopf.Body, logger: Any, **_: Any) -> None:
        await schedule_delete(op, body, logger)
