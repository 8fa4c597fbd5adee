"""AutoARIMA: differencing tests, a stepwise order search, CSS then exact likelihood."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
from scipy import optimize, signal

from growlstm.baselines.common import (
    _UNFITTED, ClassicalModel, _as_series, _check_ic, _check_m, _fitted, _ic_value, _one_blas_thread, _quiet,
)




def _kpss_rejects(x: np.ndarray, alpha: float = 0.05) -> bool:
    """KPSS level-stationarity test rejects at ``alpha`` (lags as forecast::ndiffs)."""
    from statsmodels.tsa.stattools import kpss

    if x.size < 4 or np.ptp(x) == 0:
        return False
    nlags = int(3 * math.sqrt(x.size) / 13)
    try:
        with _quiet():  # p-value interpolation warnings are expected at the table's ends
            try:
                pvalue = kpss(x, regression="c", nlags=nlags, result_object=True).pvalue
            except TypeError:  # statsmodels < 0.15 has no result_object: a plain tuple
                pvalue = kpss(x, regression="c", nlags=nlags)[1]
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
        return False
    return bool(pvalue < alpha)


def ndiffs(x: np.ndarray, max_d: int = 2) -> int:
    """Number of first differences by repeated KPSS tests (Hyndman-Khandakar, alpha 0.05)."""
    d = 0
    while d < max_d and _kpss_rejects(x):
        x = np.diff(x)
        d += 1
    return d


def seasonal_strength(x: np.ndarray, m: int) -> float:
    """Strength of seasonality ``max(0, 1 - Var(R) / Var(S + R))`` from an STL fit.

    The STL settings are forecast::mstl's (seasonal window 7 + 4 = 11, degree 0), as used by
    forecast::nsdiffs and statsforecast: statsmodels' default window 7 follows the season more
    closely, so it called more series seasonal and differenced them (M1 monthly: D = 1 where
    the references keep D = 0 and a seasonal AR term).
    """
    from statsmodels.tsa.seasonal import STL

    with _quiet():
        res = STL(x, period=m, seasonal=11, seasonal_deg=0).fit()
    sr = res.seasonal + res.resid
    if np.var(sr) == 0:
        return 0.0
    return float(max(0.0, 1.0 - np.var(res.resid) / np.var(sr)))


def nsdiffs(x: np.ndarray, m: int, threshold: float = 0.64) -> int:
    """Seasonal differences D in {0, 1}: 1 when the STL seasonal strength >= 0.64.

    This is the default ``"seas"`` rule of forecast::nsdiffs (Wang, Smith & Hyndman 2006);
    it needs two full seasons, shorter series get D = 0.
    """
    if m <= 1 or x.size < 2 * m + 1 or np.ptp(x) == 0:
        return 0
    try:
        return int(seasonal_strength(x, m) >= threshold)
    except (ValueError, np.linalg.LinAlgError):
        return 0


def _difference(x: np.ndarray, lags: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Apply lag-``L`` differences in turn; also return each pre-difference series."""
    history = []
    for lag in lags:
        history.append(x)
        x = x[lag:] - x[:-lag]
    return x, history


def _integrate(wf: np.ndarray, lags: list[int], history: list[np.ndarray]) -> np.ndarray:
    """Undo :func:`_difference` on forecasts of the differenced series."""
    for lag, base in zip(reversed(lags), reversed(history)):
        ext = np.concatenate([base, np.zeros(wf.size)])
        n = base.size
        for i in range(wf.size):
            ext[n + i] = ext[n + i - lag] + wf[i]
        wf = ext[n:]
    return wf


def _lag_poly(coefs: np.ndarray, lag: int, sign: float) -> np.ndarray:
    """Polynomial ``1 + sign * sum_k c_k B^(k*lag)`` in ascending powers of B."""
    poly = np.zeros(coefs.size * lag + 1)
    poly[0] = 1.0
    poly[lag::lag] = sign * coefs
    return poly


def _roots_ok(coefs: np.ndarray, sign: float) -> bool:
    """Stationary/invertible with margin: all roots of ``1 + sign*c(B)`` outside 1.01."""
    if coefs.size == 0 or not np.any(coefs):
        return True
    poly = np.concatenate([[1.0], sign * coefs])
    return bool(np.min(np.abs(np.roots(poly[::-1]))) > 1.01)


# --------------------------------------------------------------------------- ARIMA


Order = tuple[int, int, int, int, bool]  # (p, q, P, Q, constant)
_STEPS = ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1))


def _neighbours(o: Order) -> list[Order]:
    """Stepwise moves of Hyndman-Khandakar: +-1 on (P, Q), then on (p, q), then the constant."""
    p, q, P, Q, c = o
    seasonal = [(p, q, P + a, Q + b, c) for a, b in _STEPS]
    return seasonal + [(p + a, q + b, P, Q, c) for a, b in _STEPS] + [(p, q, P, Q, not c)]


class AutoARIMA(ClassicalModel):
    """Automatic seasonal ARIMA (Hyndman & Khandakar 2008 stepwise search).

    D in {0, 1} by STL seasonal strength, then d <= 2 by KPSS; then a stepwise search over
    p, q <= 5, P, Q <= 2 and a constant (only when d + D <= 1), moving to the
    first neighbour that lowers the information criterion, for at most ``max_fits``
    candidates (the final ML refit not counted). As in R's ``auto.arima``, long
    or very seasonal series (n > 150, or m >= 12 where R has m > 12; ``approximation=None``)
    are searched by conditional sum of squares on a common sample, then the winner is refitted
    by exact maximum likelihood (``SARIMAX`` on the differenced series); short series are
    searched by exact likelihood throughout. Why m >= 12: on the 617 short M1 monthly series,
    exact search took 2.2 s a fit and scored OWA 0.993, the approximation 0.35 s and 0.995;
    on M1 quarterly the approximation lost (0.914 against 0.868), so m = 4 stays exact.

    Fitted: ``order_`` (p, d, q), ``seasonal_order_`` (P, D, Q, m), ``constant_``,
    ``result_`` (statsmodels results on the differenced series), ``ic_`` (its IC),
    ``candidates_`` (spec -> IC used in the search), ``n_fits_``, ``approximation_``.
    """

    name = "arima"

    def __init__(
        self,
        season_length: int = 1,
        ic: str = "aicc",
        max_fits: int = 30,
        approximation: Optional[bool] = None,
        maxiter: int = 50,
    ) -> None:
        self.season_length = _check_m(season_length)
        self.ic = _check_ic(ic)
        if max_fits < 1:
            raise ValueError(f"max_fits must be >= 1, got {max_fits}")
        self.max_fits = max_fits
        self.approximation = approximation
        self.maxiter = maxiter
        self.result_: Any = None

    # ---- fitting one candidate
    def _css(self, w: np.ndarray, o: Order, n0: int) -> tuple[float, np.ndarray]:
        """Conditional-sum-of-squares fit; every candidate conditions on the first n0 points."""
        p, q, P, Q, const = o
        m = self.season_length
        ic0 = int(const)

        def split(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            mu = b[0] if const else 0.0
            i = np.cumsum([ic0, p, q, P, Q])
            return mu, b[i[0] : i[1]], b[i[1] : i[2]], b[i[2] : i[3]], b[i[3] : i[4]]

        def resid(b: np.ndarray) -> np.ndarray:
            mu, ar, ma, sar, sma = split(b)
            arp = np.convolve(_lag_poly(ar, 1, -1.0), _lag_poly(sar, m, -1.0))
            map_ = np.convolve(_lag_poly(ma, 1, 1.0), _lag_poly(sma, m, 1.0))
            u = signal.lfilter(arp, [1.0], w - mu)[n0:]  # exact once t >= AR lag <= n0
            return signal.lfilter([1.0], map_, u)  # MA recursion from zero pre-sample errors

        b0 = np.zeros(ic0 + p + q + P + Q)
        if const:
            b0[0] = float(np.mean(w))
        if b0.size:
            # Converging fits need a handful of LM steps; the cap stops the rare fit that
            # crawls along a non-invertible MA ridge (it then rarely wins anyway).
            b = optimize.least_squares(resid, b0, method="lm", max_nfev=20 * (b0.size + 1)).x
        else:
            b = b0
        mu, ar, ma, sar, sma = split(b)
        # As auto.arima: reject near non-stationary / non-invertible fits.
        if not all(
            [_roots_ok(ar, -1.0), _roots_ok(sar, -1.0), _roots_ok(ma, 1.0), _roots_ok(sma, 1.0)]
        ):
            return math.inf, b
        e = resid(b)
        sigma2 = float(np.mean(e**2))
        if not np.isfinite(sigma2) or sigma2 <= 0:
            return math.inf, b
        llf = -0.5 * e.size * (math.log(2 * math.pi * sigma2) + 1.0)
        return _ic_value(llf, e.size, b.size + 1, self.ic), b

    def _ml(self, w: np.ndarray, o: Order, start: Optional[np.ndarray] = None) -> Any:
        """Exact Gaussian ML fit of an ARMA on the differenced series."""
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        p, q, P, Q, const = o
        m = self.season_length
        k = p + q + P + Q + int(const)
        model = SARIMAX(
            w,
            order=(p, 0, q),
            seasonal_order=(P, 0, Q, m) if P + Q > 0 else (0, 0, 0, 0),
            trend="c" if const else "n",
            concentrate_scale=k > 0,  # one parameter fewer to optimise
        )
        if start is not None and const:
            # CSS estimates a mean; SARIMAX's trend is an intercept = mean * AR(1).
            i = 1 + p + q
            ar_one = (1 - start[1 : 1 + p].sum()) * (1 - start[i : i + P].sum())
            start = np.concatenate([[start[0] * ar_one], start[1:]])
        res = model.fit(disp=False, maxiter=self.maxiter, start_params=start)
        if not np.isfinite(res.llf) or not np.isfinite(getattr(res, self.ic)):
            raise RuntimeError("non-finite likelihood")
        return res

    def _spec(self, o: Order, d: int, D: int) -> str:
        p, q, P, Q, const = o
        s = f"ARIMA({p},{d},{q})"
        if self.season_length > 1 and P + D + Q > 0:
            s += f"({P},{D},{Q})[{self.season_length}]"
        if const:
            s += " with drift" if d + D == 1 else " with non-zero mean"
        return s

    # ---- search
    def _fit(self, x: np.ndarray) -> None:
        self.result_ = None  # a failed refit must not leave the previous model behind
        if np.ptp(x) == 0:
            raise RuntimeError("series is constant: ARIMA is not identifiable (use naive)")
        m = self.season_length
        with _quiet(), _one_blas_thread():
            D = nsdiffs(x, m)
            d = ndiffs(_difference(x, [m] * D)[0])
            self._lags = [m] * D + [1] * d
            w, self._history = _difference(x, self._lags)
            if w.size < 4:
                raise RuntimeError(f"too few points after differencing ({w.size}) to fit ARIMA")
            approx = self.approximation
            self.approximation_ = (x.size > 150 or m >= 12) if approx is None else approx
            cache, error = self._search(w, d, D)
            self.n_fits_ = len(cache)
            ok = [o for o in cache if np.isfinite(cache[o][0])]
            ranked = sorted(ok, key=lambda o: cache[o][0])
            if not ranked:
                raise RuntimeError(f"no ARIMA candidate could be fitted (last error: {error})")
            if not self.approximation_:
                chosen, result = ranked[0], cache[ranked[0]][1]
            else:
                # CSS picked the order; the final parameters come from exact ML. If the
                # refit fails, fall back to the next best order (as auto.arima does).
                for chosen in ranked[:3]:
                    try:
                        result = self._ml(w, chosen, start=cache[chosen][1])
                        break
                    except Exception as err:  # noqa: BLE001 - try the next order
                        error = f"ML refit of {self._spec(chosen, d, D)}: {err}"
                else:
                    raise RuntimeError(f"ARIMA refit failed (last error: {error})")

        p, q, P, Q, const = chosen
        self.order_, self.seasonal_order_, self.constant_ = (p, d, q), (P, D, Q, m), const
        self.result_ = result
        self.ic_ = float(getattr(result, self.ic))
        self._fitted_spec = self._spec(chosen, d, D)

    def _search(self, w: np.ndarray, d: int, D: int) -> tuple[dict[Order, tuple[float, Any]], str]:
        """Hyndman-Khandakar stepwise search; returns order -> (IC, fit) and the last error."""
        m, n = self.season_length, w.size
        # Bounds as auto.arima: no more lags than a third of the data supports.
        max_p = min(5, n // 3)
        max_P = min(2, n // (3 * m)) if m > 1 else 0
        n0 = max_p + max_P * m  # CSS conditions every candidate on the same first n0 points
        allow_const = d + D <= 1
        cache: dict[Order, tuple[float, Any]] = {}
        self.candidates_: dict[str, float] = {}
        error = "no candidate was tried"

        def evaluate(o: Order) -> float:
            nonlocal error
            try:
                if self.approximation_:
                    ic, state = self._css(w, o, n0)
                else:
                    state = self._ml(w, o)
                    ic = float(getattr(state, self.ic))
            except Exception as err:  # noqa: BLE001 - any failure just rules it out
                error, ic, state = f"{self._spec(o, d, D)}: {err}", math.inf, None
            cache[o] = (ic, state)
            if np.isfinite(ic):
                self.candidates_[self._spec(o, d, D)] = ic
            return ic

        def fresh(o: Order) -> bool:
            p, q, P, Q, c = o
            return (
                o not in cache and len(cache) < self.max_fits
                and 0 <= p <= max_p and 0 <= q <= max_p and 0 <= P <= max_P and 0 <= Q <= max_P
                and (allow_const or not c)
            )  # fmt: skip

        c = allow_const
        starts: list[Order] = [
            (min(2, max_p), min(2, max_p), min(1, max_P), min(1, max_P), c),
            (0, 0, 0, 0, c),
            (min(1, max_p), 0, min(1, max_P), 0, c),
            (0, min(1, max_p), 0, min(1, max_P), c),
            (0, 0, 0, 0, False),
        ]
        for o in starts:
            if fresh(o):
                evaluate(o)
        best = min(cache, key=lambda o: cache[o][0])
        improved = True
        while improved:  # move to the first neighbour that improves, until none does
            improved = False
            for nb in filter(fresh, _neighbours(best)):
                if evaluate(nb) < cache[best][0]:
                    best, improved = nb, True
                    break
        return cache, error

    def update(self, y: np.ndarray) -> "AutoARIMA":
        """Move to the end of ``y`` (the fitted data and what followed) with the fitted order and
        parameters fixed: the model run forward, not refitted."""
        x = _as_series(y)
        result = _fitted(self, "result_")
        with _quiet(), _one_blas_thread():
            w, self._history = _difference(x, self._lags)
            self.result_ = result.apply(w)
        return self

    def _predict(self, h: int) -> np.ndarray:
        with _quiet():
            wf = np.asarray(self.result_.forecast(h), dtype=float)
            return _integrate(wf, self._lags, self._history)

    @property
    def spec(self) -> str:
        return _UNFITTED if self.result_ is None else self._fitted_spec
