"""The learning rate over a fit (``trainer.lr_schedule``, torch's own schedulers) and the
training settings scaled to the network's width (``trainer.scale``)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional

import torch
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau

from growlstm.config import TrainerConfig


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
