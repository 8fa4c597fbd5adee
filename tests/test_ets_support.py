"""AutoETS never forecasts a strictly positive series at or below zero: where the chosen model's
forecast does, the next candidate by IC whose forecast stays positive is used, and said."""

from __future__ import annotations

import numpy as np

from growlstm.baselines import AutoETS
from growlstm.baselines.backtesting import backtest
from growlstm.baselines.residual import ets_paths

# M1-QND1 (M1 quarterly, training part): a steady rise, then a steep fall over the last year.
QND1 = np.array([20, 21, 23, 24, 27, 30, 32, 30, 26, 25, 23, 22, 22, 22, 23, 37, 47, 62, 68, 75,
                 75, 73, 75, 76, 86, 91, 95, 90, 90, 99, 115, 157, 175, 177, 177, 191, 164, 162, 142, 99],
                dtype=float)
QND1_TEST = np.array([80, 60, 58, 62, 70, 85, 88, 79], dtype=float)


def test_a_forecast_that_falls_below_zero_gives_way_to_the_next_candidate() -> None:
    model = AutoETS(4).fit(QND1)
    chosen = model.result_.forecast(8)
    assert np.min(chosen) <= 0  # the lowest-AICc model follows the fall below zero
    forecast = model.predict(8)
    assert np.all(forecast > 0)
    k = model.supported(8)
    assert k > 0 and model.fallback_ == model._ranked[k][1]
    # The fallback is the best candidate by IC whose forecast stays positive.
    ics = sorted(model.candidates_.values())
    assert model.candidates_[model.fallback_] == ics[k]
    assert model.spec == f"{model._ranked[0][1]}, {model.fallback_} where it forecasts <= 0"
    # and it forecasts the real continuation far better (the test part of M1-QND1).
    assert np.mean(np.abs(forecast - QND1_TEST)) < 0.5 * np.mean(np.abs(chosen - QND1_TEST))


def test_a_series_with_zeros_or_a_positive_forecast_keeps_the_chosen_model(co2: np.ndarray) -> None:
    model = AutoETS(12).fit(co2[:400])
    np.testing.assert_array_equal(model.predict(18), model.result_.forecast(18))
    assert model.fallback_ is None and model.supported(18) == 0
    falling = np.r_[QND1[:-1], 0.0]  # not strictly positive: no support to keep
    model = AutoETS(4).fit(falling)
    assert model.supported(8) == 0
    np.testing.assert_array_equal(model.predict(8), model.result_.forecast(8))


def test_backtest_and_the_residual_base_use_the_same_fallback() -> None:
    forecasts, spec = backtest("ets", QND1, 8, 4, [40])
    assert np.all(forecasts[0] > 0) and "where it forecasts <= 0" in spec
    paths = ets_paths(QND1, 40, 8, 4)
    np.testing.assert_allclose(paths[40], forecasts[0], rtol=1e-9)
