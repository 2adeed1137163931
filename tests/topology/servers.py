"""Redis topologies for the tests: a TLS-only server with a CA made by openssl, and a
Sentinel group (one master, one replica, three sentinels); every process stops on close."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.redis_server import free_port

SERVICE = "mymaster"


def _binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("redis-server is not installed: run 'make install' (apt-get)")
    return found


class Proc:
    """One redis-server (or sentinel) process on a loopback port."""

    def __init__(self, workdir: Path, name: str, args: list[str], port: int) -> None:
        self.workdir, self.name, self.args, self.port = workdir, name, args, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ping: redis.Redis | None = None) -> None:
        log = self.workdir / f"{self.name}.log"
        self.proc = subprocess.Popen(
            [_binary(), *self.args, "--logfile", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        conn = ping or redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                conn.ping()
                return
            except redis.RedisError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: see {log}") from None
                time.sleep(0.02)
            finally:
                conn.close()
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within 10 s: see {log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _base(workdir: Path, port: int) -> list[str]:
    return [
        *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)),
        *("--save", "", "--appendonly", "no", "--daemonize", "no"),
    ]


@dataclass(frozen=True)
class Tls:
    """Files made by ``make_tls``: a CA, a server and a client certificate signed by it,
    and a second CA that signed nothing here (the wrong one)."""

    ca: Path
    server_crt: Path
    server_key: Path
    client_crt: Path
    client_key: Path
    other_ca: Path


def _openssl(workdir: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)


def make_tls(workdir: Path) -> Tls:
    for ca in ("ca", "other-ca"):
        _openssl(
            workdir,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.crt",
            "-subj",
            f"/CN=test {ca}",
        )
    ext = workdir / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("server", "client"):
        _openssl(
            workdir,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{who}.key",
            "-out",
            f"{who}.csr",
            "-subj",
            f"/CN={who}",
        )
        _openssl(
            workdir,
            "x509",
            "-req",
            "-in",
            f"{who}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{who}.crt",
            "-extfile",
            str(ext),
        )
    names = ("ca.crt", "server.crt", "server.key", "client.crt", "client.key", "other-ca.crt")
    return Tls(**dict(zip(Tls.__dataclass_fields__, (workdir / n for n in names), strict=True)))


def start_tls_redis(workdir: Path, tls: Tls) -> Proc:
    """A redis-server that speaks TLS only (no plain-text port) and wants client certs."""
    port = free_port()
    args = [
        *_base(workdir, 0),
        *("--tls-port", str(port), "--tls-cert-file", str(tls.server_crt)),
        *("--tls-key-file", str(tls.server_key), "--tls-ca-cert-file", str(tls.ca)),
        *("--tls-auth-clients", "yes"),
    ]
    ping = redis.Redis(
        port=port,
        ssl=True,
        ssl_ca_certs=str(tls.ca),
        ssl_certfile=str(tls.client_crt),
        ssl_keyfile=str(tls.client_key),
        socket_connect_timeout=0.2,
    )
    server = Proc(workdir, "tls-redis", args, port)
    server.start(ping)
    return server


class SentinelGroup:
    """One master, one replica, three sentinels (quorum 2) watching ``SERVICE``."""

    def __init__(self, workdir: Path, down_after_ms: int = 1000) -> None:
        self.workdir = workdir
        self.master = Proc(workdir, "master", _base(workdir / "m", p := free_port()), p)
        self.replica = Proc(
            workdir,
            "replica",
            [
                *_base(workdir / "r", p := free_port()),
                "--replicaof",
                "127.0.0.1",
                str(self.master.port),
            ],
            p,
        )
        self.sentinels: list[Proc] = []
        for i in range(3):
            port = free_port()
            conf = workdir / f"sentinel-{i}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.sentinels.append(Proc(workdir, f"sentinel-{i}", [str(conf), "--sentinel"], port))

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> None:
        for d in ("m", "r"):
            (self.workdir / d).mkdir(exist_ok=True)
        self.master.start()
        self.replica.start()
        for s in self.sentinels:
            s.start()
        # A failover needs every sentinel to know the replica and two peers.
        self.wait_for(self._settled, 30, "sentinels to see the replica and each other")

    def _settled(self) -> bool:
        for s in self.sentinels:
            with redis.Redis(port=s.port, decode_responses=True) as conn:
                info = conn.sentinel_master(SERVICE)
                if int(info["num-slaves"]) < 1 or int(info["num-other-sentinels"]) < 2:
                    return False
        with redis.Redis(port=self.replica.port, decode_responses=True) as conn:
            return bool(conn.info("replication").get("master_link_status") == "up")

    def master_port(self) -> int:
        """The master's port as the first sentinel reports it now."""
        with redis.Redis(port=self.sentinels[0].port, decode_responses=True) as conn:
            _, port = conn.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(port)

    def all_agree(self, old: int) -> bool:
        """Every sentinel names the same master, and it is not ``old``."""
        ports = set()
        for s in self.sentinels:
            with redis.Redis(port=s.port, decode_responses=True) as conn:
                _, port = conn.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            ports.add(int(port))
        return len(ports) == 1 and old not in ports

    def restart_as_replica(self, port: int) -> None:
        """Starts the dead node ``port`` again as a replica of the master the sentinels name,
        as a pod whose start-up asks Sentinel does. Without persistence, a node that came
        back as a master would be empty; should any sentinel still take it for the master,
        the promoted replica's full resync from it would erase every job (README)."""
        node = self.node(port)
        replicaof = ["--replicaof", "127.0.0.1", str(self.master_port())]
        node.args = [*_base(self.workdir / ("m" if node is self.master else "r"), port), *replicaof]
        node.start()

    def node(self, port: int) -> Proc:
        return self.master if self.master.port == port else self.replica

    def wait_for(self, predicate: object, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if callable(predicate) and predicate():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"waited {timeout}s for {what}; logs in {self.workdir}")

    def stop(self) -> None:
        for proc in (*self.sentinels, self.replica, self.master):
            proc.stop()
