"""Server-side apply and field ownership: `managedFields`, apply patches, conflicts, force.

Follows the API conventions of kube-apiserver: every write records which manager set
which fields (operation `Update`); an apply (`application/apply-patch+yaml` with a
`fieldManager`) sets the fields of its configuration, removes those it applied before
and no longer does (unless another manager owns them), and fails with 409 naming the
managers and fields when it would change a field another manager owns, unless forced.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devcluster import errors, meta
from devcluster.fieldsets import (
    MISSING,
    Path,
    describe,
    from_fields_v1,
    leaves,
    remove_at,
    to_fields_v1,
    value_at,
)
from devcluster.patching import merge_key
from devcluster.resources import ResourceType

if TYPE_CHECKING:
    from devcluster.api import Api, WriteOptions

JSON = dict[str, Any]


@dataclass
class Manager:
    """One `managedFields` entry."""

    manager: str
    operation: str
    api_version: str
    time: str
    fields: set[Path]

    def dump(self) -> JSON:
        return {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }


def load(obj: JSON | None) -> list[Manager]:
    entries = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    return [
        Manager(
            e.get("manager", ""),
            e.get("operation", "Update"),
            e.get("apiVersion", ""),
            e.get("time", ""),
            from_fields_v1(e.get("fieldsV1") or {}),
        )
        for e in entries
        if isinstance(e, dict)
    ]


def _entry(managers: list[Manager], rt: ResourceType, name: str, operation: str) -> Manager:
    for m in managers:
        if (m.manager, m.operation) == (name, operation):
            m.api_version, m.time = rt.api_version, meta.now()
            return m
    managers.append(Manager(name, operation, rt.api_version, meta.now(), set()))
    return managers[-1]


def _store(obj: JSON, managers: list[Manager]) -> None:
    for m in managers:  # a field that is gone is owned by nobody
        m.fields = {p for p in m.fields if value_at(obj, p) is not MISSING}
    dumped = [m.dump() for m in managers if m.fields]
    md = obj.setdefault("metadata", {})
    if dumped:
        md["managedFields"] = dumped
    else:
        md.pop("managedFields", None)


def record_update(rt: ResourceType, old: JSON | None, new: JSON, manager: str) -> None:
    """An ordinary write: its manager takes the fields it changed from everyone else."""
    source = new if "managedFields" in (new.get("metadata") or {}) else old
    managers = load(source)
    changed = {
        p
        for p in leaves(new, custom=rt.custom)
        if old is None
        or (value_at(old, p) is MISSING if p[-1] == "." else value_at(old, p) != value_at(new, p))
    }
    if changed:
        for m in managers:
            m.fields -= changed
        _entry(managers, rt, manager, "Update").fields |= changed
    _store(new, managers)


def _merge(live: Any, applied: Any, field: str, custom: bool) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict):
        result = dict(live)
        for key, value in applied.items():
            result[key] = _merge(live.get(key), value, key, custom)
        return result
    if isinstance(live, list) and isinstance(applied, list) and not custom:
        key = merge_key(field, applied)
        if key is not None and merge_key(field, live) == key:
            merged = {item[key]: item for item in live}
            for item in applied:
                merged[item[key]] = _merge(merged.get(item[key]), item, "", custom)
            return list(merged.values())
    return copy.deepcopy(applied)


def _conflict(rt: ResourceType, name: str, found: dict[str, list[Path]]) -> errors.ApiError:
    count = sum(len(paths) for paths in found.values())
    parts, causes = [], []
    for manager, paths in found.items():
        using = f'"{manager}" using {rt.api_version}'
        for path in paths:
            causes.append(
                {
                    "reason": "FieldManagerConflict",
                    "message": f"conflict with {using}",
                    "field": describe(path),
                }
            )
        if count == 1:
            parts.append(f"conflict with {using}: {describe(paths[0])}")
        else:
            parts.append(
                f"conflicts with {using}:\n" + "\n".join(f"- {describe(p)}" for p in paths)
            )
    plural = "conflict" if count == 1 else "conflicts"
    message = f"Apply failed with {count} {plural}: " + "\n".join(parts)
    details = {"name": name, "kind": rt.plural, "causes": causes}
    if rt.group:
        details["group"] = rt.group
    return errors.ApiError(409, "Conflict", message, details=details)


def _check_applied(rt: ResourceType, name: str, applied: Any) -> JSON:
    if not isinstance(applied, dict):
        raise errors.bad_request("an apply patch must be an object (YAML or JSON)")
    if applied.get("apiVersion") != rt.api_version or applied.get("kind") != rt.kind:
        raise errors.bad_request(
            f"the apply patch is for {applied.get('apiVersion')}, Kind={applied.get('kind')}, "
            f"not {rt.api_version}, Kind={rt.kind}"
        )
    md = applied.get("metadata")
    if not isinstance(md, dict) or md.get("name", name) != name:
        raise errors.bad_request("the name of the object does not match the name on the URL")
    return {k: v for k, v in applied.items() if not (k == "status" and rt.status_subresource)}


def _conflicts(
    managers: list[Manager], mine: Manager, fields: set[Path], live: JSON, config: JSON
) -> dict[str, list[Path]]:
    """Other managers' fields this configuration would change, by manager."""
    found: dict[str, list[Path]] = {}
    for m in managers:
        if m is mine:
            continue
        for path in sorted(fields & m.fields):
            if path[-1] != "." and value_at(live, path) != value_at(config, path):
                found.setdefault(m.manager, []).append(path)
    return found


def apply(
    api: Api, rt: ResourceType, namespace: str, name: str, applied: Any, opts: WriteOptions
) -> tuple[JSON, int]:
    """Apply a configuration for `opts.field_manager`: (the object, 201 created or 200)."""
    manager = opts.field_manager or ""
    config = _check_applied(rt, name, applied)
    fields = leaves(config, custom=rt.custom)
    current = api.store.get(rt.key, namespace, name)
    if current is None:
        obj = copy.deepcopy(config)
        obj.setdefault("metadata", {})["name"] = name
        managers = [Manager(manager, "Apply", rt.api_version, meta.now(), fields)]
        _store(obj, managers)
        return api.create(rt, namespace, obj, opts), 201
    live = copy.deepcopy(current)
    managers = load(live)
    mine = _entry(managers, rt, manager, "Apply")
    found = _conflicts(managers, mine, fields, live, config)
    if found and not opts.force:
        raise _conflict(rt, name, found)
    for m in managers:  # forced: the applier takes the contested fields
        if m is not mine and m.manager in found:
            m.fields -= set(found[m.manager])
    owned_by_others = set().union(*(m.fields for m in managers if m is not mine))
    for path in sorted(mine.fields - fields, key=len, reverse=True):
        if path not in owned_by_others:
            remove_at(live, path)
    merged = _merge(live, config, "", rt.custom)
    mine.fields = fields
    _store(merged, managers)
    wanted_rv = (config.get("metadata") or {}).get("resourceVersion")
    if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
        raise errors.conflict(rt.group, rt.plural, name)
    if rt.status_subresource and "status" in current:
        merged["status"] = copy.deepcopy(current["status"])
    return api.commit(rt, current, merged, opts), 200
