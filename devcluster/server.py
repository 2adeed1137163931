"""The aiohttp application: maps Kubernetes REST paths onto the API, discovery and watch."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from devcluster import apply, discovery, errors, patching, podpatch, protowire, reviews, scale
from devcluster.api import Api, WriteOptions
from devcluster.podlogs import PodLogs, RunStarts
from devcluster.resources import ResourceType
from devcluster.tables import to_table
from devcluster.watch import WatchRequest, WatchStream

JSON = dict[str, Any]
log = logging.getLogger(__name__)

_TRUE = ("true", "1")


@dataclass
class Target:
    """A parsed resource path: /api(s)/G/V/[namespaces/NS/]PLURAL[/NAME[/SUB]]."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    sub: str | None


def _json(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    # Warnings travel as RFC 7234 headers; kubectl prints them as "Warning: ...".
    headers = None
    if warnings:
        headers = {"Warning": ", ".join(f"299 - {json.dumps(w)}" for w in warnings)}
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", headers=headers
    )


class ApiServer:
    """Routes every request by hand: Kubernetes paths do not fit a static route table."""

    def __init__(self, api: Api, *, bookmark_interval: float = 5.0) -> None:
        self.api = api
        self.bookmark_interval = bookmark_interval
        self.stopping = False
        self.address = "127.0.0.1:0"
        #: Where each run of a pod's process starts in its log (the kubelet's, when it runs).
        self.run_starts: RunStarts = lambda namespace, name: []

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except errors.ApiError as exc:
            return _json(exc.to_status(), exc.code)
        except Exception as exc:  # a bug must answer 500, not kill the server
            log.exception("internal error on %s %s", request.method, request.path)
            return _json(errors.status_body(500, "InternalError", repr(exc)), 500)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        static = self._static(parts)
        if static is not None:
            return _json(static)
        if parts[:2] == ["openapi", "v3"] and len(parts) > 2:
            group, version = (parts[3], parts[4]) if parts[2] == "apis" else ("", parts[3])
            document = discovery.openapi_document(self.api.registry, group, version)
            if document is not None:
                return _json(document)
        target = self._target(parts)
        if target is None:
            raise errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        return await self._resource(request, target)

    def _static(self, parts: list[str]) -> JSON | None:
        registry = self.api.registry
        if parts in (["healthz"], ["readyz"], ["livez"]):
            return {"status": "ok"}
        if parts == ["version"]:
            return discovery.version_info()
        if parts == ["api"]:
            return discovery.core_versions(self.address)
        if parts == ["apis"]:
            return discovery.group_list(registry)
        if parts == ["openapi", "v3"]:
            return discovery.openapi_index(registry)
        if len(parts) == 2 and parts[0] == "api":
            return discovery.resource_list(registry, "", parts[1])
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.group(registry, parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.resource_list(registry, parts[1], parts[2])
        return None

    def _target(self, parts: list[str]) -> Target | None:
        if len(parts) >= 3 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            return None
        rt = self.api.registry.lookup(group, version, rest[0])
        if rt is None or (namespace is not None and not rt.namespaced):
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub not in (None, "status", "scale", "finalize", "log"):
            return None
        if sub == "log" and (rt.group, rt.plural) != ("", "pods"):
            return None
        if sub == "scale" and rt.scale is None:
            return None
        return Target(rt, namespace, name, sub)

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return {}
        if "protobuf" in request.content_type:
            return protowire.decode(raw)
        try:
            if "yaml" in request.content_type:
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"the request body is not valid JSON or YAML: {exc}") from exc

    @staticmethod
    def _options(request: web.Request) -> WriteOptions:
        # kube-apiserver names a manager after the client's user agent when none is given.
        agent = request.headers.get("User-Agent", "").split("/", 1)[0]
        return WriteOptions(
            field_validation=request.query.get("fieldValidation") or "Warn",
            dry_run=request.query.get("dryRun") == "All",
            field_manager=request.query.get("fieldManager") or agent or "unknown",
            applying=request.content_type == patching.APPLY and request.method == "PATCH",
            force=request.query.get("force") in _TRUE,
        )

    def _present(self, request: web.Request, rt: ResourceType, obj: JSON) -> JSON:
        if "as=Table" in request.headers.get("Accept", ""):
            include = request.query.get("includeObject", "Metadata")
            return to_table(rt, [obj], obj["metadata"].get("resourceVersion", ""), include)
        return obj

    async def _resource(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt, name, sub = target.rt, target.name, target.sub
        namespace = target.namespace or ""
        method = request.method
        if rt.kubelet_owned and (method == "PUT" or (method == "PATCH" and sub)):
            raise errors.method_not_allowed(
                f"{rt.plural} are views of the devcluster kubelet's processes (PATCH of their "
                "labels and annotations only); change the Deployment instead"
            )
        if rt.namespaced and target.namespace is None and (name or method != "GET"):
            raise errors.ApiError(
                404,
                "NotFound",
                "the server could not find the requested "
                "resource (namespaced resource needs a namespace)",
            )
        if name is None:
            return await self._collection(request, target)
        if sub in ("scale", "log"):
            return await self._subresource(request, rt, namespace, name, sub)
        if method == "GET":
            return _json(self._present(request, rt, self.api.get(rt, namespace, name)))
        opts = self._options(request)
        if method == "PUT":
            body = await self._body(request)
            obj = self.api.update(rt, namespace, name, body, _status_sub(sub), opts)
            return _json(obj, 200, opts.warnings)
        if method == "PATCH":
            return await self._patch(request, target, opts)
        if method == "DELETE":
            options = await self._body(request)
            policy = request.query.get("propagationPolicy")
            if policy:
                options = {**options, "propagationPolicy": policy}
            return _json(self.api.delete(rt, namespace, name, options, opts.dry_run))
        raise errors.method_not_allowed(f"method {method} is not supported here")

    async def _patch(
        self, request: web.Request, target: Target, opts: WriteOptions
    ) -> web.StreamResponse:
        """A PATCH: a pod's labels and annotations, a server-side apply, or a plain patch."""
        rt, name, sub = target.rt, target.name or "", target.sub
        namespace = target.namespace or ""
        if rt.kubelet_owned:
            body = await self._body(request)
            content_type = request.content_type
            obj = podpatch.patch_pod(self.api, rt, namespace, name, body, content_type, opts)
            return _json(obj, 200, opts.warnings)
        if request.content_type == patching.APPLY and sub is None:
            if not request.query.get("fieldManager"):
                raise errors.invalid(
                    "PatchOptions",
                    "meta.k8s.io",
                    "",
                    [("fieldManager", "Required value: is required for apply patch")],
                )
            applied, code = apply.apply(
                self.api, rt, namespace, name, await self._body(request), opts
            )
            return _json(applied, code, opts.warnings)
        body = await self._body(request)
        obj = self.api.patch(
            rt, namespace, name, body, request.content_type, _status_sub(sub), opts
        )
        return _json(obj, 200, opts.warnings)

    async def _collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt, query = target.rt, request.query
        as_table = "as=Table" in request.headers.get("Accept", "")
        if request.method == "GET" and query.get("watch") in _TRUE:
            timeout = query.get("timeoutSeconds")
            watch = WatchRequest(
                namespace=target.namespace,
                resource_version=query.get("resourceVersion"),
                timeout_seconds=float(timeout) if timeout else None,
                bookmarks=query.get("allowWatchBookmarks") in _TRUE,
                send_initial_events=query.get("sendInitialEvents") in _TRUE,
                label_selector=query.get("labelSelector"),
                field_selector=query.get("fieldSelector"),
                as_table=as_table,
            )
            stream = WatchStream(
                self.api,
                rt,
                watch,
                bookmark_interval=self.bookmark_interval,
                stopping=lambda: self.stopping,
            )
            return await stream.serve(request)
        labels, fields = query.get("labelSelector"), query.get("fieldSelector")
        if request.method == "GET":
            listing = self.api.listing(rt, target.namespace, labels, fields)
            if as_table:
                include = query.get("includeObject", "Metadata")
                return _json(
                    to_table(rt, listing["items"], listing["metadata"]["resourceVersion"], include)
                )
            return _json(listing)
        if rt.review:
            if request.method != "POST":
                raise errors.method_not_allowed(f"{rt.plural} can only be created")
            return _json(reviews.answer(rt, await self._body(request)), 201)
        if request.method == "POST":
            opts = self._options(request)
            body = await self._body(request)
            created = self.api.create(rt, target.namespace or "", body, opts)
            return _json(created, 201, opts.warnings)
        if request.method == "DELETE":
            options = await self._body(request)
            return _json(self.api.delete_collection(rt, target.namespace, labels, fields, options))
        raise errors.method_not_allowed(f"method {request.method} is not supported here")

    async def _subresource(
        self, request: web.Request, rt: ResourceType, namespace: str, name: str, sub: str
    ) -> web.StreamResponse:
        if sub == "scale":
            return await self._scale(request, rt, namespace, name)
        if request.method != "GET":
            raise errors.method_not_allowed("pods/log can only be read")
        logs = PodLogs(self.api, rt, self.run_starts, lambda: self.stopping)
        return await logs.serve(request, namespace, name)

    async def _scale(
        self, request: web.Request, rt: ResourceType, namespace: str, name: str
    ) -> web.StreamResponse:
        if request.method == "GET":
            return _json(scale.get_scale(self.api, rt, namespace, name))
        opts = self._options(request)
        body = await self._body(request)
        if request.method == "PUT":
            return _json(scale.write_scale(self.api, rt, namespace, name, opts, body=body))
        if request.method == "PATCH":
            return _json(
                scale.write_scale(
                    self.api,
                    rt,
                    namespace,
                    name,
                    opts,
                    patch=body,
                    content_type=request.content_type,
                )
            )
        raise errors.method_not_allowed(f"method {request.method} is not supported on /scale")


def _status_sub(sub: str | None) -> str | None:
    # Namespaces' /finalize writes only spec.finalizers upstream; treating it as a main
    # write is close enough for a development cluster.
    return "status" if sub == "status" else None
