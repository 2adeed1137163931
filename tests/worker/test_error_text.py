"""What a failed attempt keeps of its exception: the error line first, then the traceback."""

from __future__ import annotations

from worker_runtime.worker.execution import ERROR_CHARS, error_text


def _raise(depth: int) -> None:
    if depth == 0:
        raise ValueError("kaboom")
    _bounce(depth - 1)


def _bounce(depth: int) -> None:
    # Alternating frames: Python folds runs of identical ones into a single line.
    _raise(depth)


def test_the_exception_line_comes_first_then_the_traceback() -> None:
    try:
        _raise(3)
    except ValueError as exc:
        text = error_text(exc)
    lines = text.splitlines()
    assert lines[0] == "ValueError: kaboom"
    assert lines[1] == "Traceback (most recent call last):"
    assert text.rstrip().endswith("ValueError: kaboom")


def test_a_long_traceback_loses_its_tail_never_the_error() -> None:
    try:
        _raise(200)
    except ValueError as exc:
        text = error_text(exc)
    assert len(text) == ERROR_CHARS
    assert text.startswith("ValueError: kaboom\n")
