"""Naive2: the naive forecast of the seasonally adjusted series (M4's reference for OWA)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from growlstm.baselines.common import ClassicalModel, _check_m, _UNFITTED
from growlstm.baselines.seasonal import _reseasonalise, seasonal_adjustment




class Naive2(ClassicalModel):
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
    _state = "level_"

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = _check_m(season_length)
        self.level_: Optional[float] = None
        self.mode_: Optional[str] = None
        self.season_: Optional[np.ndarray] = None

    def _fit(self, x: np.ndarray) -> None:
        self.mode_, adjusted, self.season_, self._why = seasonal_adjustment(x, self.season_length)
        self.level_ = float(adjusted[-1])

    def _predict(self, h: int) -> np.ndarray:
        return _reseasonalise(np.full(h, float(self.level_)), self.mode_, self.season_)  # type: ignore[arg-type]

    @property
    def spec(self) -> str:
        if self.level_ is None:
            return _UNFITTED
        if self.mode_ is None:
            return f"naive2 = naive ({self._why})"
        return f"naive2 (deseasonalised {self._why})"
