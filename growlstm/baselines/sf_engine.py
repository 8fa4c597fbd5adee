"""The statsforecast engine (``baseline_engine=statsforecast``, the ``statsforecast`` extra): arima,
ets and theta fitted by Nixtla's AutoARIMA, AutoETS and AutoTheta instead of growlstm's own
searches over statsmodels, behind the same fit/predict protocol, for users who want their speed.

The other baselines (naive, seasonal naive, Naive2) and the LSTM's residual bases are the same for
both engines. As on statsmodels, ARIMA and ETS choose and fit their model once, at a span's first
origin, and run forward to later origins with it fixed (statsforecast's ``forward``); Theta refits
at every origin. statsforecast is imported only when a model is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from growlstm.baselines.common import ClassicalModel, _check_m, _one_blas_thread, _quiet, _UNFITTED

ENGINES: tuple[str, ...] = ("statsmodels", "statsforecast")
FAMILIES: tuple[str, ...] = ("arima", "ets", "theta")  # what statsforecast fits; the others are shared
# AutoTheta's model types, in words (statsforecast.theta).
THETA_KINDS = {"STM": "standard", "OTM": "optimised", "DSTM": "dynamic standard", "DOTM": "dynamic optimised"}


class StatsforecastModel(ClassicalModel):
    """One of statsforecast's automatic models (``model_``: the fitted estimator) for a family;
    ``spec`` names the model it chose, e.g. ``ARIMA(0,1,1)(0,1,1)[12]``, ``ETS(M,A,M)``."""

    name = ""
    _state = "model_"

    def __init__(self, family: str, season_length: int = 1) -> None:
        if family not in FAMILIES:
            raise ValueError(f"statsforecast fits {', '.join(FAMILIES)}, not {family!r}")
        self.name = family
        self.season_length = _check_m(season_length)
        self.model_: Any = None
        self.y_: Any = None  # the series run forward to (update); None: the one fitted on

    def _fit(self, x: np.ndarray) -> None:
        from statsforecast import models

        self.model_ = None  # a failed refit must not leave the previous model behind
        if np.ptp(x) == 0:
            raise RuntimeError(f"series is constant: nothing for {self.name} to fit (use naive)")
        cls = {"arima": models.AutoARIMA, "ets": models.AutoETS, "theta": models.AutoTheta}[self.name]
        with _quiet(), _one_blas_thread():
            try:
                model = cls(season_length=self.season_length).fit(x)
            except Exception as err:  # noqa: BLE001 - reported with the reason
                raise RuntimeError(f"statsforecast {cls.__name__} failed: {err}") from err
        self.model_, self.y_ = model, None

    def _predict(self, h: int) -> np.ndarray:
        with _quiet(), _one_blas_thread():
            if self.y_ is None:
                return np.asarray(self.model_.predict(h)["mean"], dtype=float)
            return np.asarray(self.model_.forward(self.y_, h)["mean"], dtype=float)

    @property
    def spec(self) -> str:
        if self.model_ is None:
            return _UNFITTED
        fitted = self.model_.model_
        if self.name == "arima":
            from statsforecast.arima import arima_string

            return arima_string(fitted).strip()
        if self.name == "ets":
            return str(fitted["method"])
        kind = str(fitted.get("modeltype", ""))
        return f"AutoTheta({THETA_KINDS.get(kind, kind)})"


class ForwardModel(StatsforecastModel):
    """ARIMA and ETS: ``update(y)`` runs the fitted model over the longer series, parameters fixed."""

    def update(self, y: np.ndarray) -> "ForwardModel":
        if self.model_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(y) first")
        self.y_ = np.asarray(y, dtype=float)
        return self


def make_statsforecast(name: str, season_length: int) -> ClassicalModel:
    """The statsforecast model of family ``name`` (arima, ets or theta)."""
    return (StatsforecastModel if name == "theta" else ForwardModel)(name, season_length)
