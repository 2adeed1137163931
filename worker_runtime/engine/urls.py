"""Parses the one Redis URL every entry point takes (standalone, Sentinel, Cluster, TLS) into
a checked ``RedisTarget``, and masks its secrets for messages.

A bad URL is refused here with a one-line ``RedisUrlError`` that names the part at fault
and never repeats a password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from worker_runtime.errors import InvalidArgumentError

SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+sentinel",
    "rediss+sentinel",
    "redis+cluster",
    "rediss+cluster",
)
#: redis-py's names of the TLS options, taken as URL query parameters.
TLS_PARAMS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
TLS_FILE_PARAMS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
CERT_REQS = ("none", "optional", "required")
#: Sentinel's own credentials, when they differ from the data nodes'.
SENTINEL_PARAMS = ("sentinel_username", "sentinel_password")
#: Other query parameters passed on to redis-py as they are.
PLAIN_PARAMS = ("db", "client_name")
DEFAULT_PORTS = {"standalone": 6379, "sentinel": 26379, "cluster": 6379}
#: Files a TLS directory (the operator mounts the Secret's keys there) may hold.
TLS_DIR_FILES = {"ca.crt": "ssl_ca_certs", "tls.crt": "ssl_certfile", "tls.key": "ssl_keyfile"}

Kind = Literal["standalone", "sentinel", "cluster"]
_KINDS: dict[str, Kind] = {"sentinel": "sentinel", "cluster": "cluster"}


class RedisUrlError(InvalidArgumentError):
    """The Redis URL is malformed; the message names the part at fault, never a secret."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Redis URL: {detail}", field="redis_url")
        self.detail = detail


@dataclass(frozen=True)
class RedisTarget:
    """What a URL points at: the topology, its nodes, credentials and TLS options."""

    kind: Kind
    tls: bool
    #: (host, port) of the server, the sentinels or the cluster's seed nodes (any reachable
    #: node tells the client every other one); empty for unix.
    hosts: tuple[tuple[str, int], ...]
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    #: Sentinel's master name (``redis+sentinel://.../SERVICE``).
    service: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    #: The ssl_* options, with redis-py's names.
    ssl: tuple[tuple[str, str], ...] = ()
    #: A standalone URL as redis-py takes it (without the parameters handled here).
    redis_py_url: str = field(default="", repr=False)


def parse_url(url: str) -> RedisTarget:
    """The checked target of ``url``; a ``RedisUrlError`` naming what is wrong otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise RedisUrlError("empty; expected redis://host:6379/0 (or rediss://, unix://, ...)")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise RedisUrlError(f"malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise RedisUrlError(f"{shown}; expected one of {', '.join(s + '://' for s in SCHEMES)}")
    kind: Kind = _KINDS.get(scheme.partition("+")[2], "standalone")
    tls = scheme.startswith("rediss")
    params = _query(parts.query, tls)
    if kind != "sentinel" and params.keys() & set(SENTINEL_PARAMS):
        raise RedisUrlError("sentinel_username/sentinel_password need redis+sentinel://")
    username, password, hostpart = _userinfo(parts.netloc)
    if scheme == "unix":
        if not parts.path:
            raise RedisUrlError("unix:// needs the socket's path (unix:///run/redis.sock)")
        hosts: tuple[tuple[str, int], ...] = ()
    else:
        hosts = _hosts(hostpart, DEFAULT_PORTS[kind], several=kind != "standalone")
    db, service = _path(parts.path if scheme != "unix" else "", kind)
    if "db" in params:
        db = _int("db", params["db"])
    ssl = tuple((k, v) for k, v in params.items() if k in TLS_PARAMS)
    if kind == "cluster" and db != 0:
        raise RedisUrlError(f"db {db}: Redis Cluster has database 0 only")
    kept = {k: v for k, v in params.items() if k in (*TLS_PARAMS, *PLAIN_PARAMS)}
    return RedisTarget(
        kind=kind,
        tls=tls,
        hosts=hosts,
        db=db,
        username=username,
        password=password,
        service=service,
        sentinel_username=params.get("sentinel_username"),
        sentinel_password=params.get("sentinel_password"),
        ssl=ssl,
        redis_py_url=urlunsplit(parts._replace(query=urlencode(kept)))
        if kind == "standalone"
        else "",
    )


def _query(query: str, tls: bool) -> dict[str, str]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise RedisUrlError("malformed query string; expected ?name=value&name=value") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in (*TLS_PARAMS, *SENTINEL_PARAMS, *PLAIN_PARAMS):
            known = ", ".join((*TLS_PARAMS, *SENTINEL_PARAMS, *PLAIN_PARAMS))
            raise RedisUrlError(f"unknown query parameter {name!r}; known: {known}")
        if name in TLS_PARAMS and not tls:
            raise RedisUrlError(f"{name} needs TLS: use rediss:// (or rediss+sentinel://)")
        if name in TLS_FILE_PARAMS and not os.path.isfile(value):
            raise RedisUrlError(f"{name}: no such file {value!r}")
        if name == "ssl_cert_reqs" and value.lower() not in CERT_REQS:
            raise RedisUrlError(f"ssl_cert_reqs {value!r}; one of {', '.join(CERT_REQS)}")
        params[name] = value
    return params


def _userinfo(netloc: str) -> tuple[str | None, str | None, str]:
    if "@" not in netloc:
        return None, None, netloc
    info, _, hostpart = netloc.rpartition("@")
    user, sep, password = info.partition(":")
    return (unquote(user) or None), (unquote(password) if sep else None), hostpart


def _hosts(hostpart: str, default_port: int, *, several: bool) -> tuple[tuple[str, int], ...]:
    if not hostpart:
        raise RedisUrlError("no host; expected host:port after the scheme")
    items = hostpart.split(",")
    if len(items) > 1 and not several:
        raise RedisUrlError("several hosts need redis+sentinel:// (or redis+cluster://)")
    out = []
    for item in items:
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port_text = rest.removeprefix(":")
        else:
            host, _, port_text = item.partition(":")
        if not host:
            raise RedisUrlError(f"host {item!r}: empty host name")
        port = _int(f"port of host {host!r}", port_text) if port_text else default_port
        if not 0 < port < 65536:
            raise RedisUrlError(f"port of host {host!r}: {port} is not in 1-65535")
        out.append((host, port))
    return tuple(out)


def _path(path: str, kind: Kind) -> tuple[int, str | None]:
    segments = [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
    if kind == "sentinel":
        if not segments:
            raise RedisUrlError("Sentinel needs the master's name: redis+sentinel://h:26379/NAME")
        if len(segments) > 2:
            raise RedisUrlError(f"path {path!r}; expected /SERVICE_NAME or /SERVICE_NAME/DB")
        return (_int("db", segments[1]) if len(segments) == 2 else 0), segments[0]
    if len(segments) > 1:
        raise RedisUrlError(f"path {path!r}; expected /DB (a number)")
    return (_int("db", segments[0]) if segments else 0), None


def _int(part: str, text: str) -> int:
    if not text.isdigit():
        raise RedisUrlError(f"{part}: {text!r} is not a number")
    return int(text)


def redact(url: str) -> str:
    """``url`` with its passwords (user's and Sentinel's) masked, fit for any message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed Redis URL>"
    netloc = parts.netloc
    if "@" in netloc:
        info, _, hostpart = netloc.rpartition("@")
        user, sep, _ = info.partition(":")
        netloc = f"{user}:***@{hostpart}" if sep else netloc
    query = "&".join(
        f"{k}=***" if k == "sentinel_password" else f"{k}={v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def with_tls_dir(url: str, directory: str) -> str:
    """``url`` plus an ssl_* parameter for each of ``ca.crt``, ``tls.crt``, ``tls.key`` found
    in ``directory`` (the operator mounts the Redis Secret's keys there) that the URL does
    not set itself; unchanged for a plain-text URL."""
    parts = urlsplit(url)
    if not parts.scheme.lower().startswith("rediss"):
        return url
    given = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [
        (param, os.path.join(directory, name))
        for name, param in TLS_DIR_FILES.items()
        if param not in given and os.path.isfile(os.path.join(directory, name))
    ]
    if not extra:
        return url
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit(parts._replace(query=query))
