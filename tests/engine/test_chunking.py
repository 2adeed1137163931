"""Group by queue, then chunk: the split every multi-job script call goes through."""

from __future__ import annotations

from worker_runtime.engine.chunking import chunk_by_queue, chunk_groups, group_by_queue
from worker_runtime.engine.writes import MAX_BATCH


def _queue(item: tuple[str, int]) -> str:
    return item[0]


def test_groups_keep_first_seen_queue_order_and_item_order() -> None:
    items = [("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)]
    groups = group_by_queue(items, _queue)
    assert list(groups) == ["b", "a", "c"]
    assert groups == {"b": [("b", 1), ("b", 3)], "a": [("a", 2), ("a", 5)], "c": [("c", 4)]}


def test_nothing_gives_no_chunk() -> None:
    assert group_by_queue([], _queue) == {}
    assert chunk_by_queue([], _queue) == []


def test_each_queue_is_cut_into_runs_of_at_most_the_size() -> None:
    groups = {"a": list(range(7)), "b": [10, 11]}
    assert chunk_groups(groups, 3) == [
        ("a", [0, 1, 2]),
        ("a", [3, 4, 5]),
        ("a", [6]),
        ("b", [10, 11]),
    ]


def test_default_size_is_one_script_call_worth() -> None:
    items = [("q", i) for i in range(2 * MAX_BATCH + 1)] + [("r", -1)]
    chunks = chunk_by_queue(items, _queue)
    assert [(q, len(c)) for q, c in chunks] == [
        ("q", MAX_BATCH),
        ("q", MAX_BATCH),
        ("q", 1),
        ("r", 1),
    ]
    assert [x for q, c in chunks if q == "q" for x in c] == items[:-1]  # nothing lost or moved


def test_a_group_of_exactly_the_size_is_one_chunk() -> None:
    assert chunk_groups({"q": [1, 2, 3]}, 3) == [("q", [1, 2, 3])]
