"""Label and field selectors, parsed from query strings and matched against objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from devcluster import errors
from devcluster.meta import get_path

JSON = dict[str, Any]
Matcher = Callable[[JSON], bool]

_SET_RE = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def _label_requirement(text: str) -> Callable[[dict[str, str]], bool]:
    for op in ("!=", "==", "="):
        if op in text:
            key, _, value = (s.strip() for s in text.partition(op))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    match = _SET_RE.match(text)
    if not match:
        raise errors.bad_request(f"unable to parse requirement: {text!r}")
    negated, key, op, values = match.groups()
    if op:
        options = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in options
        return lambda labels: labels.get(key) not in options
    if negated:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def label_matcher(selector: str | None) -> Matcher:
    if not selector:
        return lambda obj: True
    requirements = [_label_requirement(part) for part in _split_requirements(selector)]

    def matches(obj: JSON) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(requirement(labels) for requirement in requirements)

    return matches


def field_matcher(selector: str | None) -> Matcher:
    """Equality-based field selectors on any dotted field (a superset of the real API)."""
    if not selector:
        return lambda obj: True
    requirements: list[tuple[str, str, bool]] = []
    for part in _split_requirements(selector):
        negated = "!=" in part
        key, _, value = part.replace("!=", "=").replace("==", "=").partition("=")
        requirements.append((key.strip(), value.strip(), negated))

    def matches(obj: JSON) -> bool:
        for key, value, negated in requirements:
            actual = get_path(obj, key)
            text = "" if actual is None else str(actual)
            if isinstance(actual, bool):
                text = str(actual).lower()
            if (text == value) == negated:
                return False
        return True

    return matches


def selector_to_string(selector: JSON | None) -> str:
    """A LabelSelector object (matchLabels and matchExpressions) as a query string."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op in ("In", "NotIn"):
            parts.append(f"{key} {op.lower()} ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
