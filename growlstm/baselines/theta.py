"""The standard Theta method (Theta(2)) on the seasonally adjusted series."""

from __future__ import annotations

from typing import Any

import numpy as np

from growlstm.baselines.common import ClassicalModel, _check_m, _one_blas_thread, _quiet, _UNFITTED
from growlstm.baselines.seasonal import _reseasonalise, seasonal_adjustment




class Theta(ClassicalModel):
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
                # Deseasonalised here, not by ThetaModel: its own test is not M4's.
                result = ThetaModel(adjusted, deseasonalize=False).fit()
            except Exception as err:  # noqa: BLE001 - reported with the reason
                raise RuntimeError(f"Theta fit failed: {err}") from err
        self.result_ = result

    def _predict(self, h: int) -> np.ndarray:
        with _quiet():
            f = np.asarray(self.result_.forecast(h, theta=self.theta), dtype=float)
        return _reseasonalise(f, self.mode_, self.season_)

    @property
    def spec(self) -> str:
        if self.result_ is None:
            return _UNFITTED
        theta = f"theta={self.theta:g}"
        if self.mode_ is not None:
            return f"Theta({theta}, deseasonalised {self._why})"
        return f"Theta({theta})" if self.season_length == 1 else f"Theta({theta}, {self._why})"
