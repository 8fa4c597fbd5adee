"""The Theta method on the seasonally adjusted series: the standard Theta(2) or, chosen by AIC,
the optimised Theta model of Fiorucci et al. (2016)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from scipy import optimize, signal

from growlstm.baselines.common import (
    ClassicalModel, _as_series, _check_m, _fitted, _one_blas_thread, _quiet, _UNFITTED,
)
from growlstm.baselines.seasonal import _reseasonalise, seasonal_adjustment


# The first residuals are left out of the fit, as statsforecast does: l0 then only starts the
# recursion. Fitting them too pulls alpha and theta toward the start (M1 yearly, the optimised model
# fitted by Nelder-Mead: OWA 0.770 -> 0.765).
BURN_IN = 3


@dataclass(frozen=True)
class ThetaState:
    """The theta model as a state space (Fiorucci, Pellegrini, Louzada, Petropoulos & Koehler,
    2016, the "OTM"/"STM" of statsforecast's AutoTheta):

        y_t  = mu_t + e_t
        mu_t = l_{t-1} + (1 - 1/theta) * ((1 - alpha)^(t-1) * A + (1 - (1 - alpha)^t) / alpha * B)
        l_t  = alpha * y_t + (1 - alpha) * l_{t-1}

    with A, B the intercept and slope of the least-squares line through the fitted data (t = 1..n),
    and l0, alpha (and theta, when optimised) minimising the in-sample one-step squared error
    after the first ``BURN_IN`` steps.
    theta = 2 is the standard Theta method; a larger theta follows the trend line more closely."""

    l0: float
    alpha: float
    theta: float
    a: float
    b: float
    mse: float

    def levels(self, x: np.ndarray) -> np.ndarray:
        """l_1..l_n over ``x``, from l0 (an SES recursion, run by lfilter)."""
        q = 1.0 - self.alpha
        return signal.lfilter([self.alpha], [1.0, -q], x, zi=[q * self.l0])[0]

    def forecast(self, levels: np.ndarray, h: int) -> np.ndarray:
        """mu_{n+1..n+h} from the levels of n observations."""
        n, q, k = len(levels), 1.0 - self.alpha, np.arange(1, h + 1)
        trend = q ** n * self.a + ((k - 1) + (1 - q ** (n + 1)) / self.alpha) * self.b
        return levels[-1] + (1 - 1 / self.theta) * trend


# theta's upper bound (statsforecast's); alpha's bounds and the grid its search starts from.
THETA_MAX = 1e10
ALPHA_BOUNDS = (0.1, 0.99)
_ALPHA_GRID = np.linspace(*ALPHA_BOUNDS, 19)


def _profiled(x: np.ndarray, alpha: float, theta: Optional[float], a: float, b: float) -> tuple[float, float, float]:
    """(MSE, l0, theta) at this alpha, with l0 (and theta, when None) solved by least squares.

    Why this works: for a fixed alpha the one-step forecast is linear in l0 (the levels are
    L_t + (1 - alpha)^t l0, L from l0 = 0) and in c = 1 - 1/theta (the trend term's weight), so
    both have a closed form; only alpha needs a search. theta in [1, THETA_MAX] is c in [0, 1)."""
    q, t = 1.0 - alpha, np.arange(1, x.size + 1)
    prev = np.r_[0.0, signal.lfilter([alpha], [1.0, -q], x)[:-1]]  # l_{t-1} less its l0 part
    g = q ** (t - 1)  # l0's weight in l_{t-1}
    trend = q ** (t - 1) * a + (1 - q ** t) / alpha * b
    fit = slice(BURN_IN, None)
    r, g, trend = x[fit] - prev[fit], g[fit], trend[fit]

    def level_given(c: float) -> float:
        return float(np.linalg.lstsq(g[:, None], r - c * trend, rcond=None)[0][0])

    if theta is None:
        (l0, c), *_ = np.linalg.lstsq(np.column_stack([g, trend]), r, rcond=None)
        c_max = 1 - 1 / THETA_MAX
        if not 0 <= c <= c_max:  # the unconstrained optimum lies outside theta's bounds
            c = min(max(float(c), 0.0), c_max)
            l0 = level_given(c)
    else:
        c = 1 - 1 / theta
        l0 = level_given(c)
    e = r - l0 * g - c * trend
    return float(np.mean(e ** 2)), float(l0), (1 / (1 - c) if theta is None else float(theta))


def fit_theta_state(x: np.ndarray, theta: Optional[float] = None) -> ThetaState:
    """Least-squares fit of l0, alpha and (``theta=None``) theta within statsforecast's bounds
    (alpha in [0.1, 0.99], theta in [1, 1e10]): l0 and theta in closed form for each alpha
    (``_profiled``), alpha on a grid and then by bounded Brent search around the grid's best.
    Against a Nelder-Mead search over all three (statsforecast's way) on every third M1 and M4
    series, never a higher MSE, in a tenth of the time (2.7 ms a fit; the baseline, with both models
    and the seasonal decomposition, 8 ms)."""
    t = np.arange(1, x.size + 1)
    b, a = (float(v) for v in np.polyfit(t, x, 1))
    grid = [_profiled(x, alpha, theta, a, b)[0] for alpha in _ALPHA_GRID]
    k = int(np.argmin(grid))
    lo, hi = _ALPHA_GRID[max(k - 1, 0)], _ALPHA_GRID[min(k + 1, len(_ALPHA_GRID) - 1)]
    res = optimize.minimize_scalar(lambda al: _profiled(x, al, theta, a, b)[0], bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-6})
    alpha = float(res.x) if res.fun <= grid[k] else float(_ALPHA_GRID[k])
    mse, l0, th = _profiled(x, alpha, theta, a, b)
    return ThetaState(l0, alpha, th, a, b, mse)


def choose_theta_state(x: np.ndarray) -> ThetaState:
    """The standard (theta = 2) or the optimised model, whichever has the lower AIC,
    n log(MSE) + 2k with k = 2 or 3: the optimised theta must pay for itself in fit.
    Why not the lower MSE, as AutoTheta: the optimised model nests the standard one, so it
    would nearly always win; M4 weekly and hourly lose 1-3% that way (scripts/results/bench_theta.md)."""
    standard, optimised = fit_theta_state(x, 2.0), fit_theta_state(x)

    def aic(state: ThetaState, k: int) -> float:
        return (x.size - BURN_IN) * float(np.log(max(state.mse, 1e-300))) + 2 * k

    return optimised if aic(optimised, 3) < aic(standard, 2) else standard


class Theta(ClassicalModel):
    """The Theta method on the seasonally adjusted series.

    Seasonal adjustment as :class:`Naive2` (M4's 90% test at lag ``season_length``,
    classical multiplicative decomposition, additive for a series that is not strictly
    positive). ``theta=None`` (the default): the adjusted series gets the standard or the
    optimised theta model, whichever has the lower AIC (``choose_theta_state``); on M1 yearly
    that closes most of the gap to statsforecast's AutoTheta (OWA 0.869 -> 0.781 against 0.762;
    scripts/results/bench_theta.md).
    A given ``theta`` (e.g. 2, the M4 benchmark "Theta") is fitted by statsmodels
    ``ThetaModel`` (OLS trend slope, SES weight by least squares) and forecast with it.

    Fitted once, the automatic model runs forward (``update``): its parameters, trend line and
    seasonal indices fixed, the level filtered over the new observations.

    Fitted: ``result_`` (statsmodels ``ThetaModelResults``, or the ``ThetaState``), ``mode_``, ``season_``.
    """

    name = "theta"

    def __init__(self, season_length: int = 1, theta: Optional[float] = None) -> None:
        self.season_length = _check_m(season_length)
        if theta is not None and not theta >= 1:
            raise ValueError(f"theta must be >= 1 (or None: chosen by AIC), got {theta!r}")
        self.theta = None if theta is None else float(theta)
        self.result_: Any = None

    def _fit(self, x: np.ndarray) -> None:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        self.result_ = None  # a failed refit must not leave the previous model behind
        if np.ptp(x) == 0:
            raise RuntimeError("series is constant: the Theta trend is degenerate (use naive)")
        if x.size < 4:
            raise RuntimeError(f"too few points ({x.size}) to fit Theta (needs 4)")
        with _quiet(), _one_blas_thread():
            self.mode_, adjusted, self.season_, self._why = seasonal_adjustment(
                x, self.season_length
            )
            try:
                if self.theta is None:
                    result: Any = choose_theta_state(adjusted)
                    self._adjusted, self._levels = adjusted, result.levels(adjusted)
                else:  # Deseasonalised here, not by ThetaModel: its own test is not M4's.
                    result = ThetaModel(adjusted, deseasonalize=False).fit()
            except Exception as err:  # noqa: BLE001 - reported with the reason
                raise RuntimeError(f"Theta fit failed: {err}") from err
        self.result_ = result

    def update(self, y: np.ndarray) -> "Theta":
        """Move to the end of ``y`` (the fitted data and what followed) with the automatic model's
        parameters, trend line and seasonal indices fixed; a given ``theta`` refits (milliseconds)."""
        x = _as_series(y)
        if self.theta is not None:
            return self.fit(x)
        state, n0 = _fitted(self, "result_"), len(self._adjusted)
        if x.size < n0:
            raise ValueError(f"update needs the {n0} points seen so far and what followed, got {x.size}")
        new = x[n0:]
        if self.mode_ is not None and new.size:  # the fitted season, by phase, over the new points
            indices = np.resize(self.season_, new.size)
            new = new / indices if self.mode_ == "multiplicative" else new - indices
            self.season_ = np.roll(self.season_, -new.size)
        self._adjusted = np.r_[self._adjusted, new]
        self._levels = state.levels(self._adjusted)
        return self

    def _predict(self, h: int) -> np.ndarray:
        with _quiet():
            if self.theta is None:
                f = self.result_.forecast(self._levels, h)
            else:
                f = np.asarray(self.result_.forecast(h, theta=self.theta), dtype=float)
        return _reseasonalise(f, self.mode_, self.season_)

    @property
    def spec(self) -> str:
        if self.result_ is None:
            return _UNFITTED
        if self.theta is None:
            kind = "optimised" if self.result_.theta != 2.0 else "standard"
            theta = f"theta={self.result_.theta:.3g} {kind}"
        else:
            theta = f"theta={self.theta:g}"
        if self.mode_ is not None:
            return f"Theta({theta}, deseasonalised {self._why})"
        return f"Theta({theta})" if self.season_length == 1 else f"Theta({theta}, {self._why})"
