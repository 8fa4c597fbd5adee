"""The recipe's decisions on scripted validation histories (no training involved)."""

from __future__ import annotations

import math

import pytest

from growlstm.config import GrowthConfig
from growlstm.growth.policy import (
    CapFn, Proposal, Stage, Stop, capacity_cap, decide, improves, next_width, related, replay, seed_sources,
)

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
    assert decide(h, GROWTH, WIDE_CAP, None) == Proposal("widen", [4], parent=1)


def test_patience_tolerates_one_small_gain() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.895))
    assert decide(h, GROWTH, WIDE_CAP, None) == Proposal("widen", [6], parent=2)


def test_plateau_deepens_from_the_best_validating_width() -> None:
    # [4] and [6] are not accepted over [3] (gains below 2%), but [6] validates best: the new
    # layer grows on it, not on the older accepted width.
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.895), ([6], "widen", 0.894))
    out = decide(h, GROWTH, WIDE_CAP, None)
    assert isinstance(out, Proposal) and out.action == "deepen" and out.widths == [6, 2] and out.parent == 3
    assert replay(h, GROWTH).phase_best == 1  # the accepted width is still [3]


def test_new_layer_is_widened() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.9), ([6], "widen", 0.9), ([3, 2], "deepen", 0.95))
    assert decide(h, GROWTH, WIDE_CAP, None) == Proposal("widen", [3, 3], parent=4)


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
        "deepen", [3, 2, 2], "gain below 2% or within the seed noise for 2 widening(s)", parent=4
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
    assert out == Proposal("widen", [4], parent=1)


def test_cap_blocks_widening_but_allows_a_layer() -> None:
    cap = CapFn(n_samples=6 * 2 * 11, n_inputs=1, n_outputs=10)  # 6 cells
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.8))
    out = decide(h, GROWTH, cap, None)  # 6 fits; so widen to 6 first
    assert out == Proposal("widen", [6], parent=2)
    h = hist(([2], "start", 1.0), ([3], "widen", 0.9), ([4], "widen", 0.8), ([6], "widen", 0.7))
    out = decide(h, GROWTH, cap, None)  # 8 > 6 and 6 + 2 > 6
    assert isinstance(out, Stop) and out.reason == "capacity_cap"


def test_capacity_that_hurts_tightens_alpha_and_can_stop_growth() -> None:
    # [6] fits training better than [4] and validates 12% worse with every seed: over-fitting.
    cap = CapFn(n_samples=8 * 2 * 11, n_inputs=1, n_outputs=10)  # 8 cells at alpha 2, 4 at alpha 4
    stages = [
        Stage([2], "start", 1.0, 0.01, train=0.5), Stage([3], "widen", 0.9, 0.01, train=0.4, parent=0),
        Stage([4], "widen", 0.8, 0.01, train=0.3, parent=1), Stage([6], "widen", 0.9, 0.01, train=0.2, parent=2),
    ]
    state = replay(stages, GROWTH)
    assert state.alpha == 4.0 and state.overfit == [False, False, False, True]
    out = decide(stages, GROWTH, cap, None)
    assert isinstance(out, Stop) and out.reason == "capacity_cap" and "alpha" in out.note


def test_alpha_does_not_rise_while_validation_improves() -> None:
    # Validation loss far above training loss (what the old ratio rule called over-fitting), but
    # every widening validates better beyond noise: no evidence that capacity hurts.
    stages = [Stage([2], "start", 1.0, 0.01, train=0.05)] + [
        Stage([w], "widen", 1.0 - 0.1 * k, 0.01, train=0.05 / (k + 1), parent=k - 1)
        for k, w in enumerate([3, 4, 6, 8], start=1)
    ]
    state = replay(stages, GROWTH)
    assert state.alpha == GROWTH.alpha and not any(state.overfit)


def test_worse_validation_within_noise_or_with_worse_training_fit_is_not_overfitting() -> None:
    noisy = [Stage([2], "start", 1.0, 0.4, train=0.5), Stage([3], "widen", 1.1, 0.4, train=0.4, parent=0)]
    underfit = [Stage([2], "start", 1.0, 0.01, train=0.5), Stage([3], "widen", 1.2, 0.01, train=0.6, parent=0)]
    assert replay(noisy, GROWTH).alpha == GROWTH.alpha  # 10% worse, inside half the 0.4 seed spread
    assert replay(underfit, GROWTH).alpha == GROWTH.alpha  # a training failure, not over-fitting


def test_alpha_never_passes_alpha_max() -> None:
    stages = [Stage([2], "start", 1.0, train=1.0)] + [
        Stage([2 + k], "widen", 1.0 + 0.5 * k, train=1.0 / (k + 1), parent=k - 1) for k in range(1, 11)
    ]
    assert replay(stages, GROWTH).alpha == GROWTH.alpha_max


def test_paired_seeds_are_more_evidence_when_the_gain_is_inside_the_spread() -> None:
    # Seeds differ by +-0.2 from each other, so unpaired the 5% gain is inside the spread; but
    # each seed grown warm from its parent gained 0.04-0.06: paired, the gain is real.
    parent = Stage([2], "start", 1.0, 0.2, seeds=(0.8, 1.0, 1.2))
    child = Stage([3], "widen", 0.95, 0.2, seeds=(0.76, 0.94, 1.15), parent=0)
    assert not improves(parent, child, GROWTH)
    assert improves(parent, child, GROWTH, paired=True)
    # The history knows the pairing from the parent link (cold stages have none).
    assert replay([parent, child], GROWTH).phase_best == 1
    cold = Stage([3], "widen", 0.95, 0.2, seeds=(0.76, 0.94, 1.15))
    assert replay([parent, cold], GROWTH).phase_best == 0
    # Seeds that disagree on the direction of the gain stay inside the noise, paired or not.
    mixed = Stage([3], "widen", 0.95, 0.2, seeds=(0.55, 1.1, 1.2), parent=0)
    assert not improves(parent, mixed, GROWTH, paired=True)


def test_pairing_follows_the_chain_of_parents() -> None:
    h = [
        Stage([2], "start", 1.0), Stage([3], "widen", 1.0, parent=0), Stage([4], "widen", 1.0, parent=1),
        Stage([2, 2], "deepen", 1.0, parent=0), Stage([3], "widen", 1.0),
    ]
    assert related(h, 0, 2) and related(h, 2, 0) and related(h, 3, 0)
    assert not related(h, 2, 3) and not related(h, 0, 4)


def test_a_seed_lagging_the_best_beyond_the_tolerance_starts_afresh() -> None:
    assert seed_sources((0.50, 0.90, 0.54), 0.1) == [0, None, 2]  # 0.90 > 0.55; 0.54 is within 10%
    assert seed_sources((0.50, 0.90, 0.54), None) == [0, 1, 2]  # off: every seed grows from its own
    assert seed_sources((0.50, 0.51), 0.1) == [0, 1]
    assert seed_sources((0.50, math.inf), 0.1) == [0, None]  # a seed that failed is not grown
    assert seed_sources((), 0.1) == []


def test_a_stage_with_a_restarted_seed_does_not_pair_with_its_parent() -> None:
    # The paired case above, but seed 2 of the child started afresh: its gain is no paired evidence,
    # so the comparison is unpaired and the 5% gain stays inside the seeds' spread.
    parent = Stage([2], "start", 1.0, 0.2, seeds=(0.8, 1.0, 1.2))
    child = Stage([3], "widen", 0.95, 0.2, seeds=(0.76, 0.94, 1.15), parent=0, own_seeds=False)
    assert not related([parent, child], 0, 1)
    assert replay([parent, child], GROWTH).phase_best == 0
    # Its own child pairs with it (each seed grew from its own), but not past it to the root.
    grandchild = Stage([4], "widen", 0.9, 0.2, seeds=(0.7, 0.9, 1.1), parent=1)
    h = [parent, child, grandchild]
    assert related(h, 1, 2) and not related(h, 0, 2)


def test_widening_continues_past_the_widest_tried_from_the_best_validating_width() -> None:
    # [4] validated best, [6] did not: the next widening is [8], grown from [4].
    h = hist(([2], "start", 1.0), ([3], "widen", 0.97), ([4], "widen", 0.90), ([6], "widen", 0.95))
    assert decide(h, GrowthConfig(patience=2), WIDE_CAP, None) == Proposal("widen", [8], parent=2)


def test_goal_stops_at_the_smallest_stage_that_meets_it() -> None:
    # Growth would go on (large gains), but stage 1 meets the goal: it stops there, with or
    # without noise in the seeds.
    h = [Stage([2], "start", 1.0, 0.3), Stage([3], "widen", 0.7, 0.3, parent=0)]
    assert decide(h, GROWTH, WIDE_CAP, 0.8) == Stop("goal_met", "stage 1 meets the goal on the validation mean")
    assert isinstance(decide(h, GROWTH, WIDE_CAP, None), Proposal)


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


def test_a_run_saved_with_the_retired_overfit_ratio_reads_back() -> None:
    from growlstm.config import Config, config_from_dict
    from growlstm.records.store import config_dict
    from growlstm.errors import InputError

    saved = config_dict(Config())
    saved["growth"]["overfit_ratio"] = 2.0  # what runs written before alpha moved on evidence hold
    assert config_from_dict(saved) == Config()
    saved["growth"]["overfit_ratoi"] = 2.0  # any other unknown key is still refused
    with pytest.raises(InputError, match="overfit_ratoi"):
        config_from_dict(saved)


PROBING = GrowthConfig(min_gain=0.02, patience=1, max_layers=3, max_stages=20, probe=True,
                       schedule=[2, 3, 4, 6, 8, 12, 16, 24, 32])


def test_a_flat_start_probes_the_widest_allowed_width_once() -> None:
    flat = hist(([2], "start", 1.0), ([3], "widen", 1.0), ([4], "widen", 1.0))
    out = decide(flat, PROBING, WIDE_CAP, None)
    assert isinstance(out, Proposal) and out.action == "probe" and out.widths == [32] and out.parent is None
    assert decide(flat, GROWTH, WIDE_CAP, None).action == "deepen"  # growth.probe=false: no probe
    # A probe that validates better beyond the noise becomes the layer's width: growth goes on from it.
    better = [*flat, Stage([32], "probe", 0.7)]
    state = replay(better, PROBING)
    assert state.phase_best == 3 and state.strikes == 0
    assert decide(better, PROBING, WIDE_CAP, None) == Proposal("deepen", [32, 2], "end of growth.schedule", parent=3)
    # One that does not: the layers grow on the best-validating width, and there is no second probe.
    worse = [*flat, Stage([32], "probe", 1.2)]
    out = decide(worse, PROBING, WIDE_CAP, None)
    assert isinstance(out, Proposal) and out.action == "deepen" and out.widths == [2, 2]


def test_no_probe_under_a_tight_cap_or_after_the_first_layer() -> None:
    cap = CapFn(n_samples=6 * 2 * 11, n_inputs=1, n_outputs=10)  # 6 cells: 6 < 2 x 4, nothing to probe
    flat = hist(([2], "start", 1.0), ([3], "widen", 1.0), ([4], "widen", 1.0))
    assert decide(flat, PROBING, cap, None).action == "deepen"  # type: ignore[union-attr]
    second = hist(([2], "start", 1.0), ([3], "widen", 1.0), ([4], "widen", 1.0), ([32], "probe", 1.1),
                  ([2, 2], "deepen", 0.9), ([2, 3], "widen", 0.9), ([2, 4], "widen", 0.9))
    assert decide(second, PROBING, WIDE_CAP, None).action == "deepen"  # type: ignore[union-attr]


def lb(widths: list[int], action: str, score: float, lookback: int, parent: int | None = None) -> Stage:
    return Stage(widths, action, score, parent=parent, lookback=lookback)  # type: ignore[arg-type]


def test_a_width_plateau_tries_a_longer_lookback_before_a_new_layer() -> None:
    h = [lb([2], "start", 1.0, 18), lb([3], "widen", 0.999, 18), lb([4], "widen", 0.998, 18)]
    out = decide(h, GROWTH, WIDE_CAP, None, lookbacks=[36, 54])
    assert isinstance(out, Proposal) and out.action == "lookback"
    assert out.widths == [4] and out.lookback == 36 and out.parent == 2  # the best-validating network
    assert "lookback 18 -> 36" in out.note


def test_a_longer_lookback_that_pays_restarts_the_widening_there() -> None:
    h = [lb([2], "start", 1.0, 18), lb([3], "widen", 0.999, 18), lb([4], "widen", 0.998, 18),
         lb([4], "lookback", 0.90, 36, parent=2)]
    assert replay(h, GROWTH).phase_best == 3
    assert decide(h, GROWTH, WIDE_CAP, None, lookbacks=[36, 54]) == Proposal("widen", [6], parent=3, lookback=36)


def test_a_lookback_that_does_not_pay_tries_the_next_then_deepens_at_the_old_one() -> None:
    h = [lb([2], "start", 1.0, 18), lb([3], "widen", 0.999, 18), lb([4], "widen", 0.998, 18),
         lb([4], "lookback", 0.999, 36, parent=2)]
    nxt = decide(h, GROWTH, WIDE_CAP, None, lookbacks=[36, 54])
    assert isinstance(nxt, Proposal) and (nxt.action, nxt.lookback) == ("lookback", 54)
    h.append(lb([4], "lookback", 1.001, 54, parent=2))
    out = decide(h, GROWTH, WIDE_CAP, None, lookbacks=[36, 54])
    assert isinstance(out, Proposal) and out.action == "deepen" and out.widths == [4, 2] and out.lookback == 18


def test_no_lookback_move_without_lookbacks_or_a_known_lookback() -> None:
    h = hist(([2], "start", 1.0), ([3], "widen", 0.999), ([4], "widen", 0.998))
    for lookbacks in ([], [36]):  # stages of unknown lookback (the move is off) never move it
        out = decide(h, GROWTH, WIDE_CAP, None, lookbacks=lookbacks)
        assert isinstance(out, Proposal) and out.action == "deepen"
