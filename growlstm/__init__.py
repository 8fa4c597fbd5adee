"""growlstm: grow the smallest LSTM forecaster that meets your accuracy goal.

From Python, without Hydra::

    import growlstm
    from growlstm.config import Config
    result = growlstm.grow(series, Config())   # pandas Series, numpy array or Panel
    print(growlstm.format_report(result))
    growlstm.predict("run_dir", newer_series)  # forecast again from the saved model, no training
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from growlstm.config import (
    Config, DataConfig, EvalConfig, ForecastConfig, GoalConfig, GrowthConfig, ModelConfig, TrainerConfig,
)
from growlstm.errors import InputError

if TYPE_CHECKING:
    from growlstm.data import Panel, from_long, from_values, load
    from growlstm.runs.prediction import Prediction, predict
    from growlstm.records.report import format_report
    from growlstm.growth.controller import grow
    from growlstm.runs.dispatch import resume
    from growlstm.records.results import GrowthResult

# Loaded on first use: `import growlstm` (and `growlstm --help`) must not pay for torch.
_LAZY: dict[str, str] = {
    "Panel": "growlstm.data", "from_long": "growlstm.data", "from_values": "growlstm.data", "load": "growlstm.data",
    "format_report": "growlstm.records.report", "GrowthResult": "growlstm.records.results", "grow": "growlstm.growth.controller",
    "resume": "growlstm.runs.dispatch", "predict": "growlstm.runs.prediction", "Prediction": "growlstm.runs.prediction",
}

__all__ = [
    "Config", "DataConfig", "EvalConfig", "ForecastConfig", "GoalConfig", "GrowthConfig", "ModelConfig", "TrainerConfig",
    "Panel", "from_long", "from_values", "load", "InputError", "format_report", "GrowthResult", "grow", "resume",
    "predict", "Prediction",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'growlstm' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
