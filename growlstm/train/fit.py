"""Train one candidate architecture with one seed, quietly, keeping its best epoch."""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, TypeVar

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.data import DataLoader

from growlstm.config import ModelConfig, TrainerConfig
from growlstm.train.module import LSTMForecaster
from growlstm.data.windows import SeriesWindows
from growlstm.train.loaders import EVAL_CHUNK, EpochBatches, batch_size_for, set_loader, window_sets
from growlstm.train.module import scaled


def quiet_lightning(verbose: bool = False) -> None:
    """Keep Lightning's banners, tips and loader warnings off the forecaster's console."""
    level = logging.INFO if verbose else logging.ERROR
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(level)
    if not verbose:
        for pattern in (
            ".*does not have many workers.*",
            ".*number of training batches.*",
            ".*LeafSpec.*",
            ".*isinstance.*treespec.*",
            ".*srun.*",
        ):
            warnings.filterwarnings("ignore", message=pattern)


F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch on ``n`` threads inside the block; the caller's thread count is restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def one_torch_thread(fn: F) -> F:
    """Run ``fn`` with torch on one thread (tiny recurrent models train several times faster
    than on several), and give the caller its thread count back afterwards."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch_threads(1):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


QUIET_WORKERS = "GROWLSTM_QUIET_WORKERS"
if os.environ.get(QUIET_WORKERS) == "1":  # a DDP process spawned by a run without verbose=true
    quiet_lightning()
    warnings.simplefilter("ignore")


class KeepBest(Callback):
    """Remember the weights of the epoch with the lowest validation loss.

    EarlyStopping stops, it does not restore; this keeps the best state in memory (tiny models)
    instead of a checkpoint round-trip through the disk per epoch.
    """

    def __init__(self) -> None:
        self.best_val = math.inf
        self.best_epoch = -1
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        val = float(trainer.callback_metrics.get("val/loss", math.inf))
        if val < self.best_val:
            self.best_val, self.best_epoch = val, trainer.current_epoch
            self.state = copy.deepcopy(module.state_dict())

    def on_fit_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        """Restore the best weights and note the counts where the caller can read them: under
        DDP (spawned processes) only the module's weights and the callback metrics come back."""
        if self.state is not None:
            module.load_state_dict(self.state)
        trainer.callback_metrics.update({
            "keep/best_epoch": torch.tensor(float(self.best_epoch)),
            "keep/epochs": torch.tensor(float(trainer.current_epoch)),
        })


@dataclass
class FitResult:
    """A trained candidate at its best epoch."""

    module: LSTMForecaster
    seed: int
    train_loss: float  # MSE on scaled training windows, eval mode, at the best epoch
    val_loss: float  # MSE on the scaled early-stopping windows at the best epoch
    best_epoch: int
    epochs: int
    steps: int
    seconds: float
    logger: Optional[TensorBoardLogger] = None


def new_module(
    win: SeriesWindows, widths: list[int], model: ModelConfig, trainer: TrainerConfig,
    seed: int, init_state: Optional[dict[str, torch.Tensor]] = None,
) -> LSTMForecaster:
    """The network a seed starts from: drawn from the seed alone, or a warm (grown) state."""
    torch.manual_seed(seed)
    module = LSTMForecaster(win.n_inputs, list(widths), win.h, model.proj_size, model.dropout,
                            trainer.lr, trainer.weight_decay, trainer.loss, list(win.last_inputs), model.lookback)
    if init_state is not None:  # warm start: a grown copy of the parent stage's network
        module.net.load_state_dict(init_state)
    return module


class StageLogger(TensorBoardLogger):
    """TensorBoard with epochs on the x axis: Lightning logs training and validation metrics
    in separate calls, each with an ``epoch`` scalar (two points per epoch of one redundant
    curve); here the epoch becomes the step of every point instead."""

    def log_metrics(self, metrics: dict[str, Any], step: Optional[int] = None) -> None:
        metrics = dict(metrics)
        epoch = metrics.pop("epoch", None)
        if metrics:
            super().log_metrics(metrics, int(epoch) if epoch is not None else step)


def run_lightning(
    module: pl.LightningModule, train: Any, val: DataLoader, trainer: TrainerConfig,
    callbacks: list[Callback], log_dir: Path | None, log_name: str, version: str,
    grad_clip: Optional[float], verbose: bool, per_step: bool = False,
) -> tuple[pl.Trainer, Optional[TensorBoardLogger]]:
    """Fit ``module`` with a quiet Trainer (no bars, summaries, checkpoints or banners).

    On one device each epoch is one Lightning step (``EpochBatches``) unless ``per_step``: the
    same optimiser steps in the same order, without Lightning's per-minibatch cost. DDP needs
    a Lightning step per minibatch (one backward per forward of its wrapper).
    """
    if not per_step and trainer.devices == 1:
        module.automatic_optimization = False
        train, grad_clip = EpochBatches(train, grad_clip or 0.0), None  # the module clips
    logger = (
        StageLogger(str(log_dir), name=log_name, version=version, default_hp_metric=False)
        if log_dir is not None
        else None
    )
    strategy: Any = "auto"
    if trainer.devices > 1:
        from pytorch_lightning.strategies import DDPStrategy

        # Spawned processes: the growth loop stays in this process and only the fit is parallel.
        strategy = DDPStrategy(start_method="spawn", process_group_backend="gloo" if trainer.accelerator == "cpu" else None)
    pl_trainer = pl.Trainer(
        max_epochs=trainer.max_epochs, accelerator=trainer.accelerator, devices=trainer.devices, strategy=strategy,
        use_distributed_sampler=False,  # our loaders split batches themselves (RankShare)
        gradient_clip_val=grad_clip, callbacks=callbacks, logger=logger or False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0, log_every_n_steps=1, deterministic=trainer.deterministic,
        default_root_dir=str(log_dir) if log_dir is not None else None,
    )
    sharing = torch.multiprocessing.get_sharing_strategy()
    quiet = os.environ.get(QUIET_WORKERS)
    if trainer.devices > 1:
        # Tensors sent to the spawned processes go through named shared-memory files: passing
        # descriptors fails on some kernels and containers.
        torch.multiprocessing.set_sharing_strategy("file_system")
        os.environ[QUIET_WORKERS] = "0" if verbose else "1"  # spawned processes inherit it
    try:
        with warnings.catch_warnings():
            if not verbose:
                warnings.simplefilter("ignore")
            pl_trainer.fit(module, train, val)
    finally:
        torch.multiprocessing.set_sharing_strategy(sharing)
        if quiet is None:
            os.environ.pop(QUIET_WORKERS, None)
        else:
            os.environ[QUIET_WORKERS] = quiet
    return pl_trainer, logger


def set_loss(module: LSTMForecaster, data: Any) -> float:
    """MSE of ``module`` (eval mode) over a dataset, EVAL_CHUNK windows per forward pass."""
    module.eval()
    n = len(data)
    total = 0.0
    with torch.no_grad():
        for start in range(0, n, EVAL_CHUNK):
            x, y = data[list(range(start, min(n, start + EVAL_CHUNK)))]
            loss = float(module.loss_fn(module(x), y))
            if n <= EVAL_CHUNK:
                return loss  # one pass: exactly the loss of the whole set
            total += loss * len(x)
    return total / n


def final_losses(module: LSTMForecaster, train: Any, stop: Any) -> tuple[float, float]:
    """Training and early-stopping MSE of the restored best weights, in eval mode."""
    return set_loss(module, train), set_loss(module, stop)


def fit_candidate(
    win: SeriesWindows,
    widths: list[int],
    model: ModelConfig,
    trainer: TrainerConfig,
    seed: int,
    log_dir: Path | None = None,
    log_name: str = "stage",
    verbose: bool = False,
    log_version: str = "",
    init_state: Optional[dict[str, torch.Tensor]] = None,
    callbacks: Optional[list[Callback]] = None,
    per_step: bool = False,
) -> FitResult:
    """Train ``widths`` on ``win``'s training windows with early stopping on its stop windows.

    ``per_step``: one Lightning step per minibatch instead of per epoch (same result; for
    measuring Lightning's own loop)."""
    quiet_lightning(verbose)
    start = time.perf_counter()
    trainer = scaled(trainer, widths)
    module = new_module(win, widths, model, trainer, seed, init_state)  # the seed decides weights and batch order
    train, stop = window_sets(win)
    keep = KeepBest()
    loader = set_loader(train, batch_size_for(trainer, len(train)), seed, share=trainer.devices > 1)
    module.use_schedule(trainer, len(loader))
    pl_trainer, logger = run_lightning(
        module, loader, set_loader(stop, min(len(stop), EVAL_CHUNK), None),
        trainer, [keep, EarlyStopping("val/loss", patience=trainer.early_stopping_patience), *(callbacks or [])],
        log_dir, log_name, log_version or f"seed_{seed}", trainer.grad_clip or None, verbose, per_step,
    )
    # The best weights are back in ``module`` (KeepBest.on_fit_end; under DDP, through Lightning).
    counts = {k: int(pl_trainer.callback_metrics[f"keep/{k}"]) for k in ("best_epoch", "epochs")}
    counts["steps"] = counts["epochs"] * len(loader)  # every epoch steps through every batch
    train_loss, val_loss = final_losses(module, train, stop)
    return FitResult(
        module=module, seed=seed, train_loss=train_loss, val_loss=val_loss, best_epoch=counts["best_epoch"],
        epochs=counts["epochs"], steps=counts["steps"], seconds=time.perf_counter() - start, logger=logger,
    )


def predict(module: LSTMForecaster, win: SeriesWindows, origin: int) -> np.ndarray:
    """Forecast the h steps from ``origin`` in the series' own units."""
    module.eval()
    with torch.no_grad():
        out = module(win.inputs([origin]))[0].numpy()
    return win.to_units(origin, out)


