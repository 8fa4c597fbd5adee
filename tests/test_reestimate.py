"""The test span keeps the model chosen before validation and estimates its parameters again:
ARIMA's orders and ETS's form stay, no new search runs, and the parameters are those of one
likelihood fit on the longer series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growlstm.baselines import AutoARIMA, AutoETS, Theta
from growlstm.baselines.backtesting import BaselineResult, backtest, run_baseline
from growlstm.config import EvalConfig
from growlstm.data.windows import make_windows


def _no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a new search ran")

    monkeypatch.setattr(AutoARIMA, "_search", refuse)
    monkeypatch.setattr(AutoETS, "_screen", refuse)
    monkeypatch.setattr(AutoETS, "_fit", refuse)


def test_arima_keeps_its_orders_and_refits_their_parameters(co2: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = AutoARIMA(12).fit(co2[:300])
    spec, order, seasonal, before = chosen.spec, chosen.order_, chosen.seasonal_order_, chosen.result_.params.copy()
    _no_search(monkeypatch)
    again = chosen.reestimate(co2[:360])
    assert again.spec == spec and again.order_ == order and again.seasonal_order_ == seasonal
    assert not np.allclose(again.result_.params, before)  # new parameters, from the longer series
    p, _, q = order
    P, _, Q, _ = seasonal
    from growlstm.baselines.arima import _difference

    direct = again._ml(_difference(co2[:360], again._lags)[0], (p, q, P, Q, again.constant_))
    np.testing.assert_allclose(again.result_.params, direct.params, rtol=1e-8)
    assert again.predict(12).shape == (12,)


def test_ets_keeps_its_form_and_refits_its_parameters(co2: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = AutoETS(12).fit(co2[:300])
    spec, before = chosen.spec, chosen._ranked[0][3].copy()
    _no_search(monkeypatch)
    again = chosen.reestimate(co2[:360])
    assert again.spec == spec and len(again.result_.model.endog) == 360
    assert not np.allclose(again._ranked[0][3], before)
    # The forecast is the refitted model's, from the end of the longer series.
    np.testing.assert_allclose(again.predict(12), again.result_.forecast(12))


def test_the_test_span_reestimates_what_validation_chose(co2: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"ds": pd.date_range("1990-01", periods=200, freq="MS"), "y": co2[-200:]})
    win = make_windows(frame, uid="co2", h=12, input_size=24, season_length=12, features=[],
                       ev=EvalConfig(val_origins=3, test_origins=1))
    searches = []
    real = AutoARIMA._search

    def counting(self: AutoARIMA, *args: object) -> object:
        searches.append(1)
        return real(self, *args)

    monkeypatch.setattr(AutoARIMA, "_search", counting)
    result = BaselineResult("arima")
    chosen = run_baseline("arima", win, result, "val")
    run_baseline("arima", win, result, "test", chosen=chosen)
    assert len(searches) == 1 and result.ok and result.test and result.future is not None
    # Without the chosen model the test span searches again (as predict= of a file would not).
    other = BaselineResult("arima")
    run_baseline("arima", win, other, "test")
    assert len(searches) == 2


def test_theta_refits_whole(nile: np.ndarray) -> None:
    model = Theta(1).fit(nile[:60])
    again = model.reestimate(nile[:80])
    np.testing.assert_allclose(again.predict(6), Theta(1).fit(nile[:80]).predict(6))
    forecasts, _ = backtest("theta", nile, 6, 1, [80, 90], chosen=Theta(1).fit(nile[:60]))
    np.testing.assert_allclose(forecasts[0], Theta(1).fit(nile[:80]).predict(6))
