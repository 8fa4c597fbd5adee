"""Classical forecasts that every LSTM is benchmarked against: one module per family.

All baselines share one small protocol in Nixtla-like vocabulary: ``fit(y)`` returns the
baseline, ``predict(h)`` returns ``h`` finite floats, fitted state lives in attributes ending
in ``_`` and ``spec`` describes the fitted model in words (``"ARIMA(1,1,1)(0,1,1)[12]"``).
Statsmodels warnings are silenced inside ``fit``/``predict``: the console belongs to the
forecaster. A baseline that cannot be fitted raises ``RuntimeError`` with the reason, so the
caller can record it as failed and go on. Statsmodels is imported inside the functions
that use it: importing growlstm stays fast for runs without ARIMA/ETS.
"""


from __future__ import annotations

from growlstm.baselines.arima import AutoARIMA, _difference, _integrate, ndiffs, nsdiffs
from growlstm.baselines.common import Baseline
from growlstm.baselines.ets import AutoETS
from growlstm.baselines.naive import Naive, SeasonalNaive
from growlstm.baselines.naive2 import Naive2
from growlstm.baselines.seasonal import seasonal_adjustment, seasonality_test
from growlstm.baselines.theta import Theta
from growlstm.config import BaselineName, values

BASELINES: tuple[str, ...] = ("naive", "seasonal_naive", "arima", "ets", "theta", "naive2")
assert set(BASELINES) == set(values(BaselineName)), "config.BaselineName lists the same names"

__all__ = [
    "BASELINES", "AutoARIMA", "AutoETS", "Baseline", "Naive", "Naive2", "SeasonalNaive", "Theta", "make_baseline",
    "ndiffs", "nsdiffs", "seasonal_adjustment", "seasonality_test", "_difference", "_integrate",
]


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
