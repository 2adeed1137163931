"""Field sets of server-side apply: the paths an object sets, and `managedFields` (FieldsV1).

A path is a tuple of FieldsV1 elements: `f:<field>` for a map key, `k:{"name":"main"}`
for an item of an associative list (built-ins' lists of objects merged by a key, as
in strategic merge) and `.` for that item itself. Lists of custom resources and lists
of scalars are atomic: the list is one leaf, as `x-kubernetes-list-type: atomic`.
"""

from __future__ import annotations

import json
from typing import Any

from devcluster.patching import merge_key

JSON = dict[str, Any]
Path = tuple[str, ...]

#: Object parts no manager owns: identity and what the server writes.
_UNOWNED_TOP = ("apiVersion", "kind", "status")
_OWNED_METADATA = ("labels", "annotations", "finalizers", "ownerReferences")
MISSING = object()


def _item_element(key: str, item: JSON) -> str:
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"))


def _leaves(value: Any, prefix: Path, field: str, custom: bool) -> set[Path]:
    if isinstance(value, dict) and value:
        out: set[Path] = set()
        for key, item in value.items():
            out |= _leaves(item, (*prefix, f"f:{key}"), key, custom)
        return out
    if isinstance(value, list) and value and not custom:
        key = merge_key(field, value)
        if key is not None:
            out = set()
            for item in value:
                at = (*prefix, _item_element(key, item))
                out.add((*at, "."))
                for name, sub in item.items():
                    out |= _leaves(sub, (*at, f"f:{name}"), name, custom)
            return out
    return {prefix}


def leaves(obj: JSON, *, custom: bool) -> set[Path]:
    """Every field path the object sets, except identity, status and server metadata."""
    out: set[Path] = set()
    for key, value in obj.items():
        if key in _UNOWNED_TOP:
            continue
        if key == "metadata":
            for name in _OWNED_METADATA:
                if name in (value or {}):
                    out |= _leaves(value[name], ("f:metadata", f"f:{name}"), name, custom)
            continue
        out |= _leaves(value, (f"f:{key}",), key, custom)
    return out


def value_at(obj: Any, path: Path) -> Any:
    """The value a path points at, or MISSING."""
    node = obj
    for element in path:
        if element == ".":
            continue
        if element.startswith("f:") and isinstance(node, dict):
            node = node.get(element[2:], MISSING)
        elif element.startswith("k:") and isinstance(node, list):
            (key, want), *_ = json.loads(element[2:]).items()
            node = next((i for i in node if isinstance(i, dict) and i.get(key) == want), MISSING)
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def remove_at(obj: Any, path: Path) -> None:
    """Delete the field (or list item, for a path ending in `.`) a path points at."""
    if path and path[-1] == ".":
        parent, element = value_at(obj, path[:-2]), path[-2]
        (key, want), *_ = json.loads(element[2:]).items()
        if isinstance(parent, list):
            parent[:] = [i for i in parent if not (isinstance(i, dict) and i.get(key) == want)]
        return
    parent = value_at(obj, path[:-1])
    if isinstance(parent, dict) and path and path[-1].startswith("f:"):
        parent.pop(path[-1][2:], None)


def to_fields_v1(paths: set[Path]) -> JSON:
    tree: JSON = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return tree


def from_fields_v1(tree: JSON, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for element, sub in tree.items():
        path = (*prefix, element)
        if element == "." or not sub:
            out.add(path)
        else:
            out |= from_fields_v1(sub, path)
    return out


def describe(path: Path) -> str:
    """A path as kube-apiserver prints it in conflicts: .spec.containers[name="main"].image."""
    text = ""
    for element in path:
        if element.startswith("f:"):
            text += "." + element[2:]
        elif element.startswith("k:"):
            pairs = json.loads(element[2:])
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in pairs.items()) + "]"
    return text
