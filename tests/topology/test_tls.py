"""rediss:// against a TLS-only redis-server whose CA the fixture makes with openssl."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from queue_operator import kube, observe
from queue_operator.problems import Problem
from queue_operator.reconcile.jobqueue import Target
from queue_operator.redis_admin import RedisAdmin
from tests.topology.servers import Proc, Tls, make_tls, start_tls_redis
from worker_runtime.cli import cli
from worker_runtime.client import Client
from worker_runtime.errors import RedisUnavailableError

PASSWORD = "tls-test-pw"


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, Tls]]:
    workdir = tmp_path_factory.mktemp("tls")
    tls = make_tls(workdir)
    server = start_tls_redis(workdir, tls)
    try:
        yield server, tls
    finally:
        server.stop()


def _url(server: Proc, tls: Tls, ca: Path | None = None, *, scheme: str = "rediss") -> str:
    query = (
        f"ssl_ca_certs={ca or tls.ca}&ssl_certfile={tls.client_crt}&ssl_keyfile={tls.client_key}"
    )
    return f"{scheme}://127.0.0.1:{server.port}/0" + (f"?{query}" if scheme == "rediss" else "")


async def test_rediss_with_the_ca_works(tls_redis: tuple[Proc, Tls]) -> None:
    server, tls = tls_redis
    async with Client.from_url(_url(server, tls)) as client:
        done = await client.enqueue("tls", "job", {"a": 1})
        assert (await client.get_job(done.id, "tls")) is not None


async def test_plaintext_and_a_wrong_ca_fail_clearly(tls_redis: tuple[Proc, Tls]) -> None:
    server, tls = tls_redis
    async with Client.from_url(_url(server, tls, scheme="redis"), socket_timeout=1) as client:
        with pytest.raises(RedisUnavailableError):
            await client.enqueue("tls", "job")
    async with Client.from_url(_url(server, tls, tls.other_ca)) as client:
        with pytest.raises(RedisUnavailableError, match="certificate verify failed"):
            await client.enqueue("tls", "job")


def test_cli_takes_the_files_from_a_tls_dir_and_says_what_failed(
    tls_redis: tuple[Proc, Tls], tmp_path: Path
) -> None:
    server, tls = tls_redis
    for name, source in (
        ("ca.crt", tls.ca),
        ("tls.crt", tls.client_crt),
        ("tls.key", tls.client_key),
    ):
        (tmp_path / name).write_bytes(source.read_bytes())
    env = {"REDIS_URL": f"rediss://127.0.0.1:{server.port}/0", "REDIS_TLS_DIR": str(tmp_path)}
    ok = CliRunner().invoke(cli, ["queue", "list", "-o", "json"], env=env)
    assert ok.exit_code == 0, ok.output
    (tmp_path / "ca.crt").write_bytes(tls.other_ca.read_bytes())
    wrong = CliRunner().invoke(cli, ["queue", "list"], env=env)
    assert wrong.exit_code == 1
    assert "certificate verify failed" in wrong.output and "ssl_ca_certs" in wrong.output
    assert len(wrong.output.strip().splitlines()) == 1
    plain = CliRunner().invoke(
        cli, ["queue", "list"], env={"REDIS_URL": f"redis://127.0.0.1:{server.port}/0"}
    )
    assert plain.exit_code == 1
    assert "use rediss://" in plain.output
    assert len(plain.output.strip().splitlines()) == 1


async def test_operator_connects_with_the_tls_keys_of_its_secret(
    tls_redis: tuple[Proc, Tls], monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    server, tls = tls_redis
    secret = {
        "url": f"rediss://app:{PASSWORD}@127.0.0.1:{server.port}/0".encode(),
        "ca.crt": tls.ca.read_bytes(),
        "tls.crt": tls.client_crt.read_bytes(),
        "tls.key": tls.client_key.read_bytes(),
    }

    async def read_secret(namespace: str, name: str) -> dict[str, bytes] | None:
        return secret if name == "redis" else None

    # The Kubernetes API is not what this tests: the Secret's data is given as read.
    monkeypatch.setattr(kube, "read_secret", read_secret)
    target = Target("q", "redis", "url")
    url = await observe.redis_url(f"ns-{server.port}", target)
    assert isinstance(url, str) and "ssl_ca_certs=" in url and "ssl_keyfile=" in url
    files = Path(dict(parse_qsl(urlsplit(url).query))["ssl_ca_certs"]).parent
    assert files.stat().st_mode & 0o077 == 0  # private to the operator's user
    request.addfinalizer(lambda: shutil.rmtree(files))
    # Without the credentials: the test server has no user "app".
    admin = RedisAdmin()
    try:
        health = await admin.health(url.replace(f"app:{PASSWORD}@", ""))
        assert health.reachable, health.error
    finally:
        await admin.close()
    secret["url"] = f"rediss+cluster://app:{PASSWORD}@h1:7000,h2:7001/1".encode()
    problem = await observe.redis_url("ns", target)
    assert isinstance(problem, Problem) and problem.reason == "RedisUrlInvalid"
    assert "database 0 only" in problem.message and PASSWORD not in problem.message
