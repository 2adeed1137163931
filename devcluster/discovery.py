"""Discovery documents (/api, /apis, /apis/G/V), /version and per-group-version OpenAPI v3."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from devcluster import __version__
from devcluster.resources import Registry, ResourceType

JSON = dict[str, Any]

_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
#: Pods: created directly or by the kubelet, run by the kubelet, never replaced by PUT;
#: clients may patch their labels and annotations only.
_POD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "watch"]
_SUB_VERBS = ["get", "patch", "update"]


def version_info() -> JSON:
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-blackroad-devcluster",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "python",
        "platform": f"devcluster {__version__}",
    }


def core_versions(server_address: str) -> JSON:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> JSON:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def group_list(registry: Registry) -> JSON:
    groups = [_group(g, vs) for g, vs in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> JSON | None:
    versions = registry.group_versions().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _verbs(rt: ResourceType) -> list[str]:
    return _POD_VERBS if rt.kubelet_owned else _ALL_VERBS


def _resource_entries(rt: ResourceType) -> list[JSON]:
    main: JSON = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": ["create"] if rt.review else _verbs(rt),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    entries = [main]
    if rt.status_subresource:
        entries.append(
            {
                "name": f"{rt.plural}/status",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": _SUB_VERBS,
            }
        )
    if rt.scale is not None:
        entries.append(
            {
                "name": f"{rt.plural}/scale",
                "singularName": "",
                "namespaced": rt.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": _SUB_VERBS,
            }
        )
    return entries


def resource_list(registry: Registry, group_name: str, version: str) -> JSON | None:
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group_name}/{version}" if group_name else version,
        "resources": [entry for rt in types for entry in _resource_entries(rt)],
    }


def _gv_path(group_name: str, version: str) -> str:
    return f"apis/{group_name}/{version}" if group_name else f"api/{version}"


def openapi_index(registry: Registry) -> JSON:
    paths = {}
    for group_name, versions in registry.group_versions().items():
        for version in versions:
            path = _gv_path(group_name, version)
            document = openapi_document(registry, group_name, version) or {}
            digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:32].upper()}"}
    return {"paths": paths}


def _schema_name(rt: ResourceType) -> str:
    domain = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{domain}.{rt.version}.{rt.kind}"


_WRITE_PARAMS = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation")
]


def _operation(rt: ResourceType, action: str, body: bool) -> JSON:
    ref = {"$ref": f"#/components/schemas/{_schema_name(rt)}"}
    op: JSON = {
        "operationId": f"{action}{rt.kind}",
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": ref}}}
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": rt.group,
            "version": rt.version,
            "kind": rt.kind,
        },
    }
    if body:
        op["parameters"] = _WRITE_PARAMS
        types = [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ]
        if not rt.custom:
            types.append("application/strategic-merge-patch+json")
        op["requestBody"] = {
            "content": {
                t: {"schema": ref} for t in (types if action == "patch" else ["application/json"])
            }
        }
    return op


def openapi_document(registry: Registry, group_name: str, version: str) -> JSON | None:
    """An OpenAPI v3 document whose operations declare `fieldValidation`, so kubectl
    leaves validation of unknown fields and types to the server."""
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    prefix = "/" + _gv_path(group_name, version)
    paths: JSON = {}
    schemas: JSON = {}
    for rt in types:
        scope = (
            f"{prefix}/namespaces/{{namespace}}/{rt.plural}"
            if rt.namespaced
            else (f"{prefix}/{rt.plural}")
        )
        paths[scope] = {"get": _operation(rt, "list", False), "post": _operation(rt, "post", True)}
        paths[f"{scope}/{{name}}"] = {
            "get": _operation(rt, "get", False),
            "put": _operation(rt, "put", True),
            "patch": _operation(rt, "patch", True),
            "delete": _operation(rt, "delete", False),
        }
        schema = dict(rt.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
        schema["x-kubernetes-group-version-kind"] = [
            {"group": rt.group, "version": rt.version, "kind": rt.kind}
        ]
        schemas[_schema_name(rt)] = schema
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (blackroad devcluster)", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
