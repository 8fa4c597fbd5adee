"""Classical baselines on real series: shapes, specs, IC-based selection, failure paths."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growlstm.baselines import (
    BASELINES,
    AutoARIMA,
    AutoETS,
    Baseline,
    Naive,
    Naive2,
    SeasonalNaive,
    Theta,
    make_baseline,
    seasonality_test,
)

M4_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4"


# Fitted once per module: the co2 fits are the slowest in this file.
@pytest.fixture(scope="module")
def co2_ets(co2: np.ndarray) -> AutoETS:
    return AutoETS(12).fit(co2)


# --------------------------------------------------------------------------- factory, protocol


def test_factory_and_protocol() -> None:
    assert BASELINES == ("naive", "seasonal_naive", "arima", "ets", "theta", "naive2")
    for name in BASELINES:
        b = make_baseline(name, 12)
        assert isinstance(b, Baseline)
        assert b.name == name
    with pytest.raises(ValueError, match="naive, seasonal_naive, arima, ets, theta, naive2"):
        make_baseline("prophet", 12)


@pytest.mark.parametrize("name", BASELINES)
def test_bad_input_and_unfitted(name: str) -> None:
    b = make_baseline(name, 4)
    with pytest.raises(ValueError):
        b.fit(np.array([]))
    with pytest.raises(ValueError):
        b.fit(np.ones((3, 2)))
    assert b.spec == ("naive" if name == "naive" else "not fitted")  # a string, never raises
    with pytest.raises(RuntimeError, match="fit"):
        b.predict(3)


def test_bad_horizon(nile: np.ndarray) -> None:
    with pytest.raises(ValueError):
        Naive().fit(nile).predict(0)


# --------------------------------------------------------------------------- naive


def test_naive_repeats_last_value(nile: np.ndarray) -> None:
    f = Naive().fit(nile).predict(5)
    assert f.dtype == float and f.shape == (5,)
    assert np.all(f == nile[-1])
    assert Naive().fit(nile).spec == "naive"


def test_seasonal_naive_repeats_last_season(co2: np.ndarray) -> None:
    b = SeasonalNaive(12).fit(co2)
    f = b.predict(30)
    assert f.shape == (30,)
    np.testing.assert_array_equal(f, np.tile(co2[-12:], 3)[:30])
    assert b.spec == "seasonal naive (m=12)"


def test_seasonal_naive_degenerate_cases(nile: np.ndarray) -> None:
    # m = 1 is naive.
    b1 = SeasonalNaive(1).fit(nile)
    np.testing.assert_array_equal(b1.predict(4), Naive().fit(nile).predict(4))
    assert b1.spec == "naive"
    # Shorter than one season: naive, and the spec says why.
    short = SeasonalNaive(12).fit(nile[:7])
    np.testing.assert_array_equal(short.predict(3), np.full(3, nile[6]))
    assert short.spec.startswith("naive")
    # A constant series does not crash either.
    for b in (Naive(), SeasonalNaive(4)):
        np.testing.assert_array_equal(b.fit(np.full(10, 2.5)).predict(6), np.full(6, 2.5))


# On the tests that read the shared M4 files (a mark on a helper would do nothing).
needs_m4 = pytest.mark.skipif(not M4_DIR.is_dir(), reason=f"M4 reference data not found at {M4_DIR}")


def official_m4() -> tuple[pd.DataFrame, dict[str, np.ndarray], pd.DataFrame]:
    """(catalog by uid, training values by uid, official forecasts) of the shared M4 subset."""
    catalog = pd.read_csv(M4_DIR / "catalog.csv").set_index("uid")
    train = pd.read_csv(M4_DIR / "train.csv").sort_values(["uid", "t"])
    fc = pd.read_csv(M4_DIR / "benchmark_forecasts.csv").sort_values(["uid", "method", "step"])
    return catalog, {u: g["value"].to_numpy() for u, g in train.groupby("uid")}, fc


@needs_m4
def test_naive_and_snaive_equal_official_m4() -> None:
    catalog, insample, fc = official_m4()
    checked = 0
    fc = fc[fc["method"].isin(["M4:Naive", "M4:sNaive"])]
    for (uid, method), g in fc.groupby(["uid", "method"]):
        y, official = insample[uid], g["value"].to_numpy()
        m = int(catalog.loc[uid, "seasonal_period"])
        b = Naive() if method == "M4:Naive" else SeasonalNaive(m)
        f = b.fit(y).predict(official.size)
        np.testing.assert_allclose(f, official, err_msg=f"{uid} {method}")
        checked += 1
    assert checked == 2 * len(catalog)


# --------------------------------------------------------------------------- ETS


def test_ets_co2_seasonal(co2_ets: AutoETS) -> None:
    b = co2_ets
    # Positive, two seasons: the whole restricted grid (no additive error with a
    # multiplicative season) is screened, and the best three are refitted by full ML.
    assert len(b.screened_) == 15
    assert not any(re.fullmatch(r"ETS\(A,.*,M\)", spec) for spec in b.screened_)
    assert set(b.candidates_) == set(sorted(b.screened_, key=b.screened_.get)[:3])
    assert re.fullmatch(r"ETS\([AM],(A|Ad),[AM]\)", b.spec), b.spec  # co2 trends and has a season
    assert b.ic_ == min(b.candidates_.values()) == b.candidates_[b.spec]
    assert b.ic_ == pytest.approx(b.result_.aicc)
    f = b.predict(24)
    assert f.shape == (24,) and np.all(np.isfinite(f))


def test_ets_nile_and_sunspots(nile: np.ndarray, sunspots: np.ndarray) -> None:
    b = AutoETS(1).fit(nile)
    assert len(b.screened_) == 6 and len(b.candidates_) == 3  # no season at m = 1
    assert b.ic_ == min(b.candidates_.values())
    assert b.ic_ == pytest.approx(b.result_.aicc)
    # Without the screen every candidate is fitted by full ML: here the same winner.
    full = AutoETS(1, screen=None).fit(nile)
    assert len(full.candidates_) == 6 and not full.screened_
    assert full.spec == b.spec and full.ic_ == pytest.approx(b.ic_, abs=0.1)
    # Sunspots hold zeros: no multiplicative component is tried.
    s = AutoETS(1).fit(sunspots)
    assert set(s.screened_) <= {"ETS(A,N,N)", "ETS(A,A,N)", "ETS(A,Ad,N)"}
    assert s.ic_ == min(s.candidates_.values())
    # Too short for heuristic initial states (n < 10): no screen, full ML throughout.
    short = AutoETS(1).fit(nile[:9])
    assert not short.screened_ and short.candidates_
    with pytest.raises(ValueError, match="screen"):
        AutoETS(1, screen=0)
    for model in (b, s, short):
        f = model.predict(8)
        assert f.shape == (8,) and np.all(np.isfinite(f))


def test_ets_screen_fallback(nile: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # No heuristic start works: every form is fitted by full ML instead.
    monkeypatch.setattr(AutoETS, "_screen", lambda self, x, forms: {})
    b = AutoETS(1).fit(nile[:40])
    assert len(b.candidates_) == 6 and b.ic_ == min(b.candidates_.values())


def test_ets_failure_raises(nile: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from statsmodels.tsa.exponential_smoothing import ets

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("forced failure")

    monkeypatch.setattr(ets, "ETSModel", broken)
    with pytest.raises(RuntimeError, match="no ETS candidate.*forced failure"):
        AutoETS(1).fit(nile)


# --------------------------------------------------------------------------- Theta, Naive2


def test_seasonality_test(co2: np.ndarray, nile: np.ndarray) -> None:
    assert seasonality_test(co2, 12)
    assert not seasonality_test(nile, 12)
    assert not seasonality_test(co2, 1)  # m = 1: nothing to test
    assert not seasonality_test(co2[:35], 12)  # fewer than three seasons
    assert not seasonality_test(np.full(40, 3.0), 12)  # constant: no autocorrelation


def test_theta_co2_deseasonalised(co2: np.ndarray) -> None:
    b = Theta(12, theta=2).fit(co2)
    assert b.spec == "Theta(theta=2, deseasonalised multiplicative m=12)"
    f = b.predict(24)
    assert f.shape == (24,) and np.all(np.isfinite(f))
    # The season is put back: next year's shape follows the last year's.
    assert np.corrcoef(f[:12], co2[-12:])[0, 1] > 0.9
    # Not strictly positive: the seasonal adjustment is additive, and the spec says so.
    shifted = Theta(12, theta=2).fit(co2 - co2.mean())
    assert shifted.spec == "Theta(theta=2, deseasonalised additive m=12)"


def test_theta_nile_is_statsmodels_theta(nile: np.ndarray) -> None:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    b = Theta(1, theta=2).fit(nile)
    assert b.spec == "Theta(theta=2)"
    f = b.predict(10)
    assert f.shape == (10,) and np.all(np.isfinite(f))
    want = ThetaModel(nile, deseasonalize=False).fit().forecast(10, theta=2)
    np.testing.assert_allclose(f, np.asarray(want))
    # A season length at which nile is not seasonal: the same forecasts, and the spec says why.
    b12 = Theta(12, theta=2).fit(nile)
    assert b12.spec == "Theta(theta=2, no seasonality at m=12)"
    np.testing.assert_allclose(b12.predict(10), f)
    assert "deseasonalised" not in b12.spec
    with pytest.raises(ValueError, match="theta"):
        Theta(1, theta=0.5)


def test_theta_failure_raises(nile: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from statsmodels.tsa.forecasting import theta

    def broken(*args: object, **kwargs: object) -> None:
        raise np.linalg.LinAlgError("forced failure")

    monkeypatch.setattr(theta, "ThetaModel", broken)
    b = Theta(1, theta=2)
    with pytest.raises(RuntimeError, match="Theta fit failed: forced failure"):
        b.fit(nile)
    assert b.spec == "not fitted"
    with pytest.raises(RuntimeError, match="too few points"):
        Theta(1).fit(nile[:3])


def test_naive2_seasonal_and_degenerate(co2: np.ndarray, nile: np.ndarray) -> None:
    b = Naive2(12).fit(co2)
    assert b.spec == "naive2 (deseasonalised multiplicative m=12)"
    f = b.predict(30)
    assert f.shape == (30,) and np.all(np.isfinite(f))
    # Naive on the adjusted series: the forecast divided by the repeated last season is flat.
    np.testing.assert_allclose(f / np.resize(b.season_, 30), np.full(30, b.level_))
    assert Naive2(12).fit(co2 - co2.mean()).spec == "naive2 (deseasonalised additive m=12)"
    # Not seasonal, m = 1, too short, constant: plain naive, and the spec says why.
    cases = [
        (Naive2(12), nile, "naive2 = naive (no seasonality at m=12)"),
        (Naive2(1), co2, "naive2 = naive (m=1)"),
        (Naive2(12), co2[:30], "naive2 = naive (shorter than three seasons, m=12)"),
        (Naive2(4), np.full(20, 2.5), "naive2 = naive (no seasonality at m=4)"),
    ]
    for model, y, spec in cases:
        np.testing.assert_array_equal(model.fit(y).predict(5), np.full(5, y[-1]))
        assert model.spec == spec


@needs_m4
def test_naive2_equals_official_m4() -> None:
    catalog, insample, fc = official_m4()
    checked = 0
    for uid, g in fc[fc["method"] == "M4:Naive2"].groupby("uid"):
        official = g["value"].to_numpy()
        f = Naive2(int(catalog.loc[uid, "seasonal_period"])).fit(insample[uid]).predict(official.size)
        # The file holds ~10 significant digits; we match to ~5e-10 relative.
        np.testing.assert_allclose(f, official, rtol=1e-8, atol=0, err_msg=uid)
        checked += 1
    assert checked == len(catalog)


# --------------------------------------------------------------------------- all


def test_constant_series_fails_cleanly() -> None:
    for b in (AutoARIMA(4), AutoETS(4), Theta(4)):
        with pytest.raises(RuntimeError, match="constant"):
            b.fit(np.full(30, 7.0))


def test_fit_and_predict_are_silent(nile: np.ndarray, co2: np.ndarray) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for b in (AutoARIMA(1), AutoETS(1), Theta(1), Naive2(1)):
            b.fit(nile).predict(5)
        for b in (Theta(12), Naive2(12)):  # the seasonal-adjustment path
            b.fit(co2).predict(5)
    assert not caught, [str(w.message) for w in caught]


@pytest.mark.parametrize("name", ["arima", "ets"])
def test_update_runs_the_fitted_model_forward_with_its_parameters_fixed(name: str, co2: np.ndarray) -> None:
    y = co2[-120:]
    model = make_baseline(name, 12).fit(y[:96])
    params = np.asarray(model.result_.params, dtype=float).copy()
    first = model.predict(12)
    model.update(y[:96])
    np.testing.assert_allclose(model.predict(12), first, rtol=1e-8)  # same data, same forecast
    model.update(y[:108])
    np.testing.assert_allclose(np.asarray(model.result_.params, dtype=float), params)  # not refitted
    moved = model.predict(12)
    assert not np.allclose(moved, first)  # it forecasts from the new end
    refit = make_baseline(name, 12).fit(y[:108]).predict(12)
    assert np.abs(moved - y[108:]).mean() < 3 * np.abs(refit - y[108:]).mean()  # and sensibly


def test_backtest_fits_once_and_runs_forward(co2: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from growlstm.baselines import backtesting

    fits = []
    real = backtesting.make_baseline

    def counting(name: str, m: int) -> object:
        fits.append(name)
        return real(name, m)

    monkeypatch.setattr(backtesting, "make_baseline", counting)
    forecasts, spec = backtesting.backtest("ets", co2[-150:], 12, 12, [100, 110, 120])
    assert fits == ["ets"] and len(forecasts) == 3 and spec.startswith("ETS(")
    fits.clear()
    backtesting.backtest("naive", co2[-150:], 12, 12, [100, 110])
    assert fits == ["naive", "naive"]  # the cheap ones refit at every origin
