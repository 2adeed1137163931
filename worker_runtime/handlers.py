"""The ``@handler`` registry and loading handler modules by import path or file path."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from worker_runtime.errors import InvalidArgumentError
from worker_runtime.validation import check_job_name

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Handler:
    name: str
    func: Callable[..., Any]
    is_async: bool
    #: True when the function takes a second argument, the JobContext.
    wants_context: bool


#: Every handler registered by ``@handler`` in this process, by job name.
REGISTRY: dict[str, Handler] = {}


def build_handler(name: str, func: Callable[..., Any]) -> Handler:
    """Describes ``func`` as the handler of ``name`` without registering it."""
    check_job_name(name)
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not 1 <= len(params) <= 2:
        raise InvalidArgumentError(
            f"handler {name!r}: takes (payload) or (payload, ctx), not {len(params)} args"
        )
    return Handler(name, func, asyncio.iscoroutinefunction(func), len(params) == 2)


def handler(name: str) -> Callable[[F], F]:
    """Registers an async or sync function ``(payload)`` or ``(payload, ctx)`` for ``name``."""
    check_job_name(name)

    def register(func: F) -> F:
        existing = REGISTRY.get(name)
        if existing is not None and existing.func is not func:
            raise InvalidArgumentError(f"handler {name!r}: registered twice")
        REGISTRY[name] = build_handler(name, func)
        return func

    return register


def load_handlers(spec: str) -> dict[str, Handler]:
    """Imports each comma-separated module path or ``.py`` file; returns the registry."""
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part.endswith(".py") or "/" in part:
            path = Path(part).resolve()
            if not path.is_file():
                raise InvalidArgumentError(f"--handlers: no such file {part}")
            mod_name = f"_blackroad_handlers_{path.stem}"
            loader_spec = importlib.util.spec_from_file_location(mod_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise InvalidArgumentError(f"--handlers: cannot import {part}")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[mod_name] = module
            loader_spec.loader.exec_module(module)
        else:
            try:
                importlib.import_module(part)
            except ModuleNotFoundError as exc:
                raise InvalidArgumentError(f"--handlers: cannot import {part} ({exc})") from None
    return dict(REGISTRY)
