"""Fixed sets of values (typed for Hydra, plain strings everywhere else) and frequency defaults."""

from __future__ import annotations

from enum import Enum
from typing import Any

# Default horizons by frequency, as in the M4 competition (yearly 6, quarterly 8, monthly 18,
# weekly 13, daily 14, hourly 48). Used when `h` is not given.
M4_HORIZONS: dict[str, int] = {"Y": 6, "Q": 8, "M": 18, "W": 13, "D": 14, "H": 48}
# Season lengths by frequency, as in the M4 MASE definition (others: 1).
SEASON_LENGTHS: dict[str, int] = {"Y": 1, "Q": 4, "M": 12, "W": 1, "D": 1, "H": 24}


__all__ = ["M4_HORIZONS", "SEASON_LENGTHS", "Choice", "values", "plain", "Fill", "BadSeries", "InputNorm", "Residual", "Loss",
           "Accelerator", "Init", "Scope", "Judge", "Metric", "Beat", "EarlyStop", "LrSchedule", "BaselineName",
           "BaselineEngine", "Backend"]


class Choice(str, Enum):
    """A setting with a fixed set of values: typed with one, Hydra rejects any other value when
    composing (``growth.init=warmm`` fails before anything runs). Members equal, hash and print
    as their plain values, so code, records and Python callers keep using strings."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


def _choice(name: str, *values: str) -> Any:
    # The functional form: some values ("global") are Python keywords. Members are named by their
    # values, which is what Hydra matches and what Enum hashes.
    return Choice(name, {v: v for v in values}, module=__name__, qualname=name)


def values(choice: type[Enum]) -> tuple[str, ...]:
    """The plain values of a ``Choice``, in order."""
    return tuple(str(m.value) for m in choice)


Fill = _choice("Fill", "error", "interpolate", "drop")
BadSeries = _choice("BadSeries", "skip", "fail")
InputNorm = _choice("InputNorm", "last", "mean", "global", "recent")
Residual = _choice("Residual", "scope", "theta", "seasonal_naive", "ets", "auto")
Loss = _choice("Loss", "mae", "mse")
Accelerator = _choice("Accelerator", "cpu", "gpu", "cuda", "mps", "auto")
Init = _choice("Init", "warm", "cold")
Scope = _choice("Scope", "auto", "local", "global")
Judge = _choice("Judge", "seeds", "ensemble")
Metric = _choice("Metric", "mae", "rmse", "smape", "mase")
Beat = _choice("Beat", "best_baseline", "none")
EarlyStop = _choice("EarlyStop", "slice", "val")
LrSchedule = _choice("LrSchedule", "none", "plateau", "onecycle")
BaselineName = _choice("BaselineName", "naive", "seasonal_naive", "naive2", "arima", "ets", "theta")
BaselineEngine = _choice("BaselineEngine", "statsmodels", "statsforecast")
Backend = _choice("Backend", "processes", "ray")


def plain(data: Any) -> Any:
    """``data`` (nested dicts and lists, as ``dataclasses.asdict`` gives) with every ``Choice``
    member replaced by its plain string: what YAML and JSON records hold."""
    if isinstance(data, Enum):
        return str(data.value)
    if isinstance(data, dict):
        return {plain(k): plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(plain(v) for v in data)
    return data
