"""Watch streams: replay from a resourceVersion, then live events, bookmarks and timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from devcluster import errors
from devcluster.api import Api, render
from devcluster.resources import ResourceType
from devcluster.selectors import field_matcher, label_matcher
from devcluster.store import Event
from devcluster.tables import to_table

JSON = dict[str, Any]


@dataclass
class WatchRequest:
    """The query parameters of one watch."""

    namespace: str | None
    resource_version: str | None = None
    timeout_seconds: float | None = None
    bookmarks: bool = False
    send_initial_events: bool = False
    label_selector: str | None = None
    field_selector: str | None = None
    as_table: bool = False


class WatchStream:
    """One client's watch: writes JSON lines until timeout, disconnect or server stop."""

    def __init__(
        self,
        api: Api,
        rt: ResourceType,
        request: WatchRequest,
        *,
        bookmark_interval: float,
        stopping: Callable[[], bool],
    ) -> None:
        self.api, self.rt, self.request = api, rt, request
        self.bookmark_interval = bookmark_interval
        self.stopping = stopping
        self.match_labels = label_matcher(request.label_selector)
        self.match_fields = field_matcher(request.field_selector)
        self.last_rv = 0

    def _wanted(self, event: Event) -> bool:
        md = event.obj["metadata"]
        if event.key != self.rt.key:
            return False
        if self.request.namespace is not None and md.get("namespace") != self.request.namespace:
            return False
        return self.match_labels(event.obj) and self.match_fields(event.obj)

    def _encode(self, event_type: str, obj: JSON) -> bytes:
        shown = render(self.rt, obj)
        if self.request.as_table:
            shown = to_table(self.rt, [shown], obj["metadata"]["resourceVersion"])
        return (json.dumps({"type": event_type, "object": shown}) + "\n").encode()

    def _bookmark(self, annotations: dict[str, str] | None = None) -> bytes:
        md: JSON = {"resourceVersion": str(max(self.last_rv, self.api.store.rv))}
        if annotations:
            md["annotations"] = annotations
        obj = {"kind": self.rt.kind, "apiVersion": self.rt.api_version, "metadata": md}
        return (json.dumps({"type": "BOOKMARK", "object": obj}) + "\n").encode()

    def _backlog(self) -> list[bytes] | None:
        """The first lines to send; None when the requested version is too old (410)."""
        store, req = self.api.store, self.request
        if req.send_initial_events or req.resource_version in (None, "", "0"):
            lines = [
                self._encode("ADDED", obj)
                for obj in store.objects(self.rt.key, req.namespace)
                if self.match_labels(obj) and self.match_fields(obj)
            ]
            self.last_rv = store.rv
            if req.send_initial_events and req.bookmarks:
                lines.append(self._bookmark({"k8s.io/initial-events-end": "true"}))
            return lines
        try:
            since = int(req.resource_version)
        except ValueError as exc:
            raise errors.bad_request(f"invalid resourceVersion: {req.resource_version}") from exc
        events = store.events_since(since)
        if events is None:
            return None
        self.last_rv = since
        lines = []
        for event in events:
            if self._wanted(event):
                lines.append(self._encode(event.type, event.obj))
            self.last_rv = event.rv
        return lines

    async def serve(self, http_request: web.Request) -> web.StreamResponse:
        queue = self.api.store.subscribe()  # before the backlog, so no event slips between
        try:
            backlog = self._backlog()
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(http_request)
            if backlog is None:
                status = errors.gone(
                    f"too old resource version: {self.request.resource_version} "
                    f"({self.api.store.compacted_rv})"
                ).to_status()
                await response.write(
                    (json.dumps({"type": "ERROR", "object": status}) + "\n").encode()
                )
                return response
            for line in backlog:
                await response.write(line)
            with contextlib.suppress(ConnectionError):
                await self._follow(queue, response)
            return response
        finally:
            self.api.store.unsubscribe(queue)

    async def _follow(self, queue: asyncio.Queue[Event], response: web.StreamResponse) -> None:
        start = time.monotonic()
        deadline = start + self.request.timeout_seconds if self.request.timeout_seconds else None
        next_bookmark = start + self.bookmark_interval
        while not self.stopping():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if self.request.bookmarks and now >= next_bookmark:
                await response.write(self._bookmark())
                next_bookmark = now + self.bookmark_interval
            waits = [0.5, next_bookmark - now] + ([deadline - now] if deadline else [])
            try:
                event = await asyncio.wait_for(queue.get(), timeout=max(min(waits), 0.01))
            except TimeoutError:
                continue
            if event.rv > self.last_rv and self._wanted(event):
                await response.write(self._encode(event.type, event.obj))
            self.last_rv = max(self.last_rv, event.rv)
