"""A redis-server (or a three-master Redis Cluster) in its own network namespace, reached
over a veth pair, whose link can be cut for a while: nft `drop` (both ways, or Redis's
replies only), nft `reject with tcp reset`, or the link set down."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest
import redis

from devstack.rediscluster import RedisCluster
from tests.conftest import in_ci

#: ``replies``: Redis's packets alone are dropped: commands run, their replies are lost
#: (what a cut just after a claim was served does, every time).
Fault = Literal["drop", "reject", "linkdown", "replies"]
FAULTS: tuple[Fault, ...] = ("drop", "reject", "linkdown", "replies")


def _sh(command: str, ns: str | None = None, stdin: str | None = None) -> None:
    """Runs ``command`` (split on spaces), inside namespace ``ns`` if given."""
    args = command.split()
    cmd = ["ip", "netns", "exec", ns, *args] if ns else args
    subprocess.run(cmd, check=True, input=stdin, text=True, capture_output=True, timeout=10)


def require_netns() -> None:
    """Fails (CI) or skips (elsewhere) unless this process can make namespaces and nft rules."""
    missing = [tool for tool in ("ip", "nft", "redis-server") if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root")
    if not missing:
        probe = f"brqprobe{os.getpid() % 100000}"
        try:
            _sh(f"ip netns add {probe}")
            _sh("nft list tables", ns=probe)
        except (subprocess.CalledProcessError, OSError) as exc:
            missing.append(f"ip netns / nft ({exc})")
        finally:
            subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    if missing:
        why = "network partition tests need " + ", ".join(missing) + " (make install adds nft)"
        if in_ci():
            pytest.fail(why)
        pytest.skip(why)


class Namespace:
    """Network namespace ``brq<tag>``, at ``10.213.<n>.2`` from the host side over a veth
    pair; ``cut`` partitions the TCP ports in ``ports`` (the servers' client ports)."""

    ports: tuple[int, ...] = (6379,)

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}{time.monotonic_ns() % 1000}"
        self.ns = f"brq{tag}"
        self.host_if, self.ns_if = f"brqh{tag}"[:15], f"brqn{tag}"[:15]
        subnet = 1 + (os.getpid() + time.monotonic_ns()) % 250
        self.host_ip, self.ip = f"10.213.{subnet}.1", f"10.213.{subnet}.2"

    def make(self) -> None:
        ns, h, n = self.ns, self.host_if, self.ns_if
        _sh(f"ip netns add {ns}")
        _sh(f"ip link add {h} type veth peer name {n} netns {ns}")
        _sh(f"ip addr add {self.host_ip}/30 dev {h}")
        _sh(f"ip link set {h} up")
        _sh(f"ip addr add {self.ip}/30 dev {n}", ns=ns)
        _sh(f"ip link set {n} up", ns=ns)
        _sh("ip link set lo up", ns=ns)

    @property
    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns]

    def cut(self, fault: Fault) -> None:
        if fault == "linkdown":
            _sh(f"ip link set {self.ns_if} down", ns=self.ns)
            return
        # Only these ports: a cluster's bus (other ports, over lo) keeps running.
        ports = "{ " + ", ".join(map(str, self.ports)) + " }"
        if fault == "drop":  # both ways: a silent partition, nothing answers, nothing resets
            rules = (
                f"chain i {{ type filter hook input priority 0; tcp dport {ports} drop; }}\n"
                f"chain o {{ type filter hook output priority 0; tcp sport {ports} drop; }}"
            )
        elif fault == "replies":
            rules = f"chain o {{ type filter hook output priority 0; tcp sport {ports} drop; }}"
        else:
            reject = f"tcp dport {ports} reject with tcp reset"
            rules = f"chain i {{ type filter hook input priority 0; {reject}; }}"
        _sh("nft -f -", ns=self.ns, stdin=f"table inet brqfault {{\n{rules}\n}}\n")

    def heal(self, fault: Fault) -> None:
        if fault == "linkdown":
            _sh(f"ip link set {self.ns_if} up", ns=self.ns)
        else:
            _sh("nft delete table inet brqfault", ns=self.ns)

    @contextmanager
    def partitioned(self, fault: Fault) -> Iterator[None]:
        self.cut(fault)
        try:
            yield
        finally:
            self.heal(fault)

    def remove(self) -> None:
        # Deleting the namespace deletes its end of the veth pair, and with it the other.
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)


class IsolatedRedis(Namespace):
    """One redis-server in its own namespace."""

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.port = 6379
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.ip}:{self.port}/0"

    def start(self) -> None:
        self.make()
        args = [
            *f"--port {self.port} --bind {self.ip} --protected-mode no --appendonly no".split(),
            *("--save", "", "--dir", str(self.workdir), "--logfile", str(self.workdir / "r.log")),
        ]
        self.proc = subprocess.Popen(
            [*self.exec_prefix, "redis-server", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server in {self.ns} did not answer") from None
                time.sleep(0.05)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.remove()


class IsolatedCluster(Namespace):
    """A three-master Redis Cluster in its own namespace: every node binds and announces the
    namespace's address (``cluster-announce-ip``), so clients on the host reach each master
    the cluster names; the cluster bus stays inside the namespace."""

    ports = (7000, 7001, 7002)

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.cluster = RedisCluster(workdir, masters=3, host=self.ip, prefix=self.exec_prefix)
        assert tuple(self.cluster.ports) == self.ports

    @property
    def url(self) -> str:
        return self.cluster.url

    def start(self) -> None:
        self.make()
        self.cluster.start()

    def close(self) -> None:
        self.cluster.stop()
        self.remove()
