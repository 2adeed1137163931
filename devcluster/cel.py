"""CEL rules (`x-kubernetes-validations`) of CRD schemas, evaluated with cel-python."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

JSON = dict[str, Any]
Cause = tuple[str, str]

# cel-python logs every evaluation step at DEBUG: costly, and it floods pytest's log capture.
logging.getLogger("celpy").setLevel(logging.INFO)

_env = celpy.Environment()


@lru_cache(maxsize=512)
def _program(rule: str) -> celpy.Runner:
    return _env.program(_env.compile(rule))


def _evaluate(rule: str, value: Any, old: Any) -> str | None:
    """None when the rule holds, else why it does not."""
    activation: dict[str, Any] = {"self": json_to_cel(value)}
    if old is not None:
        activation["oldSelf"] = json_to_cel(old)
    try:
        outcome = _program(rule).evaluate(activation)
    except Exception as exc:  # any parse or evaluation failure rejects the object
        return f"rule could not be evaluated: {exc}"
    if isinstance(outcome, CELEvalError):
        return f"rule could not be evaluated: {outcome}"
    return None if bool(outcome) else f"failed rule: {rule}"


def _check_here(schema: JSON, value: Any, old: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for rule in schema.get("x-kubernetes-validations") or []:
        text = rule["rule"]
        # Transition rules only run on updates, when there is an old value to compare.
        if "oldSelf" in text and old is None:
            continue
        problem = _evaluate(text, value, old)
        if problem is not None:
            where = path + rule.get("fieldPath", "") if rule.get("fieldPath") else path
            message = rule.get("message") or problem
            causes.append((where, f"Invalid value: {json.dumps(_kind(value))}: {message}"))
    return causes


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "number"


def check_rules(schema: JSON, value: Any, old: Any, path: str) -> list[Cause]:
    """Evaluate every rule in the schema tree against `value` (and `old` for transitions)."""
    if value is None:
        return []
    causes = _check_here(schema, value, old, path)
    if isinstance(value, dict):
        props: JSON = schema.get("properties") or {}
        for key, child in props.items():
            if key in value:
                old_child = old.get(key) if isinstance(old, dict) else None
                child_path = f"{path}.{key}" if path else key
                causes.extend(check_rules(child, value[key], old_child, child_path))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            causes.extend(check_rules(schema["items"], item, None, f"{path}[{index}]"))
    return causes
