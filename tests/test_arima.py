"""The automatic ARIMA: differencing rules, the stepwise order search on series of known
structure (simulated ARIMA(1,1,1) and airline models) and on real ones, failure paths."""

from __future__ import annotations

import re

import numpy as np
import pytest

from growlstm.baselines import (
    AutoARIMA,
    _difference,
    _integrate,
    ndiffs,
    nsdiffs,
)


# Fitted once per module: the slowest fit in this file.
@pytest.fixture(scope="module")
def co2_arima(co2: np.ndarray) -> AutoARIMA:
    return AutoARIMA(12).fit(co2)


def test_difference_integrate_roundtrip() -> None:
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=60)) + np.tile(np.arange(12.0), 5)
    lags = [12, 1]
    _, history = _difference(x[:-5], lags)
    w_full, _ = _difference(x, lags)
    np.testing.assert_allclose(_integrate(w_full[-5:], lags, history), x[-5:])


def test_unit_root_rules(co2: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(size=200)
    assert ndiffs(noise) == 0
    assert ndiffs(np.cumsum(noise)) >= 1
    assert nsdiffs(co2, 12) == 1
    assert nsdiffs(noise, 12) == 0


def test_arima_co2_seasonal(co2: np.ndarray, co2_arima: AutoARIMA) -> None:
    b = co2_arima
    assert re.fullmatch(r"ARIMA\(\d,1,\d\)\(\d,1,\d\)\[12\]", b.spec), b.spec
    assert b.order_[1] == 1 and b.seasonal_order_[1] == 1 and b.seasonal_order_[3] == 12
    assert b.approximation_  # n > 150: searched by CSS, refitted by ML
    assert b.n_fits_ <= 30
    # The search picked the order with the lowest criterion among those it fitted.
    assert min(b.candidates_, key=b.candidates_.get) == b.spec
    f = b.predict(24)
    assert f.shape == (24,) and np.all(np.isfinite(f))
    # Trend and season carry on: next year's forecast sits above the last year, same shape.
    assert 0 < f[12:].mean() - co2[-12:].mean() < 5
    assert np.corrcoef(f[:12], co2[-12:])[0, 1] > 0.9


def _arima111(seed: int, n: int = 300) -> np.ndarray:
    from statsmodels.tsa.arima_process import arma_generate_sample

    rng = np.random.default_rng(seed)
    return 100 + np.cumsum(arma_generate_sample([1, -0.6], [1, 0.4], n, distrvs=rng.standard_normal, burnin=100))


def _airline(seed: int, n: int = 240) -> np.ndarray:
    """ARIMA(0,1,1)(0,1,1)[12] with theta = 0.4, Theta = 0.6 (the airline model)."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(n + 13)
    w = e[13:] - 0.4 * e[12:-1] - 0.6 * e[1:-12] + 0.24 * e[:-13]
    x = np.zeros(n + 13)
    for i in range(13, n + 13):
        x[i] = x[i - 1] + x[i - 12] - x[i - 13] + w[i - 13]
    return 50 + x[13:]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_arima_search_on_simulated_arima111(seed: int) -> None:
    # d by KPSS; the stepwise search ends on an order whose AICc is no worse than the true one's
    # (fitted by the same exact likelihood), so it never misses the truth for a worse model.
    b = AutoARIMA(1).fit(_arima111(seed))
    assert b.order_[1] == 1 and b.seasonal_order_ == (0, 0, 0, 1)
    w = np.asarray(b.result_.model.endog, dtype=float).ravel()
    assert b.ic_ <= b._ml(w, (1, 1, 0, 0, False)).aicc + 1e-6
    if seed == 3:  # a sample where the true order is also the AICc-best: found exactly
        assert b.spec == "ARIMA(1,1,1)"


@pytest.mark.parametrize("seed", [0, 3])
def test_arima_search_on_simulated_airline(seed: int) -> None:
    b = AutoARIMA(12).fit(_airline(seed))
    assert b.order_[1] == 1 and b.seasonal_order_[1] == 1 and b.seasonal_order_[3] == 12
    assert b.seasonal_order_[2] >= 1  # the seasonal MA term is found
    w = np.asarray(b.result_.model.endog, dtype=float).ravel()
    assert b.ic_ <= b._ml(w, (0, 1, 0, 1, False)).aicc + 1e-6
    if seed == 3:
        assert b.spec == "ARIMA(0,1,1)(0,1,1)[12]"


def test_arima_nile_exact_likelihood(nile: np.ndarray) -> None:
    b = AutoARIMA(1).fit(nile)
    assert not b.approximation_  # n <= 150: exact ML throughout
    assert b.order_[1] == 1 and b.seasonal_order_ == (0, 0, 0, 1)
    assert b.ic_ == pytest.approx(min(b.candidates_.values()))
    assert b.candidates_[b.spec] == pytest.approx(b.result_.aicc)
    f = b.predict(10)
    assert f.shape == (10,) and np.all(np.isfinite(f))


def test_arima_sunspots(sunspots: np.ndarray) -> None:
    b = AutoARIMA(1).fit(sunspots)
    assert b.spec.startswith("ARIMA(") and "[" not in b.spec
    assert min(b.candidates_, key=b.candidates_.get) == b.spec
    f = b.predict(11)
    assert f.shape == (11,) and np.all(np.isfinite(f))


def test_arima_bic_option(nile: np.ndarray) -> None:
    b = AutoARIMA(1, ic="bic").fit(nile[:60])
    assert b.ic_ == pytest.approx(b.result_.bic)
    assert b.ic_ == pytest.approx(min(b.candidates_.values()))
    with pytest.raises(ValueError, match="aicc"):
        AutoARIMA(1, ic="hqic")


def test_arima_failure_raises(nile: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from statsmodels.tsa.statespace import sarimax

    def broken(*args: object, **kwargs: object) -> None:
        raise np.linalg.LinAlgError("forced failure")

    monkeypatch.setattr(sarimax, "SARIMAX", broken)
    with pytest.raises(RuntimeError, match="no ARIMA candidate"):
        AutoARIMA(1, approximation=False).fit(nile[:50])
    with pytest.raises(RuntimeError, match="refit failed"):
        AutoARIMA(1, approximation=True).fit(nile[:50])
