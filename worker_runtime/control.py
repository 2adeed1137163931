"""Exceptions a handler raises to steer its job: retry later, or fail for good."""

from __future__ import annotations

import math


class Retry(Exception):
    """Retry this job after ``delay`` seconds (counts as an attempt)."""

    def __init__(self, delay: float = 0.0, message: str = "") -> None:
        if not isinstance(delay, int | float) or not math.isfinite(delay) or delay < 0:
            raise ValueError(f"Retry: delay must be a finite number of seconds >= 0, got {delay!r}")
        super().__init__(message or f"retry requested in {delay}s")
        self.delay = delay


class PermanentFailure(Exception):
    """The job cannot succeed: send it to the dead letters now, without further attempts."""
