"""Pure helpers for status conditions: set one, keeping lastTransitionTime when unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: Conditions are kept in this order, so readers (and printer columns) find them in place.
ORDER = ("Ready", "Degraded")

Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Cond:
    """A desired condition, before timestamps are settled."""

    type: str
    status: Status
    reason: str
    message: str


def set_condition(
    conditions: list[dict[str, Any]] | None, cond: Cond, now: str, generation: int | None
) -> list[dict[str, Any]]:
    """A new list with ``cond`` set; lastTransitionTime changes only when status does."""
    current = [dict(c) for c in conditions or []]
    previous = next((c for c in current if c.get("type") == cond.type), None)
    changed = previous is None or previous.get("status") != cond.status
    entry: dict[str, Any] = {
        "type": cond.type,
        "status": cond.status,
        "reason": cond.reason,
        "message": cond.message,
        "lastTransitionTime": now if changed else previous["lastTransitionTime"],  # type: ignore[index]
    }
    if generation is not None:
        entry["observedGeneration"] = generation
    rest = [c for c in current if c.get("type") != cond.type]
    return _ordered([*rest, entry])


def set_conditions(
    conditions: list[dict[str, Any]] | None,
    conds: list[Cond],
    now: str,
    generation: int | None,
) -> list[dict[str, Any]]:
    out = [dict(c) for c in conditions or []]
    for cond in conds:
        out = set_condition(out, cond, now, generation)
    return out


def get_condition(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type_), None)


def is_true(conditions: list[dict[str, Any]] | None, type_: str) -> bool:
    cond = get_condition(conditions, type_)
    return cond is not None and cond.get("status") == "True"


def _ordered(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(c: dict[str, Any]) -> tuple[int, str]:
        t = str(c.get("type"))
        return (ORDER.index(t) if t in ORDER else len(ORDER), t)

    return sorted(conditions, key=key)


def ready(reason: str, message: str) -> Cond:
    return Cond("Ready", "True", reason, message)


def not_ready(reason: str, message: str) -> Cond:
    return Cond("Ready", "False", reason, message)


def degraded(reason: str, message: str) -> Cond:
    return Cond("Degraded", "True", reason, message)


def healthy(reason: str = "AsExpected", message: str = "Nothing to report.") -> Cond:
    return Cond("Degraded", "False", reason, message)
