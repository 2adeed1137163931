"""An engine operation: one Lua script call or one MULTI block of reads, plus its parser.

Ops are pure values built by ``writes``, ``reads`` and ``cron.transitions``; ``store`` runs
them, so the engine's logic exists once for every caller.
"""

from __future__ import annotations

import json
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


#: Each byte as a digit ("0"), a point, or neither (" "): 19 digits in a row not after a
#: point are an integer literal orjson may turn into a float (beyond 64 bits) where json
#: keeps it exact (a fraction's digits follow a point). A translate and a substring search
#: cost a tenth of a regular expression's scan.
_DIGIT_MAP = bytes(0x30 if 0x30 <= b <= 0x39 else b if b == 0x2E else 0x20 for b in range(256))
_LONG_RUN = b"0" * 19


def _long_integer(data: bytes) -> bool:
    digits = data.translate(_DIGIT_MAP)
    return digits.startswith(_LONG_RUN) or b" " + _LONG_RUN in digits


def loads(text: str) -> Any:
    """``json.loads(text)``, the same value or the same ValueError, in a third of the time:
    orjson unless it refuses (NaN, Infinity, 1e400, lone surrogates: json takes them and a
    producer could write them) or the text holds an integer orjson might round."""
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: json's alone
        return json.loads(text)
    if not _long_integer(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def parse_record(record: str) -> tuple[int, dict[str, Any], str]:
    """A job record: (enqueued ms, meta, raw payload json)."""
    enqueued, meta, payload = record.split("\n", 2)
    return int(enqueued), loads(meta), payload
