"""Typed settings for every part of growlstm.

The dataclasses in `schema` are the one source of the options: the CLI registers them in Hydra's
ConfigStore so that a typo or a wrong type in an override fails at compose time, and Python users
build them directly. `validation` rejects what a type cannot; `saved` reads configs back from runs.
No Hydra import here (library code never sees a DictConfig).
"""

from growlstm.config.choices import *  # noqa: F401,F403  (the value sets and frequency defaults)
from growlstm.config.choices import M4_HORIZONS, SEASON_LENGTHS, Choice, plain, values
from growlstm.config.saved import RETIRED, SCHEMA_NAME, config_from_dict
from growlstm.config.schema import (Config, DataConfig, EvalConfig, ForecastConfig, GoalConfig, GrowthConfig, ModelConfig,
                                    TrainerConfig)
from growlstm.config.validation import ACCELERATORS, check_accelerator, check_config

__all__ = ["ACCELERATORS", "Choice", "Config", "DataConfig", "EvalConfig", "ForecastConfig", "GoalConfig", "GrowthConfig",
           "M4_HORIZONS", "ModelConfig", "RETIRED", "SCHEMA_NAME", "SEASON_LENGTHS", "TrainerConfig", "check_accelerator",
           "check_config", "config_from_dict", "plain", "values"]
