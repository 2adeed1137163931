"""The Redis URL contract: what parses into which target, and one-line errors that name the
part at fault and never show a password."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from worker_runtime.cli import cli
from worker_runtime.engine.urls import (
    RedisUrlError,
    parse_url,
    redact,
    with_tls_dir,
)

SECRET = "s3cr3t-pw"


def test_standalone_urls_parse_as_before() -> None:
    plain = parse_url("redis://127.0.0.1:6380/2")
    assert (plain.kind, plain.tls, plain.hosts, plain.db) == (
        "standalone",
        False,
        (("127.0.0.1", 6380),),
        2,
    )
    assert parse_url("redis://h").hosts == (("h", 6379),)
    tls = parse_url(f"rediss://app:{SECRET}@redis.example:6379/0")
    assert (tls.tls, tls.username, tls.password) == (True, "app", SECRET)
    sock = parse_url("unix:///run/redis.sock?db=3")
    assert (sock.kind, sock.hosts, sock.db) == ("standalone", (), 3)


def test_sentinel_url_names_sentinels_service_and_db() -> None:
    t = parse_url(
        f"redis+sentinel://app:{SECRET}@s1:26379,s2,[::1]:26380/mymaster/4?sentinel_password=other"
    )
    assert t.kind == "sentinel"
    assert t.hosts == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert (t.service, t.db, t.password, t.sentinel_password) == ("mymaster", 4, SECRET, "other")
    assert parse_url("rediss+sentinel://s1/main").tls


def test_tls_parameters_take_redis_py_names(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    t = parse_url(f"rediss://h:6379/0?ssl_ca_certs={ca}&ssl_cert_reqs=required")
    assert dict(t.ssl) == {"ssl_ca_certs": str(ca), "ssl_cert_reqs": "required"}
    assert f"ssl_ca_certs={ca}".replace("/", "%2F") in t.redis_py_url


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("", "empty"),
        ("http://h:6379", "scheme 'http'"),
        ("h:6379", "scheme 'h'"),
        ("redis://h:6x79/0", "port of host 'h'"),
        ("redis://h:99999/0", "port of host 'h'"),
        ("redis://h:6379/zero", "db: 'zero'"),
        ("redis://a:1,b:2/0", "several hosts need redis+sentinel://"),
        ("redis+sentinel://s1:26379", "master's name"),
        ("redis+sentinel://s1:26379/m/1/2", "path"),
        ("redis://h/0?ssl_ca_certs=/x", "ssl_ca_certs needs TLS"),
        ("rediss://h/0?ssl_ca_certs=/no/such/ca.crt", "ssl_ca_certs: no such file"),
        ("rediss://h/0?ssl_cert_reqs=maybe", "ssl_cert_reqs 'maybe'"),
        ("redis://h/0?socket_timout=1", "unknown query parameter 'socket_timout'"),
        ("unix://", "socket's path"),
        ("redis://h/0?sentinel_password=x", "need redis+sentinel://"),
        ("redis://:6379/0", "empty host name"),
    ],
)
def test_a_bad_url_is_one_line_naming_the_part(url: str, names: str) -> None:
    with pytest.raises(RedisUrlError) as caught:
        parse_url(url)
    assert names in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.field == "redis_url"


def test_cluster_urls_name_the_seed_nodes_and_database_0_only() -> None:
    target = parse_url(f"redis+cluster://u:{SECRET}@h1:7000,h2")
    assert (target.kind, target.hosts, target.tls) == (
        "cluster",
        (("h1", 7000), ("h2", 6379)),
        False,
    )
    assert (target.username, target.password) == ("u", SECRET)
    assert parse_url("rediss+cluster://h1:7000").tls
    with pytest.raises(RedisUrlError, match="database 0 only") as caught:
        parse_url(f"redis+cluster://u:{SECRET}@h1:7000/2")
    assert SECRET not in str(caught.value)
    with pytest.raises(RedisUrlError, match="port of host 'h2'"):
        parse_url("redis+cluster://h1:7000,h2:x")


def test_errors_never_show_a_password() -> None:
    for url in (
        f"redis://app:{SECRET}@h:bad/0",
        f"redis+sentinel://app:{SECRET}@h:1?sentinel_password={SECRET}",
        f"redis://app:{SECRET}@h/0?nope=1",
    ):
        with pytest.raises(RedisUrlError) as caught:
            parse_url(url)
        assert SECRET not in str(caught.value)


def test_redact_masks_both_passwords() -> None:
    shown = redact(f"redis+sentinel://app:{SECRET}@s1,s2/m?sentinel_password={SECRET}")
    assert SECRET not in shown
    assert shown == "redis+sentinel://app:***@s1,s2/m?sentinel_password=***"
    assert redact("redis://h:6379/0") == "redis://h:6379/0"
    assert redact(f"redis://:{SECRET}@h") == "redis://:***@h"


def test_tls_dir_fills_in_the_files_the_url_does_not_name(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("x")
    (tmp_path / "tls.key").write_text("x")
    url = with_tls_dir("rediss://h:6379/0?ssl_keyfile=/own.key", str(tmp_path))
    assert f"ssl_ca_certs={tmp_path}/ca.crt".replace("/", "%2F") in url
    assert url.count("ssl_keyfile") == 1
    assert with_tls_dir("redis://h/0", str(tmp_path)) == "redis://h/0"


def test_cli_refuses_a_bad_url_in_one_line_with_exit_2() -> None:
    bad = CliRunner().invoke(cli, ["queue", "list"], env={"REDIS_URL": f"redis://u:{SECRET}@h:x"})
    assert bad.exit_code == 2
    assert bad.output.strip() == "error: --redis-url: port of host 'h': 'x' is not a number"
    cluster = CliRunner().invoke(
        cli, ["queue", "list"], env={"REDIS_URL": "redis+cluster://h1:7000/1"}
    )
    assert cluster.exit_code == 2
    assert cluster.output.strip() == "error: --redis-url: db 1: Redis Cluster has database 0 only"


async def test_a_failing_connection_never_shows_the_password() -> None:
    from tests.redis_server import free_port
    from worker_runtime.client import Client
    from worker_runtime.errors import RedisUnavailableError

    url = f"redis://app:{SECRET}@127.0.0.1:{free_port()}/0"
    async with Client.from_url(url, socket_connect_timeout=0.5) as client:
        with pytest.raises(RedisUnavailableError) as caught:
            await client.enqueue("q", "job")
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    sentinel = f"redis+sentinel://app:{SECRET}@127.0.0.1:{free_port()}/m?sentinel_password={SECRET}"
    async with Client.from_url(sentinel, socket_connect_timeout=0.5) as client:
        with pytest.raises(RedisUnavailableError) as caught:
            await client.enqueue("q", "job")
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    shown = CliRunner().invoke(cli, ["queue", "list"], env={"REDIS_URL": url})
    assert shown.exit_code == 1
    assert SECRET not in shown.output and "app:***@" in shown.output
