"""AutoETS: the state-space exponential smoothing model with the lowest information criterion."""

from __future__ import annotations

import itertools
from typing import Any, Optional

import numpy as np

from growlstm.baselines.common import (
    _UNFITTED, ClassicalModel, _as_series, _check_ic, _check_m, _fitted, _ic_value, _one_blas_thread, _quiet,
)




ETSForm = tuple[str, Optional[str], Optional[str]]  # (error, trend, season) as ETSModel spells them


def _ets_spec(form: ETSForm) -> str:
    error, trend, season = form
    return "ETS({},{},{})".format(
        error[0].upper(),
        {None: "N", "add": "A", "add_damped": "Ad"}[trend],
        {None: "N", "add": "A", "mul": "M"}[season],
    )


class AutoETS(ClassicalModel):
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

    A strictly positive series never gets a forecast that falls to zero or below: where the
    chosen model's forecast does (a trend following a steep final fall: M1-QND1 goes from 99 to
    -230 in eight quarters), the next candidate by IC whose forecast stays positive is used from
    that origin, and the spec says so. Such a forecast is outside the model's own support (a
    multiplicative-error model needs a positive mean) and no forecaster could act on it; on
    M1 quarterly this alone moves ETS's OWA from 0.949 to 0.865 (2 of 102 series changed).

    Fitted: ``result_``, ``ic_``, ``candidates_`` (spec -> IC of every candidate fitted by
    full ML), ``screened_`` (spec -> stage-one IC; empty without a screen), ``fallback_`` (the
    spec used where the chosen one left the support, or None).
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

    def _fit(self, x: np.ndarray) -> None:
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
        self.fallback_: Optional[str] = None
        self._x = x
        ranked: list[tuple[float, str, ETSForm, np.ndarray]] = []
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
                ranked.append((ic, spec, form, np.asarray(params, dtype=float)))
            if not ranked:
                raise RuntimeError(
                    f"no ETS candidate could be fitted (last error: {self._last_error})"
                )
            ranked.sort(key=lambda r: r[0])
            self._ranked = ranked
            self.ic_, self._fitted_spec = ranked[0][:2]
            self.result_ = self.run_candidate(0, x)

    def run_candidate(self, k: int, x: np.ndarray) -> Any:
        """Candidate ``k`` (by IC) filtered over ``x`` with its fitted parameters."""
        _, _, form, params = self._ranked[k]
        return self._model(x, form, "estimated").smooth(params)

    def supported(self, h: int) -> int:
        """The candidate (by IC) that forecasts the h steps after the data seen so far: the chosen
        one, or for a strictly positive series whose chosen forecast falls to <= 0, the first
        whose forecast stays positive (the chosen one if none does)."""
        return self._supported_forecast(h)[0]

    def _supported_forecast(self, h: int) -> tuple[int, np.ndarray]:
        """(``supported(h)``, that candidate's forecast): each forecast computed once."""
        _fitted(self, "result_")
        with _quiet():
            chosen = np.asarray(self.result_.forecast(h), dtype=float)
        if not np.all(self._x > 0) or np.min(chosen) > 0:
            return 0, chosen
        with _quiet(), _one_blas_thread():
            for k in range(1, len(self._ranked)):
                try:
                    forecast = np.asarray(self.run_candidate(k, self._x).forecast(h), dtype=float)
                except Exception:  # noqa: BLE001 - a candidate that cannot run forward is passed over
                    continue
                if np.min(forecast) > 0:
                    return k, forecast
        return 0, chosen

    def update(self, y: np.ndarray) -> "AutoETS":
        """Move to the end of ``y`` (the fitted data and what followed) with the fitted form,
        smoothing parameters and initial states fixed: the states filtered forward, not refitted."""
        x = _as_series(y)
        _fitted(self, "result_")
        with _quiet(), _one_blas_thread():
            self.result_ = self.run_candidate(0, x)
        self._x = x
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

    def _predict(self, h: int) -> np.ndarray:
        k, forecast = self._supported_forecast(h)
        if k:
            self.fallback_ = self._ranked[k][1]
        return forecast

    @property
    def spec(self) -> str:
        if self.result_ is None:
            return _UNFITTED
        if self.fallback_ is not None:
            return f"{self._fitted_spec}, {self.fallback_} where it forecasts <= 0"
        return self._fitted_spec
