"""rediss:// against a TLS-only redis-server whose CA the fixture makes with openssl."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.topology.servers import Proc, Tls, make_tls, start_tls_redis
from worker_runtime.cli import cli
from worker_runtime.client import Client
from worker_runtime.errors import RedisUnavailableError


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
