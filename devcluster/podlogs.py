"""`pods/log`: a container's output from the kubelet's log file, with follow, tail and previous.

The kubelet appends every run of a pod's process to one file (`pods/<ns>_<pod>.log`)
and remembers where each run started, so the current run and the previous one are
byte ranges of that file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from devcluster import errors
from devcluster.api import Api
from devcluster.resources import ResourceType

JSON = dict[str, Any]
#: (namespace, pod) -> the byte offsets where each run of its process started.
RunStarts = Callable[[str, str], list[int]]

LOG_ANNOTATION = "devcluster.blackroad.io/log"
PID_ANNOTATION = "devcluster.blackroad.io/pid"
#: Seconds between looks at a followed log file.
POLL = 0.1


@dataclass(frozen=True)
class LogRequest:
    """The query parameters of GET pods/NAME/log that the devcluster honours."""

    container: str | None = None
    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None

    @classmethod
    def from_query(cls, query: Any) -> LogRequest:
        def number(name: str) -> int | None:
            value = query.get(name)
            if value is None:
                return None
            try:
                return int(value)
            except ValueError as exc:
                raise errors.bad_request(f"invalid {name}: {value!r}") from exc

        return cls(
            container=query.get("container") or None,
            follow=query.get("follow") in ("true", "1"),
            previous=query.get("previous") in ("true", "1"),
            tail_lines=number("tailLines"),
            limit_bytes=number("limitBytes"),
        )


def _tail(data: bytes, lines: int | None) -> bytes:
    if lines is None:
        return data
    if lines <= 0:
        return b""
    kept = data.splitlines(keepends=True)[-lines:]
    return b"".join(kept)


class PodLogs:
    """Serves one pods/log request from the API's Pod and the kubelet's run offsets."""

    def __init__(
        self, api: Api, pods: ResourceType, run_starts: RunStarts, stopping: Callable[[], bool]
    ) -> None:
        self.api, self.pods, self.run_starts, self.stopping = api, pods, run_starts, stopping

    def _range(self, pod: JSON, ask: LogRequest) -> tuple[Path, int, int | None]:
        md = pod["metadata"]
        name = md["name"]
        containers = (pod.get("spec") or {}).get("containers") or [{}]
        container = containers[0].get("name", "")
        if ask.container not in (None, container):
            raise errors.bad_request(f"container {ask.container} is not valid for pod {name}")
        starts = self.run_starts(md["namespace"], name)
        log = (md.get("annotations") or {}).get(LOG_ANNOTATION)
        if ask.previous:
            if len(starts) < 2 or not log:
                raise errors.bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
            return Path(log), starts[-2], starts[-1]
        if not log or not starts:
            raise errors.bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
            )
        return Path(log), starts[-1], None

    async def serve(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        ask = LogRequest.from_query(request.query)
        pod = self.api.get(self.pods, namespace, name)
        path, start, end = self._range(pod, ask)
        data = _read(path, start, end)
        body = _tail(data, ask.tail_lines)
        if ask.limit_bytes is not None:
            body = body[: ask.limit_bytes]
        if not ask.follow or ask.previous:
            return web.Response(body=body, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(body)
        with contextlib.suppress(ConnectionError):
            await self._follow(response, namespace, pod, path, start + len(data))
        return response

    async def _follow(
        self, response: web.StreamResponse, namespace: str, pod: JSON, path: Path, offset: int
    ) -> None:
        """Stream what the process writes until it exits, its pod goes, or the API stops."""
        name = pod["metadata"]["name"]
        starts = self.run_starts(namespace, name)
        while not self.stopping():
            await asyncio.sleep(POLL)
            chunk = _read(path, offset, None)
            if chunk:
                await response.write(chunk)
                offset += len(chunk)
            current = self.api.store.get(self.pods.key, namespace, name)
            pid = ((current or {}).get("metadata", {}).get("annotations") or {}).get(PID_ANNOTATION)
            if current is None or not pid or self.run_starts(namespace, name) != starts:
                await response.write(_read(path, offset, self._next_start(namespace, name, starts)))
                return

    def _next_start(self, namespace: str, name: str, starts: list[int]) -> int | None:
        now = self.run_starts(namespace, name)
        return now[len(starts)] if len(now) > len(starts) else None


def _read(path: Path, start: int, end: int | None) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            return handle.read() if end is None else handle.read(max(end - start, 0))
    except FileNotFoundError:
        return b""
