"""An engine operation: one Lua script call or one MULTI block of reads, plus its parser.

Ops are pure values built by ``writes``, ``reads`` and ``cron.transitions``; ``store`` runs
them, so the engine's logic exists once for every caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Op(Generic[T]):
    parse: Callable[[Any], T]
    script: str | None = None
    #: The script's keys by name (see keys.SCRIPT_KEYS); the loader puts them in order.
    keys: Mapping[str, str] = field(default_factory=dict)
    args: Sequence[str | int | float] = ()
    commands: Sequence[tuple[str | int | float, ...]] = field(default_factory=tuple)


def parse_record(record: str) -> tuple[int, dict[str, Any], str]:
    """A job record: (enqueued ms, meta, raw payload json)."""
    enqueued, meta, payload = record.split("\n", 2)
    return int(enqueued), json.loads(meta), payload
