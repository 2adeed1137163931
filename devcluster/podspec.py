"""Turns a Deployment's first container into a local command line, environment and ports."""

from __future__ import annotations

import base64
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from devcluster.store import Store

JSON = dict[str, Any]

_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


class ConfigError(Exception):
    """A referenced Secret or ConfigMap key is missing (CreateContainerConfigError)."""


@dataclass
class Launch:
    """Everything needed to start one replica's process."""

    argv: list[str]
    env: dict[str, str]
    #: Declared container port -> local port actually used by this replica.
    ports: dict[int, int] = field(default_factory=dict)
    port_names: dict[str, int] = field(default_factory=dict)
    working_dir: str | None = None


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: known names are replaced, $$ escapes a dollar."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR_REF.sub(replace, text)


def _lookup(store: Store, namespace: str, ref: JSON, plural: str) -> str | None:
    obj = store.get(("", plural), namespace, ref.get("name", ""))
    if plural == "secrets":
        data = (obj or {}).get("data") or {}
        raw = data.get(ref.get("key", ""))
        value = base64.b64decode(raw).decode() if raw is not None else None
    else:
        value = ((obj or {}).get("data") or {}).get(ref.get("key", ""))
    if value is None and not ref.get("optional"):
        raise ConfigError(f"{plural[:-1]} {ref.get('name')!r} has no key {ref.get('key')!r}")
    return value


def _env_source(store: Store, namespace: str, source: JSON) -> dict[str, str]:
    prefix = source.get("prefix", "")
    for kind, plural in (("secretRef", "secrets"), ("configMapRef", "configmaps")):
        ref = source.get(kind)
        if ref:
            obj = store.get(("", plural), namespace, ref.get("name", ""))
            if obj is None:
                if ref.get("optional"):
                    return {}
                raise ConfigError(f"{plural[:-1]} {ref.get('name')!r} not found")
            data = obj.get("data") or {}
            if plural == "secrets":
                return {prefix + k: base64.b64decode(v).decode() for k, v in data.items()}
            return {prefix + k: str(v) for k, v in data.items()}
    return {}


def _field_ref(path: str, pod_name: str, namespace: str) -> str:
    return {
        "metadata.name": pod_name,
        "metadata.namespace": namespace,
        "status.podIP": "127.0.0.1",
        "spec.nodeName": "devcluster",
        "status.hostIP": "127.0.0.1",
    }.get(path, "")


def container_env(store: Store, namespace: str, container: JSON, pod_name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        env.update(_env_source(store, namespace, source))
    for var in container.get("env") or []:
        source = var.get("valueFrom")
        if source is None:
            env[var["name"]] = expand(str(var.get("value", "")), env)
        elif "secretKeyRef" in source:
            value = _lookup(store, namespace, source["secretKeyRef"], "secrets")
            if value is not None:
                env[var["name"]] = value
        elif "configMapKeyRef" in source:
            value = _lookup(store, namespace, source["configMapKeyRef"], "configmaps")
            if value is not None:
                env[var["name"]] = value
        elif "fieldRef" in source:
            env[var["name"]] = _field_ref(
                source["fieldRef"].get("fieldPath", ""), pod_name, namespace
            )
    return env


def env_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text).upper()


def build_launch(
    store: Store, namespace: str, container: JSON, pod_name: str, ports: dict[int, int]
) -> Launch:
    """The command line and environment of one replica, with ports already mapped."""
    env = container_env(store, namespace, container, pod_name)
    names: dict[str, int] = {}
    for port in container.get("ports") or []:
        declared = port["containerPort"]
        mapped = ports.get(declared, declared)
        if port.get("name"):
            names[port["name"]] = declared
        env[f"BLACKROAD_PORT_{env_name(port.get('name') or str(declared))}"] = str(mapped)
        # A PORT variable that names the declared port must name the mapped one instead.
        if env.get("PORT") == str(declared):
            env["PORT"] = str(mapped)
    env["HOSTNAME"] = pod_name
    argv = [expand(a, env) for a in (container.get("command") or [])]
    argv += [expand(a, env) for a in (container.get("args") or [])]
    return Launch(argv, env, ports, names, container.get("workingDir"))
