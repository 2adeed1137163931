"""Runs the emulator (and optionally the kubelet): as asyncio services, or in a thread."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from aiohttp import web

from devcluster.api import Api, WriteOptions
from devcluster.kubeconfig import write_kubeconfig
from devcluster.kubelet import Kubelet
from devcluster.resources import Registry
from devcluster.server import ApiServer
from devcluster.store import Store

_SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Services:
    """The emulator's HTTP server and kubelet on the current event loop."""

    def __init__(
        self,
        port: int | None,
        state_dir: Path,
        *,
        kubelet: bool = True,
        event_log_size: int = 10_000,
        bookmark_interval: float = 5.0,
        restart_backoff: tuple[float, float] = (1.0, 30.0),
        namespace: str = "default",
    ) -> None:
        self.state_dir = state_dir
        self.namespace = namespace
        self.api = Api(Store(event_log_size), Registry())
        self.server = ApiServer(self.api, bookmark_interval=bookmark_interval)
        self.kubelet = Kubelet(self.api, state_dir / "pods", restart_backoff) if kubelet else None
        if self.kubelet is not None:
            self.server.run_starts = self.kubelet.run_starts
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port or 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.kubeconfig = state_dir / "kubeconfig"
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        ns_type = self.api.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        for name in _SYSTEM_NAMESPACES:
            self.api.create(ns_type, "", {"metadata": {"name": name}}, WriteOptions())
        self.server.address = f"127.0.0.1:{self.port}"
        self._runner = web.AppRunner(
            self.server.make_app(), access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()
        write_kubeconfig(self.kubeconfig, self.url, self.namespace)
        if self.kubelet is not None:
            self.kubelet.start()

    async def stop(self) -> None:
        self.server.stopping = True
        if self.kubelet is not None:
            await self.kubelet.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        self._sock.close()


class Cluster:
    """The emulator in a background thread with its own loop: for tests and scripts.

    >>> with Cluster(kubelet=False) as cluster:
    ...     subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "get", "ns"])
    """

    def __init__(
        self,
        port: int | None = None,
        state_dir: str | Path | None = None,
        *,
        kubelet: bool = True,
        event_log_size: int = 10_000,
        bookmark_interval: float = 5.0,
        restart_backoff: tuple[float, float] = (1.0, 30.0),
        namespace: str = "default",
    ) -> None:
        self._own_dir = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="devcluster-"))
        self._loop = asyncio.new_event_loop()
        self.services = Services(
            port,
            self.state_dir,
            kubelet=kubelet,
            event_log_size=event_log_size,
            bookmark_interval=bookmark_interval,
            restart_backoff=restart_backoff,
            namespace=namespace,
        )
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="devcluster", daemon=True
        )

    @property
    def url(self) -> str:
        return self.services.url

    @property
    def port(self) -> int:
        return self.services.port

    @property
    def kubeconfig(self) -> Path:
        return self.services.kubeconfig

    def start(self) -> Cluster:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.services.start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self.services.stop(), self._loop)
            try:
                future.result(timeout=120)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
