"""Pure builders of the cron schedule operations (see engine/operation.py for an ``Op``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from worker_runtime import errors
from worker_runtime.cron.schedules import (
    PreparedSchedule,
    Schedule,
    ScheduleNotFoundError,
    ScheduleSpec,
    spec_from_record,
    state_from_text,
)
from worker_runtime.engine.keys import SCHEDULES, QueueKeys
from worker_runtime.engine.operation import Op

#: What one fire script call did (see lua/fire.lua).
FireOutcome = Literal[
    "fired", "stale", "missed", "suspended", "forbidden", "initialised", "too_large", "exists"
]
#: Outcomes of the fire script by return code.
FIRE_OUTCOMES: dict[int, FireOutcome] = {
    1: "fired",
    0: "stale",
    2: "missed",
    3: "suspended",
    4: "forbidden",
    5: "initialised",
    6: "too_large",
    7: "exists",
}


@dataclass(frozen=True)
class Loaded:
    """A stored schedule as a scheduler sees it."""

    schedule: Schedule
    #: The raw cursor, compared by the fire script: "" until a scheduler took it up.
    cursor: str
    deadline_ms: int | None


def put(prepared: PreparedSchedule, next_tick_ms: int) -> Op[int]:
    """Returns 1 created, 0 replaced, 2 replaced with new timing (cursor cleared)."""
    keys = QueueKeys.of(prepared.spec.queue).for_script("schedput")
    return Op(int, "schedput", keys, [prepared.spec.name, prepared.record, next_tick_ms])


def delete(queue: str, name: str) -> Op[bool]:
    """Removes a schedule's definition and state from its queue (one MULTI block)."""
    k = QueueKeys.of(queue)
    commands = [("HDEL", k.schedules, name), ("HDEL", k.schedstate, name)]
    return Op(lambda r: bool(int(r[0])), commands=commands)


def set_suspended(queue: str, name: str, suspend: bool) -> Op[bool]:
    """Returns True when the flag changed."""

    def parse(reply: Any) -> bool:
        if int(reply) < 0:
            raise ScheduleNotFoundError(f"schedule {name!r}: no such schedule")
        return int(reply) == 1

    keys = QueueKeys.of(queue).for_script("schedsuspend")
    return Op(parse, "schedsuspend", keys, [name, int(suspend)])


def registry() -> Op[dict[str, str]]:
    return Op(lambda r: dict(r[0]), commands=[("HGETALL", SCHEDULES)])


def registry_get(name: str) -> Op[str | None]:
    return Op(lambda r: r[0], commands=[("HGET", SCHEDULES, name)])


def registry_set(name: str, queue: str) -> Op[int]:
    return Op(lambda r: int(r[0]), commands=[("HSET", SCHEDULES, name, queue)])


def registry_delete(name: str) -> Op[bool]:
    return Op(lambda r: bool(int(r[0])), commands=[("HDEL", SCHEDULES, name)])


def load(queue: str, names: set[str] | None = None) -> Op[dict[str, Loaded]]:
    """The schedules stored in ``queue`` (only ``names``, when given), by name."""

    def parse(r: list[Any]) -> dict[str, Loaded]:
        specs, states = dict(r[0]), dict(r[1])
        out: dict[str, Loaded] = {}
        for name, record in specs.items():
            if names is not None and name not in names:
                continue  # an orphan of an interrupted move: the registry says elsewhere
            spec, deadline = spec_from_record(record)
            raw = states.get(name)
            cursor = str(raw).split("|", 1)[0] if raw else ""
            out[name] = Loaded(Schedule(spec, state_from_text(raw)), cursor, deadline)
        return out

    k = QueueKeys.of(queue)
    return Op(parse, commands=[("HGETALL", k.schedules), ("HGETALL", k.schedstate)])


@dataclass(frozen=True)
class Fired:
    """What one fire script call did."""

    name: str
    queue: str
    #: The tick's time (for init: the scheduler's now; for trigger: None).
    tick_ms: int | None
    outcome: FireOutcome
    job_id: str | None


def fire(
    spec: ScheduleSpec,
    mode: str,
    *,
    at_ms: int | None = None,
    expected: str = "",
    missed: int = 0,
    next_tick_ms: int | None = None,
    job_id: str = "",
) -> Op[Fired]:
    """One call of fire.lua; ``mode`` is tick, skip, init or trigger."""
    k = QueueKeys.of(spec.queue)

    def parse(reply: list[Any]) -> Fired:
        code = int(reply[0])
        if code == errors.NOT_FOUND:
            raise ScheduleNotFoundError(f"schedule {spec.name!r}: no such schedule")
        if code < 0:
            raise errors.error_for(code, f"schedule {spec.name!r}")
        return Fired(spec.name, spec.queue, at_ms, FIRE_OUTCOMES[code], str(reply[1]) or None)

    args: list[str | int | float] = [
        k.wake,
        spec.name,
        mode,
        "" if at_ms is None else at_ms,
        expected,
        missed,
        "" if next_tick_ms is None else next_tick_ms,
        job_id,
    ]
    return Op(parse, "fire", k.for_script("fire"), args)
