"""An engine operation: one Lua script call or one MULTI block of reads, plus its parser.

Ops are pure values built by ``writes``, ``reads`` and ``cron.transitions``; ``store`` runs
them, so the engine's logic exists once for every caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

T = TypeVar("T")


@dataclass(frozen=True)
class Op(Generic[T]):
    parse: Callable[[Any], T]
    script: str | None = None
    #: The script's keys by name (see keys.SCRIPT_KEYS); the loader puts them in order.
    keys: Mapping[str, str] = field(default_factory=dict)
    args: Sequence[str | int | float] = ()
    commands: Sequence[tuple[str | int | float, ...]] = field(default_factory=tuple)


#: 19 digits in a row: an integer literal orjson may turn into a float (beyond 64 bits)
#: where json keeps it exact; such texts (rare) go to json.
_LONG_DIGITS = re.compile(r"\d{19}").search


def loads(text: str) -> Any:
    """``json.loads(text)``, the same value or the same ValueError, in a fifth of the time:
    orjson unless it refuses (NaN, Infinity, 1e400, lone surrogates: json takes them and a
    producer could write them) or the text holds an integer orjson might round."""
    if _LONG_DIGITS(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def parse_record(record: str) -> tuple[int, dict[str, Any], str]:
    """A job record: (enqueued ms, meta, raw payload json)."""
    enqueued, meta, payload = record.split("\n", 2)
    return int(enqueued), loads(meta), payload
