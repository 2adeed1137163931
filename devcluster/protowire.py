"""Decodes the protobuf bodies kubectl's typed generators send into the JSON shape of the API.

kubectl sends `application/vnd.kubernetes.protobuf` for built-in kinds (`kubectl create
secret|configmap|namespace|serviceaccount|deployment|service`, `kubectl run`): the bytes
`k8s\\x00`, then a `runtime.Unknown` {typeMeta, raw} whose `raw` is the object. The
field numbers below are copied from the official definitions, which are stable API: k8s.io/api
`core/v1/generated.proto` and `apps/v1/generated.proto`, k8s.io/apimachinery
`pkg/apis/meta/v1/generated.proto` and `pkg/runtime/generated.proto`, authorization and
authentication v1 for the reviews. A non-empty field not listed here is refused, never
dropped (except `status`, which the server owns).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from devcluster import errors

JSON = dict[str, Any]
#: One field: (JSON name, type). Types: string, bytes, int, bool, time, a message name,
#: "[]T" (repeated T) or "{}T" (map<string, T>); "int*" and "bool*" are Go pointers, whose
#: zero value is a value rather than "unset"; "ignored" is skipped.
Field = tuple[str, str]

MAGIC = b"k8s\x00"

_MESSAGES: dict[str, dict[int, Field]] = {
    "Unknown": {
        1: ("typeMeta", "TypeMeta"),
        2: ("raw", "raw"),
        3: ("contentEncoding", "string"),
        4: ("contentType", "string"),
    },
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {
        1: ("name", "string"),
        2: ("generateName", "string"),
        3: ("namespace", "string"),
        5: ("uid", "string"),
        6: ("resourceVersion", "string"),
        7: ("generation", "int"),
        8: ("creationTimestamp", "time"),
        11: ("labels", "{}string"),
        12: ("annotations", "{}string"),
        13: ("ownerReferences", "[]OwnerReference"),
        14: ("finalizers", "[]string"),
    },
    "OwnerReference": {
        1: ("kind", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
        5: ("apiVersion", "string"),
        6: ("controller", "bool*"),
        7: ("blockOwnerDeletion", "bool*"),
    },
    "Time": {1: ("seconds", "int"), 2: ("nanos", "int")},
    "Secret": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "{}bytes"),
        3: ("type", "string"),
        4: ("stringData", "{}string"),
        5: ("immutable", "bool*"),
    },
    "ConfigMap": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "{}string"),
        3: ("binaryData", "{}bytes"),
        4: ("immutable", "bool*"),
    },
    "Namespace": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "NamespaceSpec"),
        3: ("status", "ignored"),
    },
    "Empty": {},
    "SelfSubjectAccessReview": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "SelfSubjectAccessReviewSpec"),
        3: ("status", "ignored"),
    },
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: ("namespace", "string"),
        2: ("verb", "string"),
        3: ("group", "string"),
        4: ("version", "string"),
        5: ("resource", "string"),
        6: ("subresource", "string"),
        7: ("name", "string"),
    },
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "SelfSubjectRulesReview": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "SelfSubjectRulesReviewSpec"),
        3: ("status", "ignored"),
    },
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "string")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta"), 2: ("status", "ignored")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "ServiceAccount": {
        1: ("metadata", "ObjectMeta"),
        4: ("automountServiceAccountToken", "bool*"),
    },
    "Service": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "ServiceSpec"),
        3: ("status", "ignored"),
    },
    "ServiceSpec": {
        1: ("ports", "[]ServicePort"),
        2: ("selector", "{}string"),
        3: ("clusterIP", "string"),
        4: ("type", "string"),
        10: ("externalName", "string"),
    },
    "ServicePort": {
        1: ("name", "string"),
        2: ("protocol", "string"),
        3: ("port", "int"),
        4: ("targetPort", "intorstr"),
        5: ("nodePort", "int"),
    },
    "IntOrString": {1: ("type", "int"), 2: ("intVal", "int"), 3: ("strVal", "string")},
    "Deployment": {
        1: ("metadata", "ObjectMeta"),
        2: ("spec", "DeploymentSpec"),
        3: ("status", "ignored"),
    },
    "DeploymentSpec": {
        1: ("replicas", "int*"),
        2: ("selector", "LabelSelector"),
        3: ("template", "PodTemplateSpec"),
        4: ("strategy", "Empty"),
    },
    "LabelSelector": {1: ("matchLabels", "{}string")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "Pod": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec"), 3: ("status", "ignored")},
    "PodSpec": {
        2: ("containers", "[]Container"),
        3: ("restartPolicy", "string"),
        4: ("terminationGracePeriodSeconds", "int*"),
        6: ("dnsPolicy", "string"),
        8: ("serviceAccountName", "string"),
    },
    "Container": {
        1: ("name", "string"),
        2: ("image", "string"),
        3: ("command", "[]string"),
        4: ("args", "[]string"),
        5: ("workingDir", "string"),
        6: ("ports", "[]ContainerPort"),
        7: ("env", "[]EnvVar"),
        8: ("resources", "Empty"),
        14: ("imagePullPolicy", "string"),
        16: ("stdin", "bool"),
        17: ("stdinOnce", "bool"),
        18: ("tty", "bool"),
    },
    "ContainerPort": {
        1: ("name", "string"),
        3: ("containerPort", "int"),
        4: ("protocol", "string"),
    },
    "EnvVar": {1: ("name", "string"), 2: ("value", "string")},
}

#: The kinds a protobuf body may carry, by apiVersion/kind.
KINDS = {
    *(
        ("v1", kind)
        for kind in ("Secret", "ConfigMap", "Namespace", "ServiceAccount", "Pod", "Service")
    ),
    ("apps/v1", "Deployment"),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"),
    ("authentication.k8s.io/v1", "SelfSubjectReview"),
}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def varint(self) -> int:
        shift = result = 0
        while True:
            if self.pos >= len(self.data):
                raise ValueError("truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def fields(self) -> list[tuple[int, int | bytes]]:
        """(field number, value) pairs: an int for varints, bytes for length-delimited."""
        out: list[tuple[int, int | bytes]] = []
        while self.pos < len(self.data):
            key = self.varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                out.append((number, self.varint()))
            elif wire == 2:
                size = self.varint()
                out.append((number, self.data[self.pos : self.pos + size]))
                self.pos += size
            else:  # gogo-protobuf generates no fixed-width fields for these kinds
                raise ValueError(f"unsupported wire type {wire} for field {number}")
        return out


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind in ("int", "int*"):
        assert isinstance(value, int)
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind in ("bool", "bool*"):
        return bool(value)
    assert isinstance(value, bytes)
    if kind == "string":
        return value.decode()
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "raw":
        return value
    if kind == "intorstr":  # JSON has the bare number or string
        both = decode_message("IntOrString", value)
        return both.get("strVal", "") if both.get("type") == 1 else both.get("intVal", 0)
    if kind == "ignored":  # status: the server's to write, dropped on create anyway
        return {}
    if kind == "time":
        stamp = decode_message("Time", value)
        when = dt.datetime.fromtimestamp(stamp.get("seconds", 0), dt.UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return decode_message(kind, value)


def decode_message(name: str, data: bytes) -> JSON:
    """One message as JSON, in the shape the JSON API uses (maps as objects, bytes base64)."""
    schema = _MESSAGES[name]
    out: JSON = {}
    for number, value in _Reader(data).fields():
        json_name, kind = schema.get(number, ("", ""))
        # gogo-protobuf writes every non-pointer field, empty ones too: those mean "unset".
        if value in (0, b"") and not kind.endswith("*"):
            continue
        if not kind:
            raise ValueError(f"field {number} of {name} is not decoded by the devcluster")
        if kind.startswith("[]"):
            out.setdefault(json_name, []).append(_scalar(kind[2:], value))
        elif kind.startswith("{}"):
            assert isinstance(value, bytes)
            entry = dict(_Reader(value).fields())
            key = entry.get(1, b"")
            assert isinstance(key, bytes)
            out.setdefault(json_name, {})[key.decode()] = _scalar(kind[2:], entry.get(2, b""))
        else:
            decoded = _scalar(kind, value)
            if decoded != {}:  # an empty struct is an unset one in the JSON API
                out[json_name] = decoded
    return out


def decode(body: bytes) -> JSON:
    """A `k8s\\x00`-enveloped object as the JSON object it stands for (or a 415 ApiError)."""
    if not body.startswith(MAGIC):
        raise errors.unsupported_media_type("application/vnd.kubernetes.protobuf (no k8s envelope)")
    try:
        unknown = decode_message("Unknown", body[len(MAGIC) :])
        type_meta = unknown.get("typeMeta") or {}
        api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
        if (api_version, kind) not in KINDS:
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                f"the devcluster decodes protobuf bodies of {sorted(k for _, k in KINDS)} only, "
                f"not {api_version} {kind}: send JSON or YAML (kubectl create -f / apply -f)",
            )
        obj = decode_message(kind, unknown.get("raw", b""))
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"the protobuf request body cannot be decoded: {exc}") from exc
    return {"apiVersion": api_version, "kind": kind, **obj}
