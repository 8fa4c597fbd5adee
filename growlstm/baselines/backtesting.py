"""Scores on the shared forecast origins, and the classical baselines' backtests.

Every model forecasts the same validation and test windows from the same history: ARIMA, ETS and
the automatic Theta are fitted on the data before the first origin and run forward to the others, the cheap
classical models are refitted at each, the LSTM reads the input_size steps before each. MASE is scaled by the seasonal-naive error of the data
before the origin (M4 definition). A span's metrics are the mean over its origins; the
per-origin values are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from growlstm import metrics
from growlstm.baselines import make_baseline
from growlstm.data.windows import SeriesWindows


def score_at(win: SeriesWindows, origin: int, forecast: np.ndarray) -> dict[str, float]:
    """Metrics of a forecast of the h steps from ``origin``."""
    return metrics.score(win.actuals(origin), forecast, win.history(origin), win.season_length)


def mean_scores(scores: list[dict[str, float]]) -> dict[str, float]:
    """Each metric averaged over origins (or seeds)."""
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]} if scores else {}


def score_origins(
    win: SeriesWindows, origins: np.ndarray, forecast: Callable[[int], np.ndarray]
) -> tuple[dict[str, float], list[dict[str, float]], list[np.ndarray]]:
    """(mean metrics, per-origin metrics, forecasts) of ``forecast(origin)`` over ``origins``."""
    forecasts = [np.asarray(forecast(int(o)), dtype=float) for o in origins]
    per = [score_at(win, int(o), f) for o, f in zip(origins, forecasts)]
    return mean_scores(per), per, forecasts


@dataclass
class BaselineResult:
    """A classical forecast at the validation and (at the end) test origins."""

    name: str
    spec: str = ""
    val: dict[str, float] = field(default_factory=dict)  # mean over the validation origins
    test: dict[str, float] = field(default_factory=dict)
    val_origins: list[dict[str, float]] = field(default_factory=list)  # per origin
    test_origins: list[dict[str, float]] = field(default_factory=list)
    val_forecasts: list[np.ndarray] = field(default_factory=list)
    test_forecasts: list[np.ndarray] = field(default_factory=list)
    # The h steps after the data ends: the model fitted at the first test origin (or, without a
    # test span, on all the data) run forward to the end.
    future: Optional[np.ndarray] = None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


# A forecast further than this many times the history's range outside that range is absurd for
# the series (an exploding fit), not a forecast to win or lose comparisons with.
PLAUSIBLE_RANGES = 10.0


def implausible(forecast: np.ndarray, history: np.ndarray) -> str:
    """Why ``forecast`` cannot be a forecast of this series ("" when it can)."""
    low, high = float(np.min(history)), float(np.max(history))
    reach = PLAUSIBLE_RANGES * max(high - low, abs(high), abs(low), 1e-12)
    outside = np.maximum(forecast - high, low - forecast)
    if np.max(outside) <= reach:
        return ""
    worst = float(forecast[np.argmax(outside)])
    return f"it reaches {worst:.4g} while the data before it lie in [{low:.4g}, {high:.4g}]"


def backtest(name: str, y: np.ndarray, h: int, season_length: int, origins: Sequence[int],
             engine: str = "statsmodels") -> tuple[list[np.ndarray], str]:
    """Forecasts of baseline ``name`` from each origin: fitted once on the data before the first,
    then run forward to each later one with its parameters fixed (``update``: ARIMA, ETS and the
    automatic Theta, whose fits are costly; the others refit, in milliseconds). Returns (forecasts, spec).
    ``engine=statsforecast`` fits arima, ets and theta by statsforecast (``sf_engine``)."""
    from growlstm.baselines.sf_engine import FAMILIES, make_statsforecast

    build = make_statsforecast if engine == "statsforecast" and name in FAMILIES else make_baseline
    model = None
    forecasts = []
    for origin in origins:
        history = y[:origin]
        if model is None or not hasattr(model, "update"):
            model = build(name, season_length).fit(history)
        else:
            model.update(history)
        forecast = np.asarray(model.predict(h), dtype=float)
        if forecast.shape != (h,) or not np.all(np.isfinite(forecast)):
            raise RuntimeError(f"{name} produced a non-finite or mis-shaped forecast at origin {origin}")
        problem = implausible(forecast, history)
        if problem:
            raise RuntimeError(f"{name}'s forecast at origin {origin} is implausible: {problem}")
        forecasts.append(forecast)
    return forecasts, model.spec if model is not None else ""


def run_baseline(name: str, win: SeriesWindows, result: BaselineResult, part: str, engine: str = "statsmodels") -> None:
    """Fill ``result.<part>`` (val or test): fitted at the part's first origin and run forward to
    the others (``backtest``); the test part runs on to the end of the data for ``future``. A
    failure at any origin is recorded, never raised."""
    if result.error:
        return
    origins = [int(o) for o in (win.val_origins if part == "val" else win.test_origins)]
    ahead = [win.future_origin] if part == "test" else []
    if not origins and not ahead:
        return
    start = time.perf_counter()
    try:
        paths, spec = backtest(name, win.y, win.h, win.season_length, origins + ahead, engine)
        if ahead:
            result.future, paths = paths[-1], paths[:-1]
        if not origins:  # no test span: the future alone
            result.spec = spec
            return
        mean, per, forecasts = score_origins(win, np.asarray(origins), dict(zip(origins, paths)).__getitem__)
    except Exception as err:  # any fitting failure: report it and let the others go on
        result.error = f"{type(err).__name__}: {err}".strip()
        return
    finally:
        result.seconds += time.perf_counter() - start
    setattr(result, part, mean)
    setattr(result, f"{part}_origins", per)
    setattr(result, f"{part}_forecasts", forecasts)
    # The model fitted at the test origin, on the most data, describes the baseline once there.
    if part == "test" or not result.spec:
        result.spec = spec
