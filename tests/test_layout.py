"""The layout shrinks one rule at a time: a series just long enough for each rule gets it."""

from __future__ import annotations

import numpy as np
import pytest

from growlstm.config import EvalConfig
from growlstm.data.layout import MIN_HISTORY, plan

H, LOOKBACK = 6, 12
EV = EvalConfig(val_origins=3)  # 3 validation origins 2 apart, 1 test origin, an early-stopping slice


def _ordered(cut) -> None:
    """What judges never steered training: every training and stopping target before validation."""
    assert cut.train_end <= cut.val[0] - (H if cut.stop.size else 0) or cut.stop.size == 0
    if cut.stop.size:
        assert cut.stop.max() + H <= cut.val[0]
        assert cut.stop.min() >= cut.train_end
    if cut.test.size:
        assert cut.val[-1] + H <= cut.test[0] and cut.test[-1] + H == cut.n
    else:
        assert cut.val[-1] + H == cut.n


# Full layout: test 6, validation 6 + 2*2 = 10, slice 10, and h windows of lookback 12 + h - 1.
FULL = 6 + 10 + 10 + LOOKBACK + 2 * H - 1


ONE = ("1 validation origin (of 3)",)
NO_TEST = (*ONE, "an early-stopping slice of one origin", "no internal test span")
NO_SLICE = (*ONE, "no early-stopping slice", "no internal test span")


# Each rule's shortest series, and one point shorter (the next rule). One validation origin's
# slice already is one origin long, so that rule adds nothing until the test span goes.
@pytest.mark.parametrize("n, steps", [
    (FULL, ()), (FULL - 1, ("2 validation origins (of 3)",)), (FULL - 4, ("2 validation origins (of 3)",)),
    (FULL - 5, ONE), (FULL - 8, ONE), (FULL - 9, NO_TEST), (FULL - 14, NO_TEST), (FULL - 15, NO_SLICE),
    (FULL - 20, NO_SLICE),
])
def test_each_rule_applies_just_where_the_longer_layout_stops_fitting(n: int, steps: tuple[str, ...]) -> None:
    cut = plan(n, H, EV, LOOKBACK, min_windows=H)
    assert cut is not None and cut.n_windows >= H
    assert cut.steps == steps
    _ordered(cut)


def test_the_smallest_layout_one_point_shorter_has_too_few_windows() -> None:
    assert plan(FULL - 20, H, EV, LOOKBACK, min_windows=H).n_windows == H
    short = plan(FULL - 21, H, EV, LOOKBACK, min_windows=H)
    assert short is not None and short.n_windows == H - 1  # handed back for the classical forecasts


def test_the_default_lookback_shortens_before_the_layout_does() -> None:
    cut = plan(FULL - 3, H, EV, LOOKBACK, min_windows=H, shorten_to=H)
    assert cut.steps == ("lookback shortened to 9",) and cut.input_size == 9 and cut.n_windows == H


def test_a_held_out_test_span_is_never_dropped() -> None:
    n = FULL - 9
    cut = plan(n, H, EV, LOOKBACK, min_windows=H, test_span=H)
    assert cut.test.tolist() == [n - H]
    assert "no internal test span" not in cut.steps
    _ordered(cut)


def test_padded_lookback_needs_one_window_and_starts_at_the_first_point() -> None:
    cut = plan(2 * H + 2, H, EV, LOOKBACK, pad=True)
    assert cut.first_origin == 1 and cut.n_windows >= 1
    assert cut.val.tolist() == [H + 2] and cut.test.size == 0 and cut.stop.size == 0
    _ordered(cut)


def test_too_short_to_validate_is_none_and_just_enough_is_not() -> None:
    assert plan(H + MIN_HISTORY - 1, H, EV, LOOKBACK, pad=True) is None
    cut = plan(H + MIN_HISTORY, H, EV, LOOKBACK, pad=True)
    assert cut is not None and cut.val.tolist() == [MIN_HISTORY] and cut.n_windows == 0
    assert plan(H + MIN_HISTORY + H - 1, H, EV, LOOKBACK, pad=True, test_span=H) is None  # held out: h more


def test_early_stop_on_validation_keeps_its_rule() -> None:
    ev = EvalConfig(early_stop="val")
    cut = plan(200, H, ev, LOOKBACK)
    assert np.array_equal(cut.stop, cut.val) and cut.train_end == cut.val[0]


def test_more_validation_origins_lengthen_the_span_at_three_per_horizon() -> None:
    from growlstm.data.layout import origin_step

    # Up to three origins the step is h / origins (the span covers about two horizons) ...
    assert [origin_step(18, EvalConfig(val_origins=k)) for k in (1, 2, 3)] == [18, 9, 6]
    # ... beyond, the step stays h / 3, so each added origin brings new target values.
    assert origin_step(18, EvalConfig(val_origins=9)) == 6
    layout = plan(600, 18, EvalConfig(val_origins=9), 36)
    assert layout is not None and len(layout.val) == 9 and np.all(np.diff(layout.val) == 6)
    assert layout.val[-1] + 18 == layout.test[0]  # the span ends where the test span starts
    # Origins beyond three only while training keeps half the series: 250 points afford six
    # (train_end 250 - 18 - 2 * (18 + 5 * 6) = 136 >= 125); a seventh would leave 124.
    mid = plan(250, 18, EvalConfig(val_origins=9), 36)
    assert mid is not None and len(mid.val) == 6 and mid.train_end == 136 and "6 validation origins (of 9)" in mid.describe()
    # A short series keeps the three every layout starts from (M1 monthly: 150 points).
    short = plan(150, 18, EvalConfig(val_origins=9), 36, min_windows=18, shorten_to=18)
    assert short is not None and len(short.val) == 3
