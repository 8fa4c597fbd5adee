"""The residual treatment: the LSTM corrects a classical forecast instead of forecasting alone.

Three bases: ``theta`` (below), ``ets`` (AutoETS, the ets baseline) and ``seasonal_naive`` (the
last full season repeated, naive when the season length is 1), which needs no fitting and is
the stronger base where the season dominates (M4 hourly: seasonal naive OWA 0.83 against
Theta's 1.01). ``auto`` picks, per series, the better of theta and seasonal naive on the
validation origins (never the test span).

Refitting a classical model at every training origin costs one fit per window (60 ms for
statsmodels' Theta on co2, 30 s per run), so a base forecast here is the model fitted once on
the data before the validation span, then run forward to every origin with those parameters:
Theta in closed form (SES with half the linear drift, on the seasonally adjusted series, as the
theta baseline); ETS by filtering its states over the series (statsmodels' ``smooth``) and
forecasting from each origin's states. Each origin's forecast uses the observations before it
only, and the parameters never saw the validation or test spans: no leakage, at the price of
not refitting per origin. A refit (``growth.refit``) fits them again on the data before its
origin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize, signal

from growlstm.baselines import seasonal_adjustment
from growlstm.baselines.backtesting import score_origins
from growlstm.data.windows import SeriesWindows

RESIDUAL_BASES = ("theta", "seasonal_naive", "ets")
AUTO_BASES = ("theta", "seasonal_naive")  # what ``auto`` chooses between


def fitted_base(name: str | None) -> bool:
    """Whether the base fits a model per series: ETS, ~0.1 s a fit (M1 monthly), worth spreading
    over worker processes (Theta's closed form and seasonal naive are not)."""
    return name == "ets"


def ses_levels(x: np.ndarray, alpha: float) -> np.ndarray:
    """SES level after each observation, starting from the first value: shape (n,)."""
    b, a = [alpha], [1.0, -(1.0 - alpha)]
    return signal.lfilter(b, a, x, zi=[(1.0 - alpha) * x[0]])[0]


def fit_alpha(x: np.ndarray) -> float:
    """SES smoothing weight minimising the one-step squared error."""

    def sse(alpha: float) -> float:
        level = ses_levels(x, alpha)
        return float(np.sum((x[1:] - level[:-1]) ** 2))

    return float(optimize.minimize_scalar(sse, bounds=(0.01, 0.99), method="bounded").x)


def theta_paths(y: np.ndarray, fit_end: int, h: int, m: int) -> np.ndarray:
    """Theta forecasts from every origin 1..len(y): row ``o`` forecasts y[o:o+h] from y[:o].

    Parameters (season indices, alpha, drift) come from ``y[:fit_end]``. Shape (len(y) + 1, h);
    row 0 is NaN (no data before it).
    """
    # The theta baseline's own seasonal adjustment (M4 test, classical decomposition), so the
    # base equals that baseline at the fitting origin; its last season, by phase, covers every t.
    mode, _, last_season, _ = seasonal_adjustment(y[:fit_end], m)
    mult = mode != "additive"
    if mode is None:
        last_season = np.ones(1)
    phases = (np.arange(len(y) + h) - (fit_end - len(last_season))) % len(last_season)
    season = last_season[phases]
    adjusted = y / season[: len(y)] if mult else y - season[: len(y)]
    if fit_end >= 3:
        alpha = fit_alpha(adjusted[:fit_end])
        # Theta(2): half the slope of the linear trend fitted to the adjusted training data.
        drift = 0.5 * np.polyfit(np.arange(fit_end), adjusted[:fit_end], 1)[0]
    else:  # too few points to fit either: the naive forecast (a level that follows the data, no drift)
        alpha, drift = 0.99, 0.0
    levels = ses_levels(adjusted, alpha)
    out = np.full((len(y) + 1, h), np.nan)
    origins = np.arange(1, len(y) + 1)
    steps = np.arange(h)[None, :]
    # statsmodels' ThetaModel trend term: b0 * (k + 1/alpha - (1 - alpha)^n / alpha), k = 0..h-1.
    trend = drift * (steps + 1 / alpha - ((1 - alpha) ** origins[:, None]) / alpha)
    path = levels[origins - 1][:, None] + trend
    future = season[origins[:, None] + steps]
    out[1:] = path * future if mult else path + future
    return out


def ets_state_paths(result: Any, n: int, h: int, m: int) -> np.ndarray:
    """Point forecasts of a smoothed statsmodels ETS result from every origin: shape (n + 1, h)."""
    model = result.model
    states = np.asarray(result.states, dtype=float)
    steps = np.arange(1, h + 1)
    origins = np.arange(1, n + 1)
    phi = float(result.damping_trend) if model.damped_trend else 1.0
    path = np.repeat(states[origins - 1, 0][:, None], h, axis=1)
    if model.trend:
        path = path + states[origins - 1, 1][:, None] * np.cumsum(phi ** steps)[None, :]
    if model.seasonal:
        # history[m + t] is the seasonal state after observation t; the first m the initial ones.
        history = np.concatenate([np.asarray(result.initial_seasonal, dtype=float), states[:, -1]])
        season = history[origins[:, None] - 1 + ((steps[None, :] - 1) % m) + 1]
        path = path * season if model.seasonal == "mul" else path + season
    out = np.full((n + 1, h), np.nan)
    out[1:] = path
    return out


def ets_paths(y: np.ndarray, fit_end: int, h: int, m: int) -> np.ndarray:
    """AutoETS (the ets baseline) fitted on ``y[:fit_end]``, its states filtered over all of ``y``
    with those parameters (``AutoETS.update``): the forecast from every origin, as ``theta_paths``.
    Where the chosen model's forecast from ``fit_end`` leaves a positive series' support, the
    candidate the baseline falls back to there (``AutoETS.supported``) is the base instead."""
    from growlstm.baselines.ets import AutoETS

    model = AutoETS(season_length=m).fit(y[:fit_end])
    return ets_state_paths(model.run_candidate(model.supported(h), y), len(y), h, m)


def seasonal_naive_paths(y: np.ndarray, h: int, m: int) -> np.ndarray:
    """Seasonal naive forecasts from every origin: row ``o`` repeats y[o-m:o] over h steps.

    As the ``seasonal_naive`` baseline: naive (m = 1) when the season is 1 or longer than the
    data before the origin. Shape (len(y) + 1, h); row 0 (no data) is NaN.
    """
    out = np.full((len(y) + 1, h), np.nan)
    origins = np.arange(m, len(y) + 1)
    # Step k from origin o repeats y[o - m + k mod m].
    out[m:] = y[origins[:, None] - m + (np.arange(h)[None, :] % m)]
    early = np.arange(1, min(m, len(y) + 1))  # less than a season of data: the last value
    out[early] = y[early - 1][:, None]
    return out


def theta_leaves_support(y: np.ndarray, fit_end: int, paths: np.ndarray) -> bool:
    """Whether Theta, fitted on a non-negative ``y[:fit_end]``, forecasts below zero from there.

    A series that collapsed (a product being withdrawn) has a whole-history slope that takes
    Theta below zero: on M1 monthly, 10 of 617 series at their last origin, where Theta's test
    sMAPE is 84-196 against seasonal naive's 17-67. Such a series is corrected from the seasonal
    naive forecast instead, decided on the fitting data only, like Theta's parameters.
    """
    return bool(np.all(y[:fit_end] >= 0) and np.nanmin(paths[fit_end]) < 0)


def with_classical_base(win: SeriesWindows, name: str) -> SeriesWindows:
    """``win`` with targets relative to the ``name`` forecast from each origin (scaled units);
    ``theta`` is seasonal naive where ``theta_leaves_support`` (``base_name`` says which)."""
    if name not in RESIDUAL_BASES:
        raise ValueError(f"unknown residual base {name!r}; valid: {', '.join(RESIDUAL_BASES)}")
    if name == "theta":
        paths = theta_paths(win.y, win.n_train, win.h, win.season_length)
        if theta_leaves_support(win.y, win.n_train, paths):
            name = "seasonal_naive"  # recorded as such; a refit or predict= re-decides the same way
    if name == "ets":
        try:
            paths = ets_paths(win.y, win.n_train, win.h, win.season_length)
            if not np.all(np.isfinite(paths[1:])) or theta_leaves_support(win.y, win.n_train, paths):
                raise ValueError("ETS leaves the data's support")
        except Exception:  # noqa: BLE001 - no ETS fit: the Theta base
            name = "theta"
            paths = theta_paths(win.y, win.n_train, win.h, win.season_length)
            if theta_leaves_support(win.y, win.n_train, paths):
                name = "seasonal_naive"
    if name == "seasonal_naive":
        paths = seasonal_naive_paths(win.y, win.h, win.season_length)
    return win.with_base(paths, name)


def base_score(win: SeriesWindows, metric: str = "mase") -> float:
    """The base forecast's own ``metric`` (the network adding nothing), mean over validation origins."""
    mean, _, _ = score_origins(win, win.val_origins, lambda o: win.to_units(o, np.zeros(win.h)))
    return mean[metric]


def with_best_base(win: SeriesWindows, candidates: tuple[str, ...] = AUTO_BASES, metric: str = "mase") -> SeriesWindows:
    """``win`` over the candidate base that scores best on its validation origins (``auto``)."""
    options = [with_classical_base(win, name) for name in candidates]

    def score(w: SeriesWindows) -> float:  # a base that cannot be scored (NaN) never wins
        value = base_score(w, metric)
        return value if np.isfinite(value) else np.inf

    return min(options, key=score)

