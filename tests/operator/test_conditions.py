"""Unit: set_condition keeps lastTransitionTime unless the status changes; order is fixed."""

from __future__ import annotations

from queue_operator.conditions import Cond, set_condition


def test_transition_time_kept_while_status_unchanged() -> None:
    first = set_condition(None, Cond("Ready", "True", "ConfigApplied", "ok"), "T1", 1)
    again = set_condition(first, Cond("Ready", "True", "Other", "still ok"), "T2", 2)
    assert again[0]["lastTransitionTime"] == "T1"
    assert again[0]["reason"] == "Other"
    assert again[0]["observedGeneration"] == 2
    flipped = set_condition(again, Cond("Ready", "False", "RedisUnreachable", "down"), "T3", 2)
    assert flipped[0]["lastTransitionTime"] == "T3"


def test_ready_first_then_degraded() -> None:
    conds = set_condition(None, Cond("Degraded", "False", "AsExpected", ""), "T", None)
    conds = set_condition(conds, Cond("Ready", "True", "Fine", ""), "T", None)
    assert [c["type"] for c in conds] == ["Ready", "Degraded"]
    assert "observedGeneration" not in conds[0]
