"""The automatic Theta: the theta state space (Fiorucci et al. 2016) by hand, its AIC choice
between the standard and the optimised theta, statsforecast's OptimizedTheta as the
reference, and running forward with the parameters fixed."""

from __future__ import annotations

import numpy as np
import pytest

from growlstm.baselines import Theta
from growlstm.baselines.backtesting import backtest
from growlstm.baselines.theta import BURN_IN, ThetaState, choose_theta_state, fit_theta_state


def _by_hand(x: np.ndarray, s: ThetaState, h: int) -> tuple[float, np.ndarray]:
    """The model's equations as written, one step at a time: (in-sample MSE after the
    first BURN_IN steps, forecast)."""
    level, errors, q = s.l0, [], 1 - s.alpha
    for t, y in enumerate(x, start=1):
        mu = level + (1 - 1 / s.theta) * (q ** (t - 1) * s.a + (1 - q ** t) / s.alpha * s.b)
        errors.append(y - mu)
        level = s.alpha * y + q * level
    n = x.size
    f = [level + (1 - 1 / s.theta) * (q ** n * s.a + ((k - 1) + (1 - q ** (n + 1)) / s.alpha) * s.b)
         for k in range(1, h + 1)]
    return float(np.mean(np.square(errors[BURN_IN:]))), np.array(f)


def _trend(seed: int, n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 + 3 * np.arange(n) + rng.normal(0, 4, n)


@pytest.mark.parametrize("theta", [None, 2.0])
def test_the_state_space_is_the_equations_as_written(theta: float | None, nile: np.ndarray) -> None:
    s = fit_theta_state(nile, theta)
    mse, f = _by_hand(nile, s, 10)
    assert s.mse == pytest.approx(mse, rel=1e-9)
    np.testing.assert_allclose(s.forecast(s.levels(nile), 10), f, rtol=1e-9)
    assert 0.1 <= s.alpha <= 0.99 and s.theta >= 1 and (theta is None or s.theta == theta)


def test_the_optimised_theta_pays_for_itself_by_aic(nile: np.ndarray) -> None:
    for x in (_trend(0), nile):
        chosen, std, opt = choose_theta_state(x), fit_theta_state(x, 2.0), fit_theta_state(x)
        n = x.size - BURN_IN
        aic_std, aic_opt = n * np.log(std.mse) + 4, n * np.log(opt.mse) + 6
        assert chosen == (opt if aic_opt < aic_std else std)
        assert opt.mse <= std.mse * (1 + 1e-6)  # it nests the standard model
    # A clean linear trend: the optimised theta follows the trend line (theta well above 2).
    assert choose_theta_state(_trend(0)).theta > 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_optimised_theta_matches_statsforecast(seed: int) -> None:
    sfm = pytest.importorskip("statsforecast.models")
    x = _trend(seed, 30) + np.cumsum(np.random.default_rng(seed + 10).normal(0, 3, 30))
    ours = fit_theta_state(x)
    theirs = np.asarray(sfm.OptimizedTheta(season_length=1).fit(x).predict(6)["mean"])
    np.testing.assert_allclose(ours.forecast(ours.levels(x), 6), theirs, rtol=0.01)


def test_the_automatic_theta_spec_and_season(co2: np.ndarray, nile: np.ndarray) -> None:
    assert Theta(1).fit(nile).spec in {"Theta(theta=2 standard)"} | {
        f"Theta(theta={fit_theta_state(nile).theta:.3g} optimised)"}
    b = Theta(12).fit(co2)
    assert b.spec.endswith("deseasonalised multiplicative m=12)") and ("optimised" in b.spec or "standard" in b.spec)
    f = b.predict(24)
    assert np.corrcoef(f[:12], co2[-12:])[0, 1] > 0.9  # the season is put back


def test_update_runs_forward_with_everything_fitted_fixed(co2: np.ndarray, nile: np.ndarray) -> None:
    b = Theta(1).fit(nile[:80]).update(nile[:85]).update(nile[:90])
    s = b.result_
    np.testing.assert_allclose(b.predict(6), s.forecast(s.levels(nile[:90]), 6), rtol=1e-12)
    # Seasonal: the new points are adjusted by the fitted indices, phase by phase.
    one = Theta(12).fit(co2[:400])
    indices = one.season_.copy()
    adjusted = np.r_[one._adjusted, co2[400:407] / np.resize(indices, 7)]
    one.update(co2[:407])
    want = one.result_.forecast(one.result_.levels(adjusted), 12) * np.resize(np.roll(indices, -7), 12)
    np.testing.assert_allclose(one.predict(12), want, rtol=1e-12)
    with pytest.raises(ValueError, match="the 407 points seen so far"):
        one.update(co2[:300])


def test_backtest_fits_the_theta_once(nile: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from growlstm.baselines import theta

    calls = []
    real = theta.choose_theta_state
    monkeypatch.setattr(theta, "choose_theta_state", lambda x: calls.append(x.size) or real(x))
    forecasts, spec = backtest("theta", nile, 6, 1, [70, 72, 74, 76])
    assert calls == [70] and len(forecasts) == 4 and spec.startswith("Theta(theta=")


@pytest.mark.parametrize("theta", [None, 2.0])
def test_the_closed_form_fit_is_no_worse_than_a_search_over_every_parameter(
        theta: float | None, nile: np.ndarray, sunspots: np.ndarray) -> None:
    from scipy import optimize

    for x in (nile, sunspots[-80:] + 1.0, _trend(3, 25)):
        ours = fit_theta_state(x, theta)
        by_hand = lambda p: _by_hand(x, ThetaState(p[0], p[1], theta or p[2], ours.a, ours.b, 0.0), 1)[0]  # noqa: E731
        start = [x[0] / 2, 0.5] + ([2.0] if theta is None else [])
        bounds = [(-1e10, 1e10), (0.1, 0.99)] + ([(1.0, 1e10)] if theta is None else [])
        searched = optimize.minimize(by_hand, start, method="Nelder-Mead", bounds=bounds,
                                     options={"maxiter": 2000, "xatol": 1e-9, "fatol": 1e-12})
        assert ours.mse <= searched.fun * (1 + 1e-9)
        assert ours.mse == pytest.approx(_by_hand(x, ours, 1)[0], rel=1e-9)
