"""What a run leaves on disk: stage folders, summary, tables, plot, forecast, TensorBoard.

Layout of a run directory (usually Hydra's)::

    stages/stage_00/config.yaml     full config with model.widths filled in (retrain it alone)
    stages/stage_00/metrics.json    the stage's record (per-seed and mean metrics, decision)
    stages/stage_00/checkpoint.pt   model_args + state dict per seed + scaler
    tb/stage_00/seed_0/             TensorBoard run per stage and seed; tb/growth: cross-stage
    summary.json, stages.csv, growth.png, forecast.csv   written when the search has finished

Every file is written to a temporary name and renamed, so a crash never leaves a file that
looks complete; summary.json is written last.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pandas as pd
import torch
import yaml

from growlstm.config import SCHEMA_NAME, Config
from growlstm.evaluate import StageOutcome
from growlstm.goal import Goal
from growlstm.windows import SeriesWindows

if TYPE_CHECKING:
    from growlstm.search import GrowthResult, StageRecord


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
    data = asdict(config)
    if data["data"].get("path"):
        data["data"]["path"] = str(Path(data["data"]["path"]).resolve())
    return data


def stage_config_yaml(config: Config, widths: list[int], index: int, stage_dir: Path) -> str:
    """A Hydra-loadable primary config that retrains this stage alone."""
    data = config_dict(config)
    data["model"]["widths"] = list(widths)
    header = (
        f"# growlstm stage {index}: retrain exactly this architecture with the same seeds:\n"
        f"#   growlstm --config-path={stage_dir.resolve()} --config-name=config\n"
    )
    body = yaml.safe_dump({"defaults": [SCHEMA_NAME, "_self_"], **data}, sort_keys=False)
    return header + body


class Recorder:
    """Writes a run's records as the search goes."""

    def __init__(self, run_dir: Path, config: Config, win: SeriesWindows, series: str) -> None:
        self.run_dir = run_dir
        self.config, self.win, self.series = config, win, series
        self.tb_dir = run_dir / "tb"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._writer: Optional[Any] = None

    @property
    def writer(self) -> Any:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.tb_dir / "growth"))
            self._writer.add_custom_scalars(
                {
                    "growth": {
                        "validation metric by stage": ["Multiline", ["growth/val", "reference/.*"]],
                        "parameters by stage": ["Multiline", ["growth/params"]],
                    }
                }
            )
        return self._writer

    def stage(self, record: "StageRecord", outcome: StageOutcome, stages: list["StageRecord"], goal: Goal) -> None:
        """Write one stage folder (atomically, as a whole) and its cross-stage scalars."""
        final = self.run_dir / "stages" / f"stage_{record.index:02d}"
        tmp = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "config.yaml").write_text(stage_config_yaml(self.config, record.widths, record.index, final))
        (tmp / "metrics.json").write_text(json.dumps(clean(stage_dict(record)), indent=2))
        fits = [s.fit for s in outcome.seeds if s.fit is not None]
        if fits:
            torch.save(
                {
                    "model_args": {k: v for k, v in fits[0].module.hparams.items() if k not in ("lr", "weight_decay")},
                    "state_dicts": {f.seed: f.module.net.state_dict() for f in fits},
                    "scaler": {"mean": self.win.scaler.mean.tolist(), "std": self.win.scaler.std.tolist()},
                    "input_size": self.win.input_size,
                    "config": config_dict(self.config),
                },
                tmp / "checkpoint.pt",
            )
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        if record.ok:
            self.writer.add_scalar("growth/val", record.val[goal.metric], record.index)
        self.writer.add_scalar("growth/params", record.params, record.index)
        threshold = goal.threshold("val")
        if threshold is not None:
            self.writer.add_scalar("reference/goal", threshold, record.index)
        self.writer.flush()

    def reference_lines(self, result: "GrowthResult") -> None:
        """Baselines as constant series over the stage axis, so they draw as horizontal lines."""
        for name, b in result.baselines.items():
            value = b.val.get(result.goal.metric)
            if b.ok and value is not None:
                for stage in result.stages:
                    self.writer.add_scalar(f"reference/{name}", value, stage.index)

    def finish(self, result: "GrowthResult") -> None:
        """Write the run-level files; summary.json last, as the mark of a finished run."""
        from growlstm.plots import growth_plot

        self.reference_lines(result)
        self.writer.close()
        atomic_write(self.run_dir / "stages.csv", lambda tmp: stages_frame(result).to_csv(tmp, index=False))
        if result.forecast is not None:
            atomic_write(self.run_dir / "forecast.csv", lambda tmp: result.forecast.to_csv(tmp, index=False))
        atomic_write(self.run_dir / "growth.png", lambda tmp: growth_plot(result, tmp))
        write_text(self.run_dir / "summary.json", json.dumps(clean(summary(result)), indent=2))


def stage_dict(record: "StageRecord") -> dict[str, Any]:
    return asdict(record) | {"status": "ok" if record.ok else "failed"}


def stages_frame(result: "GrowthResult") -> pd.DataFrame:
    """One row per stage: the table a forecaster reads first."""
    rows = []
    for s in result.stages:
        rows.append(
            {
                "stage": s.index, "action": s.action, "widths": " ".join(map(str, s.widths)),
                "params": s.params, **{f"val_{k}": v for k, v in s.val.items()},
                f"val_{result.goal.metric}_std": s.val_std, "gain": s.gain, "train_loss": s.train_loss,
                "val_loss": s.val_loss, "overfit": s.overfit, "alpha": s.alpha, "cap": s.cap,
                "seconds": s.seconds, "decision": s.decision, "status": "ok" if s.ok else "failed",
                "chosen": s.index == result.chosen,
            }
        )
    return pd.DataFrame(rows)


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for pkg in ("growlstm", "torch", "pytorch-lightning", "statsmodels", "hydra-core", "numpy", "pandas"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def summary(result: "GrowthResult") -> dict[str, Any]:
    """The machine-readable account of a run (summary.json)."""
    goal = result.goal
    chosen = result.chosen_stage
    metric = goal.metric
    val_value = chosen.val.get(metric, math.nan) if chosen else math.nan
    test_value = result.chosen_test.get(metric, math.nan)
    return {
        "series": result.series,
        "data": {
            "name": result.config.data.name, "points": result.n_points, "h": result.h,
            "input_size": result.input_size, "season_length": result.season_length,
            "n_samples": result.n_samples,
        },
        "goal": {
            "metric": metric,
            "description": goal.describe(),
            "threshold_val": goal.threshold("val"),
            "threshold_test": goal.threshold("test"),
            "baseline": goal.baseline,
            "met": result.goal_met("val"),
            "met_val": result.goal_met("val"),
            "met_test": result.goal_met("test"),
            "gap_val": goal.gap(val_value, "val"),
            "gap_test": goal.gap(test_value, "test"),
        },
        "stop_reason": result.stop_reason,
        "stop_note": result.stop_note,
        "capacity": {
            "rule": "N_h <= N_s / (alpha * (N_i + N_o))",
            "n_samples": result.n_samples,
            "n_inputs": len(result.config.data.features) + 1,
            "n_outputs": result.h,
            "alpha_final": result.stages[-1].alpha if result.stages else result.config.growth.alpha,
            "cap_final": result.stages[-1].cap if result.stages else None,
        },
        "chosen": None
        if chosen is None
        else {
            "stage": chosen.index, "widths": chosen.widths, "params": chosen.params,
            "val": chosen.val, "val_std": chosen.val_std,
            "test": result.chosen_test, "test_std": result.chosen_test_std,
        },
        "baselines": {
            name: {"spec": b.spec, "val": b.val, "test": b.test, "status": "ok" if b.ok else "failed",
                   "error": b.error, "seconds": b.seconds}
            for name, b in result.baselines.items()
        },
        "stages": [stage_dict(s) for s in result.stages],
        "seconds": result.seconds,
        "config": config_dict(result.config),
        "versions": versions(),
    }
