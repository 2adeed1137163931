"""The CLI's shared state (settings and the lazily opened client) and its one-line errors."""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click
import redis.exceptions

from worker_runtime.engine.urls import RedisUrlError, redact
from worker_runtime.errors import (
    InvalidArgumentError,
    QueueError,
    RedisUnavailableError,
    StorageFullError,
)

if TYPE_CHECKING:
    # Loaded when used: `worker start` runs a worker with neither (see tests/cli).
    import pydantic

    from worker_runtime.client import SyncClient

OUTPUTS = ("table", "json", "yaml")
#: Exit code for bad input: nothing was sent to Redis (click uses 2 for usage errors too).
EXIT_USAGE = 2
#: Exit code for failures at run time: Redis unreachable, job not found, wrong job state.
EXIT_RUNTIME = 1


class _NeverRaised(Exception):
    pass


#: Raised by a bare group to print its help; click before 8.2 exits with ctx.exit instead.
NO_ARGS_HELP: type[Exception] = getattr(click.exceptions, "NoArgsIsHelpError", _NeverRaised)


class CliError(click.ClickException):
    """A failure shown as exactly one line on stderr, never a traceback."""

    exit_code = EXIT_RUNTIME

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {' '.join(self.message.split())}", err=True, file=file)


class InputError(CliError):
    """Bad input on the command line, refused before anything reached Redis."""

    exit_code = EXIT_USAGE


class AppContext:
    """Global options plus the client, opened on first use and closed when the CLI exits."""

    def __init__(self, redis_url: str, output: str) -> None:
        self.redis_url = redis_url
        self.output = output
        #: Enqueues wait for a replica (``job enqueue --durable``); read when the client opens.
        self.durable = False
        self._client: SyncClient | None = None

    @property
    def client(self) -> SyncClient:
        if self._client is None:
            from worker_runtime.client import SyncClient

            try:
                self._client = SyncClient(self.redis_url, durable=self.durable)
            except RedisUrlError as exc:
                raise InputError(f"--redis-url: {exc.detail}") from None
            except ValueError as exc:  # redis-py rejects what urls.parse_url let through
                raise InputError(f"--redis-url: {exc}") from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


pass_app = click.make_pass_decorator(AppContext)


def read_url_file(path: str) -> str:
    """The URL on the first line of ``path`` (a mounted Secret, say)."""
    try:
        with open(path, encoding="utf-8") as handle:
            url = handle.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"--redis-url-file: cannot read {path} ({reason})") from None
    if not url:
        raise InputError(f"--redis-url-file: {path} is empty; put the Redis URL on its first line")
    return url


def has_password(url: str) -> bool:
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False  # malformed: the client says what is wrong when it connects


def _set_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    app = ctx.find_object(AppContext)
    if value is not None and app is not None:
        app.output = value


#: ``-o`` on a subcommand too (``blackroad queue list -o json``); it overrides the global one.
output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUTS),
    default=None,
    expose_value=False,
    callback=_set_output,
    help="Output format: table, json or yaml.",
)


def _option_of(field: str) -> str:
    return "--" + field.removesuffix("_ms").replace("_", "-")


def _validation_message(exc: pydantic.ValidationError) -> str:
    # Queue settings fail pydantic validation; name the option the user typed, not the field.
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "setting"
    unit = " ms" if field.endswith("_ms") else ""
    return f"{_option_of(field)}: {first['msg'].lower()}{unit}; got {first['input']!r}{unit}"


def _validation_error(exc: Exception) -> pydantic.ValidationError | None:
    """``exc`` or its cause when it is pydantic's; never imports pydantic: until a command
    has loaded it, no ValidationError can exist."""
    loaded = sys.modules.get("pydantic")
    if loaded is None:
        return None
    kind: type[pydantic.ValidationError] = loaded.ValidationError
    for candidate in (exc, exc.__cause__):
        if isinstance(candidate, kind):
            return candidate
    return None


def usage_line(exc: click.UsageError) -> str:
    hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return exc.format_message() + hint


def translate(exc: Exception, app: AppContext | None) -> click.ClickException:
    """The one-line error for any exception a command lets escape."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, click.UsageError):
        return InputError(usage_line(exc))
    if isinstance(exc, click.ClickException):
        return exc  # click's own one-line "Error: ..." with its exit code
    invalid = _validation_error(exc)
    if invalid is not None:
        return InputError(_validation_message(invalid))
    if isinstance(exc, InvalidArgumentError):
        return InputError(str(exc))
    if isinstance(exc, QueueError) and not isinstance(exc, RedisUnavailableError):
        return CliError(str(exc))
    url = redact(app.redis_url) if app is not None else "the Redis URL"
    return _redis_error(exc, url) or CliError(
        f"unexpected {type(exc).__name__}: {exc}; rerun with BLACKROAD_DEBUG=1 for the "
        "traceback and report it"
    )


def _redis_error(exc: Exception, url: str) -> CliError | None:
    """The line for an error of Redis (or of the engine saying Redis cannot serve now)."""
    if isinstance(exc, StorageFullError):
        return CliError(
            f"Redis at {url} refuses writes ({exc}); free memory or disk on the Redis "
            "server (or raise its maxmemory) and try again"
        )
    if isinstance(exc, RedisUnavailableError) and exc.code is not None:
        return CliError(f"Redis at {url} cannot serve this now ({exc}); try again shortly")
    if isinstance(exc, redis.exceptions.AuthenticationError):
        return CliError(f"Redis at {url} refused the credentials ({exc}); fix them in --redis-url")
    if isinstance(
        exc,
        RedisUnavailableError | redis.exceptions.ConnectionError | redis.exceptions.TimeoutError,
    ):
        return CliError(f"cannot reach Redis at {url} ({exc}); {_reach_hint(url, str(exc))}")
    if isinstance(exc, redis.exceptions.RedisError):
        return CliError(f"Redis at {url} refused the request ({exc}); check the server's logs")
    return None


def _reach_hint(url: str, error: str) -> str:
    """What to check, by the failure's text: TLS troubles first, then a server that is down."""
    if "CERTIFICATE_VERIFY_FAILED" in error:
        return "the server's certificate is not signed by ssl_ca_certs (or REDIS_TLS_DIR's ca.crt)"
    if "CERTIFICATE_REQUIRED" in error:
        return "the server wants a client certificate: set ssl_certfile and ssl_keyfile"
    if url.startswith("redis://") and ("reset by peer" in error or "closed by server" in error):
        return "a server that speaks TLS only drops plain-text clients: use rediss://"
    return "start Redis there, or point --redis-url (or REDIS_URL) at a running server"


def debugging() -> bool:
    return os.environ.get("BLACKROAD_DEBUG", "") not in ("", "0")


class RootGroup(click.Group):
    """The root group: turns every error below it into one line on stderr and an exit code.

    Subcommands added later with ``cli.add_command`` get the same treatment for free.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NO_ARGS_HELP:
            raise  # a bare group prints its help; that is no error to squeeze into a line
        except click.UsageError as exc:  # a bad global option: click would print three lines
            raise InputError(usage_line(exc)) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, NO_ARGS_HELP):
            raise
        except Exception as exc:
            if debugging() and not isinstance(exc, click.ClickException):
                raise
            raise translate(exc, ctx.find_object(AppContext)) from exc
