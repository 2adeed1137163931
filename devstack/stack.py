"""Starts and stops the local system: Redis (AOF), devcluster (API + kubelet), the operator.

The order matters on the way down: the operator first (so nothing is rescaled while the
rest stops), then the devcluster (its kubelet SIGTERMs the workers, which hand running
jobs back to Redis), Redis last.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import redis

from devstack import procs
from devstack.localredis import free_port
from devstack.rediscluster import RedisCluster

ROOT = Path(__file__).resolve().parents[1]
#: Where `make run` keeps its kubeconfig, logs and Redis files (git-ignored).
DEFAULT_STATE_DIR = ROOT / ".state" / "devstack"
EXAMPLES_NAMESPACE = "blackroad"
KUBECTL = "kubectl"


class StackError(RuntimeError):
    """Something the stack needs did not start or did not get ready."""


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path = DEFAULT_STATE_DIR
    #: Apply crds/ (always) and manifests/examples/ (with their namespace and Redis Secret).
    examples: bool = True
    #: Operator timing (seconds); tests use short ones.
    operator_tick: float = 1.0
    status_interval: float = 2.0
    #: Extra environment for every child (tests mark their processes with it).
    env: dict[str, str] = field(default_factory=dict)
    #: Also serve `blackroad dashboard` (`make run` does; actions need the token file's token).
    dashboard: bool = False
    #: Redis requires this password (``requirepass``, from a 0600 config file); the URL
    #: with it reaches the operator and workers only through the Secret and files.
    redis_password: str | None = None
    #: A Redis Cluster of this many masters on loopback instead of one server (0: none);
    #: everything gets its ``redis+cluster://`` URL.
    redis_cluster: int = 0


class Stack:
    """The processes of one local system; ``stop()`` is safe at any point of ``start()``."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.state_dir = self.config.state_dir.resolve()
        self.redis_port = free_port()
        self.operator_metrics_port = free_port()
        self.operator_health_port = free_port()
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.redis_cluster: RedisCluster | None = None
        if self.config.redis_cluster:
            self.redis_cluster = RedisCluster(
                self.state_dir / "redis",
                masters=self.config.redis_cluster,
                aof=True,
                env=self.env,
                password=self.config.redis_password,
            )
        self.cluster_proc: subprocess.Popen[bytes] | None = None
        self.operator_proc: subprocess.Popen[bytes] | None = None
        self.dashboard_port = free_port()
        self.dashboard_proc: subprocess.Popen[bytes] | None = None
        self.kubeconfig = self.state_dir / "devcluster" / "kubeconfig"
        self._kubectl_cache = self.state_dir / "kubectl-cache"

    @property
    def redis_url(self) -> str:
        if self.redis_cluster is not None:
            return self.redis_cluster.url
        password = self.config.redis_password
        auth = f":{quote(password, safe='')}@" if password else ""
        return f"redis://{auth}127.0.0.1:{self.redis_port}/0"

    @property
    def redis_url_file(self) -> Path:
        """The URL in a file only its owner reads (for ``REDIS_URL_FILE``)."""
        return self.state_dir / "redis" / "url"

    @property
    def operator_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.operator_metrics_port}/metrics"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}/"

    @property
    def dashboard_token_file(self) -> Path:
        return self.state_dir / "dashboard-token"

    @property
    def env(self) -> dict[str, str]:
        """What every child gets: `blackroad` and `python` of this venv first on the PATH."""
        venv_bin = str(Path(sys.executable).parent)
        path = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, **self.config.env, "PATH": path, "PYTHONUNBUFFERED": "1"}

    def log(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    # -- start ------------------------------------------------------------------------------

    def start(self) -> Stack:
        if shutil.which(KUBECTL) is None:
            raise StackError("kubectl is not on the PATH: install it (apt-get install kubectl)")
        self._fresh_state_dir()
        self.start_redis()
        self.start_cluster()
        self.kubectl("apply", "-k", str(ROOT / "crds"))
        if self.config.examples:
            self.apply_examples()
        self.start_operator()
        if self.config.dashboard:
            self.start_dashboard()
        return self

    def _fresh_state_dir(self) -> None:
        # Every run starts empty: an old AOF would replay jobs of a previous demo.
        for name in ("redis", "devcluster", "logs", "kubectl-cache"):
            shutil.rmtree(self.state_dir / name, ignore_errors=True)
        (self.state_dir / "redis").mkdir(parents=True)

    def start_redis(self) -> None:
        if self.redis_cluster is not None:
            _private(self.redis_url_file, self.redis_url + "\n")
            try:
                self.redis_cluster.start()
            except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
                raise StackError(f"the local Redis Cluster did not start: {exc}") from exc
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise StackError("redis-server is not installed: run 'make install' (apt-get)")
        workdir = self.state_dir / "redis"
        argv = [binary]
        if self.config.redis_password is not None:
            # A config file rather than --requirepass: the process list shows arguments.
            conf = _private(workdir / "redis.conf", f"requirepass {self.config.redis_password}\n")
            argv.append(str(conf))
        _private(self.redis_url_file, self.redis_url + "\n")
        argv += [
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--daemonize",
            "no",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(workdir / "redis.log"),
        ]
        self.redis_proc = procs.spawn(argv, self.log("redis"), env=self.env)
        conn = redis.Redis.from_url(self.redis_url, socket_connect_timeout=0.2)
        try:
            _wait(lambda: _pings(conn), 10, "redis-server to answer", self.redis_proc)
        finally:
            conn.close()

    @property
    def cluster_argv(self) -> list[str]:
        state = str(self.kubeconfig.parent)
        # The context namespace: a plain `kubectl get jobqueues` shows the examples.
        return [
            sys.executable,
            "-m",
            "devcluster",
            "--state-dir",
            state,
            "--namespace",
            EXAMPLES_NAMESPACE,
        ]

    def start_cluster(self) -> None:
        argv = self.cluster_argv
        # cwd is the repository, so worker pods import handler modules from it (e2e.handlers).
        self.cluster_proc = procs.spawn(
            argv, self.log("devcluster"), env=self.env, cwd=ROOT, stdout_pipe=True
        )
        assert self.cluster_proc.stdout is not None
        line = self.cluster_proc.stdout.readline().decode()  # blocks until it serves
        if not line.startswith("export KUBECONFIG="):
            raise StackError(f"devcluster did not start: see {self.log('devcluster')}")
        self.cluster_proc.stdout.close()

    def start_operator(self) -> None:
        """`python -m queue_operator` for every namespace, as in production (one replica)."""
        argv = [
            sys.executable,
            "-m",
            "queue_operator",
            "--all-namespaces",
            "--standalone",
            "--tick",
            str(self.config.operator_tick),
            "--status-interval",
            str(self.config.status_interval),
            "--metrics-port",
            str(self.operator_metrics_port),
            "--liveness",
            f"http://127.0.0.1:{self.operator_health_port}/healthz",
        ]
        env = {**self.env, "KUBECONFIG": str(self.kubeconfig)}
        self.operator_proc = procs.spawn(argv, self.log("operator"), env=env, cwd=ROOT)

    def start_dashboard(self) -> None:
        """`blackroad dashboard`, acting for whoever has the token in dashboard_token_file."""
        self.dashboard_token_file.write_text(secrets.token_urlsafe(24) + "\n")
        self.dashboard_token_file.chmod(0o600)
        argv = [sys.executable, "-m", "worker_runtime", "dashboard", "--port"]
        argv += [str(self.dashboard_port), "--token-file", str(self.dashboard_token_file)]
        # The URL (it may hold the password) through a private file, never argv or env.
        env = {**self.env, "REDIS_URL_FILE": str(self.redis_url_file)}
        env["KUBECONFIG"] = str(self.kubeconfig)
        self.dashboard_proc = procs.spawn(argv, self.log("dashboard"), env=env, cwd=ROOT)

    def apply_examples(self) -> None:
        ns = EXAMPLES_NAMESPACE
        self.kubectl("apply", "-f", str(ROOT / "manifests" / "namespace.yaml"))
        self.apply_redis_secret(ns)
        self.kubectl("apply", "-k", str(ROOT / "manifests" / "examples"))

    def apply_redis_secret(self, namespace: str, url: str | None = None) -> None:
        """The Secret the operator reads the Redis URL from (default name and key). Created
        or replaced, never applied: `kubectl apply` would copy the URL, password and all,
        into the last-applied-configuration annotation."""
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: blackroad-redis}\n"
            f"stringData: {{url: '{url or self.redis_url}'}}\n"
        )
        created = self.kubectl("create", "-n", namespace, "-f", "-", input=secret, check=False)
        if created.returncode != 0:
            if "AlreadyExists" not in created.stderr and "already exists" not in created.stderr:
                raise StackError(f"kubectl create secret failed: {created.stderr.strip()}")
            self.kubectl("replace", "-n", namespace, "-f", "-", input=secret)

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the example queues are Ready and the example pool has a ready worker."""
        ns = EXAMPLES_NAMESPACE
        self.kubectl(
            "wait",
            "-n",
            ns,
            "--for=condition=Ready",
            "jobqueues",
            "--all",
            f"--timeout={int(timeout)}s",
            timeout=timeout + 5,
        )
        _wait(lambda: self._deployment_ready(ns, "agents"), timeout, "the agents pool's worker")

    def _deployment_ready(self, namespace: str, name: str) -> bool:
        got = self.kubectl(
            "get",
            "deployment",
            name,
            "-n",
            namespace,
            "-o",
            "jsonpath={.status.readyReplicas}",
            check=False,
        )
        return got.returncode == 0 and got.stdout.strip() not in ("", "0")

    # -- use --------------------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            KUBECTL,
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self._kubectl_cache),
            *args,
        ]
        done = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise StackError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def kill_operator(self) -> None:
        """SIGKILL, as a crash or OOM would (the e2e suite restarts it with start_operator)."""
        if self.operator_proc is not None and self.operator_proc.poll() is None:
            procs.kill_group(self.operator_proc.pid)
            self.operator_proc.wait(timeout=10)

    # -- stop -------------------------------------------------------------------------------

    def stop(self) -> None:
        procs.stop(self.dashboard_proc, grace=10)
        procs.stop(self.operator_proc, grace=10)
        # The kubelet gives each worker at most 10 s, then SIGKILLs it; leave it that long.
        procs.stop(self.cluster_proc, grace=30)
        procs.stop(self.redis_proc, grace=10)
        if self.redis_cluster is not None:
            self.redis_cluster.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _private(path: Path, text: str) -> Path:
    """Writes ``text`` to ``path``, readable by its owner alone from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def _pings(conn: redis.Redis) -> bool:
    try:
        return bool(conn.ping())
    except redis.ConnectionError:
        return False


def _wait(
    check: Callable[[], object],
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)
