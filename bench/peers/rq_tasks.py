"""The job function RQ workers import (``rq_tasks.noop``)."""

from __future__ import annotations

from common import stamp


def noop(t: float) -> None:
    stamp(t)
