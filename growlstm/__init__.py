"""growlstm: grow the smallest LSTM forecaster that meets your accuracy goal.

From Python, without Hydra::

    import growlstm
    from growlstm.config import Config
    result = growlstm.grow(series, Config())   # pandas Series, numpy array or Panel
    print(growlstm.format_report(result))
"""

from growlstm.config import (
    Config, DataConfig, EvalConfig, ForecastConfig, GoalConfig, GrowthConfig, ModelConfig, TrainerConfig,
)
from growlstm.data import Panel, from_long, from_values, load
from growlstm.errors import InputError
from growlstm.report import format_report
from growlstm.search import GrowthResult, grow, resume

__all__ = [
    "Config", "DataConfig", "EvalConfig", "ForecastConfig", "GoalConfig", "GrowthConfig", "ModelConfig", "TrainerConfig",
    "Panel", "from_long", "from_values", "load", "InputError", "format_report", "GrowthResult", "grow", "resume",
]
