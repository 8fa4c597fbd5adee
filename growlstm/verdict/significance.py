"""Is the chosen LSTM's win over the best baseline more than noise? Diebold-Mariano on test.

The loss is the absolute error (the numerator of MASE). The test forecasts of one origin form a
path of h steps at horizons 1..h, so the loss differentials of all test origins are treated as
one sequence: ``horizon=1`` in the Harvey-Leybourne-Newbold factor (with ``horizon=h`` and a
single origin the factor is (T + 1 - 2h + h(h - 1)/T)/T = 0 and the statistic vanishes), while
the Newey-West variance with statsmodels' default ceil(T^(1/3)) lags absorbs the serial
correlation along the path. The one-sided p-value asks "is the LSTM better?".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np


@dataclass
class Significance:
    """Diebold-Mariano (HLN-corrected) of the chosen LSTM against one baseline on test."""

    baseline: str
    statistic: float  # negative: the LSTM's absolute errors are smaller
    pvalue: float  # two-sided: the accuracies differ
    pvalue_better: float  # one-sided: the LSTM is more accurate
    n: int  # loss differentials (test origins x h)
    lags: int
    loss: str = "absolute error"

    def as_dict(self) -> dict:
        return asdict(self)


def diebold_mariano(
    actuals: list[np.ndarray], lstm: list[np.ndarray], baseline: list[np.ndarray], name: str
) -> Optional[Significance]:
    """DM test on the test forecasts of every origin (lists aligned by origin); None if undefined."""
    from statsmodels.tsa.stattools import diebold_mariano_test

    y, a, b = (np.concatenate([np.asarray(v, dtype=float) for v in part]) for part in (actuals, lstm, baseline))
    d = np.abs(y - a) - np.abs(y - b)
    if y.size < 3 or not np.all(np.isfinite(d)) or np.allclose(d, d[0]):
        return None  # identical forecasts, or a constant differential: no variance to test with
    res = diebold_mariano_test(y, a, b, criterion="mae", harvey_adj=True, horizon=1)
    stat, p = float(res.statistic), float(res.pvalue)
    if not (math.isfinite(stat) and math.isfinite(p)):
        return None
    better = p / 2 if stat < 0 else 1 - p / 2
    return Significance(name, stat, p, better, int(y.size), int(res.lags))
