"""Evaluation a forecaster can trust: origins, early-stopping slice, treatments, acceptance, DM."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.datasets import co2 as co2_data
import statsmodels.api as sm

from growlstm.config import EvalConfig, GrowthConfig
from growlstm.errors import InputError
from growlstm.baselines.backtesting import BaselineResult, run_baseline
from growlstm.growth.policy import CapFn, Proposal, Stage, Stop, decide, improves, replay
from growlstm.baselines import Theta, make_baseline
from growlstm.baselines.residual import ets_paths, seasonal_naive_paths, theta_paths, with_classical_base
from growlstm.verdict.significance import diebold_mariano
from growlstm.data.windows import layout, make_windows, reserved


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = 50 + np.arange(n) * 0.3 + 5 * np.sin(np.arange(n) * 2 * np.pi / 12) + rng.normal(size=n)
    return pd.DataFrame({"ds": pd.date_range("2000-01-01", periods=n, freq="MS"), "y": y})


@pytest.fixture(scope="module")
def co2() -> np.ndarray:
    s = co2_data.load_pandas().data["co2"].resample("MS").mean().interpolate()
    return s.to_numpy()


def test_layout_of_rolling_origins() -> None:
    ev = EvalConfig(val_origins=3, test_origins=2, step=4, early_stop="slice")
    test, val, stop, train_end = layout(200, 12, ev)
    assert test.tolist() == [184, 188]  # the last test window ends with the data
    assert test[-1] + 12 == 200
    assert val.tolist() == [164, 168, 172]  # the last validation window ends where test starts
    assert val[-1] + 12 == test[0]
    span = 12 + 4 * 2
    assert train_end == val[0] - span and stop.tolist() == list(range(train_end, val[0] - 12 + 1))
    assert reserved(12, ev) == 200 - train_end


def test_default_step_puts_three_origins_in_a_horizon() -> None:
    test, val, _, _ = layout(300, 12, EvalConfig(val_origins=3))
    assert len(test) == 1 and np.diff(val).tolist() == [4, 4]  # about two horizons
    test, val, _, _ = layout(300, 12, EvalConfig())  # the default 9 origins: a longer span, same step
    assert len(test) == 1 and np.diff(val).tolist() == [4] * 8


@pytest.mark.parametrize("early_stop", ["slice", "val"])
def test_no_window_reads_a_later_block(early_stop: str) -> None:
    ev = EvalConfig(val_origins=3, test_origins=3, step=3, early_stop=early_stop)
    win = make_windows(frame(160), uid="s", h=6, input_size=12, season_length=12, features=[], ev=ev)
    # Training targets stay before the early-stopping slice (or validation, when stopping on it).
    assert win.train_origins.max() + win.h <= win.train_end
    if early_stop == "slice":
        # Early stopping never sees a validation or test target; validation never steered training.
        assert win.stop_origins.min() >= win.train_end
        assert win.stop_origins.max() + win.h <= win.val_origins.min()
        assert set(win.stop_origins).isdisjoint(win.val_origins)
        assert win.train_end < win.n_train
    else:
        assert win.stop_origins.tolist() == win.val_origins.tolist() and win.train_end == win.n_train
    # Validation windows end before the test span; the scaler saw data before validation only.
    assert win.val_origins.max() + win.h <= win.test_origins.min()
    assert win.n_train == win.val_origins.min()
    assert win.scaler.mean[0] == pytest.approx(win.y[: win.n_train].mean())
    # A classical model at an origin fits on exactly the data before it.
    for o in [*win.val_origins, *win.test_origins]:
        assert len(win.history(int(o))) == o


def test_changing_validation_and_test_leaves_training_and_stopping_unchanged() -> None:
    ev = EvalConfig(val_origins=2, test_origins=2)
    df = frame(150)
    win = make_windows(df, uid="s", h=6, input_size=12, season_length=12, features=[], ev=ev)
    df2 = df.copy()
    df2.loc[win.n_train :, "y"] = 1e6
    win2 = make_windows(df2, uid="s", h=6, input_size=12, season_length=12, features=[], ev=ev)
    for origins in (win.train_origins, win.stop_origins):
        np.testing.assert_array_equal(win2.inputs(origins), win.inputs(origins))
        np.testing.assert_array_equal(win2.targets(origins), win.targets(origins))


def test_too_short_for_the_origins_names_the_fix() -> None:
    with pytest.raises(InputError, match="too short.*needs at least 57.*eval.val_origins"):
        make_windows(frame(50), uid="s", h=6, input_size=12, season_length=12, features=[], ev=EvalConfig(val_origins=5))


def test_baselines_are_refitted_at_every_origin() -> None:
    ev = EvalConfig(val_origins=3, test_origins=2, step=2)
    win = make_windows(frame(120), uid="s", h=6, input_size=12, season_length=12, features=[], ev=ev)
    result = BaselineResult("naive")
    run_baseline("naive", win, result, "val")
    run_baseline("naive", win, result, "test")
    assert len(result.val_origins) == 3 and len(result.test_origins) == 2
    for o, f in zip(win.val_origins, result.val_forecasts):
        np.testing.assert_allclose(f, np.full(6, win.y[o - 1]))  # naive from the value before each origin
    assert result.val["mase"] == pytest.approx(np.mean([v["mase"] for v in result.val_origins]))


# --------------------------------------------------------------------------- input treatments


@pytest.mark.parametrize("norm", ["global", "last", "mean", "recent"])
@pytest.mark.parametrize("residual", [None, "theta", "seasonal_naive", "ets"])
def test_every_treatment_inverts_to_the_series(co2: np.ndarray, norm: str, residual: str | None) -> None:
    df = pd.DataFrame({"ds": pd.date_range("1958-03-01", periods=len(co2), freq="MS"), "y": co2})
    win = make_windows(df, uid="co2", h=12, input_size=24, season_length=12, features=[], norm=norm, ev=EvalConfig())
    if residual:
        win = with_classical_base(win, residual)
    origins = [*win.train_origins[::50], *win.stop_origins, *win.val_origins, *win.test_origins]
    for o in origins:
        recovered = win.to_units(int(o), win.targets([int(o)])[0].numpy().astype(float))
        np.testing.assert_allclose(recovered, win.actuals(int(o)), rtol=1e-5)


def test_theta_paths_equal_the_standard_theta_at_the_fit_origin(co2: np.ndarray) -> None:
    # The residual base is the standard Theta(2) (the `theta` baseline chooses theta by AIC).
    paths = theta_paths(co2, 480, 12, 12)
    np.testing.assert_allclose(paths[480], Theta(12, theta=2).fit(co2[:480]).predict(12), rtol=1e-6)
    nile = sm.datasets.nile.load_pandas().data["volume"].to_numpy()  # not seasonal: plain Theta
    np.testing.assert_allclose(theta_paths(nile, 80, 6, 1)[80], Theta(1, theta=2).fit(nile[:80]).predict(6), rtol=1e-6)
    # Every origin's forecast uses only data before it: changing later data leaves it unchanged.
    later = co2.copy()
    later[400:] += 100.0
    np.testing.assert_allclose(theta_paths(later, 300, 12, 12)[400], theta_paths(co2, 300, 12, 12)[400])


def test_ets_paths_equal_the_ets_baseline_at_the_fit_origin_and_its_one_step_fits_everywhere(co2: np.ndarray) -> None:
    nile = sm.datasets.nile.load_pandas().data["volume"].to_numpy()
    for y, m, h, fit_end in [(co2[:240], 12, 18, 200), (nile, 1, 6, 80)]:
        paths = ets_paths(y, fit_end, h, m)
        baseline = make_baseline("ets", m).fit(y[:fit_end])
        np.testing.assert_allclose(paths[fit_end], baseline.predict(h), rtol=1e-6)
        # From every origin (the first season's included: the initial seasonal states): the
        # model's one-step forecasts with the same parameters, filtered over the whole series.
        baseline.update(y)
        np.testing.assert_allclose(paths[1:len(y), 0], np.asarray(baseline.result_.fittedvalues)[1:], rtol=1e-6)
        # Each origin uses only the data before it (the parameters are fitted before fit_end).
        later = y.copy()
        later[fit_end + 10:] *= 2.0
        np.testing.assert_allclose(ets_paths(later, fit_end, h, m)[fit_end + 10], paths[fit_end + 10])


def test_a_collapsed_series_is_corrected_from_seasonal_naive_not_from_a_negative_theta() -> None:
    # Sales of a withdrawn product (shaped like M1-MND21): a steep whole-history slope takes Theta
    # below zero, which a non-negative series never reaches; its residual base is seasonal naive.
    rng = np.random.default_rng(3)
    t = np.arange(144)
    season = 1 + 0.3 * np.sin(2 * np.pi * t / 12)
    y = np.where(t < 80, 800.0 - 2 * t, 25.0) * season + rng.uniform(0, 5, 144)
    df = pd.DataFrame({"ds": pd.date_range("2000-01-01", periods=144, freq="MS"), "y": y})
    win = make_windows(df, uid="s", h=18, input_size=24, season_length=12, features=[], ev=EvalConfig(val_origins=1))
    assert theta_paths(y, win.n_train, 18, 12)[win.n_train].min() < 0
    based = with_classical_base(win, "theta")
    assert based.base_name == "seasonal_naive"
    np.testing.assert_allclose(based.to_units(win.n_train, np.zeros(18)), seasonal_naive_paths(y, 18, 12)[win.n_train])
    # Decided on the fitting data only: the same series before its collapse keeps Theta, as
    # does a series that is not non-negative (its Theta may well forecast below zero).
    early = make_windows(df.iloc[:90], uid="s", h=6, input_size=12, season_length=12, features=[], ev=EvalConfig(val_origins=1))
    assert with_classical_base(early, "theta").base_name == "theta"
    shifted = make_windows(df.assign(y=y - 30), uid="s", h=18, input_size=24, season_length=12, features=[],
                           ev=EvalConfig(val_origins=1))
    assert with_classical_base(shifted, "theta").base_name == "theta"


def test_seasonal_naive_paths_equal_the_baseline_at_every_origin(co2: np.ndarray) -> None:
    for m, h in [(12, 18), (1, 5)]:  # a season shorter than h repeats; m = 1 is naive
        paths = seasonal_naive_paths(co2, h, m)
        assert np.isnan(paths[0]).all()  # no data before origin 0
        for o in [1, m - 1, m, 100, len(co2)] if m > 1 else [1, 100, len(co2)]:  # before a season: naive
            np.testing.assert_allclose(paths[o], make_baseline("seasonal_naive", m).fit(co2[:o]).predict(h), rtol=1e-12)


# --------------------------------------------------------------------------- acceptance rule

NOISY = GrowthConfig(min_gain=0.02, patience=0, spread_factor=1.0)
WIDE_CAP = CapFn(n_samples=100_000, n_inputs=1, n_outputs=10)


def test_gain_within_the_seed_spread_is_not_accepted() -> None:
    ref = Stage([2], "start", 1.00, spread=0.01)
    assert improves(ref, Stage([3], "widen", 0.95, spread=0.01), NOISY)  # 5% gain, spread 0.01
    assert not improves(ref, Stage([3], "widen", 0.95, spread=0.08), NOISY)  # 5% gain, pooled spread 0.057
    assert not improves(ref, Stage([3], "widen", 0.99, spread=0.0), NOISY)  # below min_gain
    assert improves(ref, Stage([3], "widen", 0.95, spread=0.08), GrowthConfig(min_gain=0.02, spread_factor=0.0))


def test_noisy_widening_counts_as_a_strike_and_ends_the_layer() -> None:
    history = [Stage([2], "start", 1.0, spread=0.02), Stage([3], "widen", 0.9, spread=0.2)]
    state = replay(history, NOISY)
    assert state.phase_best == 0 and state.strikes == 1  # a 10% mean gain, but seeds disagree by 0.2
    proposal = decide(history, NOISY, WIDE_CAP, None)
    # Not accepted, but the best-validating width is what the next layer grows on.
    assert proposal == Proposal("deepen", [3, 2], "gain below 2% or within the seed noise for 1 widening(s)", parent=1)
    # The same means with consistent seeds: the widening is accepted and growth goes on.
    steady = [Stage([2], "start", 1.0, spread=0.02), Stage([3], "widen", 0.9, spread=0.02)]
    assert decide(steady, NOISY, WIDE_CAP, None) == Proposal("widen", [4], parent=1)


def test_noisy_new_layer_is_dropped() -> None:
    history = [
        Stage([2], "start", 1.0, spread=0.01),
        Stage([3], "widen", 1.0, spread=0.01),
        Stage([2, 2], "deepen", 0.9, spread=0.3),
        Stage([2, 3], "widen", 0.9, spread=0.3),
    ]
    stop = decide(history, NOISY, WIDE_CAP, None)
    assert isinstance(stop, Stop) and stop.reason == "plateau" and "seed noise" in stop.note


# --------------------------------------------------------------------------- significance


def test_diebold_mariano_fields_and_direction() -> None:
    rng = np.random.default_rng(0)
    y = [rng.normal(size=18) for _ in range(2)]
    good = [v + rng.normal(scale=0.1, size=18) for v in y]
    bad = [v + rng.normal(scale=1.0, size=18) for v in y]
    sig = diebold_mariano(y, good, bad, "ets")
    assert sig is not None and sig.baseline == "ets" and sig.n == 36
    assert sig.statistic < 0 and sig.pvalue_better < 0.01 and sig.pvalue == pytest.approx(2 * sig.pvalue_better)
    worse = diebold_mariano(y, bad, good, "ets")
    assert worse is not None and worse.statistic > 0 and worse.pvalue_better > 0.99
    assert set(sig.as_dict()) == {"baseline", "statistic", "pvalue", "pvalue_better", "n", "lags", "loss"}


def test_diebold_mariano_undefined_for_identical_forecasts() -> None:
    y = [np.arange(6.0)]
    assert diebold_mariano(y, [y[0] + 1], [y[0] + 1], "naive") is None
    assert math.isfinite(diebold_mariano(y, [y[0] + np.arange(6) * 0.1], [y[0] + 1], "naive").statistic)


def test_auto_residual_picks_the_base_that_scores_better_on_validation(co2: np.ndarray) -> None:
    from growlstm.baselines.residual import base_score, with_best_base

    rng = np.random.default_rng(0)
    # A season that drifts year by year (each month a random walk), no trend: last year is the best guess.
    seasonal = 100 + (10 * rng.normal(size=(1, 12)) + rng.normal(0, 1.0, (30, 12)).cumsum(axis=0)).ravel()
    for y, expected in [(seasonal, "seasonal_naive"), (co2, None)]:
        df = pd.DataFrame({"ds": pd.date_range("1958-03-01", periods=len(y), freq="MS"), "y": y})
        win = make_windows(df, uid="s", h=12, input_size=24, season_length=12, features=[], norm="last", ev=EvalConfig())
        scores = {name: base_score(with_classical_base(win, name)) for name in ("theta", "seasonal_naive")}
        picked = with_best_base(win)
        assert picked.base_name == min(scores, key=scores.get)
        if expected:
            assert picked.base_name == expected
        # Only the validation origins decide: changing the test span leaves the choice unchanged.
        later = y.copy()
        later[win.test_origins[0]:] *= 3.0
        moved = make_windows(df.assign(y=later), uid="s", h=12, input_size=24, season_length=12, features=[],
                             norm="last", ev=EvalConfig())
        assert with_best_base(moved).base_name == picked.base_name
