"""A local Redis Cluster for the tests: masters (and optional replicas) on loopback ports,
joined with ``redis-cli --cluster create``; every process stops on close."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.redis_server import free_port
from tests.topology.servers import Proc, _base

#: The slot ranges ``redis-cli --cluster create`` gives three masters.
SLOT_RANGES = ((0, 5460), (5461, 10922), (10923, 16383))


class RedisCluster:
    """``masters`` masters with ``replicas`` replicas each, state ok once ``start`` returns."""

    def __init__(self, workdir: Path, masters: int = 3, replicas: int = 0) -> None:
        self.workdir = workdir
        self.replicas = replicas
        self.nodes: list[Proc] = []
        for i in range(masters * (1 + replicas)):
            port = free_port()
            node_dir = workdir / f"node-{i}"
            args = [
                *_base(node_dir, port),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", "2000"),
                # Named, since the default (port + 10000) fails for ports above 55535.
                *("--cluster-port", str(free_port())),
            ]
            self.nodes.append(Proc(workdir, f"node-{i}", args, port))

    @property
    def url(self) -> str:
        return f"redis+cluster://{','.join(f'127.0.0.1:{n.port}' for n in self.nodes)}"

    def start(self) -> None:
        try:
            for node in self.nodes:
                (self.workdir / node.name).mkdir(exist_ok=True)
                node.start()
            cli = shutil.which("redis-cli")
            if cli is None:
                raise RuntimeError("redis-cli is not installed: run 'make install' (apt-get)")
            subprocess.run(
                [
                    cli,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{n.port}" for n in self.nodes),
                    "--cluster-replicas",
                    str(self.replicas),
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.wait_for(self.settled, 30, "cluster_state:ok on every node")
        except BaseException:
            self.stop()
            raise

    def settled(self) -> bool:
        """Every running node says the cluster is ok, and every replica's link is up."""
        for node in self.nodes:
            if node.proc is None or node.proc.poll() is not None:
                continue
            with redis.Redis(port=node.port, decode_responses=True) as conn:
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
            with redis.Redis(port=node.port) as conn:
                try:
                    if conn.info("replication")["role"] == "master":
                        conn.flushall()
                except redis.RedisError:
                    pass

    def replica_of_slot(self, slot: int) -> Proc:
        """A live replica of the master serving ``slot``, its link up."""
        master = self.master_of_slot(slot)
        for node in self.nodes:
            if node is master or node.proc is None or node.proc.poll() is not None:
                continue
            with redis.Redis(port=node.port, decode_responses=True) as conn:
                info = conn.info("replication")
            if info["role"] == "slave" and int(info["master_port"]) == master.port:
                return node
        raise LookupError(f"slot {slot} has no replica")

    def master_of_slot(self, slot: int) -> Proc:
        """The master serving ``slot``, as the first live node that answers tells it."""
        for node in self.nodes:
            if node.proc is None or node.proc.poll() is not None:
                continue
            try:
                with redis.Redis(port=node.port, decode_responses=True) as conn:
                    table = conn.execute_command("CLUSTER", "SLOTS")
            except redis.RedisError:
                continue
            for start, end, master, *_ in table:
                if start <= slot <= end:
                    return next(n for n in self.nodes if n.port == int(master[1]))
        raise LookupError(f"slot {slot} is not served")

    def wait_for(self, predicate: object, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if callable(predicate) and predicate():
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
