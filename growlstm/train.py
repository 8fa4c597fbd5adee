"""Train one candidate architecture with one seed, quietly, keeping its best epoch."""

from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.data import DataLoader, TensorDataset

from growlstm.config import ModelConfig, TrainerConfig
from growlstm.module import LSTMForecaster
from growlstm.windows import SeriesWindows


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


class KeepBest(Callback):
    """Remember the weights (and the training loss) of the epoch with the lowest val loss.

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


@dataclass
class FitResult:
    """A trained candidate at its best epoch."""

    module: LSTMForecaster
    seed: int
    train_loss: float  # MSE on scaled training windows, eval mode, at the best epoch
    val_loss: float  # MSE on the scaled validation window at the best epoch
    best_epoch: int
    epochs: int
    steps: int
    seconds: float
    logger: Optional[TensorBoardLogger] = None


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
) -> FitResult:
    """Train ``widths`` on ``win``'s training windows with early stopping on validation loss."""
    quiet_lightning(verbose)
    start = time.perf_counter()
    torch.manual_seed(seed)  # the seed alone decides the initial weights and the batch order
    module = LSTMForecaster(
        n_inputs=win.n_inputs,
        widths=list(widths),
        h=win.h,
        proj_size=model.proj_size,
        dropout=model.dropout,
        lr=trainer.lr,
        weight_decay=trainer.weight_decay,
    )
    if init_state is not None:  # warm start: a grown copy of the parent stage's network
        module.net.load_state_dict(init_state)
    origins = win.train_origins
    x_train, y_train = win.inputs(origins), win.targets(origins)
    x_val, y_val = win.inputs([win.val_origin]), win.targets([win.val_origin])
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(
        TensorDataset(x_train, y_train), batch_size=trainer.batch_size, shuffle=True, generator=gen
    )
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=len(x_val))
    keep = KeepBest()
    logger = (
        TensorBoardLogger(str(log_dir), name=log_name, version=log_version or f"seed_{seed}", default_hp_metric=False)
        if log_dir is not None
        else False
    )
    pl_trainer = pl.Trainer(
        max_epochs=trainer.max_epochs,
        accelerator=trainer.accelerator,
        devices=1,
        gradient_clip_val=trainer.grad_clip or None,
        callbacks=[keep, EarlyStopping("val/loss", patience=trainer.early_stopping_patience)],
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        deterministic=trainer.deterministic,
        default_root_dir=str(log_dir) if log_dir is not None else None,
    )
    with warnings.catch_warnings():
        if not verbose:
            warnings.simplefilter("ignore")
        pl_trainer.fit(module, train_loader, val_loader)
    if keep.state is not None:
        module.load_state_dict(keep.state)
    module.eval()
    with torch.no_grad():
        train_loss = float(module.loss_fn(module(x_train), y_train))
        val_loss = float(module.loss_fn(module(x_val), y_val))
    return FitResult(
        module=module,
        seed=seed,
        train_loss=train_loss,
        val_loss=val_loss,
        best_epoch=keep.best_epoch,
        epochs=pl_trainer.current_epoch,
        steps=pl_trainer.global_step,
        seconds=time.perf_counter() - start,
        logger=logger or None,
    )


def predict(module: LSTMForecaster, win: SeriesWindows, origin: int) -> np.ndarray:
    """Forecast the h steps from ``origin`` in the series' own units."""
    module.eval()
    with torch.no_grad():
        out = module(win.inputs([origin]))[0].numpy()
    return win.to_units(origin, out)
