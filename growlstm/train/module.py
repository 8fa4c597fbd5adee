"""The LightningModules that train an ``LSTMStack`` on scaled targets (``trainer.loss``: MAE or MSE):
one seed (``LSTMForecaster``), and the base it shares with the packed seeds (``TrainedModule``)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import math
from dataclasses import replace

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import move_data_to_device
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau

from growlstm.config import TrainerConfig
from growlstm.model import LSTMStack


# The learning rate over a fit (trainer.lr_schedule, torch's own schedulers) and the training
# settings scaled to the network's width (trainer.scale).
PLATEAU_FACTOR = 0.5  # plateau: each reduction halves the rate


def width_factor(widths: list[int]) -> float:
    """sqrt(W / 2) for the widest layer's W cells, at least 1: how much lower the rate and how
    much longer the training of ``trainer.scale``."""
    return math.sqrt(max(2, max(widths, default=2)) / 2)


def scaled(trainer: TrainerConfig, widths: list[int]) -> TrainerConfig:
    """``trainer`` for ``widths`` (unchanged without ``trainer.scale``).

    Why: a wider layer sums more inputs into each gate, so one Adam step at the same rate moves
    its outputs further (Adam's step per weight does not shrink with the fan-in); on pooled M1 the
    wide networks stopped after a handful of epochs at lr 0.01. The rate falls as 1/sqrt(W/2)
    (the fan-in scaling of initialisation) and the epochs and patience grow by the same factor,
    so that lr x epochs stays what it is at 2 cells. The batch size already grows with the
    number of windows (``batch_size_for``)."""
    if not trainer.scale:
        return trainer
    k = width_factor(widths)
    return replace(trainer, scale=False, lr=trainer.lr / k, max_epochs=round(trainer.max_epochs * k),
                   early_stopping_patience=round(trainer.early_stopping_patience * k),
                   plateau_patience=round(trainer.plateau_patience * k))


class Schedule:
    """The torch scheduler of one fit, stepped by the module itself (the whole-epoch path runs
    its own minibatches, so Lightning's automatic stepping would not see them): OneCycleLR after
    every optimiser step, ReduceLROnPlateau after every validation."""

    def __init__(self, optimizer: torch.optim.Optimizer, trainer: TrainerConfig, steps_per_epoch: int) -> None:
        self.kind = str(trainer.lr_schedule)
        self.scheduler: Optional[torch.optim.lr_scheduler.LRScheduler | ReduceLROnPlateau] = None
        if self.kind == "onecycle":
            self.scheduler = OneCycleLR(optimizer, max_lr=trainer.lr, total_steps=max(1, trainer.max_epochs * steps_per_epoch))
        elif self.kind == "plateau":
            self.scheduler = plateau(optimizer, trainer)

    def after_step(self) -> None:
        if self.kind == "onecycle" and self.scheduler.last_epoch < self.scheduler.total_steps:  # type: ignore[union-attr]
            self.scheduler.step()  # type: ignore[union-attr]

    def after_validation(self, loss: float) -> None:
        if self.kind == "plateau":
            self.scheduler.step(loss)  # type: ignore[union-attr,arg-type]


def plateau(optimizer: torch.optim.Optimizer, trainer: TrainerConfig) -> ReduceLROnPlateau:
    """torch's ReduceLROnPlateau as ``trainer`` sets it (threshold 0: any lower loss counts, as
    for early stopping)."""
    return ReduceLROnPlateau(optimizer, factor=PLATEAU_FACTOR, patience=trainer.plateau_patience, threshold=0.0)


class SeedRates:
    """Per-seed plateau rates for seeds packed into one network (one Adam over shared tensors):
    each seed's own ReduceLROnPlateau, stepped on its own loss, drives a rate holder (an empty
    optimiser); the packed step is taken at the base rate and each seed's block of the update
    is then scaled by its rate over the base. Adam's moments do not depend on the rate, so this
    is the step each seed's own optimiser would take at its own rate."""

    def __init__(self, trainer: TrainerConfig, seeds: int) -> None:
        self.base = trainer.lr
        self.holders = [torch.optim.SGD([torch.zeros(0, requires_grad=True)], lr=trainer.lr) for _ in range(seeds)]
        self.plateaus = [plateau(h, trainer) for h in self.holders]

    def after_validation(self, losses: list[float]) -> None:
        for scheduler, loss in zip(self.plateaus, losses):
            scheduler.step(loss)

    def factors(self) -> Optional[torch.Tensor]:
        """Each seed's rate over the base rate, plus 0 for the off-block entries; None while all
        seeds still train at the base rate (the step then needs no scaling)."""
        rates = [h.param_groups[0]["lr"] for h in self.holders]
        if all(r == self.base for r in rates):
            return None
        return torch.tensor([r / self.base for r in rates] + [0.0])


# trainer.loss: squared or absolute error of the scaled targets. Absolute error is what MASE and
# sMAPE average; squared error weighs the largest misses most.
LOSSES = {"mse": nn.MSELoss, "mae": nn.L1Loss}


def elementwise_loss(name: str, error: torch.Tensor) -> torch.Tensor:
    """The loss ``name`` of each element of ``error`` (to average as one likes)."""
    return error.abs() if name == "mae" else error**2


class EpochMean:
    """The epoch's mean training loss, weighted by batch size: what ``self.log(on_epoch=True)``
    gives, without Lightning's per-step logging machinery (about 3 ms a step, as much as the
    step itself for these tiny networks)."""

    def __init__(self) -> None:
        self.total: torch.Tensor | float = 0.0  # a tensor on the loss's device: no sync per step
        self.count = 0

    def add(self, loss: torch.Tensor, n: int) -> None:
        self.total = self.total + loss.detach().double() * n
        self.count += n

    def value(self) -> torch.Tensor:
        """The mean so far (a vector when vectors are added: one mean per element)."""
        return torch.as_tensor(self.total, dtype=torch.float64) / self.count if self.count else torch.tensor(float("nan"))

    def pop(self) -> torch.Tensor:
        """The mean so far, and a fresh start for the next epoch (scalar or vector alike)."""
        mean = self.value()
        self.total, self.count = 0.0, 0
        return mean


class Epoch:
    """A whole epoch's minibatches handed to Lightning as one training "batch".

    Lightning's per-step machinery (fetcher, hooks, closure, bookkeeping) costs about 1.5 ms a
    step, as much as a step of these tiny networks. With one Lightning step per epoch the
    module runs the minibatches itself (``run_epoch``); the Trainer keeps the epochs,
    validation, callbacks, logging and early stopping.
    """

    def __init__(self, batches: Iterable[Any], grad_clip: float) -> None:
        self.batches = batches
        self.grad_clip = grad_clip


def run_epoch(
    module: "TrainedModule", epoch: Epoch, loss_of: Callable[[Any], torch.Tensor],
    before_step: Callable[[torch.optim.Optimizer], None],
) -> None:
    """Plain PyTorch steps over ``epoch``'s minibatches, in the order Lightning's automatic
    optimisation takes them: zero the gradients, loss, backward, ``before_step`` (clipping),
    step (``module.take_step``: the step and the scheduler's). Needs
    ``module.automatic_optimization = False``."""
    optimizer = module.optimizers()
    raw = getattr(optimizer, "optimizer", optimizer)  # the torch optimizer under Lightning's wrapper
    for batch in epoch.batches:
        if module.device.type != "cpu":
            batch = move_data_to_device(batch, module.device)
        raw.zero_grad()
        loss_of(batch).backward()
        before_step(raw)
        module.take_step(raw.step)


class TrainedModule(pl.LightningModule):
    """What the one-seed and the packed-seeds modules share: the whole epoch as one step (or one
    minibatch a step), batches already on the CPU left alone, Adam with ``_adam`` (lr, weight
    decay) and the learning-rate schedule of ``use_schedule`` (none until it is called). Each
    gives ``batch_loss`` and ``before_step`` (clipping, between backward and step)."""

    _adam: tuple[float, float]  # set by each subclass from its trainer settings
    _schedule_of: Optional[tuple[TrainerConfig, int]] = None  # trainer settings, minibatches an epoch
    schedule: Optional[Schedule] = None

    def use_schedule(self, trainer: TrainerConfig, steps_per_epoch: int) -> None:
        """Train with ``trainer.lr_schedule`` (OneCycle's length: max_epochs x steps_per_epoch)."""
        self._schedule_of = (trainer, steps_per_epoch)

    def take_step(self, step: Callable[[], Any]) -> None:
        """One optimiser step, then the scheduler's step that follows it (OneCycle's)."""
        step()
        if self.schedule is not None:
            self.schedule.after_step()

    def optimizer_step(self, epoch: int, batch_idx: int, optimizer: Any, optimizer_closure: Any = None) -> None:
        # Lightning's per-minibatch path (per_step, DDP): the same step as the whole-epoch path.
        self.take_step(lambda: optimizer.step(closure=optimizer_closure))

    def batch_loss(self, batch: Any) -> torch.Tensor:
        raise NotImplementedError

    def before_step(self, optimizer: torch.optim.Optimizer, epoch: Optional[Epoch] = None) -> None:
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor | None:
        if isinstance(batch, Epoch):  # the whole epoch in this one step (manual optimisation)
            run_epoch(self, batch, self.batch_loss, lambda optimizer: self.before_step(optimizer, batch))
            return None
        return self.batch_loss(batch)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        # Already on the CPU: skip Lightning's generic walk over the batch (a per-step cost).
        return batch if device.type == "cpu" else super().transfer_batch_to_device(batch, device, dataloader_idx)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        lr, weight_decay = self._adam
        optimizer = torch.optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)
        # Held and stepped by the module, not handed to Lightning: the whole-epoch path takes its
        # optimiser steps itself, where Lightning would not step a scheduler.
        self.schedule = Schedule(optimizer, *self._schedule_of) if self._schedule_of is not None else None
        return optimizer


class LSTMForecaster(TrainedModule):
    """Plain typed arguments, all saved as hyperparameters (TensorBoard shows them per stage)."""

    def __init__(
        self,
        n_inputs: int,
        widths: list[int],
        h: int,
        proj_size: int = 0,
        dropout: float = 0.0,
        lr: float = 0.01,
        weight_decay: float = 0.0,
        loss: str = "mae",
        last_inputs: Optional[list[int]] = None,
        lookback: Optional[int] = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = LSTMStack(n_inputs, widths, h, proj_size=proj_size, dropout=dropout, last_inputs=last_inputs or (),
                             lookback=lookback)
        self.loss_fn = LOSSES[loss]()
        self.epoch_loss = EpochMean()
        self.val_loss = EpochMean()  # the epoch's validation loss, for ReduceLROnPlateau
        self._adam = (lr, weight_decay)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def before_step(self, optimizer: torch.optim.Optimizer, epoch: Optional[Epoch] = None) -> None:
        """The whole-epoch path: Lightning's own clipping (what gradient_clip_val does in the
        per-step path; 0 clips nothing)."""
        if epoch is not None:
            self.clip_gradients(optimizer, epoch.grad_clip, "norm")

    def batch_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The loss of one minibatch, counted into the epoch's mean."""
        x, y = batch
        loss = self.loss_fn(self(x), y)
        if not torch.isfinite(loss):
            # Stop at once: the caller retries with a lower learning rate, then records a failure.
            raise FloatingPointError(f"training loss became {float(loss)} at epoch {self.current_epoch}")
        self.epoch_loss.add(loss, len(x))
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("train/loss", float(self.epoch_loss.pop()))

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        loss = self.loss_fn(self(x), y)
        self.val_loss.add(loss, len(x))
        self.log("val/loss", loss, on_step=False, on_epoch=True, batch_size=len(x))

    def on_validation_epoch_end(self) -> None:
        loss = float(self.val_loss.pop())  # the batch-size weighted mean, as val/loss logs it
        if self.schedule is not None:
            self.schedule.after_validation(loss)

