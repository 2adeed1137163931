"""The application's shared state, under typed keys: the client, the guard, views, snapshot."""

from __future__ import annotations

import jinja2
from aiohttp import web

from dashboard.data import Snapshot
from dashboard.security import Guard
from worker_runtime.client import Client

CLIENT = web.AppKey("client", Client)
GUARD = web.AppKey("guard", Guard)
VIEWS = web.AppKey("views", jinja2.Environment)
SNAPSHOT = web.AppKey("snapshot", Snapshot)
