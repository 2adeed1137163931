"""PATCH of kubelet-owned Pods: their labels and annotations change, nothing else does.

A real API server lets clients patch a Pod's metadata (controllers rely on it: the
ReplicaSet reads ``controller.kubernetes.io/pod-deletion-cost``) while the kubelet owns
its status; the devcluster's Pods are views of the kubelet's processes, so any other
change is refused with 422, as the API server refuses spec changes it does not allow.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from devcluster import errors, patching

if TYPE_CHECKING:
    from devcluster.api import Api, WriteOptions
    from devcluster.resources import ResourceType

JSON = dict[str, Any]

#: The metadata a client may change on a Pod here.
MUTABLE_METADATA = ("labels", "annotations")
#: Metadata the server fills in or a patch may carry as a precondition.
_IGNORED_METADATA = ("resourceVersion", "managedFields", "generation")


def _rest(obj: JSON) -> JSON:
    """The object without its mutable metadata (what a patch must leave as it is)."""
    rest = copy.deepcopy(obj)
    md = rest.setdefault("metadata", {})
    for key in (*MUTABLE_METADATA, *_IGNORED_METADATA):
        md.pop(key, None)
    return rest


def patch_pod(
    api: Api,
    rt: ResourceType,
    namespace: str,
    name: str,
    patch: Any,
    content_type: str,
    opts: WriteOptions,
) -> JSON:
    """Applies a merge, JSON or strategic-merge patch that touches labels/annotations only."""
    old = api.get(rt, namespace, name)
    patched = patching.apply_patch(copy.deepcopy(old), patch, content_type, custom=False)
    wanted_rv = (patched.get("metadata") or {}).get("resourceVersion")
    if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
        raise errors.conflict(rt.group, rt.plural, name)
    if _rest(patched) != _rest(old):
        raise errors.invalid(
            rt.kind,
            rt.group,
            name,
            [
                (
                    "spec",
                    "Forbidden: the devcluster's pods accept changes of metadata.labels and "
                    "metadata.annotations only; change the Deployment instead",
                )
            ],
        )
    new = copy.deepcopy(old)
    for key in MUTABLE_METADATA:
        value = (patched.get("metadata") or {}).get(key)
        if value:
            new["metadata"][key] = value
        else:
            new["metadata"].pop(key, None)
    return api.commit(rt, old, new, opts)
