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
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pandas as pd
import torch
import yaml

from growlstm.config import SCHEMA_NAME, Config, plain
from growlstm.errors import InputError
from growlstm.train.evaluator import StageOutcome
from growlstm.verdict.goal import Goal
from growlstm.train.module import LSTMForecaster
from growlstm.records.store import atomic_write, clean, config_dict, load_modules, versions, write_run_config, write_text
from growlstm.data.windows import SeriesWindows

if TYPE_CHECKING:
    from growlstm.records.results import GrowthResult, StageRecord


def scaler_state(win: Any) -> dict[str, Any]:
    """The training-only scaling a checkpoint's network expects: one scaler, or one per series
    (a global model)."""
    def one(w: SeriesWindows) -> dict[str, Any]:
        return {"mean": w.scaler.mean.tolist(), "std": w.scaler.std.tolist()}

    many = getattr(win, "series", None)  # PooledWindows: the series it pools
    return {"per_series": {w.uid: one(w) for w in many}} if many is not None else one(win)


def stage_config_yaml(
    config: Config, widths: list[int], index: int, stage_dir: Path, init_from: Optional[Path] = None,
    init_seeds: Optional[list[Optional[int]]] = None, lookback: Optional[int] = None,
) -> str:
    """A Hydra-loadable primary config that retrains this stage alone (warm: from its parent,
    each seed from the parent seed it grew from, ``init_seeds``; ``lookback``: the input steps
    its network reads, where growth moved it)."""
    data = config_dict(config)
    data["model"]["widths"] = list(widths)
    if lookback is not None:
        data["model"]["lookback"] = int(lookback)
    if init_from is not None:
        data["model"]["init_from"] = str(init_from.resolve())
        data["model"]["init_seeds"] = list(init_seeds or [])
    header = (
        f"# growlstm stage {index}: retrain exactly this architecture with the same seeds:\n"
        f"#   growlstm --config-path={stage_dir.resolve()} --config-name=config\n"
    )
    body = yaml.safe_dump({"defaults": [SCHEMA_NAME, "_self_"], **data}, sort_keys=False)
    return header + body


class Recorder:
    """Writes a run's records as the search goes."""

    def __init__(self, run_dir: Path, config: Config, win: SeriesWindows, resume: bool = False) -> None:
        self.run_dir = run_dir
        self.config, self.win = config, win
        self.tb_dir = run_dir / "tb"
        self.stages_dir = run_dir / "stages"
        self._writer: Optional[Any] = None
        if not resume and self.stage_dirs():
            raise InputError(
                f"{run_dir} already holds a growth run",
                f"continue it with resume={run_dir}, or write to a new directory",
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_run_config(run_dir, config, resume)

    def stage_dirs(self) -> list[Path]:
        """Completed stage folders, in order (a folder exists only once its stage is complete)."""
        return sorted(self.stages_dir.glob("stage_[0-9][0-9]")) if self.stages_dir.is_dir() else []

    def completed(self) -> list[tuple["StageRecord", list[LSTMForecaster]]]:
        """Read completed stages back; drop what a cut-off stage left (temp folder, TensorBoard)."""
        from growlstm.records.results import StageRecord

        for tmp in self.stages_dir.glob(".stage_*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)
        (self.run_dir / "summary.json").unlink(missing_ok=True)  # rewritten when the run finishes
        done: list[tuple[StageRecord, list[LSTMForecaster]]] = []
        for index, folder in enumerate(self.stage_dirs()):
            if folder.name != f"stage_{index:02d}":
                break  # stages are contiguous; anything after a gap is redone
            data = json.loads((folder / "metrics.json").read_text())
            data.pop("status", None)
            floats = {f.name for f in fields(StageRecord) if f.type in ("float", float)}
            # JSON has no NaN: a null float field was NaN when written.
            record = StageRecord(**{k: (math.nan if v is None and k in floats else v) for k, v in data.items()})
            done.append((record, load_modules(folder / "checkpoint.pt")))
        for folder in self.tb_dir.glob("stage_[0-9][0-9]"):
            if int(folder.name[6:]) >= len(done):
                shutil.rmtree(folder, ignore_errors=True)  # partial curves of a stage being redone
        return done

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

    def stage(self, record: "StageRecord", outcome: StageOutcome, goal: Goal) -> None:
        """Write one stage folder (atomically, as a whole) and its cross-stage scalars."""
        final = self.stages_dir / f"stage_{record.index:02d}"
        tmp = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        parent = None if record.parent is None else self.stages_dir / f"stage_{record.parent:02d}" / "checkpoint.pt"
        (tmp / "config.yaml").write_text(stage_config_yaml(self.config, record.widths, record.index, final, parent,
                                                                 record.seed_parents, record.lookback))
        (tmp / "metrics.json").write_text(json.dumps(clean(stage_dict(record)), indent=2))
        fits = [s.fit for s in outcome.seeds if s.fit is not None]
        if fits:
            torch.save(
                {
                    # plain data only: checkpoints are read back with weights_only (store.load_data)
                    "model_args": plain({k: v for k, v in fits[0].module.hparams.items() if k not in ("lr", "weight_decay")}),
                    "state_dicts": {f.seed: f.module.net.state_dict() for f in fits},
                    "scaler": scaler_state(self.win),
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

    def close_growth(self, stages: list["StageRecord"], baselines: dict[str, Any], goal: Goal) -> None:
        """End the cross-stage TensorBoard run: the baselines' validation metric (set-level
        means, many series) as constant series over the stage axis, so they draw as horizontal
        lines beside the goal's (one series or many)."""
        for name, b in baselines.items():
            value = b.val.get(goal.metric)
            if b.ok and value is not None and math.isfinite(value):
                for stage in stages:
                    self.writer.add_scalar(f"reference/{name}", value, stage.index)
        if self._writer is not None:
            self._writer.close()

    def finish(self, result: "GrowthResult") -> None:
        """Write the run-level files; summary.json last, as the mark of a finished run."""
        from growlstm.records.htmlreport import run_page
        from growlstm.records.plots import growth_plot

        self.close_growth(result.stages, result.baselines, result.goal)
        atomic_write(self.run_dir / "stages.csv", lambda tmp: stages_frame(result).to_csv(tmp, index=False))
        if result.forecast is not None:
            atomic_write(self.run_dir / "forecast.csv", lambda tmp: result.forecast.to_csv(tmp, index=False))
        atomic_write(self.run_dir / "growth.png", lambda tmp: growth_plot(result, tmp))
        if result.forecaster is not None:
            from growlstm.records.forecaster import MODEL_FILE, save

            save(self.run_dir / MODEL_FILE, result.forecaster)
        write_report(self.run_dir, lambda: run_page(result, self.win, (self.run_dir / "growth.png").read_bytes()))
        write_text(self.run_dir / "summary.json", json.dumps(clean(summary(result)), indent=2))


def write_report(run_dir: Path, render: Any) -> None:
    """report.html from ``render()``; a page that fails to render costs the page, not the run
    (its records are complete without it), and says so."""
    import logging

    try:
        text = render()
    except Exception as err:  # noqa: BLE001 - any rendering fault: the run's results still stand
        logging.getLogger("growlstm").warning("report.html not written (%s: %s)", type(err).__name__, err)
        return
    atomic_write(run_dir / "report.html", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def status(ok: bool) -> str:
    return "ok" if ok else "failed"


def stage_dict(record: "StageRecord") -> dict[str, Any]:
    return asdict(record) | {"status": status(record.ok)}


def stages_frame(result: "GrowthResult") -> pd.DataFrame:
    """One row per stage: the table a forecaster reads first."""
    rows = []
    for s in result.stages:
        rows.append(
            {
                "stage": s.index, "action": s.action, "widths": " ".join(map(str, s.widths)),
                "parent": s.parent, "params": s.params, **{f"val_{k}": v for k, v in s.val.items()},
                f"val_{result.goal.metric}_std": s.val_std, "gain": s.gain, "train_loss": s.train_loss,
                "val_loss": s.val_loss, "overfit": s.overfit, "alpha": s.alpha, "cap": s.cap,
                "seconds": s.seconds, "decision": s.decision, "status": status(s.ok),
                "chosen": s.index == result.chosen,
            }
        )
    frame = pd.DataFrame(rows)
    if "parent" in frame:  # integers, blank where a stage grew from nothing
        frame["parent"] = frame["parent"].astype("Int64")
    return frame


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
            "n_samples": result.n_samples, **result.layout,
        },
        "goal": {
            "metric": metric,
            "description": goal.describe(),
            "threshold_val": goal.threshold("val"),
            "threshold_test": goal.threshold("test"),
            "baseline": goal.baseline,
            "met": result.goal_met("val"),
            "met_val": result.goal_met("val"),  # on the mean and beyond the noise
            "met_val_mean": goal.met(val_value, "val") if result.chosen_stage else False,
            "met_val_p": result.val_claim_p,  # one-sided p that it meets the goal beyond the noise
            "met_val_origins": result.val_origins_met,  # share of the validation origins that met it
            "met_test": result.goal_met("test"),
            "gap_val": goal.gap(val_value, "val"),
            "gap_test": goal.gap(test_value, "test"),
        },
        "stop_reason": result.stop_reason,
        "stop_note": result.stop_note,
        "skipped": result.skipped,  # series of the table left out by the loader (data.bad_series=skip)
        "capacity": {
            "rule": "N_h <= N_s / (alpha * (N_i + N_o))",
            "n_samples": result.n_samples,
            "n_inputs": result.n_inputs,
            "n_outputs": result.h,
            "alpha_final": result.stages[-1].alpha if result.stages else result.config.growth.alpha,
            "cap_final": result.stages[-1].cap if result.stages else None,
        },
        "chosen": None
        if chosen is None
        else {
            "stage": chosen.index, "widths": chosen.widths, "params": chosen.params,
            "val": chosen.val, "val_std": chosen.val_std, "val_spread": chosen.val_spread,
            "test": result.chosen_test, "test_std": result.chosen_test_std,
            "test_origins": result.chosen_test_origins, "search_test": result.search_test,
            "refit": result.refit,
        },
        "significance": None if result.significance is None else result.significance.as_dict(),
        "recommendation": result.recommendation,
        "baselines": {
            name: {"spec": b.spec, "val": b.val, "test": b.test, "val_origins": b.val_origins,
                   "test_origins": b.test_origins, "status": status(b.ok), "error": b.error, "seconds": b.seconds}
            for name, b in result.baselines.items()
        },
        "stages": [stage_dict(s) for s in result.stages],
        "seconds": result.seconds,
        "config": config_dict(result.config),
        "versions": versions(),
    }
