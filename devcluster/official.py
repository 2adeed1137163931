"""Checks built-in kinds against the official Kubernetes 1.32 schemas, worded like kube-apiserver.

The schemas are those `kubernetes-validate` ships (generated from the upstream OpenAPI).
A wrong type is a 400 decoding error, an unknown field is pruned with a warning or, with
`fieldValidation=Strict`, a 400 (as a real server decodes into Go structs), and a
missing required field or a value outside an enum is a 422. Without the package only
the hand-written checks of `devcluster.validation` apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devcluster import errors
from devcluster.resources import ResourceType

if TYPE_CHECKING:
    from devcluster.api import WriteOptions

try:
    import kubernetes_validate
except ImportError:  # the [devcluster] extra brings it; a bare install runs without
    kubernetes_validate = None

JSON = dict[str, Any]
KUBERNETES_VERSION = "1.32.0"
#: Unknown fields pruned one by one at most this many times per write.
_MAX_UNKNOWN = 50
_JSON_TYPES = {bool: "bool", int: "number", float: "number", str: "string", list: "array"}
_GO_TYPES = {
    "string": "string",
    "integer": "int32",
    "boolean": "bool",
    "array": "[]",
    "object": "map",
}


def available() -> bool:
    return kubernetes_validate is not None


def _dotted(path: list[Any]) -> str:
    text = ""
    for item in path:
        text += f"[{item}]" if isinstance(item, int) else f".{item}"
    return text.lstrip(".")


def _prune(obj: JSON, path: list[Any], field: str) -> None:
    node: Any = obj
    for item in path:
        node = node[item]
    node.pop(field, None)


def check(rt: ResourceType, obj: JSON, opts: WriteOptions) -> None:
    """Validate a built-in object as it will be stored; prune or refuse unknown fields."""
    if kubernetes_validate is None or rt.custom:
        return
    unknown: list[str] = []
    for _ in range(_MAX_UNKNOWN):
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError):
            return
        except kubernetes_validate.ValidationError as exc:
            path = list(exc.absolute_path)
            if exc.validator != "additionalProperties":
                raise _refusal(rt, obj, exc, path) from exc
            allowed = set((exc.schema.get("properties") or {}).keys())
            extra = sorted(k for k in exc.instance if k not in allowed)
            unknown += [_dotted([*path, field]) for field in extra]
            if opts.field_validation == "Strict":
                break
            for field in extra:
                _prune(obj, path, field)
            continue
        break
    if unknown and opts.field_validation == "Strict":
        listed = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
            f"strict decoding error: {listed}"
        )
    if opts.field_validation == "Warn":
        opts.warnings.extend(f'unknown field "{u}"' for u in unknown)


def _refusal(rt: ResourceType, obj: JSON, exc: Any, path: list[Any]) -> errors.ApiError:
    where = _dotted(path)
    if exc.validator == "type":
        got = "object" if isinstance(exc.instance, dict) else _JSON_TYPES.get(type(exc.instance))
        wanted = exc.validator_value
        wanted = next(w for w in wanted if w != "null") if isinstance(wanted, list) else wanted
        return errors.bad_request(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: '
            f"cannot unmarshal {got or 'null'} into Go struct field {rt.kind}.{where} "
            f"of type {_GO_TYPES.get(wanted, wanted)}"
        )
    name = (obj.get("metadata") or {}).get("name", "")
    if exc.validator == "required":
        missing = exc.message.split("'")[1] if "'" in exc.message else ""
        cause = (_dotted([*path, missing]), "Required value")
    elif exc.validator == "enum":
        values = ", ".join(f'"{v}"' for v in exc.validator_value if v is not None)
        cause = (where, f'Unsupported value: "{exc.instance}": supported values: {values}')
    else:
        cause = (where, f"Invalid value: {exc.instance!r}: {exc.message}")
    return errors.invalid(rt.kind, rt.group, name, [cause])
