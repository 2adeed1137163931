"""`application/json;as=Table` output: printer columns for CRDs and the common built-ins."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devcluster.meta import get_path, human_age
from devcluster.resources import ResourceType

JSON = dict[str, Any]
Cell = Callable[[JSON], Any]

_NAME = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "priority": 0,
    "description": "Name must be unique within a namespace.",
}
_AGE = {
    "name": "Age",
    "type": "string",
    "format": "",
    "priority": 0,
    "description": "CreationTimestamp is a timestamp representing the server time when "
    "this object was created.",
}


def _age(obj: JSON) -> str:
    return human_age(obj["metadata"].get("creationTimestamp"))


def _col(name: str, kind: str = "string") -> JSON:
    return {"name": name, "type": kind, "format": "", "priority": 0, "description": name}


def _deployment_ready(obj: JSON) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 0)}"


def _pod_ready(obj: JSON) -> str:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len((obj.get('spec') or {}).get('containers') or statuses)}"


def _pod_status(obj: JSON) -> str:
    """The phase, or a container's waiting/terminated reason, as kube-apiserver prints it."""
    status = obj.get("status") or {}
    reason = str(status.get("phase", "Pending"))
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        detail = state.get("waiting") or state.get("terminated") or {}
        if detail.get("reason"):
            reason = str(detail["reason"])
    return reason


def _restarts(obj: JSON) -> int:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    return sum(s.get("restartCount", 0) for s in statuses)


def _ports(obj: JSON) -> str:
    ports = (obj.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


_BUILTIN: dict[str, list[tuple[JSON, Cell]]] = {
    "Deployment": [
        (_col("Ready"), _deployment_ready),
        (
            _col("Up-to-date", "integer"),
            lambda o: (o.get("status") or {}).get("updatedReplicas", 0),
        ),
        (
            _col("Available", "integer"),
            lambda o: (o.get("status") or {}).get("availableReplicas", 0),
        ),
    ],
    "Pod": [
        (_col("Ready"), _pod_ready),
        (_col("Status"), _pod_status),
        (_col("Restarts", "integer"), _restarts),
    ],
    "ConfigMap": [(_col("Data", "integer"), lambda o: len(o.get("data") or {}))],
    "Secret": [
        (_col("Type"), lambda o: o.get("type", "Opaque")),
        (_col("Data", "integer"), lambda o: len(o.get("data") or {})),
    ],
    "Service": [
        (_col("Type"), lambda o: (o.get("spec") or {}).get("type", "ClusterIP")),
        (_col("Cluster-IP"), lambda o: (o.get("spec") or {}).get("clusterIP", "<none>")),
        (_col("External-IP"), lambda o: "<none>"),
        (_col("Port(s)"), _ports),
    ],
    "Namespace": [(_col("Status"), lambda o: (o.get("status") or {}).get("phase", "Active"))],
    "Lease": [(_col("Holder"), lambda o: (o.get("spec") or {}).get("holderIdentity", ""))],
}


def _custom_cell(column: JSON) -> Cell:
    path, kind = column.get("jsonPath", ""), column.get("type", "string")

    def cell(obj: JSON) -> Any:
        value = get_path(obj, path)
        if value is None:
            return None
        if kind == "date":
            return human_age(str(value))
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value

    return cell


def _event_last_seen(obj: JSON) -> str:
    series = obj.get("series") or {}
    stamp = (
        obj.get("lastTimestamp")
        or obj.get("deprecatedLastTimestamp")
        or series.get("lastObservedTime")
        or obj.get("eventTime")
        or obj["metadata"].get("creationTimestamp")
    )
    return human_age(stamp)


def _event_object(obj: JSON) -> str:
    ref = obj.get("involvedObject") or obj.get("regarding") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _event_source(obj: JSON) -> str:
    source = obj.get("source") or {}
    component = (
        source.get("component")
        or obj.get("reportingComponent")
        or obj.get("reportingController", "")
    )
    host = source.get("host") or obj.get("reportingInstance", "")
    return f"{component}, {host}" if host else component


def _wide(name: str, kind: str = "string") -> JSON:
    return {**_col(name, kind), "priority": 1}


#: kube-apiserver's own printer for events: no Name first, and Name only with -o wide.
_EVENT: list[tuple[JSON, Cell]] = [
    (_col("Last Seen"), _event_last_seen),
    (_col("Type"), lambda o: o.get("type", "")),
    (_col("Reason"), lambda o: o.get("reason", "")),
    (_col("Object"), _event_object),
    (
        _wide("Subobject"),
        lambda o: (o.get("involvedObject") or o.get("regarding") or {}).get("fieldPath", ""),
    ),
    (_wide("Source"), _event_source),
    (_col("Message"), lambda o: o.get("message") or o.get("note") or ""),
    (
        _wide("First Seen"),
        lambda o: human_age(
            o.get("firstTimestamp")
            or o.get("deprecatedFirstTimestamp")
            or o.get("eventTime")
            or o["metadata"].get("creationTimestamp")
        ),
    ),
    (
        _wide("Count", "integer"),
        lambda o: o.get("count") or (o.get("series") or {}).get("count") or 1,
    ),
    ({**_NAME, "priority": 1}, lambda o: o["metadata"]["name"]),
]


def columns_for(rt: ResourceType) -> list[tuple[JSON, Cell]]:
    """Name first, then the CRD's additionalPrinterColumns or the built-in's columns."""
    if rt.kind == "Event" and not rt.custom:
        return _EVENT
    name: list[tuple[JSON, Cell]] = [(_NAME, lambda o: o["metadata"]["name"])]
    if rt.custom and rt.printer_columns:
        return name + [
            (
                {
                    "name": c["name"],
                    "type": "string" if c.get("type") == "date" else c.get("type", "string"),
                    "format": c.get("format", ""),
                    "description": c.get("description", ""),
                    "priority": c.get("priority", 0),
                },
                _custom_cell(c),
            )
            for c in rt.printer_columns
        ]
    if rt.kind == "CustomResourceDefinition":
        created = _col("Created At", "date")
        return [*name, (created, lambda o: o["metadata"].get("creationTimestamp"))]
    return name + _BUILTIN.get(rt.kind, []) + [(_AGE, _age)]


def _row_object(obj: JSON, include: str) -> JSON | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def to_table(
    rt: ResourceType, objects: list[JSON], resource_version: str, include: str = "Metadata"
) -> JSON:
    columns = columns_for(rt)
    rows = []
    for obj in objects:
        row: JSON = {"cells": [cell(obj) for _, cell in columns]}
        row_object = _row_object(obj, include)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [definition for definition, _ in columns],
        "rows": rows,
    }
