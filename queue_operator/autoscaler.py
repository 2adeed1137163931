"""Pure autoscaling decisions: replicas from backlog, with stabilization windows and no flapping.

The rule is the HPA's, applied to queue backlog: the recommendation is
clamp(ceil(backlog / target), floor, max); a scale-up goes to the lowest recommendation seen
during the scale-up window (0 s: at once), a scale-down only to the highest one seen during
the scale-down window. A pool at zero wakes at once when anything is waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: Most recommendations remembered (runs of equal ones are merged, so this is plenty).
MAX_HISTORY = 256


@dataclass(frozen=True)
class Policy:
    """A WorkerPool's autoscaling settings; ``floor`` is spec.replicas (kubectl scale)."""

    min_replicas: int
    max_replicas: int
    target: int
    up_window_s: float = 0
    down_window_s: float = 300
    floor: int = 0

    @property
    def low(self) -> int:
        return min(max(self.min_replicas, self.floor), self.max_replicas)


@dataclass(frozen=True)
class Rec:
    """A recommendation and the last time it was made (equal consecutive ones are merged)."""

    time: float
    replicas: int


Direction = Literal["up", "down", "none"]


@dataclass(frozen=True)
class Decision:
    replicas: int
    recommendation: int
    history: tuple[Rec, ...]
    direction: Direction
    reason: str


def recommend(backlog: int, policy: Policy) -> int:
    """clamp(ceil(backlog / target), floor, max)."""
    raw = math.ceil(max(backlog, 0) / policy.target)
    return max(policy.low, min(raw, policy.max_replicas))


def remember(history: tuple[Rec, ...], rec: Rec, keep_s: float) -> tuple[Rec, ...]:
    """``history`` plus ``rec``, merged with an equal last entry, pruned to ``keep_s``."""
    items = list(history)
    if items and items[-1].replicas == rec.replicas:
        items[-1] = rec
    else:
        items.append(rec)
    items = [r for r in items if r.time >= rec.time - keep_s]
    return tuple(items[-MAX_HISTORY:])


def decide(
    policy: Policy, backlog: int, current: int | None, history: tuple[Rec, ...], now: float
) -> Decision:
    """The replicas to run now, given the backlog and the replicas running (None: none yet)."""
    rec = recommend(backlog, policy)
    if not history and current is not None:
        # No memory yet (a pool that ran before autoscaling): count what runs as recommended
        # now, so the first scale-down still waits for a whole window.
        history = (Rec(now - 0.001, current),)
    history = remember(history, Rec(now, rec), max(policy.up_window_s, policy.down_window_s))
    basis = f"backlog {backlog} / target {policy.target} per replica -> {rec}"
    if current is None:
        return Decision(rec, rec, history, "up" if rec else "none", f"created: {basis}")
    if current < policy.low:
        return Decision(policy.low, rec, history, "up", f"raised to the floor {policy.low}")
    if current > policy.max_replicas:
        return Decision(
            policy.max_replicas,
            rec,
            history,
            "down",
            f"lowered to maxReplicas {policy.max_replicas}",
        )
    if rec > current:
        if current == 0:
            return Decision(rec, rec, history, "up", f"woke from zero: {basis}")
        lowest = min([rec, *_seen(history, now, policy.up_window_s)])
        target = max(current, lowest)
        if target == current:
            why = f"{basis}; holding {current} for the {policy.up_window_s:g}s scale-up window"
            return Decision(current, rec, history, "none", why)
        return Decision(target, rec, history, "up", f"scaled up: {basis}")
    if rec < current:
        highest = max([rec, *_seen(history, now, policy.down_window_s)])
        target = min(current, highest)
        if target == current:
            why = (
                f"{basis}; holding {current}: highest recommendation of the last "
                f"{policy.down_window_s:g}s"
            )
            return Decision(current, rec, history, "none", why)
        return Decision(target, rec, history, "down", f"scaled down: {basis} (window {highest})")
    return Decision(current, rec, history, "none", f"steady: {basis}")


def _seen(history: tuple[Rec, ...], now: float, window_s: float) -> list[int]:
    """Recommendations made in the last ``window_s`` seconds, before now's (the last entry)."""
    return [r.replicas for r in history[:-1] if r.time > now - window_s]
