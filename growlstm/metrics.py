"""Point-forecast accuracy metrics, as defined in the M4 competition.

sMAPE is in percent (0..200), MASE is scaled by the in-sample seasonal-naive error, and OWA
is the mean of the sMAPE and MASE ratios to a reference (Naive2 in M4). MAE and RMSE are
kept besides, in the units of the series.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

METRICS: tuple[str, ...] = ("mae", "rmse", "smape", "mase")


def _pair(y: ArrayLike, f: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return actuals and forecasts as 1-D float arrays of equal, non-zero length."""
    ya = np.asarray(y, dtype=float).ravel()
    fa = np.asarray(f, dtype=float).ravel()
    if ya.shape != fa.shape:
        raise ValueError(f"actuals and forecasts differ in length: {ya.size} vs {fa.size}")
    if ya.size == 0:
        raise ValueError("actuals and forecasts are empty")
    return ya, fa


def mae(y: ArrayLike, f: ArrayLike) -> float:
    """Mean absolute error."""
    ya, fa = _pair(y, f)
    return float(np.mean(np.abs(ya - fa)))


def rmse(y: ArrayLike, f: ArrayLike) -> float:
    """Root mean squared error."""
    ya, fa = _pair(y, f)
    return float(np.sqrt(np.mean((ya - fa) ** 2)))


def smape(y: ArrayLike, f: ArrayLike) -> float:
    """Symmetric MAPE in percent: mean of ``200 |y - f| / (|y| + |f|)``.

    A term whose denominator is zero (``y == f == 0``) is a perfect forecast and counts 0,
    rather than making the whole mean NaN.
    """
    ya, fa = _pair(y, f)
    return float(np.mean(smape_terms(ya, fa)))


def metric_label(metric: str) -> str:
    """How a metric is written for the reader: sMAPE, MASE, MAE, RMSE."""
    return "sMAPE" if metric == "smape" else metric.upper()


def smape_terms(y: np.ndarray, f: np.ndarray) -> np.ndarray:
    """The terms ``smape`` averages, elementwise (0 where ``y == f == 0``)."""
    num = 200.0 * np.abs(y - f)
    den = np.abs(y) + np.abs(f)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def mase_scale(insample: ArrayLike, m: int) -> float:
    """In-sample seasonal-naive MAE: mean ``|x_t - x_{t-m}|`` over ``t > m``.

    Falls back to ``m = 1`` when the training data hold no full season (as the M4 code
    does), so short series still get a scale. May return 0 for a constant series; the
    caller decides what that means.

    Parameters
    ----------
    insample : array-like
        Training data only (never the test block).
    m : int
        Season length (12 monthly, 4 quarterly, 24 hourly, 1 otherwise).
    """
    x = np.asarray(insample, dtype=float).ravel()
    if m < 1:
        raise ValueError(f"season length m must be >= 1, got {m}")
    if x.size < 2:
        raise ValueError(f"MASE needs at least 2 in-sample points, got {x.size}")
    if x.size <= m:
        m = 1
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def mase(y: ArrayLike, f: ArrayLike, insample: ArrayLike, m: int) -> float:
    """Mean absolute scaled error; NaN when the in-sample scale is 0 (undefined)."""
    scale = mase_scale(insample, m)
    if scale == 0.0:
        return float("nan")
    return mae(y, f) / scale


def owa(smape: float, mase: float, smape_naive2: float, mase_naive2: float) -> float:
    """Overall weighted average: mean of the sMAPE and MASE ratios to the reference."""
    return (smape / smape_naive2 + mase / mase_naive2) / 2.0


def score(y: ArrayLike, f: ArrayLike, insample: ArrayLike, m: int) -> dict[str, float]:
    """All metrics of one forecast, keyed as in :data:`METRICS`."""
    return {
        "mae": mae(y, f),
        "rmse": rmse(y, f),
        "smape": smape(y, f),
        "mase": mase(y, f, insample, m),
    }


def fmt(value: object, digits: int = 3) -> str:
    """A score for the reader (console and report.html): fixed digits, "-" when missing or not finite."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return f"{v:.{digits}f}" if math.isfinite(v) else "-"
