"""Starts and stops a local Redis Cluster (masters and optional replicas joined with
``redis-cli --cluster create``) for `make run --redis-cluster`, the tests and the benchmark."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import redis

from devstack import procs
from devstack.localredis import free_port

#: The slot ranges ``redis-cli --cluster create`` gives three masters.
SLOT_RANGES = ((0, 5460), (5461, 10922), (10923, 16383))


class ClusterNode:
    """One ``redis-server --cluster-enabled yes`` process, in its own session, that dies with
    the process that started it."""

    def __init__(
        self,
        workdir: Path,
        name: str,
        argv: list[str],
        host: str,
        port: int,
        password: str | None = None,
    ) -> None:
        self.workdir, self.name, self.argv, self.host, self.port = workdir, name, argv, host, port
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, env: Mapping[str, str] | None = None) -> None:
        log = self.workdir / f"{self.name}.log"
        self.proc = procs.spawn(self.argv, log, env=env)
        conn = redis.Redis(
            host=self.host, port=self.port, password=self.password, socket_connect_timeout=0.2
        )
        try:
            _until(lambda: _pings(conn, self.proc), 10, f"{self.name} to answer (see {log})")
        finally:
            conn.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        procs.stop(self.proc, grace=10)


class RedisCluster:
    """``masters`` masters with ``replicas`` replicas each, state ok once ``start`` returns.

    ``host`` is the address every node binds and announces (a network namespace's address,
    with ``prefix`` such as ``ip netns exec NS``); ``aof`` turns on appendonly everysec;
    ``password`` goes to each node in a 0600 config file, never on a command line.
    """

    def __init__(
        self,
        workdir: Path,
        masters: int = 3,
        replicas: int = 0,
        *,
        host: str = "127.0.0.1",
        aof: bool = False,
        prefix: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        password: str | None = None,
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run 'make install' (apt-get)")
        self.workdir, self.replicas, self.host, self.env = workdir, replicas, host, env
        self.prefix = list(prefix)
        self.password = password
        self.nodes: list[ClusterNode] = []
        for i in range(masters * (1 + replicas)):
            # Inside a namespace every port is free; on the host, ask the kernel for one.
            port = 7000 + i if prefix else free_port()
            bus_port = 17000 + i if prefix else free_port()
            node_dir = workdir / f"node-{i}"
            # Written by start(): the node directories are made there.
            conf = [str(node_dir / "auth.conf")] if password is not None else []
            argv = [
                *self.prefix,
                binary,
                *conf,
                *("--port", str(port), "--bind", host, "--dir", str(node_dir)),
                *("--save", "", "--daemonize", "no", "--protected-mode", "no"),
                *("--appendonly", "yes" if aof else "no", "--appendfsync", "everysec"),
                *("--maxmemory-policy", "noeviction", "--logfile", str(node_dir / "redis.log")),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", "2000", "--cluster-announce-ip", host),
                # Named, since the default (port + 10000) fails for ports above 55535.
                *("--cluster-port", str(bus_port)),
            ]
            self.nodes.append(ClusterNode(workdir, f"node-{i}", argv, host, port, password))

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password is not None else ""
        return f"redis+cluster://{auth}{','.join(f'{self.host}:{n.port}' for n in self.nodes)}"

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def start(self) -> None:
        try:
            for i, node in enumerate(self.nodes):
                (self.workdir / f"node-{i}").mkdir(parents=True, exist_ok=True)
                if self.password is not None:
                    # masterauth too: a replica authenticates to its master.
                    text = f"requirepass {self.password}\nmasterauth {self.password}\n"
                    _private(self.workdir / f"node-{i}" / "auth.conf", text)
                node.start(self.env)
            cli = shutil.which("redis-cli")
            if cli is None:
                raise RuntimeError("redis-cli is not installed: run 'make install' (apt-get)")
            # redis-cli reads the password from the environment (never from argv here).
            cli_env = {**os.environ, **(self.env or {})}
            if self.password is not None:
                cli_env["REDISCLI_AUTH"] = self.password
            subprocess.run(
                [
                    cli,
                    *("--cluster", "create", *(f"{self.host}:{n.port}" for n in self.nodes)),
                    *("--cluster-replicas", str(self.replicas), "--cluster-yes"),
                ],
                check=True,
                capture_output=True,
                timeout=60,
                env=cli_env,
            )
            self.wait_for(self.settled, 30, "cluster_state:ok on every node")
        except BaseException:
            self.stop()
            raise

    def _conn(self, node: ClusterNode) -> redis.Redis:
        return redis.Redis(
            host=self.host, port=node.port, password=self.password, decode_responses=True
        )

    def settled(self) -> bool:
        """Every live node says the cluster is ok, and every replica's link is up (a node
        killed by a test is left out)."""
        for node in self.nodes:
            if node.proc is None or node.proc.poll() is not None:
                continue
            with self._conn(node) as conn:
                if conn.execute_command("CLUSTER", "INFO").find("cluster_state:ok") < 0:
                    return False
                replication = conn.info("replication")
                if replication["role"] == "slave" and replication["master_link_status"] != "up":
                    return False
        return True

    def flush(self) -> None:
        """Empties every master (a replica follows its master)."""
        for node in self.nodes:
            if node.proc is None or node.proc.poll() is not None:
                continue
            with self._conn(node) as conn:
                try:
                    if conn.info("replication")["role"] == "master":
                        conn.flushall()
                except redis.RedisError:
                    pass

    def master_of_slot(self, slot: int) -> ClusterNode:
        with self._conn(self.nodes[0]) as conn:
            for start, end, master, *_ in conn.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return next(n for n in self.nodes if n.port == int(master[1]))
        raise LookupError(f"slot {slot} is not served")

    def wait_for(self, predicate: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"waited {timeout} s for {what}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def queue_on_slot_range(index: int, prefix: str = "q") -> str:
    """A queue name whose hash tag lands in ``SLOT_RANGES[index]`` (on the index-th master
    of a fresh three-master cluster)."""
    start, end = SLOT_RANGES[index]
    for n in range(10_000):
        name = f"{prefix}{n}" if n else prefix
        if start <= key_slot(name) <= end:
            return name
    raise LookupError(f"no queue name for slots {start}-{end}")


def key_slot(tag: str) -> int:
    """Redis Cluster's slot of the hash tag ``tag`` (CRC16/XMODEM mod 16384)."""
    crc = 0
    for byte in tag.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


def _private(path: Path, text: str) -> None:
    """Writes ``text`` to ``path``, readable by its owner alone from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _pings(conn: redis.Redis, proc: subprocess.Popen[bytes] | None) -> bool:
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"redis-server exited with {proc.returncode}")
    try:
        return bool(conn.ping())
    except redis.ConnectionError:
        return False


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)
