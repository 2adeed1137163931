"""Turns pydantic JSON Schema into a Kubernetes structural OpenAPI v3 schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

JSON = dict[str, Any]

#: JSON Schema keywords that have no place (or no meaning) in a structural CRD schema.
_DROPPED = {"title", "$defs"}
_PRESERVE = {"x-kubernetes-preserve-unknown-fields": True}


def structural(model: type[BaseModel]) -> JSON:
    """The model's schema with $refs inlined, Optional flattened and keys made structural."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _convert(raw, raw.get("$defs", {}))


def _resolve(node: JSON, defs: JSON) -> JSON:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    variants = node.get("anyOf")
    if variants is not None and node.get("x-kubernetes-int-or-string"):
        # int | str: Kubernetes' own union marker replaces the anyOf.
        return {k: v for k, v in node.items() if k != "anyOf"}
    if variants is not None:
        others = [v for v in variants if v != {"type": "null"}]
        if len(others) != 1:
            raise ValueError(f"unions are not structural: {variants}")
        outer = {k: v for k, v in node.items() if k != "anyOf"}
        inner = _resolve(others[0], defs)
        return {**inner, **outer}
    return node


def _convert(node: JSON, defs: JSON) -> JSON:
    node = _resolve(node, defs)
    out: JSON = {}
    for key, value in node.items():
        if key in _DROPPED or (key == "default" and value is None):
            continue
        if key == "properties":
            out[key] = {name: _convert(child, defs) for name, child in value.items()}
        elif key == "items":
            out[key] = _convert(value, defs)
        elif key == "additionalProperties":
            if value is False:
                continue  # structural schemas forbid it; unknown fields are pruned instead
            if value is True or value == {}:
                out.update(_PRESERVE)
            else:
                out[key] = _convert(value, defs)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            # JSON Schema 2020 numbers -> OpenAPI 3.0 booleans next to minimum/maximum.
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = value
    if (
        out.get("type") == "object"
        and "properties" not in out
        and "additionalProperties" not in out
    ):
        out.update(_PRESERVE)
    return out
