"""M4's seasonality test and classical multiplicative decomposition (Naive2, Theta, the residual base)."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from growlstm.baselines.common import _as_series, _quiet



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
