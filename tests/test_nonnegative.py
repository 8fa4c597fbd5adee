"""forecast.nonnegative: forecasts of a series that was never negative are floored at zero (points
and interval bounds, in the scores and forecast.csv), judged without looking past the validation
span, and ``predict`` applies the same rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import growlstm
from growlstm.config import Config, ForecastConfig, GrowthConfig, TrainerConfig
from growlstm.growth.preparation import prepare, to_panel
from growlstm.baselines.backtesting import BaselineResult
from growlstm.verdict.advice import forecast_floor, series_advice, series_floors
from growlstm.verdict.recommend import interval_columns

H = 8


def falling(n: int = 40, end: float = 1.0) -> np.ndarray:
    """A positive quarterly series falling steadily to ``end``: trend forecasts run below zero."""
    t = np.arange(n)
    return end + (n - 1 - t) * 1.0 + 0.3 * np.sin(np.pi * t / 2) + np.random.default_rng(0).normal(0, 0.1, n) ** 2


def config(nonnegative: bool | None = None) -> Config:
    return Config(h=H, baselines=["naive", "theta"], forecast=ForecastConfig(nonnegative=nonnegative),
                  trainer=TrainerConfig(max_epochs=2), growth=GrowthConfig(seeds=2, max_stages=1))


@pytest.mark.parametrize(("values", "setting", "floor"), [
    ([3.0, 0.0, 1.0], None, 0.0), ([3.0, -0.5, 1.0], None, None),
    ([3.0, -0.5, 1.0], True, 0.0), ([3.0, 0.0, 1.0], False, None),
])
def test_the_floor_follows_the_setting_and_the_data(values: list[float], setting: bool | None, floor: float | None) -> None:
    assert forecast_floor(np.array(values), setting) == floor


def test_the_scores_floor_looks_only_at_the_data_before_validation() -> None:
    y = falling(60)
    y[-3:] = -1.0  # negative only in the last points: the future is not floored, the scores are
    _, win = prepare(to_panel(y, config()), config())
    assert int(win.val_origins[0]) < len(y) - 3
    assert series_floors(win, None) == (0.0, None)
    assert series_floors(win, False) == (None, None) and series_floors(win, True) == (0.0, 0.0)


def test_a_combination_is_floored_after_averaging_not_its_members_before() -> None:
    # ARIMA's trend runs to -3 where ETS and Theta say 1: comb's average is -1/3, floored to 0.
    # Flooring ARIMA first would make comb 2/3, further from any truth between 0 and 1/3.
    _, win = prepare(to_panel(falling(60), config()), config())
    n_val, n_test = len(win.val_origins), len(win.test_origins)

    def made(value: float) -> BaselineResult:
        f = np.full(H, value)
        return BaselineResult("x", val={"mase": 1.0}, val_forecasts=[f] * n_val, test_forecasts=[f] * n_test, future=f)

    baselines = {"ets": made(1.0), "arima": made(-3.0), "theta": made(1.0)}
    advice = series_advice(win, baselines, None, nonnegative=None)
    comb, arima = advice.candidates["comb"], advice.candidates["arima"]
    assert np.all(comb.future == 0) and all(np.all(f == 0) for f in comb.val + comb.test)
    assert np.all(arima.future == 0) and np.all(advice.candidates["ets"].future == 1)
    raw = series_advice(win, baselines, None, nonnegative=False).candidates["comb"]
    np.testing.assert_allclose(raw.future, -1 / 3)


def test_interval_lower_bounds_stop_at_the_floor() -> None:
    point = np.array([0.5, 2.0])
    cols = interval_columns("m", point, 1.0, np.array([[1.0, 1.0]]), [80], floor=0.0)
    np.testing.assert_allclose(cols["m-lo-80"], [0.0, 1.0])
    np.testing.assert_allclose(cols["m-hi-80"], [1.5, 3.0])


def test_a_falling_positive_series_gets_no_negative_forecast_and_predict_agrees(tmp_path: Path) -> None:
    y = pd.Series(falling(), index=pd.period_range("2000Q1", periods=40, freq="Q").to_timestamp())
    raw = growlstm.grow(y, config(False), run_dir=tmp_path / "raw")
    numbers = raw.forecast.drop(columns=["ds", "step"])
    assert (numbers["theta"] < 0).any()  # the trend runs below zero unfloored ...
    floored = growlstm.grow(y, config(), run_dir=tmp_path / "run")
    numbers = floored.forecast.drop(columns=["ds", "step"])
    assert (numbers.to_numpy() >= 0).all()  # ... and not by default: points and interval bounds
    assert (numbers["theta"] == 0).any() and (numbers["theta-lo-95"] == 0).all()
    again = growlstm.predict(tmp_path / "run", y, out_dir=tmp_path / "out")
    assert (tmp_path / "out" / "forecast.csv").read_bytes() == (tmp_path / "run" / "forecast.csv").read_bytes()
    assert again.recommended == {floored.series: floored.recommendation["model"]}
