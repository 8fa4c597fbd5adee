"""The recipe's decisions on scripted validation histories (no training involved)."""

from __future__ import annotations

import math

import pytest

from growlstm.config import GrowthConfig
from growlstm.policy import CapFn, Proposal, Stage, Stop, capacity_cap, decide, next_width, replay

GROWTH = GrowthConfig(min_gain=0.02, patience=1, max_layers=3, max_stages=20)
WIDE_CAP = CapFn(n_samples=100_000, n_inputs=1, n_outputs=10)  # never binding


def hist(*rows: tuple[list[int], str, float]) -> list[Stage]:
    return [Stage(widths, action, score) for widths, action, score in rows]


def test_capacity_rule_of_thumb() -> None:
    # N_h <= N_s / (alpha (N_i + N_o)): 454 targets, 1 input, 18 outputs.
    assert capacity_cap(454, 1, 18, 2.0) == 11
    assert capacity_cap(454, 1, 18, 10.0) == 2


def test_next_width_follows_schedule() -> None:
    assert next_width(2, [2, 3, 4, 6]) == 3
    assert next_width(5, [2, 3, 4, 6]) == 6
    assert next_width(6, [2, 3, 4, 6]) is None


def test_widens_while_gains_are_large() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9))
    assert decide(h, GROWTH, WIDE_CAP, None) == Proposal("widen", [4])


def test_patience_tolerates_one_small_gain() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.895))
    assert decide(h, GROWTH, WIDE_CAP, None) == Proposal("widen", [6])


def test_plateau_deepens_from_last_width_with_a_real_gain() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.895), ([6], "widen", 0.894))
    out = decide(h, GROWTH, WIDE_CAP, None)
    assert isinstance(out, Proposal) and out.action == "deepen" and out.widths == [3, 2]


def test_new_layer_is_widened() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.9), ([6], "widen", 0.9), ([3, 2], "deepen", 0.95))
    assert decide(h, GROWTH, WIDE_CAP, None) == Proposal("widen", [3, 3])


def test_layer_that_does_not_beat_best_is_dropped() -> None:
    h = hist(
        ([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.9), ([6], "widen", 0.9),
        ([3, 2], "deepen", 0.95), ([3, 3], "widen", 0.945), ([3, 4], "widen", 0.944),
    )
    out = decide(h, GROWTH, WIDE_CAP, None)
    assert isinstance(out, Stop) and out.reason == "plateau" and "dropped" in out.note


def test_layer_that_beats_best_leads_to_another_layer() -> None:
    h = hist(
        ([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.9), ([6], "widen", 0.9),
        ([3, 2], "deepen", 0.8), ([3, 3], "widen", 0.8), ([3, 4], "widen", 0.8),
    )
    assert decide(h, GROWTH, WIDE_CAP, None) == Proposal(
        "deepen", [3, 2, 2], "gain below 2% or within the seed spread for 2 widening(s)"
    )


def test_max_layers_ends_at_plateau() -> None:
    growth = GrowthConfig(max_layers=1, patience=0)
    h = hist(([2], "start", 1.0), ([3], "widen", 1.0))
    out = decide(h, growth, WIDE_CAP, None)
    assert isinstance(out, Stop) and out.reason == "plateau" and "max_layers" in out.note


def test_goal_met_stops_at_once() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.85))
    assert decide(h, GROWTH, WIDE_CAP, 0.9) == Stop("goal_met", "stage 1 meets the goal on the validation mean")
    assert isinstance(decide(h[:1], GROWTH, WIDE_CAP, 0.9), Proposal)


def test_cap_blocks_widening_then_deepening() -> None:
    cap = CapFn(n_samples=5 * 2 * 11, n_inputs=1, n_outputs=10)  # 5 cells at alpha 2
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.8))
    out = decide(h, GROWTH, cap, None)  # 6 > 5: no widening; 4 + 2 > 5: no layer either
    assert isinstance(out, Stop) and out.reason == "capacity_cap"
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9))
    out = decide(h, GROWTH, cap, None)
    assert out == Proposal("widen", [4])


def test_cap_blocks_widening_but_allows_a_layer() -> None:
    cap = CapFn(n_samples=6 * 2 * 11, n_inputs=1, n_outputs=10)  # 6 cells
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.8))
    out = decide(h, GROWTH, cap, None)  # 6 fits; so widen to 6 first
    assert out == Proposal("widen", [6])
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.8), ([6], "widen", 0.7))
    out = decide(h, GROWTH, cap, None)  # 8 > 6 and 6 + 2 > 6
    assert isinstance(out, Stop) and out.reason == "capacity_cap"


def test_overfitting_tightens_alpha_and_can_stop_growth() -> None:
    cap = CapFn(n_samples=8 * 2 * 11, n_inputs=1, n_outputs=10)  # 8 cells at alpha 2, 4 at alpha 4
    stages = [Stage([2], "start", 1.0), Stage([3], "widen", 0.9), Stage([4], "widen", 0.8), Stage([6], "widen", 0.7, overfit=True)]
    assert replay(stages, GROWTH).alpha == 4.0
    out = decide(stages, GROWTH, cap, None)
    assert isinstance(out, Stop) and out.reason == "capacity_cap" and "alpha" in out.note


def test_alpha_never_passes_alpha_max() -> None:
    stages = [Stage([2], "start", 1.0, overfit=True)] + [Stage([2], "widen", 1.0, overfit=True)] * 10
    assert replay(stages, GROWTH).alpha == GROWTH.alpha_max


def test_max_stages() -> None:
    growth = GrowthConfig(max_stages=2)
    h = hist(([2], "start", 1.0), ([3], "widen", 0.5))
    assert decide(h, growth, WIDE_CAP, None).reason == "max_stages"  # type: ignore[union-attr]


def test_failed_stage_counts_as_a_strike() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", math.inf), ([4], "widen", math.inf))
    out = decide(h, GROWTH, WIDE_CAP, None)
    assert isinstance(out, Proposal) and out.action == "deepen" and out.widths == [2, 2]


@pytest.mark.parametrize("end", [[2, 3, 4]])
def test_schedule_end_is_a_plateau(end: list[int]) -> None:
    growth = GrowthConfig(schedule=end, max_layers=1)
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.8))
    out = decide(h, growth, WIDE_CAP, None)
    assert isinstance(out, Stop) and "schedule" in out.note
