"""The dashboard's pure parts: display filters, rates, redirects, the token file, the command."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dashboard.actions import safe_back
from dashboard.data import RATE_WINDOW_MS, Rates
from dashboard.security import TokenFileError, read_token
from dashboard.views import age, environment, rate
from worker_runtime.cli import cli
from worker_runtime.engine.activity import Activity


def test_ages_and_rates_read_like_people_write_them() -> None:
    assert [age(None), age(950), age(42_000), age(185_000)] == ["-", "950ms", "42s", "3m 5s"]
    assert [age(7_800_000), age(356_400_000)] == ["2h 10m", "4d 3h"]
    assert [rate(None), rate(0.25), rate(12.34), rate(1234.5)] == [
        "-",
        "0.25/s",
        "12.3/s",
        "1,234/s",
    ]


def test_templates_escape_every_value() -> None:
    page = environment().from_string("<td>{{ v }}</td>").render(v="<script>x</script>")
    assert page == "<td>&lt;script&gt;x&lt;/script&gt;</td>"


def test_rates_count_enqueues_and_completions_over_the_window() -> None:
    rates = Rates()
    t = 1_000_000
    # First read: 30 completions in the last minute, no enqueue rate yet.
    assert rates.add("q", Activity(t, enqueued=100, completed=30, dead=0, cancelled=0)) == (
        None,
        30 * 1000 / RATE_WINDOW_MS,
    )
    # 10 s later: the counters say 70 more jobs; 15 completed meanwhile, and the minute
    # before the first read still counts (the rate does not drop on the second read).
    enqueued, completed = rates.add("q", Activity(t + 10_000, 170, 15, 5, 0))
    assert (enqueued, completed) == (7.0, 45 * 1000 / 70_000)
    # Nothing enqueued, whatever was purged or finished: the rate only dilutes.
    enqueued, _ = rates.add("q", Activity(t + 20_000, 170, 0, 9, 3))
    assert enqueued == 3.5
    # The queue was deleted and made again: its counters restarted, at 4 jobs now.
    enqueued, _ = rates.add("q", Activity(t + 30_000, 4, 0, 0, 0))
    assert enqueued == 74 / 30
    # Samples older than the window fall out.
    enqueued, completed = rates.add("q", Activity(t + 200_000, 14, 0, 0, 0))
    assert enqueued == 10 / 170 and completed == 0


def test_after_an_action_only_a_path_of_this_site() -> None:
    assert safe_back("/queues/a?state=dead") == "/queues/a?state=dead"
    for target in ("//evil.example/", "/\\\\evil.example", "https://evil.example/", ""):
        assert safe_back(target) == "/"
    # A URL parser drops tabs and newlines ("/\t/evil.example" is //evil.example to yarl and to
    # browsers); a path of this site never holds them, nor spaces or backslashes.
    for target in ("/\t/evil.example/", "/\n/evil.example", "/\r\n/evil.example", "/ /x", "/a\\b"):
        assert safe_back(target) == "/"
    assert safe_back("/queues/emails/jobs/x%3Fy%23z?state=dead") == (
        "/queues/emails/jobs/x%3Fy%23z?state=dead"
    )


def test_token_file(tmp_path: Path) -> None:
    good = tmp_path / "token"
    good.write_text("a-long-enough-token-123\nignored\n")
    assert read_token(str(good)) == "a-long-enough-token-123"
    short = tmp_path / "short"
    short.write_text("abc\n")
    for path in (short, tmp_path / "missing"):
        try:
            read_token(str(path))
        except TokenFileError as exc:
            assert str(exc).startswith("--token-file: ")
        else:
            raise AssertionError(f"{path} accepted")


def test_the_command_refuses_a_bad_token_file_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["dashboard", "--token-file", str(tmp_path / "missing"), "--port", "0"]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --token-file: cannot read") and result.stdout == ""
    assert "dashboard" in CliRunner().invoke(cli, ["--help"]).output


def test_rates_forget_deleted_queues() -> None:
    rates = Rates()
    rates.add("gone", Activity(1_000, 0, 0, 0, 0))
    rates.add("kept", Activity(1_000, 0, 0, 0, 0))
    rates.keep_only(["kept"])
    assert not rates.seen("gone") and rates.seen("kept")
    assert rates.since_ms("gone", 500_000) == 500_000 - RATE_WINDOW_MS
    assert rates.since_ms("kept", 500_000) == 1_000
