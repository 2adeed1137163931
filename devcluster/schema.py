"""Structural OpenAPI v3 schemas of CRDs: pruning unknown fields, defaulting, validation."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from devcluster import cel

JSON = dict[str, Any]
Cause = tuple[str, str]

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


@dataclass
class Admission:
    """What admitting an object against its schema found: field errors and pruned fields."""

    causes: list[Cause] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "null"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def prune(schema: JSON, value: Any, path: str, pruned: list[str], *, root: bool = False) -> None:
    """Drop fields the schema does not declare (and non-nullable nulls), recording each."""
    if isinstance(value, dict):
        props: JSON = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields", False)
        embedded = root or schema.get("x-kubernetes-embedded-resource", False)
        for key in list(value):
            if embedded and key in _ROOT_FIELDS:
                continue
            child = props.get(key, extra if isinstance(extra, dict) else None)
            if child is None:
                if not keep_unknown and not isinstance(extra, dict) and extra is not True:
                    pruned.append(_join(path, key))
                    del value[key]
                continue
            if value[key] is None and not child.get("nullable", False):
                del value[key]
                continue
            prune(child, value[key], _join(path, key), pruned)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            prune(schema["items"], item, f"{path}[{index}]", pruned)


def apply_defaults(schema: JSON, value: Any) -> None:
    if isinstance(value, dict):
        props: JSON = schema.get("properties") or {}
        for key, child in props.items():
            if key not in value and "default" in child:
                value[key] = copy.deepcopy(child["default"])
            if key in value:
                apply_defaults(child, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in props:
                    apply_defaults(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


def _type_ok(schema: JSON, value: Any) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, int | str) and not isinstance(value, bool)
    expected = schema.get("type")
    checks: dict[str, bool] = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
    }
    return expected is None or checks.get(expected, True)


def _check_scalar(schema: JSON, value: Any, path: str, causes: list[Cause]) -> None:
    bad = f"Invalid value: {_show(value)}: {path} in body"
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(_show(v) for v in schema["enum"])
        causes.append((path, f"Unsupported value: {_show(value)}: supported values: {allowed}"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and (value < low or (schema.get("exclusiveMinimum") and value == low)):
            causes.append((path, f"{bad} should be greater than or equal to {low}"))
        if high is not None and (
            value > high or (schema.get("exclusiveMaximum") and value == high)
        ):
            causes.append((path, f"{bad} should be less than or equal to {high}"))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append((path, f"Too long: may not be more than {schema['maxLength']} bytes"))
        if "minLength" in schema and len(value) < schema["minLength"]:
            causes.append((path, f"{bad} should be at least {schema['minLength']} chars long"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            causes.append((path, f"{bad} should match '{schema['pattern']}'"))


def _check_container(schema: JSON, value: Any, path: str, causes: list[Cause]) -> None:
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if name not in value:
                causes.append((_join(path, name), "Required value"))
        props: JSON = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            child = props.get(key, extra if isinstance(extra, dict) else None)
            if child is not None:
                validate(child, item, _join(path, key), causes)
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            causes.append(
                (path, f"Too many: {len(value)}: must have at most {schema['maxProperties']} items")
            )
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            causes.append(
                (path, f"Too many: {len(value)}: must have at most {schema['maxItems']} items")
            )
        if "minItems" in schema and len(value) < schema["minItems"]:
            causes.append(
                (
                    path,
                    f"Invalid value: {len(value)}: {path} in body should have at "
                    f"least {schema['minItems']} items",
                )
            )
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                validate(schema["items"], item, f"{path}[{index}]", causes)


def validate(schema: JSON, value: Any, path: str, causes: list[Cause]) -> None:
    """Append a (field, message) cause for every way `value` breaks `schema`."""
    if value is None and schema.get("nullable"):
        return
    if not _type_ok(schema, value):
        causes.append(
            (
                path,
                f"Invalid value: {_show(value)}: {path or 'body'} in body must be "
                f"of type {schema.get('type')}: {_show(_json_type(value))}",
            )
        )
        return
    _check_scalar(schema, value, path, causes)
    _check_container(schema, value, path, causes)
    for sub in schema.get("allOf") or []:
        validate(sub, value, path, causes)
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if options:
            passing = 0
            for sub in options:
                trial: list[Cause] = []
                validate(sub, value, path, trial)
                passing += not trial
            if passing == 0 or (keyword == "oneOf" and passing > 1):
                how = "one and only one" if keyword == "oneOf" else "at least one"
                causes.append((path, f"Invalid value: {_show(value)}: must validate {how} schema"))


def admit(schema: JSON | None, obj: JSON, old: JSON | None) -> Admission:
    """Prune, default and validate `obj` in place, as kube-apiserver does for a CR write."""
    result = Admission()
    if not schema:
        return result
    prune(schema, obj, "", result.unknown_fields, root=True)
    apply_defaults(schema, obj)
    body = {k: v for k, v in obj.items() if k not in _ROOT_FIELDS}
    body_schema = {
        **schema,
        "required": [r for r in schema.get("required") or [] if r not in _ROOT_FIELDS],
    }
    validate(body_schema, body, "", result.causes)
    if not result.causes:
        result.causes.extend(cel.check_rules(schema, obj, old, ""))
    return result
