"""Errors of any command: one line on stderr, the right exit code, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from tests.cli.conftest import Run, Snapshot, assert_one_line_error
from tests.redis_server import free_port
from worker_runtime.cli import cli


def test_connection_refused_is_one_line_with_exit_1() -> None:
    url = f"redis://user:s3cret@127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(cli, ["queue", "list"], env={"REDIS_URL": url})
    assert_one_line_error(result, 1, "cannot reach Redis", "--redis-url", "***")
    assert "s3cret" not in result.stderr


def test_a_password_on_the_command_line_is_warned_about_once() -> None:
    url = f"redis://user:s3cret@127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(cli, ["--redis-url", url, "queue", "list"])
    assert result.exit_code == 1
    warning, error = result.stderr.splitlines()
    assert warning.startswith("warning: --redis-url carries a password")
    assert "REDIS_URL or --redis-url-file" in warning
    assert error.startswith("error: ") and "s3cret" not in result.stderr
    no_password = CliRunner().invoke(
        cli, ["--redis-url", f"redis://127.0.0.1:{free_port()}/0", "queue", "list"]
    )
    assert not no_password.stderr.startswith("warning")


def test_redis_url_from_a_file(redis_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text(redis_url + "\n")
    result = CliRunner().invoke(
        cli, ["--redis-url-file", str(secret), "-o", "json", "queue", "list"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and json.loads(result.stdout) == []
    from_env = CliRunner().invoke(cli, ["queue", "list"], env={"REDIS_URL_FILE": str(secret)})
    assert from_env.exit_code == 0, from_env.output
    missing = CliRunner().invoke(cli, ["--redis-url-file", str(tmp_path / "nope"), "queue", "list"])
    assert_one_line_error(missing, 2, "--redis-url-file", "cannot read")
    both = CliRunner().invoke(
        cli, ["--redis-url", redis_url, "--redis-url-file", str(secret), "queue", "list"]
    )
    assert_one_line_error(both, 2, "give one")


def test_redis_url_from_the_environment(redis_url: str) -> None:
    result = CliRunner().invoke(cli, ["queue", "list"], env={"REDIS_URL": redis_url})
    assert result.exit_code == 0, result.output


def test_malformed_redis_url() -> None:
    result = CliRunner().invoke(cli, ["--redis-url", "http://x", "queue", "list"])
    assert_one_line_error(result, 2, "--redis-url")


def test_usage_errors_are_one_line_too(run: Run, snapshot: Snapshot) -> None:
    before = snapshot()
    assert_one_line_error(run("-o", "xml", "queue", "list"), 2, "xml")
    assert_one_line_error(run("queue", "list", "-o", "xml"), 2, "xml")
    assert_one_line_error(run("queue", "nope"), 2, "nope", "--help")
    assert_one_line_error(run("job", "enqueue", "q"), 2, "JOB_NAME")
    assert snapshot() == before


def test_help_still_works(run: Run) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for group in ("queue", "job", "dlq"):
        assert group in result.stdout


def test_every_command_that_prints_data_takes_o_after_its_name_too() -> None:
    """``-o`` works before the subcommand (global) and after it, on every command."""
    lacking: list[str] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name])
        elif not any("-o" in getattr(p, "opts", []) for p in command.params):
            lacking.append(" ".join(path))

    walk(cli, [])
    # worker start, dashboard and exporter run until stopped, devcluster prints export
    # lines: no data to format.
    assert sorted(lacking) == ["dashboard", "devcluster", "exporter", "worker start"]
