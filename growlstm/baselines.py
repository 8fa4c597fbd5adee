"""Classical forecasts that every LSTM is benchmarked against.

All baselines share one small protocol in Nixtla-like vocabulary: ``fit(y)`` returns the
baseline, ``predict(h)`` returns ``h`` finite floats, fitted state lives in attributes ending
in ``_`` and ``spec`` describes the fitted model in words (``"ARIMA(1,1,1)(0,1,1)[12]"``).
Statsmodels warnings are silenced inside ``fit``/``predict``: the console belongs to the
forecaster. A baseline that cannot be fitted raises ``RuntimeError`` with the reason, so the
caller can record it as failed and go on. Statsmodels is imported inside the functions
that use it: importing growlstm stays fast for runs without ARIMA/ETS.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Optional, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, signal

from growlstm.config import BaselineName, values

BASELINES: tuple[str, ...] = ("naive", "seasonal_naive", "arima", "ets", "theta", "naive2")
assert set(BASELINES) == set(values(BaselineName)), "config.BaselineName lists the same names"
_ICS: tuple[str, ...] = ("aicc", "aic", "bic")
# `spec` of an unfitted baseline: a string, not an error, so that isinstance(b, Baseline)
# (which reads the property on Python 3.11) works before fit.
_UNFITTED = "not fitted"


@runtime_checkable
class Baseline(Protocol):
    """A classical forecaster: ``fit(y) -> self``, ``predict(h) -> (h,)`` floats."""

    name: str

    def fit(self, y: np.ndarray) -> "Baseline": ...

    def predict(self, h: int) -> np.ndarray: ...

    @property
    def spec(self) -> str: ...


# --------------------------------------------------------------------------- helpers


def _as_series(y: ArrayLike) -> np.ndarray:
    """Validate and return a 1-D finite float array."""
    x = np.asarray(y, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {x.shape}")
    if x.size == 0:
        raise ValueError("cannot fit a baseline on an empty series")
    if not np.all(np.isfinite(x)):
        raise ValueError("the series holds NaN or infinite values")
    return x


def _check_h(h: int) -> int:
    if int(h) != h or h < 1:
        raise ValueError(f"horizon h must be a positive integer, got {h!r}")
    return int(h)


def _check_ic(ic: str) -> str:
    if ic not in _ICS:
        raise ValueError(f"unknown information criterion {ic!r}; valid: {', '.join(_ICS)}")
    return ic


def _check_m(m: int) -> int:
    if int(m) != m or m < 1:
        raise ValueError(f"season_length must be a positive integer, got {m!r}")
    return int(m)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence statsmodels/scipy/numpy warnings: the console is for the forecaster."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# Thread-count setters of OpenBLAS builds (numpy/scipy wheels prefix and suffix them).
_OPENBLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def _openblas_threads() -> list[tuple[Callable[[], int], Callable[[int], None]]]:
    """(get, set) thread-count functions of each OpenBLAS loaded in this process (Linux)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {ln.split()[-1] for ln in fh if "openblas" in ln.rsplit("/", 1)[-1].lower()}
    except OSError:
        return []
    out = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for setter in _OPENBLAS_SETTERS:
            getter = setter.replace("_set_", "_get_")
            if hasattr(lib, setter) and hasattr(lib, getter):
                out.append((getattr(lib, getter), getattr(lib, setter)))
                break
    return out


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run BLAS single-threaded, then restore the previous thread counts.

    The state-space and ETS fits multiply matrices of at most ~30 x 30, where BLAS threads
    only add overhead; on a busy 2-core machine OpenBLAS's spinning threads made the same
    search 20x slower (0.5 s -> 11 s on Nile). Best effort: a no-op without OpenBLAS.
    """
    handles = _openblas_threads()
    saved = [get() for get, _ in handles]
    for _, set_threads in handles:
        set_threads(1)
    try:
        yield
    finally:
        for (_, set_threads), n in zip(handles, saved):
            set_threads(n)


def _fitted(obj: object, attr: str) -> Any:
    """The fitted attribute ``attr``, or a clear error when ``fit`` was not called."""
    value = getattr(obj, attr, None)
    if value is None:
        raise RuntimeError(f"{type(obj).__name__} is not fitted: call fit(y) first")
    return value


def _finite(f: np.ndarray, who: str) -> np.ndarray:
    f = np.asarray(f, dtype=float).ravel()
    if not np.all(np.isfinite(f)):
        raise RuntimeError(f"{who} produced non-finite forecasts")
    return f


def _ic_value(llf: float, nobs: int, k: int, ic: str) -> float:
    """AIC / AICc / BIC from a log-likelihood with ``k`` parameters (sigma2 included)."""
    if ic == "aic":
        return -2.0 * llf + 2.0 * k
    if ic == "bic":
        return -2.0 * llf + k * math.log(nobs)
    if nobs - k - 1 <= 0:  # AICc undefined: too many parameters for the data
        return math.inf
    return -2.0 * llf + 2.0 * k + 2.0 * k * (k + 1) / (nobs - k - 1)


# --------------------------------------------------------------------------- naive


class Naive:
    """Repeat the last observed value."""

    name = "naive"

    def __init__(self) -> None:
        self.last_: Optional[float] = None

    def fit(self, y: np.ndarray) -> "Naive":
        self.last_ = float(_as_series(y)[-1])
        return self

    def predict(self, h: int) -> np.ndarray:
        return np.full(_check_h(h), float(_fitted(self, "last_")))

    @property
    def spec(self) -> str:
        return "naive"


class SeasonalNaive:
    """Repeat the last full season; naive when ``season_length`` is 1 or exceeds the data."""

    name = "seasonal_naive"

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = _check_m(season_length)
        self.season_: Optional[np.ndarray] = None
        self.m_: Optional[int] = None

    def fit(self, y: np.ndarray) -> "SeasonalNaive":
        x = _as_series(y)
        # Shorter than one season: there is no season to repeat, so fall back to naive.
        self.m_ = self.season_length if x.size >= self.season_length else 1
        self.season_ = x[-self.m_ :].copy()
        return self

    def predict(self, h: int) -> np.ndarray:
        season = _fitted(self, "season_")
        return np.resize(season, _check_h(h)).astype(float)

    @property
    def spec(self) -> str:
        m = self.m_
        if m is None:
            return _UNFITTED
        if m == 1 and self.season_length > 1:
            return f"naive (series shorter than one season, m={self.season_length})"
        return "naive" if m == 1 else f"seasonal naive (m={m})"


# --------------------------------------------------------------------------- ARIMA helpers


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
    """Strength of seasonality ``max(0, 1 - Var(R) / Var(S + R))`` from an STL fit."""
    from statsmodels.tsa.seasonal import STL

    with _quiet():
        res = STL(x, period=m).fit()
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


class AutoARIMA:
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
    def fit(self, y: np.ndarray) -> "AutoARIMA":
        x = _as_series(y)
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
        return self

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

    def predict(self, h: int) -> np.ndarray:
        h = _check_h(h)
        result = _fitted(self, "result_")
        with _quiet():
            wf = np.asarray(result.forecast(h), dtype=float)
            f = _integrate(wf, self._lags, self._history)
        return _finite(f, self.spec)

    @property
    def spec(self) -> str:
        return _UNFITTED if self.result_ is None else self._fitted_spec


# --------------------------------------------------------------------------- ETS


ETSForm = tuple[str, Optional[str], Optional[str]]  # (error, trend, season) as ETSModel spells them


def _ets_spec(form: ETSForm) -> str:
    error, trend, season = form
    return "ETS({},{},{})".format(
        error[0].upper(),
        {None: "N", "add": "A", "add_damped": "Ad"}[trend],
        {None: "N", "add": "A", "mul": "M"}[season],
    )


class AutoETS:
    """Automatic exponential smoothing: the state-space ETS model with the lowest IC.

    Candidates are error {A, M} x trend {N, A, Ad} x season {N, A, M}, fitted with
    statsmodels ``ETSModel``, less additive error with multiplicative season (infinite
    forecast variance; excluded as by forecast::ets and statsforecast, ``restrict=TRUE``).
    Seasonal models need ``season_length > 1`` and two full seasons; multiplicative components
    need a strictly positive series. Fits that fail or give a non-finite IC are skipped.

    The search has two stages when the series is long enough for statsmodels' heuristic
    initial states (``n >= 10 + 2 * (m // 2)``): every candidate is first fitted with those
    states held fixed, so only the 1-4 smoothing parameters are optimised, and ranked by
    the IC with the initial states counted as parameters; then the best ``screen``
    candidates are refitted by maximum likelihood with all initial states estimated
    (started from the stage-one smoothing parameters) and the lowest IC wins. Why: with
    m = 24 a seasonal candidate has ~30 parameters and numerical gradients, so fitting all
    15 by full ML took 5 s per M4 hourly series, 5x statsforecast; the screen keeps the
    accuracy (M4 subset: scripts/results/bench_baselines.md). ``screen=None`` fits every
    candidate by full ML. ``maxiter`` and ``factr`` (L-BFGS-B's relative tolerance on the
    likelihood, in units of machine epsilon; 1e10 ~ 2e-6) bound the full-ML fits: uncapped,
    co2's fit takes twice as long for an AICc 4 lower (of ~240).

    Fitted: ``result_``, ``ic_``, ``candidates_`` (spec -> IC of every candidate fitted by
    full ML), ``screened_`` (spec -> stage-one IC; empty without a screen).
    """

    name = "ets"

    def __init__(
        self,
        season_length: int = 1,
        ic: str = "aicc",
        maxiter: int = 200,
        screen: Optional[int] = 3,
        factr: float = 1e10,
    ) -> None:
        self.season_length = _check_m(season_length)
        self.ic = _check_ic(ic)
        if screen is not None and screen < 1:
            raise ValueError(f"screen must be None or >= 1, got {screen}")
        self.maxiter = maxiter
        self.screen = screen
        self.factr = factr
        self.result_: Any = None

    def _model(self, x: np.ndarray, form: ETSForm, init: str) -> Any:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        error, trend, season = form
        return ETSModel(
            x,
            error=error,
            trend=None if trend is None else "add",
            damped_trend=trend == "add_damped",
            seasonal=season,
            seasonal_periods=self.season_length if season else None,
            initialization_method=init,
        )

    def fit(self, y: np.ndarray) -> "AutoETS":
        x = _as_series(y)
        self.result_ = None  # a failed refit must not leave the previous model behind
        if np.ptp(x) == 0:
            raise RuntimeError("series is constant: ETS likelihood is degenerate (use naive)")
        m = self.season_length
        positive = bool(np.all(x > 0))
        errors = ["add", "mul"] if positive else ["add"]
        trends: list[Optional[str]] = [None, "add", "add_damped"]
        seasons: list[Optional[str]] = [None]
        if m > 1 and x.size >= 2 * m:
            seasons += ["add", "mul"] if positive else ["add"]
        forms = [
            (e, t, s) for e, t, s in itertools.product(errors, trends, seasons)
            if not (e == "add" and s == "mul")
        ]  # fmt: skip

        self.candidates_: dict[str, float] = {}
        self.screened_: dict[str, float] = {}
        best: Optional[tuple[float, str, Any, np.ndarray]] = None
        self._last_error = "no candidate was tried"
        with _quiet(), _one_blas_thread():
            starts: dict[ETSForm, Optional[np.ndarray]] = {f: None for f in forms}
            if self.screen is not None and x.size >= 10 + 2 * (m // 2):
                # If no heuristic start works, fall back to full ML of every form.
                starts = self._screen(x, forms) or starts
            for form, smoothing in starts.items():
                spec = _ets_spec(form)
                try:
                    model = self._model(x, form, "estimated")
                    start = None
                    if smoothing is not None:  # stage-one smoothing, heuristic initial states
                        start = np.asarray(model.start_params, dtype=float).copy()
                        start[: smoothing.size] = smoothing
                    params = model.fit(
                        start_params=start, disp=False, maxiter=self.maxiter, factr=self.factr,
                        return_params=True,  # no covariance matrix for candidates that lose
                    )
                    ic = _ic_value(model.loglike(params), x.size, model.k_params + 1, self.ic)
                except Exception as err:  # noqa: BLE001 - a failing candidate is skipped
                    self._last_error = f"{spec}: {err}"
                    continue
                if not np.isfinite(ic):
                    self._last_error = f"{spec}: non-finite {self.ic}"
                    continue
                self.candidates_[spec] = ic
                if best is None or ic < best[0]:
                    best = (ic, spec, model, params)
            if best is None:
                raise RuntimeError(
                    f"no ETS candidate could be fitted (last error: {self._last_error})"
                )
            self.ic_, self._fitted_spec, model, params = best
            self.result_ = model.smooth(params)
            self._params = params
        return self

    def update(self, y: np.ndarray) -> "AutoETS":
        """Move to the end of ``y`` (the fitted data and what followed) with the fitted form,
        smoothing parameters and initial states fixed: the states filtered forward, not refitted."""
        x = _as_series(y)
        model = _fitted(self, "result_").model
        form = (model.error, None if not model.trend else "add_damped" if model.damped_trend else "add", model.seasonal)
        with _quiet(), _one_blas_thread():
            self.result_ = self._model(x, form, "estimated").smooth(self._params)
        return self

    def _screen(self, x: np.ndarray, forms: list[ETSForm]) -> dict[ETSForm, Optional[np.ndarray]]:
        """Stage one: the best ``screen`` forms by IC with heuristic initial states."""
        ranked: list[tuple[float, ETSForm, np.ndarray]] = []
        for form in forms:
            try:
                model = self._model(x, form, "heuristic")
                params = model.fit(disp=False, maxiter=self.maxiter, return_params=True)
                # Count the initial states: they were estimated from the data, if not by ML.
                k = model.k_params + model._k_initial_states + 1
                ic = _ic_value(model.loglike(params), x.size, k, self.ic)
            except Exception as err:  # noqa: BLE001 - a failing candidate is skipped
                self._last_error = f"{_ets_spec(form)} (heuristic start): {err}"
                continue
            if np.isfinite(ic):
                self.screened_[_ets_spec(form)] = ic
                ranked.append((ic, form, np.asarray(params, dtype=float)))
        ranked.sort(key=lambda r: r[0])
        return {form: params for _, form, params in ranked[: self.screen]}

    def predict(self, h: int) -> np.ndarray:
        h = _check_h(h)
        result = _fitted(self, "result_")
        with _quiet():
            f = np.asarray(result.forecast(h), dtype=float)
        return _finite(f, self.spec)

    @property
    def spec(self) -> str:
        return _UNFITTED if self.result_ is None else self._fitted_spec


# --------------------------------------------------------------------------- M4 seasonal adjustment

# One-sided 90% critical value of the M4 seasonality test.
_TCRIT = 1.645


def seasonality_test(x: np.ndarray, m: int) -> bool:
    """M4's 90% autocorrelation test for seasonality at lag ``m``.

    Seasonal when ``|acf_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} acf_k^2) / n)``, as the
    ``SeasonalityTest`` of the M4 benchmark code (R); like it, needs ``m > 1`` and at least
    three full seasons, otherwise (and for a constant series) returns False.
    """
    x = _as_series(x)
    n = x.size
    if m <= 1 or n < 3 * m:
        return False
    xc = x - x.mean()
    denom = float(xc @ xc)
    if denom == 0.0:
        return False
    # The biased sample ACF (denominator n, as R's acf), lags 1..m.
    acf = np.array([xc[k:] @ xc[:-k] for k in range(1, m + 1)]) / denom
    limit = _TCRIT * math.sqrt((1.0 + 2.0 * float(np.sum(acf[: m - 1] ** 2))) / n)
    return bool(abs(acf[m - 1]) > limit)


def seasonal_adjustment(
    x: np.ndarray, m: int
) -> tuple[Optional[str], np.ndarray, np.ndarray, str]:
    """Classical decomposition as the M4 benchmarks: (mode, adjusted x, last season, why).

    ``mode`` is "multiplicative" (strictly positive series), "additive" (a seasonal series
    with zeros or negatives, where ratios are undefined) or None when the M4 test finds no
    seasonality, in which case ``x`` is returned unchanged. ``last season`` holds the ``m``
    seasonal indices of the last ``m`` observations: forecasts repeat them (step 1 gets the
    first), exactly as M4's ``head(rep(seasonal[n-m+1..n], h), h)``.
    """
    from statsmodels.tsa.seasonal import seasonal_decompose

    if m <= 1:
        return None, x, np.ones(1), "m=1"
    if x.size < 3 * m:
        return None, x, np.ones(1), f"shorter than three seasons, m={m}"
    if not seasonality_test(x, m):
        return None, x, np.ones(1), f"no seasonality at m={m}"
    mode = "multiplicative" if np.all(x > 0) else "additive"
    with _quiet():
        seasonal = np.asarray(seasonal_decompose(x, model=mode, period=m).seasonal, dtype=float)
    adjusted = x / seasonal if mode == "multiplicative" else x - seasonal
    return mode, adjusted, seasonal[-m:].copy(), f"{mode} m={m}"


def _reseasonalise(f: np.ndarray, mode: Optional[str], season: np.ndarray) -> np.ndarray:
    """Put the repeated last season back onto forecasts of the adjusted series."""
    if mode is None:
        return f
    s = np.resize(season, f.size)
    return f * s if mode == "multiplicative" else f + s


# --------------------------------------------------------------------------- Naive2


class Naive2:
    """M4's Naive2: naive on the seasonally adjusted series, then re-seasonalised.

    Adjusts with classical multiplicative decomposition (``seasonal_decompose`` on the
    training data) only when M4's 90% seasonality test at lag ``season_length`` passes;
    otherwise (m = 1, fewer than three seasons, no seasonality) it is plain naive, and
    ``spec`` says why. This reproduces the official M4 Naive2 forecasts. A seasonal series
    that is not strictly positive (never the case in M4) is adjusted additively.

    Fitted: ``mode_`` ("multiplicative", "additive" or None), ``level_`` (last adjusted
    value), ``season_`` (seasonal indices of the last season).
    """

    name = "naive2"

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = _check_m(season_length)
        self.level_: Optional[float] = None
        self.mode_: Optional[str] = None
        self.season_: Optional[np.ndarray] = None

    def fit(self, y: np.ndarray) -> "Naive2":
        x = _as_series(y)
        self.mode_, adjusted, self.season_, self._why = seasonal_adjustment(x, self.season_length)
        self.level_ = float(adjusted[-1])
        return self

    def predict(self, h: int) -> np.ndarray:
        h = _check_h(h)
        level = float(_fitted(self, "level_"))
        f = _reseasonalise(np.full(h, level), self.mode_, self.season_)
        return _finite(f, self.spec)

    @property
    def spec(self) -> str:
        if self.level_ is None:
            return _UNFITTED
        if self.mode_ is None:
            return f"naive2 = naive ({self._why})"
        return f"naive2 (deseasonalised {self._why})"


# --------------------------------------------------------------------------- Theta


class Theta:
    """The Theta method as the M4 benchmark: SES with drift on the seasonally adjusted series.

    Seasonal adjustment as :class:`Naive2` (M4's 90% test at lag ``season_length``,
    classical multiplicative decomposition, additive for a series that is not strictly
    positive); the adjusted series is fitted by statsmodels ``ThetaModel`` (OLS trend slope,
    SES with the smoothing weight by least squares) and forecast with the given ``theta``
    (2: the classic Theta of Assimakopoulos & Nikolopoulos, half the trend slope added to
    SES). We tried choosing theta in {1, 1.5, 2, 2.5, 3, 4} by in-sample one-step MSE and
    ARIMA(0,1,1)-with-drift estimation: on the M4 subset neither beat theta = 2 (median
    MASE ratio to statsforecast's AutoTheta 1.001 and 1.002 against 1.000), so we keep the
    simple, well-understood method.

    Fitted: ``result_`` (statsmodels ``ThetaModelResults``), ``mode_``, ``season_``.
    """

    name = "theta"

    def __init__(self, season_length: int = 1, theta: float = 2.0) -> None:
        self.season_length = _check_m(season_length)
        if not theta >= 1:
            raise ValueError(f"theta must be >= 1, got {theta!r}")
        self.theta = float(theta)
        self.result_: Any = None

    def fit(self, y: np.ndarray) -> "Theta":
        from statsmodels.tsa.forecasting.theta import ThetaModel

        x = _as_series(y)
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
                # Deseasonalised here, not by ThetaModel: its own test is not M4's.
                result = ThetaModel(adjusted, deseasonalize=False).fit()
            except Exception as err:  # noqa: BLE001 - reported with the reason
                raise RuntimeError(f"Theta fit failed: {err}") from err
        self.result_ = result
        return self

    def predict(self, h: int) -> np.ndarray:
        h = _check_h(h)
        result = _fitted(self, "result_")
        with _quiet():
            f = np.asarray(result.forecast(h, theta=self.theta), dtype=float)
        return _finite(_reseasonalise(f, self.mode_, self.season_), self.spec)

    @property
    def spec(self) -> str:
        if self.result_ is None:
            return _UNFITTED
        theta = f"theta={self.theta:g}"
        if self.mode_ is not None:
            return f"Theta({theta}, deseasonalised {self._why})"
        return f"Theta({theta})" if self.season_length == 1 else f"Theta({theta}, {self._why})"


# --------------------------------------------------------------------------- factory


def make_baseline(name: str, season_length: int = 1) -> Baseline:
    """Build a baseline by name: one of :data:`BASELINES`."""
    if name == "naive":
        return Naive()
    if name == "seasonal_naive":
        return SeasonalNaive(season_length)
    if name == "arima":
        return AutoARIMA(season_length)
    if name == "ets":
        return AutoETS(season_length)
    if name == "theta":
        return Theta(season_length)
    if name == "naive2":
        return Naive2(season_length)
    raise ValueError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}")
