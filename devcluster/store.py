"""The in-memory object store: objects by resource and name, one resourceVersion counter
and a bounded event log that watches replay from."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
Key = tuple[str, str]


@dataclass(frozen=True)
class Event:
    """One change, as a watch reports it; `obj` is a snapshot that is never mutated."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: Key
    obj: JSON


class Store:
    """Objects are stored as immutable snapshots: writers replace, never mutate, them.

    Like etcd, one counter orders every write of every resource, so any resourceVersion
    names a point in the whole history; the log keeps the last `log_size` events.
    """

    def __init__(self, log_size: int = 10_000) -> None:
        self._objects: dict[Key, dict[tuple[str, str], JSON]] = {}
        self._log: deque[Event] = deque()
        self._log_size = log_size
        #: The newest resourceVersion dropped from the log: watches from before it get 410.
        self.compacted_rv = 0
        self.rv = 0
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def get(self, key: Key, namespace: str, name: str) -> JSON | None:
        return self._objects.get(key, {}).get((namespace, name))

    def objects(self, key: Key, namespace: str | None = None) -> list[JSON]:
        objects = self._objects.get(key, {})
        return [
            obj for (ns, _), obj in sorted(objects.items()) if namespace is None or ns == namespace
        ]

    def resource_keys(self) -> list[Key]:
        return list(self._objects)

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def put(self, key: Key, obj: JSON, event_type: str) -> JSON:
        """Store `obj`, whose metadata.resourceVersion the caller took from `next_rv()`."""
        meta = obj["metadata"]
        self._objects.setdefault(key, {})[(meta.get("namespace", ""), meta["name"])] = obj
        self._record(Event(int(meta["resourceVersion"]), event_type, key, obj))
        return obj

    def remove(self, key: Key, obj: JSON) -> JSON:
        """Delete `obj`; the DELETED event carries a fresh resourceVersion, as etcd's does."""
        meta = obj["metadata"]
        self._objects.get(key, {}).pop((meta.get("namespace", ""), meta["name"]), None)
        gone = {**obj, "metadata": {**meta, "resourceVersion": self.next_rv()}}
        self._record(Event(self.rv, "DELETED", key, gone))
        return gone

    def _record(self, event: Event) -> None:
        self._log.append(event)
        while len(self._log) > self._log_size:
            self.compacted_rv = self._log.popleft().rv
        for queue in self._subscribers:
            queue.put_nowait(event)

    def events_since(self, rv: int) -> list[Event] | None:
        """Events after `rv`, or None when some of them have already left the log."""
        if rv < self.compacted_rv:
            return None
        return [event for event in self._log if event.rv > rv]

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.discard(queue)
