"""Small helpers for object metadata: timestamps, uids, names and dotted field paths."""

from __future__ import annotations

import datetime as dt
import secrets
import string
import uuid
from typing import Any

JSON = dict[str, Any]

_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    """The current time as Kubernetes writes it: RFC 3339, UTC, whole seconds."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_uid() -> str:
    return str(uuid.uuid4())


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(length))


def human_age(timestamp: str | None) -> str:
    """Age the way kubectl prints it: 5s, 3m, 2m30s, 4h, 6d."""
    if not timestamp:
        return "<unknown>"
    seconds = int((dt.datetime.now(dt.UTC) - parse_time(timestamp)).total_seconds())
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def split_path(path: str) -> list[str]:
    """`.spec.replicas` or `spec.replicas` -> ["spec", "replicas"]."""
    return [part for part in path.strip().lstrip(".").split(".") if part]


def get_path(obj: Any, path: str) -> Any:
    """The value at a simple JSONPath such as `.status.conditions[0].type`, or None."""
    current = obj
    for part in split_path(path):
        name, _, index = part.partition("[")
        if name:
            if not isinstance(current, dict):
                return None
            current = current.get(name)
        if index:
            if not isinstance(current, list):
                return None
            try:
                current = current[int(index.rstrip("]"))]
            except (ValueError, IndexError):
                return None
    return current


def set_path(obj: JSON, path: str, value: Any) -> None:
    parts = split_path(path)
    current = obj
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def is_dns_subdomain(name: str) -> bool:
    allowed = set(string.ascii_lowercase + string.digits + "-.")
    return (
        0 < len(name) <= 253 and set(name) <= allowed and name[0].isalnum() and name[-1].isalnum()
    )
