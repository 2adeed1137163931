"""Unit: autoscaling decisions over time (burst, sawtooth, scale to zero and back)."""

from __future__ import annotations

import pytest

from queue_operator.autoscaler import MAX_HISTORY, Policy, Rec, decide, recommend, remember


def run(policy: Policy, backlogs: list[int], start: int | None = 1, step: float = 15) -> list[int]:
    """Replicas after each poll, feeding each decision into the next."""
    current, out = start, []
    history: tuple[Rec, ...] = ()
    for i, backlog in enumerate(backlogs):
        d = decide(policy, backlog, current, history, 1000 + i * step)
        current, history = d.replicas, d.history
        out.append(d.replicas)
    return out


@pytest.mark.parametrize(
    ("backlog", "expected"),
    [(0, 1), (1, 1), (10, 1), (11, 2), (95, 10), (1000, 10)],
)
def test_recommend_clamps(backlog: int, expected: int) -> None:
    assert recommend(backlog, Policy(1, 10, 10)) == expected


def test_floor_from_kubectl_scale_raises_the_minimum() -> None:
    assert recommend(0, Policy(0, 10, 10, floor=3)) == 3
    assert recommend(0, Policy(0, 4, 10, floor=30)) == 4


def test_burst_scales_up_at_once_then_down_after_window() -> None:
    policy = Policy(1, 10, 10, down_window_s=60)
    backlogs = [0, 100, 100, 0, 0, 0, 0, 0, 0]
    # Polls every 15 s: the 60 s window holds the peak (last seen at poll 2) until poll 6.
    assert run(policy, backlogs) == [1, 10, 10, 10, 10, 10, 1, 1, 1]


def test_sawtooth_never_flaps() -> None:
    policy = Policy(1, 10, 10, down_window_s=300)
    backlogs = [50, 0] * 10
    replicas = run(policy, backlogs)
    assert replicas == [5] * 20


def test_scale_to_zero_and_wake_at_once() -> None:
    policy = Policy(0, 5, 10, up_window_s=120, down_window_s=30)
    replicas = run(policy, [0, 0, 0, 0, 3, 3], start=2)
    assert replicas == [2, 2, 0, 0, 1, 1]


def test_scale_up_window_uses_the_lowest_recommendation() -> None:
    policy = Policy(1, 10, 10, up_window_s=30, down_window_s=0)
    # A spike shorter than the window does not scale; once every recommendation of the last
    # 30 s is high, it does.
    assert run(policy, [0, 100, 0, 100, 100, 100]) == [1, 1, 1, 1, 10, 10]


def test_gradual_scale_down_steps_through_window_maxima() -> None:
    policy = Policy(1, 10, 10, down_window_s=30)
    assert run(policy, [100, 60, 30, 30, 30, 30], start=None) == [10, 10, 6, 3, 3, 3]


def test_spec_changes_apply_at_once() -> None:
    d = decide(Policy(4, 10, 10), 0, 1, (), 0)
    assert (d.replicas, d.direction) == (4, "up")
    d = decide(Policy(1, 3, 10), 100, 8, (), 0)
    assert (d.replicas, d.direction) == (3, "down")


def test_history_merges_runs_and_is_bounded() -> None:
    history: tuple[Rec, ...] = ()
    for t in range(10):
        history = remember(history, Rec(t, 2), keep_s=100)
    assert history == (Rec(9, 2),)
    for t in range(1000):
        history = remember(history, Rec(100 + t, t % 7), keep_s=10_000)
    assert len(history) == MAX_HISTORY
    assert remember(history, Rec(100_000, 1), keep_s=5) == (Rec(100_000, 1),)


def test_reasons_are_readable() -> None:
    d = decide(Policy(1, 10, 10, down_window_s=300), 0, 5, (Rec(999, 5),), 1000)
    assert d.replicas == 5
    assert "holding 5" in d.reason and "300s" in d.reason
