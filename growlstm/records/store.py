"""Files a run writes and reads back, without knowing what a run found: atomic writes, JSON-safe
values, the saved config (run.yaml) and the stage checkpoints' networks.

Every file is written to a temporary name and renamed, so a crash never leaves a file that
looks complete.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from growlstm.config import Config, config_from_dict, plain
from growlstm.errors import InputError
from growlstm.train.module import LSTMForecaster


RUN_CONFIG = "run.yaml"  # the run's config, written first: what `resume` continues with


def load_modules(checkpoint: Path) -> list[LSTMForecaster]:
    """The trained seeds of a stage, rebuilt from its checkpoint (model_args + state dicts)."""
    payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return rebuild(payload["model_args"], list(payload["state_dicts"].values()))


def rebuild(model_args: dict[str, Any], states: list[dict[str, Any]]) -> list[LSTMForecaster]:
    """Networks from their constructor arguments and state dicts, in eval mode (one per seed):
    a stage checkpoint's, or the ones forecaster.pt stores."""
    modules = []
    for state in states:
        module = LSTMForecaster(**model_args)
        module.net.load_state_dict(state)
        modules.append(module.eval())
    return modules


def load_run_config(run_dir: Path) -> Config:
    """The config a run was started with (for resuming it)."""
    path = Path(run_dir) / RUN_CONFIG
    if not path.is_file():
        raise InputError(f"{run_dir} holds no growlstm run ({RUN_CONFIG} is missing)",
                         "give resume= the run directory printed as 'records:' by the run")
    return config_from_dict(yaml.safe_load(path.read_text()))


def write_run_config(run_dir: Path, config: Config, resume: bool) -> None:
    """run.yaml, the config ``resume`` continues with: written when a run starts (a resumed run
    keeps its own)."""
    if not resume or not (run_dir / RUN_CONFIG).is_file():
        write_text(run_dir / RUN_CONFIG, yaml.safe_dump(config_dict(config), sort_keys=False))


def atomic_write(path: Path, write: Any) -> None:
    """Write through ``write(tmp_path)`` then rename: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def config_dict(config: Config) -> dict[str, Any]:
    """The config as plain data, with a CSV path made absolute so the record works from anywhere."""
    data = plain(asdict(config))
    for section, key in (("data", "path"), ("model", "init_from")):
        if data[section].get(key):
            data[section][key] = str(Path(data[section][key]).resolve())
    return data


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for pkg in ("growlstm", "torch", "pytorch-lightning", "statsmodels", "hydra-core", "numpy", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
