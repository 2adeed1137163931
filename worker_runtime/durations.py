"""Parses human durations ("250ms", "30s", "5m", "1h", "2d", "1h30m") into milliseconds."""

from __future__ import annotations

import math
import re

from worker_runtime.errors import InvalidArgumentError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_ms(text: str | int | float, field: str = "duration") -> int:
    """Milliseconds in ``text``; a bare number means seconds."""
    if isinstance(text, int | float):
        value = float(text) * 1000
    else:
        s = text.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", s):
            value = float(s) * 1000
        else:
            parts = _PART.findall(s)
            if not parts or "".join(n + u for n, u in parts) != s:
                raise InvalidArgumentError(
                    f"{field}: {text!r} is not a duration; use e.g. 500ms, 30s, 5m, 1h, 2d",
                    field=field,
                )
            value = sum(float(n) * _UNIT_MS[u] for n, u in parts)
    if value < 0:
        raise InvalidArgumentError(f"{field}: must not be negative", field=field)
    if not math.isfinite(value):  # "1e999"-sized digits: no whole number of ms to round to
        raise InvalidArgumentError(f"{field}: {text!r} is too long a duration", field=field)
    return round(value)


def format_ms(ms: int | float) -> str:
    """A short human form of a duration: 850ms, 12s, 4m, 3h, 2d."""
    if ms < 1000:
        return f"{int(ms)}ms"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms >= size:
            return f"{int(ms // size)}{unit}"
    return f"{int(ms // 1000)}s"
