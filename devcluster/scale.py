"""The `/scale` subresource: objects seen and written as autoscaling/v1 Scale."""

from __future__ import annotations

import copy
from typing import Any

from devcluster import errors, patching
from devcluster.api import Api, WriteOptions
from devcluster.meta import get_path, set_path
from devcluster.resources import ResourceType
from devcluster.selectors import selector_to_string

JSON = dict[str, Any]


def to_scale(rt: ResourceType, obj: JSON) -> JSON:
    assert rt.scale is not None
    md = obj["metadata"]
    status: JSON = {"replicas": get_path(obj, rt.scale.status_replicas_path) or 0}
    if rt.scale.label_selector_path:
        selector = get_path(obj, rt.scale.label_selector_path)
        status["selector"] = (
            selector_to_string(selector) if isinstance(selector, dict) else (selector or "")
        )
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: md[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in md
        },
        "spec": {"replicas": get_path(obj, rt.scale.spec_replicas_path) or 0},
        "status": status,
    }


def get_scale(api: Api, rt: ResourceType, namespace: str, name: str) -> JSON:
    return to_scale(rt, api.get(rt, namespace, name))


def write_scale(
    api: Api,
    rt: ResourceType,
    namespace: str,
    name: str,
    opts: WriteOptions,
    *,
    body: JSON | None = None,
    patch: Any = None,
    content_type: str = "",
) -> JSON:
    """PUT (body) or PATCH (patch + content_type) a Scale; only spec.replicas is taken."""
    assert rt.scale is not None
    current = api.get(rt, namespace, name)
    scale = to_scale(rt, current)
    wanted = (
        body
        if body is not None
        else patching.apply_patch(copy.deepcopy(scale), patch, content_type, custom=False)
    )
    wanted_rv = (wanted.get("metadata") or {}).get("resourceVersion")
    if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
        raise errors.conflict(rt.group, rt.plural, name)
    replicas = (wanted.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [("spec.replicas", f"Invalid value: {replicas!r}: must be a non-negative integer")],
        )
    new = copy.deepcopy(current)
    set_path(new, rt.scale.spec_replicas_path, replicas)
    return to_scale(rt, api.commit(rt, current, new, opts))
