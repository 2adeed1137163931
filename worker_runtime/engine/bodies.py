"""Job bodies as the enqueue script stores them: ``<meta json>\n<payload json>``, each
encoded once, by orjson where it agrees with json (ten times faster), else by json."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

from worker_runtime import errors

#: One encoder for every job: json.dumps with options builds a new encoder per call,
#: which costs more than the encoding of a small payload.
ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _fast_encoder() -> Callable[[Any], bytes | None]:
    """orjson (ten times faster than json here) where it agrees with ``ENCODER``; None
    sends a value to ``ENCODER``. orjson writes NaN and infinities as
    null, where json refuses them: output with ``null`` in it is left to json, as are
    subclasses of str, int, dict and list, non-string keys, integers beyond 64 bits and
    dates (orjson refuses them here and json decides)."""
    dumps = orjson.dumps
    strict = (
        orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
    )

    def encode(value: Any) -> bytes | None:
        try:
            data = dumps(value, option=strict)
        except TypeError:  # orjson.JSONEncodeError is one
            return None
        return None if b"null" in data else data

    return encode


_FAST = _fast_encoder()

#: The meta JSON of jobs with a name and priority only, the common case, by both.
_PLAIN_META: dict[tuple[str, int], str] = {}


#: Deepest nesting of lists and objects in a payload (serde_json's limit too): deeper ones
#: exhaust the recursion of Python's JSON and YAML printers in workers and the CLI.
MAX_DEPTH = 128


def payload_json(value: Any, job_name: str) -> tuple[str, int]:
    """The payload as JSON and its size in UTF-8 bytes; raises PayloadError naming it."""
    data = payload_data(value, job_name)
    return data.decode(), len(data)


def payload_data(value: Any, job_name: str) -> bytes:
    """The payload as UTF-8 JSON (what a one-job enqueue writes as it is); raises
    PayloadError naming it."""
    data = _FAST(value)
    if data is not None:
        # Counting brackets (strings' ones too) is nearly free and bounds the depth from
        # above: only a payload with many of them is walked.
        if data.count(b"[") + data.count(b"{") <= MAX_DEPTH or not _too_deep(value):
            return data
        raise errors.PayloadError(
            f"payload of job {job_name!r}: nested more than {MAX_DEPTH} levels deep",
            field="payload",
        )
    try:
        text = ENCODER.encode(value)
        if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):
            problem = f"nested more than {MAX_DEPTH} levels deep"
        else:
            return text.encode()
    except UnicodeEncodeError as exc:  # before ValueError, of which it is a kind
        lone = exc.object[exc.start : exc.end]
        problem = f"contains {lone!r}, a lone surrogate that UTF-8 cannot encode"
    except (TypeError, ValueError) as exc:
        problem = f"not JSON-serialisable ({exc})"
    except RecursionError:
        problem = "nested too deeply to serialise"
    raise errors.PayloadError(f"payload of job {job_name!r}: {problem}", field="payload")


def _too_deep(value: Any) -> bool:
    """Whether lists and objects nest deeper than MAX_DEPTH (walked without recursion)."""
    stack = [(value, 1)] if isinstance(value, dict | list | tuple) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))
    return False


def meta_line(meta: dict[str, Any]) -> str:
    """The meta line of a body, with its newline. Names and keys are checked strings, so
    it always serialises."""
    data = _FAST(meta)
    return (ENCODER.encode(meta) if data is None else data.decode()) + "\n"


def plain_meta_line(name: str, priority: int) -> str:
    meta = _PLAIN_META.get((name, priority))
    if meta is None:
        if len(_PLAIN_META) >= 4096:  # bounded: job names are the caller's to choose
            _PLAIN_META.clear()
        meta = _PLAIN_META[name, priority] = meta_line({"n": name, "p": priority})
    return meta
