"""Pure pieces added for kubectl's habits: the protobuf decoder and apply's field sets."""

from __future__ import annotations

from typing import Any

import pytest

from devcluster import errors, fieldsets, protowire


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version) + _field(2, kind)
    return protowire.MAGIC + _field(1, type_meta) + _field(2, raw)


def test_decodes_a_secret_as_the_json_api_shows_it() -> None:
    metadata = _field(1, "redis") + _field(2, "") + _field(7, 0) + _field(8, b"")
    entry = _field(1, "url") + _field(2, b"redis://x")
    label = _field(1, "app") + _field(2, "q")
    raw = _field(1, metadata + _field(11, label)) + _field(2, entry) + _field(3, "Opaque")
    secret = protowire.decode(_envelope("v1", "Secret", raw))
    assert secret == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "redis", "labels": {"app": "q"}},
        "data": {"url": "cmVkaXM6Ly94"},
        "type": "Opaque",
    }


def test_pointer_zero_is_a_value_and_unknown_fields_are_refused() -> None:
    spec = _field(1, 0)  # replicas: 0 is not "unset"
    deployment = protowire.decode(_envelope("apps/v1", "Deployment", _field(2, spec)))
    assert deployment["spec"] == {"replicas": 0}
    with pytest.raises(errors.ApiError) as refused:
        protowire.decode(_envelope("v1", "ConfigMap", _field(9, "surprise")))
    assert refused.value.code == 400
    with pytest.raises(errors.ApiError) as kind:
        protowire.decode(_envelope("batch/v1", "Job", b""))
    assert kind.value.code == 415 and "ConfigMap" in kind.value.message


def test_field_sets_round_trip_through_fields_v1() -> None:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"a": "1"}},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "main", "args": ["x"]}]}},
        },
        "status": {"replicas": 2},
    }
    paths = fieldsets.leaves(obj, custom=False)
    item = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"main"}')
    assert paths == {
        ("f:metadata", "f:labels", "f:a"),
        ("f:spec", "f:replicas"),
        (*item, "."),
        (*item, "f:name"),
        (*item, "f:args"),
    }
    assert fieldsets.from_fields_v1(fieldsets.to_fields_v1(paths)) == paths
    assert fieldsets.value_at(obj, (*item, "f:args")) == ["x"]
    assert (
        fieldsets.describe((*item, "f:args")) == '.spec.template.spec.containers[name="main"].args'
    )
    fieldsets.remove_at(obj, (*item, "."))
    assert obj["spec"]["template"]["spec"]["containers"] == []
    # Lists of custom resources are atomic: one leaf.
    assert fieldsets.leaves({"spec": {"items": [{"name": "a"}]}}, custom=True) == {
        ("f:spec", "f:items")
    }
