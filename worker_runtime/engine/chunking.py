"""Splits work on many jobs into per-queue script calls of bounded size."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from worker_runtime.engine.writes import MAX_BATCH

T = TypeVar("T")


def group_by_queue(items: Iterable[T], queue_of: Callable[[T], str]) -> dict[str, list[T]]:
    """The items of each queue, queues in order of first appearance, items in their order."""
    groups: dict[str, list[T]] = {}
    for item in items:
        queue = queue_of(item)
        group = groups.get(queue)
        if group is None:  # setdefault would build a list per item: this runs per job
            groups[queue] = [item]
        else:
            group.append(item)
    return groups


def chunk_groups(groups: Mapping[str, list[T]], size: int = MAX_BATCH) -> list[tuple[str, list[T]]]:
    """Each queue's items cut into runs of at most ``size``: one script call each, since a
    script's keys belong to one queue and Lua cannot unpack much more than a batch."""
    return [
        (queue, items[i : i + size])
        for queue, items in groups.items()
        for i in range(0, len(items), size)
    ]


def chunk_by_queue(
    items: Iterable[T], queue_of: Callable[[T], str], size: int = MAX_BATCH
) -> list[tuple[str, list[T]]]:
    """Groups by queue, then chunks: ``chunk_groups(group_by_queue(items, queue_of), size)``."""
    return chunk_groups(group_by_queue(items, queue_of), size)
