"""The three patch formats: JSON merge patch, JSON patch and a strategic-merge subset."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from devcluster import errors

JSON = dict[str, Any]

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

#: Lists of objects that strategic merge merges by a key instead of replacing.
#: Kubernetes reads these from its Go structs; the names below cover the pod spec and
#: the common built-ins, and any other list of objects that all carry `name`.
_MERGE_KEYS = {
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "tolerations": "key",
    "hostAliases": "ip",
    "imagePullSecrets": "name",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: JSON, operations: Any) -> JSON:
    if not isinstance(operations, list):
        raise errors.bad_request("json patch must be a list of operations")
    try:
        result: JSON = jsonpatch.apply_patch(target, operations)
    except jsonpatch.InvalidJsonPatch as exc:
        raise errors.bad_request(str(exc)) from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        # kube-apiserver answers 422 for any failing operation, `test` included; kopf
        # relies on it to detect a stale resourceVersion in its finalizer patches.
        raise errors.ApiError(422, "Invalid", f"the server rejected our request: {exc}") from exc
    return result


def merge_key(field: str, items: list[Any]) -> str | None:
    """The key that merges a list of objects (strategic merge, apply), or None: atomic."""
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    key = _MERGE_KEYS.get(field, "name")
    return key if all(key in item for item in items) else None


def _strategic_list(field: str, current: Any, patch: list[Any], order: list[Any] | None) -> Any:
    key = merge_key(field, patch + (order or []))
    if key is None or not isinstance(current, list):
        return [item for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    merged = {item.get(key): item for item in current if isinstance(item, dict)}
    for item in patch:
        if item.get("$patch") == "delete":
            merged.pop(item.get(key), None)
        else:
            merged[item[key]] = strategic_merge(merged.get(item[key]), item)
    if order:
        ranked = [item[key] for item in order if isinstance(item, dict) and key in item]
        extra = [k for k in merged if k not in ranked]
        return [merged[k] for k in ranked + extra if k in merged]
    return list(merged.values())


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch for built-in types, enough for `kubectl apply` and `patch`.

    Supports merge keys for lists of objects, `$patch: delete|replace`,
    `$setElementOrder/<field>`, `$retainKeys` (ignored) and
    `$deleteFromPrimitiveList/<field>`.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            order = patch.get(f"$setElementOrder/{key}")
            result[key] = _strategic_list(key, result.get(key), value, order)
        else:
            result[key] = strategic_merge(result.get(key), value)
    return result


def apply_patch(target: JSON, patch: Any, content_type: str, *, custom: bool) -> JSON:
    """Apply a patch of the given media type; strategic merge is refused for CRs, as upstream."""
    if content_type == MERGE:
        if not isinstance(patch, dict):
            raise errors.bad_request("merge patch must be a JSON object")
        result: JSON = merge_patch(target, patch)
        return result
    if content_type == JSON_PATCH:
        return json_patch(target, patch)
    if content_type == STRATEGIC and not custom:
        if not isinstance(patch, dict):
            raise errors.bad_request("strategic merge patch must be a JSON object")
        merged: JSON = strategic_merge(target, patch)
        return merged
    raise errors.unsupported_media_type(content_type)
