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

from worker_runtime.engine.validation import check_job_name
from worker_runtime.errors import InvalidArgumentError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Handler:
    name: str
    func: Callable[..., Any]
    is_async: bool
    #: True when the function takes a second argument, the JobContext.
    wants_context: bool
    #: Batch handlers get a list of BatchItem, up to ``batch`` at a time.
    batch: int | None = None
    #: Seconds a partial batch waits for more jobs before it runs anyway.
    batch_wait: float = 1.0


#: Every handler registered by ``@handler`` in this process, by job name.
REGISTRY: dict[str, Handler] = {}


def build_handler(
    name: str, func: Callable[..., Any], batch: int | None = None, batch_wait: float = 1.0
) -> Handler:
    """Describes ``func`` as the handler of ``name`` without registering it."""
    check_job_name(name)
    if batch is not None and not (isinstance(batch, int) and batch >= 1 and batch_wait >= 0):
        raise InvalidArgumentError(
            f"handler {name!r}: batch must be >= 1, batch_wait >= 0", field="batch"
        )
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not 1 <= len(params) <= 2:
        raise InvalidArgumentError(
            f"handler {name!r}: takes (payload) or (payload, ctx), not {len(params)} args",
            field="handler",
        )
    is_async = asyncio.iscoroutinefunction(func)
    return Handler(name, func, is_async, len(params) == 2, batch, batch_wait)


def handler(name: str, *, batch: int | None = None, batch_wait: float = 1.0) -> Callable[[F], F]:
    """Registers an async or sync function ``(payload)`` or ``(payload, ctx)`` for ``name``.

    With ``batch=N`` the function receives a list of up to N ``BatchItem`` (waiting at most
    ``batch_wait`` seconds to fill it) and returns one result per item, in order; an item
    whose result is an exception (``Retry``, ``PermanentFailure`` or any other) fails alone
    and keeps its own retries. Raising fails every item of the batch."""
    check_job_name(name)

    def register(func: F) -> F:
        existing = REGISTRY.get(name)
        if existing is not None and existing.func is not func:
            raise InvalidArgumentError(f"handler {name!r}: registered twice", field="handler")
        REGISTRY[name] = build_handler(name, func, batch, batch_wait)
        return func

    return register


def load_handlers(spec: str) -> dict[str, Handler]:
    """Imports each comma-separated module path or ``.py`` file; returns the registry."""
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part.endswith(".py") or "/" in part:
            path = Path(part).resolve()
            if not path.is_file():
                raise InvalidArgumentError(f"--handlers: no such file {part}", field="handlers")
            mod_name = f"_blackroad_handlers_{path.stem}"
            loader_spec = importlib.util.spec_from_file_location(mod_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise InvalidArgumentError(f"--handlers: cannot import {part}", field="handlers")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[mod_name] = module
            loader_spec.loader.exec_module(module)
        else:
            try:
                importlib.import_module(part)
            except ModuleNotFoundError as exc:
                raise InvalidArgumentError(
                    f"--handlers: cannot import {part} ({exc})", field="handlers"
                ) from None
    return dict(REGISTRY)
