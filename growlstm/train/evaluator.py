"""The stage evaluator: train one stage's seeds (warm from their parents, or cold) and score them
at the validation origins, as the baselines are scored (``baselines.backtesting``)."""

from __future__ import annotations

import math
import shutil
import traceback
import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from growlstm.baselines.backtesting import mean_scores, score_origins
from growlstm.config import Config, ModelConfig, TrainerConfig
from growlstm.model import LSTMStack
from growlstm.surgery import grow_to, shrink_perturb
from growlstm.train.fit import FitResult, fit_candidate, predict
from growlstm.train.packed import fit_seeds
from growlstm.data.windows import SeriesWindows


@dataclass
class SeedOutcome:
    """One seed of one stage."""

    seed: int
    val: dict[str, float]
    train_loss: float
    val_loss: float
    epochs: int
    steps: int
    seconds: float
    fit: Optional[FitResult] = None  # None for scripted (fake) trainers
    note: str = ""  # e.g. a retry with a lower learning rate
    forecasts: Optional[list[Any]] = None  # at the validation origins (for the seeds' mean forecast)

    @property
    def kept_epochs(self) -> int:
        """Epochs of training behind the kept weights (best epoch + 1): what a refit repeats."""
        return self.fit.best_epoch + 1 if self.fit is not None else self.epochs


@dataclass
class StageOutcome:
    """All seeds of a stage; ``error`` is set when training failed."""

    seeds: list[SeedOutcome]
    error: str = ""
    ensemble: dict[str, float] = field(default_factory=dict)  # validation metrics of the seeds' mean forecast

    def mean(self, key: str) -> float:
        values = [s.val[key] for s in self.seeds]
        return float(np.mean(values)) if values else math.nan

    def std(self, key: str) -> float:
        values = [s.val[key] for s in self.seeds]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


# A stage evaluator trains (or, in tests, scripts) one architecture:
# (stage index, widths, parent networks per seed or None for a cold start) -> outcome.
StageEvaluator = Callable[[int, list[int], Optional[list[Optional[LSTMStack]]]], StageOutcome]


def surgery_generator(seed: int, widths: list[int]) -> torch.Generator:
    """The random draws of a warm growth depend on the seed and the target widths only, so a
    recorded stage regrows identically whether it is reached by the search or retrained alone."""
    key = seed
    for w in widths:
        key = (key * 1_000_003 + w) % (2**62)
    return torch.Generator().manual_seed(key)


def seed_parent_nets(nets: Sequence[Any], sources: Sequence[Optional[int]]) -> list[Optional[Any]]:
    """Per seed, the network it grows from: ``nets[k]`` for a source ``k``, None (fresh weights)
    for a None source (``StageRecord.seed_parents``, ``model.init_seeds``); empty: its own."""
    return [nets[k] if k is not None else None for k in sources] if sources else list(nets)


def grown_states(
    parents: Sequence[Optional[LSTMStack]], widths: list[int], seeds: list[int], split_noise: float, shrink: float,
    perturb: float,
) -> list[Optional[dict[str, torch.Tensor]]]:
    """Each seed's parent network grown to ``widths`` (warm growth), as state dicts to train
    from; None where a seed has no parent (it starts from fresh weights)."""
    states: list[Optional[dict[str, torch.Tensor]]] = []
    for parent, seed in zip(parents, seeds):
        if parent is None:
            states.append(None)
            continue
        gen = surgery_generator(seed, widths)
        states.append(shrink_perturb(grow_to(parent, widths, gen, split_noise), shrink, perturb, gen).state_dict())
    return states


class LSTMEvaluator:
    """Trains each stage with ``seeds`` seeds and scores it on the validation window."""

    def __init__(
        self,
        win: SeriesWindows,
        model: ModelConfig,
        trainer: TrainerConfig,
        seeds: list[int],
        log_dir: Optional[Path] = None,
        verbose: bool = False,
        split_noise: float = 0.1,
        shrink: float = 1.0,
        perturb: float = 0.0,
        judge: str = "seeds",
    ) -> None:
        self.win, self.model, self.trainer, self.seeds = win, model, trainer, seeds
        self.log_dir, self.verbose, self.split_noise = log_dir, verbose, split_noise
        self.shrink, self.perturb, self.judge = shrink, perturb, judge

    @classmethod
    def for_run(cls, windows: Any, config: Config, log_dir: Optional[Path]) -> "LSTMEvaluator":
        """The evaluator a run's config asks for (one series, or ``PooledEvaluator`` on many):
        its seeds, model, trainer and warm-growth settings."""
        g = config.growth
        return cls(windows, config.model, config.trainer, [config.seed + k for k in range(g.seeds)], log_dir=log_dir,
                   verbose=config.verbose, split_noise=g.split_noise, shrink=g.shrink, perturb=g.perturb,
                   judge=g.judge)

    def __call__(self, index: int, widths: list[int], parents: Optional[list[Optional[LSTMStack]]] = None,
                 lookback: Optional[int] = None) -> StageOutcome:
        """Train stage ``index`` (its networks reading the last ``lookback`` input steps, where
        growth moves the lookback; None: the configured ``model.lookback``)."""
        if lookback is not None and lookback != self.model.lookback:
            moved = copy.copy(self)
            moved.model = replace(self.model, lookback=lookback)
            return moved(index, widths, parents)
        inits = None
        if parents is not None:
            inits = grown_states(parents, widths, self.seeds, self.split_noise, self.shrink, self.perturb)
        note = ""
        if self.trainer.batch_seeds and len(self.seeds) > 1 and self.trainer.devices == 1:
            try:
                return self.fit_together(index, widths, inits)
            except Exception as err:  # e.g. a NaN in one seed: train them one by one, with retries
                note = f"seeds trained one by one after the packed run failed ({type(err).__name__}: {err})"
                if self.log_dir is not None:  # its partial curves would mix with the seeds' own runs
                    shutil.rmtree(self.log_dir / f"stage_{index:02d}", ignore_errors=True)
        outcomes: list[SeedOutcome] = []
        for k, seed in enumerate(self.seeds):
            try:
                outcomes.append(self.fit_seed(index, widths, seed, inits[k] if inits else None))
            except StageFailure as err:  # a broken stage is recorded, the search goes on
                return StageOutcome(outcomes, error=str(err))
        if note and outcomes:
            outcomes[0].note = "; ".join(n for n in (note, outcomes[0].note) if n)
        return self.as_stage(outcomes)

    def as_stage(self, outcomes: list[SeedOutcome]) -> StageOutcome:
        """The trained seeds as a stage, with the validation metrics of their mean forecast."""
        forecasts = [o.forecasts for o in outcomes]
        return StageOutcome(outcomes, ensemble=self.ensemble_scores(forecasts) if outcomes else {})  # type: ignore[arg-type]

    def ensemble_scores(self, forecasts: list[list[np.ndarray]]) -> dict[str, float]:
        """Validation metrics of the seeds' mean forecast at each validation origin."""
        origins = self.win.val_origins
        mean = {int(o): np.mean(at, axis=0) for o, at in zip(origins, zip(*forecasts))}
        return score_origins(self.win, origins, lambda o: mean[o])[0]

    def fit_together(self, index: int, widths: list[int], inits: Optional[list[Optional[dict[str, torch.Tensor]]]]
                     ) -> StageOutcome:
        """All seeds as one packed model (same per-seed results as training them alone)."""
        fits = fit_seeds(
            self.win, widths, self.model, self.trainer, self.seeds,
            log_dir=self.log_dir, log_name=f"stage_{index:02d}", verbose=self.verbose, init_states=inits,
        )
        stage = self.as_stage([self.outcome(fit) for fit in fits])
        log_stage_metrics(fits[0], stage_hparams(fits[0], self.win, index, inits is not None, len(fits)), stage,
                          self.judge)
        return stage

    def fit_seed(
        self, index: int, widths: list[int], seed: int, init: Optional[dict[str, torch.Tensor]] = None
    ) -> SeedOutcome:
        """Train one seed; on a non-finite loss or an error, retry once with lr / 10."""

        def attempt(trainer: TrainerConfig, version: str, note: str = "") -> SeedOutcome:
            fit = fit_candidate(
                self.win, widths, self.model, trainer, seed, log_dir=self.log_dir,
                log_name=f"stage_{index:02d}", verbose=self.verbose, log_version=version, init_state=init,
            )
            outcome = self.outcome(fit, note)
            log_stage_metrics(fit, stage_hparams(fit, self.win, index, init is not None, 1), StageOutcome([outcome]))
            return outcome

        try:
            return attempt(self.trainer, f"seed_{seed}")
        except Exception as err:
            reason = self.reason(err)
        slower = replace(self.trainer, lr=self.trainer.lr / 10)
        try:
            return attempt(slower, f"seed_{seed}_retry", f"seed {seed} retried with lr={slower.lr:g} after {reason}")
        except Exception as err:
            raise StageFailure(f"seed {seed}: {self.reason(err)} (also after retrying with lr={slower.lr:g})") from err

    def outcome(self, fit: FitResult, note: str = "") -> SeedOutcome:
        """Score a trained seed on the validation origins; a non-finite result is a failure."""
        val, _, forecasts = score_origins(self.win, self.win.val_origins, lambda o: predict(fit.module, self.win, o))
        if not all(math.isfinite(v) for v in val.values()) or not math.isfinite(fit.train_loss):
            raise FloatingPointError(f"seed {fit.seed}: non-finite loss or forecast")
        return SeedOutcome(fit.seed, val, fit.train_loss, fit.val_loss, fit.epochs, fit.steps, fit.seconds, fit, note,
                           forecasts)

    def reason(self, err: BaseException) -> str:
        text = f"{type(err).__name__}: {err}"
        return text + "\n" + traceback.format_exc(limit=3) if self.verbose else text


def residual_of(win: Any) -> str:
    """The classical base(s) the network corrects: one series, or each series of a pooled set."""
    names = sorted({w.base_name for w in getattr(win, "series", [win])})
    return "+".join(name or "none" for name in names)


def stage_hparams(fit: FitResult, win: Any, index: int, warm: bool, seeds: int) -> dict[str, Any]:
    """What sets a stage apart, as TensorBoard's HParams tab lists it: its size (widths as text,
    layers, cells, parameters), the window layout the network reads, and the training settings."""
    hp = dict(fit.module.hparams)
    widths = list(hp.pop("widths"))
    hp.pop("last_inputs", None)  # a list of columns; ``base_input`` says what they are
    return {
        "stage": index, "widths": " ".join(map(str, widths)), "layers": len(widths), "cells": sum(widths),
        "params": sum(p.numel() for p in fit.module.net.parameters()),
        "input_size": win.input_size, "residual": residual_of(win), "input_norm": win.norm,
        "base_input": win.reads_base, "init": "warm" if warm else "cold", "seeds": seeds, **hp,
    }


def log_stage_metrics(fit: FitResult, hparams: dict[str, Any], stage: StageOutcome, judge: str = "seeds") -> None:
    """The stage's results beside its hyperparameters in TensorBoard (if logging), so that the
    HParams tab compares stages: validation metrics (as ``growth.judge`` scores the stage, and the
    goal metric's spread over seeds), training and early-stopping losses, epochs."""
    if fit.logger is None:
        return
    outcomes = stage.seeds
    val = stage.ensemble if judge == "ensemble" and stage.ensemble else mean_scores([o.val for o in outcomes])
    metrics = {f"hp/val_{k}": v for k, v in val.items()}
    if len(outcomes) > 1:  # trained one by one, each seed is its own run: no spread to show
        metrics |= {f"hp/val_{k}_std": stage.std(k) for k in val}
    metrics |= {
        "hp/train_loss": float(np.mean([o.train_loss for o in outcomes])),
        "hp/stop_loss": float(np.mean([o.val_loss for o in outcomes])),
        "hp/epochs": float(np.mean([o.epochs for o in outcomes])),
    }
    fit.logger.log_hyperparams(hparams, metrics)
    fit.logger.finalize("success")


class StageFailure(RuntimeError):
    """A seed failed twice: the stage is recorded as failed with this reason."""
