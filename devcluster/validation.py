"""Type checks, validation and time normalisation of built-in kinds, worded like kube-apiserver.

A real server decodes built-ins into Go structs (a wrong type is a 400 "cannot be handled
as a ..."), then validates them (a 422 listing causes), and re-encodes times as RFC 3339
UTC. This covers the fields the project's objects and kubectl's generators use; the rules
and messages follow k8s.io/kubernetes `pkg/apis/core/validation` and `apps/validation`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from devcluster import errors
from devcluster.resources import ResourceType

JSON = dict[str, Any]

#: metav1.Time fields (whole seconds) and metav1.MicroTime fields (microseconds).
_TIME_KEYS = frozenset(
    {
        "lastTransitionTime",
        "lastUpdateTime",
        "lastProbeTime",
        "lastHeartbeatTime",
        "firstTimestamp",
        "lastTimestamp",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "startTime",
        "startedAt",
        "finishedAt",
    }
)
_MICRO_TIME_KEYS = frozenset({"eventTime", "acquireTime", "renewTime", "lastObservedTime"})


class _Decode:
    """Collects the first type error the way Go's encoding/json reports it."""

    def __init__(self, rt: ResourceType) -> None:
        self.rt = rt

    def fail(self, got: Any, field: str, want: str) -> errors.ApiError:
        names = {bool: "bool", int: "number", float: "number", str: "string", list: "array"}
        kind = "object" if isinstance(got, dict) else names.get(type(got), "null")
        return errors.bad_request(
            f'{self.rt.kind} in version "{self.rt.version}" cannot be handled as a '
            f"{self.rt.kind}: json: cannot unmarshal {kind} into Go struct field "
            f"{field} of type {want}"
        )

    def string_map(self, value: Any, field: str) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise self.fail(value, field, "map[string]string")
        for item in value.values():
            if not isinstance(item, str):
                raise self.fail(item, field, "string")

    def integer(self, value: Any, field: str, want: str = "int32") -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(value, field, want)


def _normalise_times(value: Any, rt: ResourceType) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and key in _TIME_KEYS | _MICRO_TIME_KEYS:
                value[key] = _format_time(item, micro=key in _MICRO_TIME_KEYS, rt=rt)
            else:
                _normalise_times(item, rt)
    elif isinstance(value, list):
        for item in value:
            _normalise_times(item, rt)
    return value


def _format_time(text: str, *, micro: bool, rt: ResourceType) -> str:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
            f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse'
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _data(rt: ResourceType, obj: JSON, decode: _Decode) -> None:
    for key in ("data", "binaryData", "stringData"):
        decode.string_map(obj.get(key), f"{rt.kind}.{key}")
    binary = obj.get("binaryData") or {}
    secret = (obj.get("data") or {}) if rt.kind == "Secret" else {}
    for key, value in {**binary, **secret}.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"illegal base64 data in {key}"
            ) from exc


def _containers(pod: JSON, path: str, decode: _Decode) -> list[tuple[str, str]]:
    containers = pod.get("containers")
    if not containers:
        return [(f"{path}.containers", "Required value")]
    causes = []
    for i, container in enumerate(containers):
        where = f"{path}.containers[{i}]"
        if not isinstance(container, dict):
            raise decode.fail(container, "PodSpec.spec.containers", "v1.Container")
        if not container.get("name"):
            causes.append((f"{where}.name", "Required value"))
        for j, port in enumerate(container.get("ports") or []):
            decode.integer(port.get("containerPort"), "Container.spec.containers.ports")
            if not 0 < int(port.get("containerPort") or 0) < 65536:
                causes.append(
                    (
                        f"{where}.ports[{j}].containerPort",
                        f"Invalid value: {port.get('containerPort')}: must be between 1 and "
                        "65535, inclusive",
                    )
                )
    return causes


def _deployment(obj: JSON, decode: _Decode) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    decode.integer(spec.get("replicas"), "DeploymentSpec.spec.replicas")
    causes: list[tuple[str, str]] = []
    if (spec.get("replicas") or 0) < 0:
        causes.append(
            (
                "spec.replicas",
                f"Invalid value: {spec['replicas']}: must be greater than or equal to 0",
            )
        )
    selector = spec.get("selector")
    template_md = (spec.get("template") or {}).get("metadata") or {}
    decode.string_map(template_md.get("labels"), "ObjectMeta.spec.template.metadata.labels")
    labels = template_md.get("labels") or {}
    if not selector:
        causes.append(("spec.selector", "Required value"))
    else:
        wanted = selector.get("matchLabels") or {}
        decode.string_map(wanted, "LabelSelector.spec.selector.matchLabels")
        if not wanted and not selector.get("matchExpressions"):
            causes.append(
                ("spec.selector", "Invalid value: empty selector is invalid for deployment")
            )
        elif any(labels.get(k) != v for k, v in wanted.items()):
            causes.append(
                (
                    "spec.template.metadata.labels",
                    f"Invalid value: {_go_map(labels)}: `selector` does not match template "
                    "`labels`",
                )
            )
    pod = (spec.get("template") or {}).get("spec") or {}
    return causes + _containers(pod, "spec.template.spec", decode)


def _go_map(labels: JSON) -> str:
    inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return "map[string]string{" + inner + "}"


def check(rt: ResourceType, obj: JSON, old: JSON | None) -> None:
    """Refuse what kube-apiserver refuses for this built-in kind; normalise its times."""
    if rt.custom:
        return
    decode = _Decode(rt)
    md = obj.get("metadata") or {}
    decode.string_map(md.get("labels"), "ObjectMeta.metadata.labels")
    decode.string_map(md.get("annotations"), "ObjectMeta.metadata.annotations")
    causes: list[tuple[str, str]] = []
    if rt.kind in ("ConfigMap", "Secret"):
        _data(rt, obj, decode)
    elif rt.kind == "Deployment":
        causes = _deployment(obj, decode)
    elif rt.kind == "Pod" and old is None:
        causes = _containers(obj.get("spec") or {}, "spec", decode)
    if causes:
        raise errors.invalid(rt.kind, rt.group, md.get("name", ""), causes)
    for key, value in obj.items():
        if key == "metadata":
            continue  # server-owned stamps there are written by the server itself
        if isinstance(value, str) and key in _TIME_KEYS | _MICRO_TIME_KEYS:
            obj[key] = _format_time(value, micro=key in _MICRO_TIME_KEYS, rt=rt)
        else:
            _normalise_times(value, rt)
