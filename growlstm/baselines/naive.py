"""The naive floors: naive (the last value) and seasonal naive (the last season)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from growlstm.baselines.common import ClassicalModel, _check_m, _UNFITTED




class Naive(ClassicalModel):
    """Repeat the last observed value."""

    name = "naive"
    _state = "last_"

    def __init__(self) -> None:
        self.last_: Optional[float] = None

    def _fit(self, x: np.ndarray) -> None:
        self.last_ = float(x[-1])

    def _predict(self, h: int) -> np.ndarray:
        return np.full(h, float(self.last_))  # type: ignore[arg-type]

    @property
    def spec(self) -> str:
        return "naive"


class SeasonalNaive(ClassicalModel):
    """Repeat the last full season; naive when ``season_length`` is 1 or exceeds the data."""

    name = "seasonal_naive"
    _state = "season_"

    def __init__(self, season_length: int = 1) -> None:
        self.season_length = _check_m(season_length)
        self.season_: Optional[np.ndarray] = None
        self.m_: Optional[int] = None

    def _fit(self, x: np.ndarray) -> None:
        # Shorter than one season: there is no season to repeat, so fall back to naive.
        self.m_ = self.season_length if x.size >= self.season_length else 1
        self.season_ = x[-self.m_ :].copy()

    def _predict(self, h: int) -> np.ndarray:
        return np.resize(self.season_, h).astype(float)

    @property
    def spec(self) -> str:
        m = self.m_
        if m is None:
            return _UNFITTED
        if m == 1 and self.season_length > 1:
            return f"naive (series shorter than one season, m={self.season_length})"
        return "naive" if m == 1 else f"seasonal naive (m={m})"
