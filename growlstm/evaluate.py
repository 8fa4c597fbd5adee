"""Score models on the shared forecast origins: classical baselines and LSTM stages.

Every model forecasts the same validation and test windows from the same history: classical
models are refitted on the data before each origin, the LSTM reads the input_size steps before
it. MASE is scaled by the seasonal-naive error of the data before the origin (M4 definition).
A span's metrics are the mean over its origins; the per-origin values are kept.
"""

from __future__ import annotations

import math
import shutil
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from growlstm import metrics
from growlstm.baselines import make_baseline
from growlstm.config import Config, ModelConfig, TrainerConfig
from growlstm.model import LSTMStack
from growlstm.surgery import grow_to, shrink_perturb
from growlstm.train import FitResult, fit_candidate, predict
from growlstm.packed import fit_seeds
from growlstm.windows import SeriesWindows


def score_at(win: SeriesWindows, origin: int, forecast: np.ndarray) -> dict[str, float]:
    """Metrics of a forecast of the h steps from ``origin``."""
    return metrics.score(win.actuals(origin), forecast, win.history(origin), win.season_length)


def mean_scores(scores: list[dict[str, float]]) -> dict[str, float]:
    """Each metric averaged over origins (or seeds)."""
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]} if scores else {}


def score_origins(
    win: SeriesWindows, origins: np.ndarray, forecast: Callable[[int], np.ndarray]
) -> tuple[dict[str, float], list[dict[str, float]], list[np.ndarray]]:
    """(mean metrics, per-origin metrics, forecasts) of ``forecast(origin)`` over ``origins``."""
    forecasts = [np.asarray(forecast(int(o)), dtype=float) for o in origins]
    per = [score_at(win, int(o), f) for o, f in zip(origins, forecasts)]
    return mean_scores(per), per, forecasts


@dataclass
class BaselineResult:
    """A classical forecast at the validation and (at the end) test origins."""

    name: str
    spec: str = ""
    val: dict[str, float] = field(default_factory=dict)  # mean over the validation origins
    test: dict[str, float] = field(default_factory=dict)
    val_origins: list[dict[str, float]] = field(default_factory=list)  # per origin
    test_origins: list[dict[str, float]] = field(default_factory=list)
    val_forecasts: list[np.ndarray] = field(default_factory=list)
    test_forecasts: list[np.ndarray] = field(default_factory=list)
    # The h steps after the data ends: the model fitted at the first test origin (or, without a
    # test span, on all the data) run forward to the end.
    future: Optional[np.ndarray] = None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


# A forecast further than this many times the history's range outside that range is absurd for
# the series (an exploding fit), not a forecast to win or lose comparisons with.
PLAUSIBLE_RANGES = 10.0


def implausible(forecast: np.ndarray, history: np.ndarray) -> str:
    """Why ``forecast`` cannot be a forecast of this series ("" when it can)."""
    low, high = float(np.min(history)), float(np.max(history))
    reach = PLAUSIBLE_RANGES * max(high - low, abs(high), abs(low), 1e-12)
    outside = np.maximum(forecast - high, low - forecast)
    if np.max(outside) <= reach:
        return ""
    worst = float(forecast[np.argmax(outside)])
    return f"it reaches {worst:.4g} while the data before it lie in [{low:.4g}, {high:.4g}]"


def backtest(name: str, y: np.ndarray, h: int, season_length: int, origins: Sequence[int]) -> tuple[list[np.ndarray], str]:
    """Forecasts of baseline ``name`` from each origin: fitted once on the data before the first,
    then run forward to each later one with its parameters fixed (``update``: ARIMA and ETS,
    whose fits are costly; the others refit, in milliseconds). Returns (forecasts, spec)."""
    model = None
    forecasts = []
    for origin in origins:
        history = y[:origin]
        if model is None or not hasattr(model, "update"):
            model = make_baseline(name, season_length).fit(history)
        else:
            model.update(history)
        forecast = np.asarray(model.predict(h), dtype=float)
        if forecast.shape != (h,) or not np.all(np.isfinite(forecast)):
            raise RuntimeError(f"{name} produced a non-finite or mis-shaped forecast at origin {origin}")
        problem = implausible(forecast, history)
        if problem:
            raise RuntimeError(f"{name}'s forecast at origin {origin} is implausible: {problem}")
        forecasts.append(forecast)
    return forecasts, model.spec if model is not None else ""


def run_baseline(name: str, win: SeriesWindows, result: BaselineResult, part: str) -> None:
    """Fill ``result.<part>`` (val or test): fitted at the part's first origin and run forward to
    the others (``backtest``); the test part runs on to the end of the data for ``future``. A
    failure at any origin is recorded, never raised."""
    if result.error:
        return
    origins = [int(o) for o in (win.val_origins if part == "val" else win.test_origins)]
    ahead = [win.future_origin] if part == "test" else []
    if not origins and not ahead:
        return
    start = time.perf_counter()
    try:
        paths, spec = backtest(name, win.y, win.h, win.season_length, origins + ahead)
        if ahead:
            result.future, paths = paths[-1], paths[:-1]
        if not origins:  # no test span: the future alone
            result.spec = spec
            return
        mean, per, forecasts = score_origins(win, np.asarray(origins), dict(zip(origins, paths)).__getitem__)
    except Exception as err:  # any fitting failure: report it and let the others go on
        result.error = f"{type(err).__name__}: {err}".strip()
        return
    finally:
        result.seconds += time.perf_counter() - start
    setattr(result, part, mean)
    setattr(result, f"{part}_origins", per)
    setattr(result, f"{part}_forecasts", forecasts)
    # The model fitted at the test origin, on the most data, describes the baseline once there.
    if part == "test" or not result.spec:
        result.spec = spec


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

    @property
    def kept_epochs(self) -> int:
        """Epochs of training behind the kept weights (best epoch + 1): what a refit repeats."""
        return self.fit.best_epoch + 1 if self.fit is not None else self.epochs


@dataclass
class StageOutcome:
    """All seeds of a stage; ``error`` is set when training failed."""

    seeds: list[SeedOutcome]
    error: str = ""

    def mean(self, key: str) -> float:
        values = [s.val[key] for s in self.seeds]
        return float(np.mean(values)) if values else math.nan

    def std(self, key: str) -> float:
        values = [s.val[key] for s in self.seeds]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


# A stage evaluator trains (or, in tests, scripts) one architecture:
# (stage index, widths, parent networks per seed or None for a cold start) -> outcome.
StageEvaluator = Callable[[int, list[int], Optional[list[LSTMStack]]], StageOutcome]


def surgery_generator(seed: int, widths: list[int]) -> torch.Generator:
    """The random draws of a warm growth depend on the seed and the target widths only, so a
    recorded stage regrows identically whether it is reached by the search or retrained alone."""
    key = seed
    for w in widths:
        key = (key * 1_000_003 + w) % (2**62)
    return torch.Generator().manual_seed(key)


def grown_states(
    parents: list[LSTMStack], widths: list[int], seeds: list[int], split_noise: float, shrink: float, perturb: float,
) -> list[dict[str, torch.Tensor]]:
    """Each seed's parent network grown to ``widths`` (warm growth), as state dicts to train from."""
    states = []
    for parent, seed in zip(parents, seeds):
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
    ) -> None:
        self.win, self.model, self.trainer, self.seeds = win, model, trainer, seeds
        self.log_dir, self.verbose, self.split_noise = log_dir, verbose, split_noise
        self.shrink, self.perturb = shrink, perturb

    @classmethod
    def for_run(cls, windows: Any, config: Config, log_dir: Optional[Path]) -> "LSTMEvaluator":
        """The evaluator a run's config asks for (one series, or ``PooledEvaluator`` on many):
        its seeds, model, trainer and warm-growth settings."""
        g = config.growth
        return cls(windows, config.model, config.trainer, [config.seed + k for k in range(g.seeds)], log_dir=log_dir,
                   verbose=config.verbose, split_noise=g.split_noise, shrink=g.shrink, perturb=g.perturb)

    def __call__(self, index: int, widths: list[int], parents: Optional[list[LSTMStack]] = None) -> StageOutcome:
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
        return StageOutcome(outcomes)

    def fit_together(self, index: int, widths: list[int], inits: Optional[list[dict[str, torch.Tensor]]]) -> StageOutcome:
        """All seeds as one packed model (same per-seed results as training them alone)."""
        fits = fit_seeds(
            self.win, widths, self.model, self.trainer, self.seeds,
            log_dir=self.log_dir, log_name=f"stage_{index:02d}", verbose=self.verbose, init_states=inits,
        )
        outcomes = [self.outcome(fit) for fit in fits]
        log_stage_metrics(fits[0], stage_hparams(fits[0], self.win, index, inits is not None, len(fits)), outcomes)
        return StageOutcome(outcomes)

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
            log_stage_metrics(fit, stage_hparams(fit, self.win, index, init is not None, 1), [outcome])
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
        val, _, _ = score_origins(self.win, self.win.val_origins, lambda o: predict(fit.module, self.win, o))
        if not all(math.isfinite(v) for v in val.values()) or not math.isfinite(fit.train_loss):
            raise FloatingPointError(f"seed {fit.seed}: non-finite loss or forecast")
        return SeedOutcome(fit.seed, val, fit.train_loss, fit.val_loss, fit.epochs, fit.steps, fit.seconds, fit, note)

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
    return {
        "stage": index, "widths": " ".join(map(str, widths)), "layers": len(widths), "cells": sum(widths),
        "params": sum(p.numel() for p in fit.module.net.parameters()),
        "input_size": win.input_size, "residual": residual_of(win), "input_norm": win.norm,
        "init": "warm" if warm else "cold", "seeds": seeds, **hp,
    }


def log_stage_metrics(fit: FitResult, hparams: dict[str, Any], outcomes: Sequence[SeedOutcome]) -> None:
    """The stage's results beside its hyperparameters in TensorBoard (if logging), so that the
    HParams tab compares stages: validation metrics (mean over seeds, and the goal metric's
    spread), training and early-stopping losses, epochs."""
    if fit.logger is None:
        return
    val = mean_scores([o.val for o in outcomes])
    metrics = {f"hp/val_{k}": v for k, v in val.items()}
    if len(outcomes) > 1:  # trained one by one, each seed is its own run: no spread to show
        metrics |= {f"hp/val_{k}_std": StageOutcome(list(outcomes)).std(k) for k in val}
    metrics |= {
        "hp/train_loss": float(np.mean([o.train_loss for o in outcomes])),
        "hp/stop_loss": float(np.mean([o.val_loss for o in outcomes])),
        "hp/epochs": float(np.mean([o.epochs for o in outcomes])),
    }
    fit.logger.log_hyperparams(hparams, metrics)
    fit.logger.finalize("success")


class StageFailure(RuntimeError):
    """A seed failed twice: the stage is recorded as failed with this reason."""
