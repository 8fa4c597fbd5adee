"""Seeds packed into one block-diagonal network and trained together (``trainer.batch_seeds``):
each seed keeps its own loss, early stopping and kept weights, as if trained alone."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities import CombinedLoader

from growlstm.train.batched import SeedPack, split_outputs, stack_inputs
from growlstm.config import ModelConfig, TrainerConfig
from growlstm.train.module import Epoch, EpochMean, elementwise_loss
from growlstm.data.windows import SeriesWindows
from growlstm.train.loaders import EVAL_CHUNK, Zipped, batch_size_for, set_loader, window_sets
from growlstm.train.fit import FitResult, final_losses, new_module, quiet_lightning, run_lightning, set_loss
from growlstm.train.module import TrainedModule
from growlstm.train.module import SeedRates, scaled


class SeedCurves(Callback):
    """Each packed seed's own training and early-stopping loss per epoch, as its own TensorBoard
    run ``<stage>/seed_<k>`` (what training the seeds one by one writes), so TensorBoard overlays
    the seeds of a stage in one chart per tag. A seed's curve ends where its early stopping
    ended it (the pack trains on until every seed has stopped, without changing its result)."""

    def __init__(self, log_dir: Path, log_name: str, seeds: list[int], stopper: "SeedStopper") -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.stopper = stopper
        self.writers = [SummaryWriter(str(log_dir / log_name / f"seed_{seed}")) for seed in seeds]

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        # Callbacks run before the module's hook: the epoch's sums are still there, and this
        # epoch's validation has run (Lightning validates before the epoch ends).
        epoch = trainer.current_epoch
        train, stop = module.seed_loss.value().tolist(), module.val_losses.tolist()
        for writer, t, v, ended in zip(self.writers, train, stop, self.stopper.stop_epoch):
            if ended is not None and epoch > ended:
                continue
            writer.add_scalar("train/loss", t, epoch)
            if math.isfinite(v):
                writer.add_scalar("val/loss", v, epoch)

    def teardown(self, trainer: pl.Trainer, module: pl.LightningModule, stage: str) -> None:
        for writer in self.writers:
            writer.close()


class SeedBatchModule(TrainedModule):
    """The packed stack of S seeds: per-seed MSE summed, masked gradients, per-seed clipping,
    and under ``lr_schedule=plateau`` per-seed rates (``SeedRates``; ``watch``: each seed's
    validation loss, or its training loss in a refit, which has no validation to watch)."""

    def __init__(self, pack: SeedPack, lr: float, weight_decay: float, grad_clip: float, loss: str = "mae",
                 watch: str = "val") -> None:
        super().__init__()
        self.pack, self.net = pack, pack.big
        self.grad_clip, self.loss, self._adam = grad_clip, loss, (lr, weight_decay)
        self.watch = watch
        self.seed_rates: Optional[SeedRates] = None
        self.val_losses = torch.full((pack.seeds,), math.inf)
        self.seed_loss = EpochMean()  # each seed's own epoch mean (SeedCurves draws them; their mean is logged)
        self._val_parts: list[tuple[torch.Tensor, int]] = []  # per batch: (per-seed MSE, windows)

    def per_seed_loss(self, xs: list[torch.Tensor], ys: list[torch.Tensor]) -> torch.Tensor:
        out = split_outputs(self.net(stack_inputs(xs)), self.pack.seeds)
        return elementwise_loss(self.loss, out - torch.stack(ys)).mean(dim=(1, 2))  # each seed's own loss, (S,)

    def before_step(self, optimizer: Any, epoch: Optional[Epoch] = None) -> None:
        """Between backward and step, in both paths: mask the off-block gradients, and clip
        each seed alone (clipping masks too)."""
        if self.grad_clip:
            self.pack.clip_per_seed(self.grad_clip)
        else:
            self.pack.mask_gradients()

    def batch_loss(self, batch: Any) -> torch.Tensor:
        """Each seed's minibatch (one per seed: their own batch orders), summed MSE."""
        losses = self.per_seed_loss([b[0] for b in batch], [b[1] for b in batch])
        if not torch.all(torch.isfinite(losses)):
            raise FloatingPointError(f"training loss became {losses.tolist()} at epoch {self.current_epoch}")
        self.seed_loss.add(losses, len(batch[0][0]))
        return losses.sum()  # seeds share no weights: the sum's gradient is each seed's own

    def configure_optimizers(self) -> torch.optim.Optimizer:
        optimizer = super().configure_optimizers()
        if self.schedule is not None and self.schedule.kind == "plateau":
            # One plateau per seed instead of the shared one: each seed's rate falls on its own loss.
            self.seed_rates, self.schedule = SeedRates(self._schedule_of[0], self.pack.seeds), None  # type: ignore[index]
        return optimizer

    def take_step(self, step: Any) -> None:
        factors = self.seed_rates.factors() if self.seed_rates is not None else None
        if factors is None:  # every seed at the optimiser's own rate
            super().take_step(step)
            return
        params = list(self.net.named_parameters())
        before = [p.detach().clone() for _, p in params]
        step()
        with torch.no_grad():  # each seed's block of the update at its own rate
            for (name, p), old in zip(params, before):
                p.copy_(old + (p - old) * factors[self.pack.owner[name]].view_as(p))

    def on_train_epoch_end(self) -> None:
        # After the callbacks' on_train_epoch_end (Lightning calls them first): SeedCurves has read it.
        self.log("train/loss", float(self.seed_loss.pop().mean()))

    def configure_gradient_clipping(self, optimizer: Any, gradient_clip_val: Any = None, gradient_clip_algorithm: Any = None) -> None:
        # Lightning calls this after every backward of the per-step path, clipping set or not.
        self.before_step(optimizer)

    def on_validation_epoch_start(self) -> None:
        self._val_parts = []

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        seeds = self.pack.seeds
        self._val_parts.append((self.per_seed_loss([x] * seeds, [y] * seeds).detach(), len(x)))

    def on_validation_epoch_end(self) -> None:
        # One batch (one series): its losses as they are; several (many series): weighted by size.
        parts = self._val_parts
        if len(parts) == 1:
            self.val_losses = parts[0][0]
        else:
            self.val_losses = sum(loss * n for loss, n in parts) / sum(n for _, n in parts)
        self.log("val/loss", self.val_losses.mean(), on_step=False, on_epoch=True)
        if self.seed_rates is not None:  # validation runs before the epoch's end: its training mean is still there
            watched = self.val_losses if self.watch == "val" else self.seed_loss.value()
            self.seed_rates.after_validation([float(v) for v in watched])


class SeedStopper(Callback):
    """Early stopping and best-epoch keeping for each seed of a packed model, as if alone."""

    def __init__(self, pack: SeedPack, patience: int) -> None:
        seeds = pack.seeds
        self.pack, self.patience = pack, patience
        self.best = [math.inf] * seeds
        self.wait = [0] * seeds
        self.best_epoch = [-1] * seeds
        self.stop_epoch: list[Optional[int]] = [None] * seeds
        self.states: list[Optional[dict[str, torch.Tensor]]] = [None] * seeds

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        epoch = trainer.current_epoch
        for s, loss in enumerate(module.val_losses.tolist()):
            if self.stop_epoch[s] is not None:
                continue  # this seed stopped: later epochs must not change its result
            if loss < self.best[s]:
                self.best[s], self.wait[s], self.best_epoch[s] = loss, 0, epoch
                self.states[s] = self.pack.unpack(s)
            else:
                self.wait[s] += 1
                if self.wait[s] >= self.patience:
                    self.stop_epoch[s] = epoch
        if all(e is not None for e in self.stop_epoch):
            trainer.should_stop = True


class SeedSnapshot(Callback):
    """Fixed training lengths for the seeds of a packed model (a refit): seed s keeps its
    weights after ``epochs[s]`` epochs; training ends when every seed has its snapshot."""

    def __init__(self, pack: SeedPack, epochs: list[int]) -> None:
        self.pack, self.epochs = pack, epochs
        self.states: list[Optional[dict[str, torch.Tensor]]] = [None] * pack.seeds

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        done = trainer.current_epoch + 1
        for s, target in enumerate(self.epochs):
            if target == done:
                self.states[s] = self.pack.unpack(s)
        if done >= max(self.epochs):
            trainer.should_stop = True


def fit_seeds(
    win: SeriesWindows,
    widths: list[int],
    model: ModelConfig,
    trainer: TrainerConfig,
    seeds: list[int],
    log_dir: Path | None = None,
    log_name: str = "stage",
    verbose: bool = False,
    init_states: Optional[list[Optional[dict[str, torch.Tensor]]]] = None,
    callbacks: Optional[list[Callback]] = None,
    per_step: bool = False,
    epochs: Optional[list[int]] = None,
) -> list[FitResult]:
    """Train all ``seeds`` of one architecture as one packed model; one result per seed.

    Each seed gets the initial weights, batch order, clipping, early stopping and best epoch
    it would get from ``fit_candidate`` alone, so its result matches that run to float rounding.
    ``per_step`` as in ``fit_candidate``. ``epochs``: no early stopping; seed k trains exactly
    ``epochs[k]`` epochs (a refit, whose length the search decided).
    """
    quiet_lightning(verbose)
    start = time.perf_counter()
    trainer = scaled(trainer, widths)
    modules = [
        new_module(win, widths, model, trainer, seed, init_states[k] if init_states is not None else None)
        for k, seed in enumerate(seeds)
    ]  # the same draws as a solo run of each seed
    pack = SeedPack(modules[0].net, len(seeds))
    pack.pack([m.net for m in modules])
    train, stop = window_sets(win)
    loaders = [set_loader(train, batch_size_for(trainer, len(train)), seed) for seed in seeds]
    packed = SeedBatchModule(pack, trainer.lr, trainer.weight_decay, trainer.grad_clip, trainer.loss,
                             "val" if epochs is None else "train")
    packed.use_schedule(trainer, len(loaders[0]))  # OneCycle's length: the search's max_epochs, also in a refit
    if epochs is not None:
        # Lightning still calls the validation hooks; one tiny batch keeps them cheap.
        snapshot = SeedSnapshot(pack, [max(1, e) for e in epochs])
        trainer = replace(trainer, max_epochs=max(snapshot.epochs))
        stopper: Any = snapshot
        stop = torch.utils.data.Subset(train, [0])
    else:
        stopper = SeedStopper(pack, trainer.early_stopping_patience)
    curves = [SeedCurves(log_dir, log_name, seeds, stopper)] if log_dir is not None and epochs is None else []
    pl_trainer, logger = run_lightning(
        packed,
        CombinedLoader(loaders, mode="min_size") if per_step else Zipped(loaders),
        set_loader(stop, min(len(stop), EVAL_CHUNK), None), trainer,
        [stopper, *curves, *(callbacks or [])], log_dir, log_name, "seeds", None, verbose, per_step,  # clipping is per seed
    )
    seconds = (time.perf_counter() - start) / len(seeds)
    results = []
    for k, (seed, module) in enumerate(zip(seeds, modules)):
        module.net.load_state_dict(stopper.states[k] if stopper.states[k] is not None else pack.unpack(k))
        if epochs is not None:
            ran = snapshot.epochs[k]
            results.append(FitResult(module, seed, set_loss(module, train), math.nan, ran - 1, ran,
                                     ran * len(loaders[0]), seconds, logger))
            continue
        train_loss, val_loss = final_losses(module, train, stop)
        ended = stopper.stop_epoch[k]
        ran = ended + 1 if ended is not None else pl_trainer.current_epoch
        results.append(FitResult(module, seed, train_loss, val_loss, stopper.best_epoch[k], ran,
                                 ran * len(loaders[0]), seconds, logger))
    return results
