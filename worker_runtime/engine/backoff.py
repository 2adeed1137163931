"""Retry back-off: the schedule the fail script applies, as a pure function."""

from __future__ import annotations

#: Share of the delay that jitter may remove, so retries of a burst spread out.
JITTER = 0.2


def backoff_ms(attempt: int, base_ms: int, max_ms: int, draw: float) -> int:
    """Delay before the attempt after ``attempt`` (1-based): min(base * 2^(attempt-1), max),
    less up to 20% jitter; ``draw`` is uniform in [0, 1). Mirrors lua/fail.lua."""
    delay = min(base_ms * 2 ** (attempt - 1), max_ms)
    return int(delay - delay * JITTER * draw)
