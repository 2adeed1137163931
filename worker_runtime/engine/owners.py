"""Builders of the operator's queue ownership ops: which JobQueue manages each engine queue.

The claims hash (``keys.OPERATOR_CLAIMS``) maps a queue name to its owner, the
"namespace/name/uid" of a JobQueue, so two JobQueues never manage one queue.
"""

from __future__ import annotations

from typing import Any

from worker_runtime.engine.keys import OPERATOR_CLAIMS
from worker_runtime.engine.operation import Op

_KEYS = {"claims": OPERATOR_CLAIMS}


def claim(queue: str, owner: str) -> Op[str]:
    """Claims ``queue`` for ``owner`` unless someone holds it; returns the holder."""

    def parse(reply: list[Any]) -> str:
        return str(reply[1])

    commands = [("HSETNX", OPERATOR_CLAIMS, queue, owner), ("HGET", OPERATOR_CLAIMS, queue)]
    return Op(parse, commands=commands)


def replace(queue: str, stale: str, owner: str) -> Op[bool]:
    """Hands ``queue`` from ``stale`` (or from nobody) to ``owner``; False when someone
    else holds it."""
    return Op(lambda r: bool(int(r)), "ownerreplace", _KEYS, [queue, stale, owner])


def release(queue: str, owner: str) -> Op[bool]:
    """Gives up ``owner``'s claim on ``queue``; False when it did not hold it."""
    return Op(lambda r: bool(int(r)), "ownerrelease", _KEYS, [queue, owner])
