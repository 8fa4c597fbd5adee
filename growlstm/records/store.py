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


def load_data(path: Path, what: str, fix: str) -> dict[str, Any]:
    """A growlstm file written by ``torch.save`` (a stage's checkpoint.pt, forecaster.pt), read
    as data only: ``weights_only`` unpickles tensors and plain containers and nothing else, so a
    crafted file cannot run code. A file that is not one (damaged, truncated, another program's,
    or one that asks to unpickle anything else) is refused in one line, ``what`` naming it."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist", fix) from None
    except Exception as err:  # noqa: BLE001 - pickle, zip and torch errors alike: not our file
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise InputError(f"{path} is not a growlstm {what} (damaged, or not written by growlstm: {reason})", fix) from None
    if not isinstance(payload, dict):
        raise InputError(f"{path} is not a growlstm {what} (it holds no growlstm record)", fix)
    return payload


def load_modules(checkpoint: Path) -> list[LSTMForecaster]:
    """The trained seeds of a stage, rebuilt from its checkpoint (model_args + state dicts),
    loaded as data only (``load_data``)."""
    fix = "give a stage's checkpoint.pt from a growlstm run folder (stages/stage_NN/checkpoint.pt)"
    payload = load_data(checkpoint, "stage checkpoint", fix)
    args, states = payload.get("model_args"), payload.get("state_dicts")
    if not isinstance(args, dict) or not isinstance(states, dict) or not states:
        raise InputError(f"{checkpoint} is not a growlstm stage checkpoint (no networks in it)", fix)
    try:
        return rebuild(args, list(states.values()))
    except (TypeError, ValueError, RuntimeError, KeyError) as err:
        raise InputError(f"{checkpoint} holds networks this growlstm cannot rebuild ({type(err).__name__})",
                         fix) from None


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
