"""Garbage collection: ownerReferences, deletion propagation, namespace and CRD cleanup."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from devcluster.resources import CRD_CLEANUP_FINALIZER

if TYPE_CHECKING:
    from devcluster.api import Api

JSON = dict[str, Any]
Key = tuple[str, str]

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"

#: Bound on passes per write; each pass makes progress, so this is only a safety net.
_MAX_PASSES = 100


def collect(api: Api) -> None:
    """Run collection passes until nothing is left to do (synchronously, after a write)."""
    for _ in range(_MAX_PASSES):
        if not _collect_once(api):
            return


def _fresh(api: Api, key: Key, obj: JSON) -> JSON | None:
    md = obj["metadata"]
    return api.store.get(key, md.get("namespace", ""), md["name"])


def _delete(api: Api, key: Key, obj: JSON) -> bool:
    rt = api.resource_type(key)
    current = _fresh(api, key, obj)
    if rt is None or current is None or current["metadata"].get("deletionTimestamp"):
        return False
    md = current["metadata"]
    api.delete(rt, md.get("namespace", ""), md["name"], {"propagationPolicy": "Background"})
    return True


def _drop_finalizer(api: Api, key: Key, obj: JSON, finalizer: str) -> bool:
    from devcluster.api import WriteOptions

    rt = api.resource_type(key)
    current = _fresh(api, key, obj)
    if rt is None or current is None:
        return False
    new = copy.deepcopy(current)
    if obj.get("kind") == "Namespace":
        new["spec"]["finalizers"] = []
    else:
        new["metadata"]["finalizers"] = [
            f for f in new["metadata"].get("finalizers") or [] if f != finalizer
        ]
    api.commit(rt, current, new, WriteOptions(field_validation="Ignore"))
    return True


def _orphan(api: Api, key: Key, obj: JSON, dependents: list[tuple[Key, JSON]]) -> bool:
    from devcluster.api import WriteOptions

    uid = obj["metadata"]["uid"]
    for dep_key, dep in dependents:
        rt, current = api.resource_type(dep_key), _fresh(api, dep_key, dep)
        if rt is None or current is None:
            continue
        new = copy.deepcopy(current)
        refs = [r for r in new["metadata"]["ownerReferences"] if r.get("uid") != uid]
        new["metadata"]["ownerReferences"] = refs
        if not refs:
            del new["metadata"]["ownerReferences"]
        api.commit(rt, current, new, WriteOptions(field_validation="Ignore"))
    return _drop_finalizer(api, key, obj, ORPHAN)


def _contents(api: Api, obj: JSON) -> list[tuple[Key, JSON]]:
    """What must go before a deleting namespace or CRD may go."""
    if obj.get("kind") == "Namespace":
        ns = obj["metadata"]["name"]
        return [(key, o) for key in api.store.resource_keys() for o in api.store.objects(key, ns)]
    spec = obj.get("spec") or {}
    key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
    return [(key, o) for o in api.store.objects(key)]


def _finish_deleting(api: Api, key: Key, obj: JSON, dependents: list[tuple[Key, JSON]]) -> bool:
    finalizers = obj["metadata"].get("finalizers") or []
    if ORPHAN in finalizers:
        return _orphan(api, key, obj, dependents)
    if FOREGROUND in finalizers:
        if dependents:
            return any([_delete(api, k, d) for k, d in dependents])
        return _drop_finalizer(api, key, obj, FOREGROUND)
    owned = obj.get("kind") == "Namespace" or CRD_CLEANUP_FINALIZER in finalizers
    if owned and (obj.get("kind") != "Namespace" or (obj.get("spec") or {}).get("finalizers")):
        contents = _contents(api, obj)
        if contents:
            return any([_delete(api, k, o) for k, o in contents])
        return _drop_finalizer(api, key, obj, CRD_CLEANUP_FINALIZER)
    return False


def _collect_once(api: Api) -> bool:
    objects = [(key, obj) for key in api.store.resource_keys() for obj in api.store.objects(key)]
    uids = {obj["metadata"]["uid"] for _, obj in objects}
    dependents: dict[str, list[tuple[Key, JSON]]] = defaultdict(list)
    for key, obj in objects:
        for ref in obj["metadata"].get("ownerReferences") or []:
            dependents[ref.get("uid", "")].append((key, obj))
    changed = False
    for key, obj in objects:
        if obj["metadata"].get("deletionTimestamp"):
            changed |= _finish_deleting(api, key, obj, dependents[obj["metadata"]["uid"]])
    for key, obj in objects:
        refs = obj["metadata"].get("ownerReferences") or []
        if refs and all(ref.get("uid") not in uids for ref in refs):
            changed |= _delete(api, key, obj)
    return changed
