"""Train one candidate architecture with one seed, quietly, keeping its best epoch."""

from __future__ import annotations

import copy
import functools
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities import CombinedLoader
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from growlstm.batched import SeedPack, split_outputs, stack_inputs
from growlstm.config import ModelConfig, TrainerConfig
from growlstm.module import Epoch, EpochMean, LSTMForecaster, elementwise_loss, run_epoch
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


F = TypeVar("F", bound=Callable[..., Any])


def one_torch_thread(fn: F) -> F:
    """Run ``fn`` with torch on one thread (tiny recurrent models train several times faster
    than on several), and give the caller its thread count back afterwards."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper  # type: ignore[return-value]


EVAL_CHUNK = 8192  # windows per forward pass when scoring whole sets (bounds memory for many series)


def batch_size_for(trainer: TrainerConfig, windows: int) -> int:
    """``trainer.batch_size``, or when unset: 32 windows, or for large window sets (many series)
    about a 32nd of them (a power of two, at most 1024), so that an epoch stays about 32 steps."""
    if trainer.batch_size is not None:
        return trainer.batch_size
    if windows <= 1024:
        return 32
    return int(min(1024, 2 ** round(math.log2(windows / 32))))


def batch_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: Optional[int]) -> DataLoader:
    """Whole batches by index tensor (one gather per batch instead of one __getitem__ per window).

    With a seed the order is the one ``DataLoader(shuffle=True, generator=seed)`` would give
    (the same RandomSampler + BatchSampler); without, the windows in order.
    """
    return set_loader(TensorDataset(x, y), batch_size, seed)


def whole_batch(batch: Any) -> Any:
    """The dataset already returns the whole batch (a module-level function: DDP pickles it)."""
    return batch


class RankShare:
    """Each DDP process's share of every batch, ``batch[rank::world]``.

    Together the processes see exactly the batches one process would, and DDP's averaging of
    their gradients gives the gradient of the batch mean (exactly when a batch splits evenly).
    Outside DDP it yields the batches unchanged.
    """

    def __init__(self, batches: BatchSampler) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Any:
        import torch.distributed as dist

        world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        rank = dist.get_rank() if world > 1 else 0
        for batch in self.batches:
            yield batch[rank::world] if len(batch) >= world else batch


def set_loader(data: Any, batch_size: int, seed: Optional[int], share: bool = False) -> DataLoader:
    """``batch_loader`` for any dataset that returns a whole batch for a list of indices
    (a TensorDataset, or the lazily gathered windows of many series). ``share``: under DDP each
    process takes its share of every batch (``RankShare``)."""
    base = RandomSampler(data, generator=torch.Generator().manual_seed(seed)) if seed is not None else SequentialSampler(data)
    batches: Any = BatchSampler(base, batch_size, drop_last=False)
    return DataLoader(data, sampler=RankShare(batches) if share else batches, batch_size=None, collate_fn=whole_batch)


class EpochBatches:
    """The training loader Lightning sees when each epoch runs as one step: one item a pass,
    the epoch's minibatches (an ``Epoch``), which the module steps through itself."""

    def __init__(self, batches: Any, grad_clip: float) -> None:
        self.batches, self.grad_clip = batches, grad_clip

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Any:
        yield Epoch(self.batches, self.grad_clip)


class Zipped:
    """Several loaders stepped together, a tuple of their batches per step, re-iterable each
    epoch (every seed's loader has the same length)."""

    def __init__(self, loaders: list[DataLoader]) -> None:
        self.loaders = loaders

    def __len__(self) -> int:
        return min(len(loader) for loader in self.loaders)

    def __iter__(self) -> Any:
        return zip(*self.loaders)


def window_sets(win: Any) -> tuple[Any, Any]:
    """Training and early-stopping windows as datasets: tensors for one series
    (``SeriesWindows.datasets``); windows gathered batch by batch for many (``PooledWindows``).

    A layout without an early-stopping slice (a short series) stops on the training windows'
    own loss: training ends when it no longer falls, and validation stays untouched.
    """
    train, stop = win.datasets()
    return (train, train) if len(stop) == 0 else (train, stop)


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
                            trainer.lr, trainer.weight_decay, trainer.loss)
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
    module = new_module(win, widths, model, trainer, seed, init_state)  # the seed decides weights and batch order
    train, stop = window_sets(win)
    keep = KeepBest()
    loader = set_loader(train, batch_size_for(trainer, len(train)), seed, share=trainer.devices > 1)
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


class SeedBatchModule(pl.LightningModule):
    """The packed stack of S seeds: per-seed MSE summed, masked gradients, per-seed clipping."""

    def __init__(self, pack: SeedPack, lr: float, weight_decay: float, grad_clip: float, loss: str = "mae") -> None:
        super().__init__()
        self.pack, self.net = pack, pack.big
        self.lr, self.weight_decay, self.grad_clip, self.loss = lr, weight_decay, grad_clip, loss
        self.val_losses = torch.full((pack.seeds,), math.inf)
        self.epoch_loss = EpochMean()
        self.seed_loss = EpochMean()  # each seed's own epoch mean (SeedCurves draws them)
        self._val_parts: list[tuple[torch.Tensor, int]] = []  # per batch: (per-seed MSE, windows)

    def per_seed_loss(self, xs: list[torch.Tensor], ys: list[torch.Tensor]) -> torch.Tensor:
        out = split_outputs(self.net(stack_inputs(xs)), self.pack.seeds)
        return elementwise_loss(self.loss, out - torch.stack(ys)).mean(dim=(1, 2))  # each seed's own loss, (S,)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor | None:
        if isinstance(batch, Epoch):  # the whole epoch in this one step (manual optimisation)
            run_epoch(self, batch, self.batch_loss, self.before_step)
            return None
        return self.batch_loss(batch)

    def before_step(self, optimizer: Any) -> None:
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
        self.epoch_loss.add(losses.mean(), len(batch[0][0]))
        self.seed_loss.add(losses, len(batch[0][0]))
        return losses.sum()  # seeds share no weights: the sum's gradient is each seed's own

    def on_train_epoch_end(self) -> None:
        self.log("train/loss", self.epoch_loss.pop())
        self.seed_loss = EpochMean()

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        return batch if device.type == "cpu" else super().transfer_batch_to_device(batch, device, dataloader_idx)

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

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


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
    init_states: Optional[list[dict[str, torch.Tensor]]] = None,
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
    modules = [
        new_module(win, widths, model, trainer, seed, init_states[k] if init_states is not None else None)
        for k, seed in enumerate(seeds)
    ]  # the same draws as a solo run of each seed
    pack = SeedPack(modules[0].net, len(seeds))
    pack.pack([m.net for m in modules])
    train, stop = window_sets(win)
    loaders = [set_loader(train, batch_size_for(trainer, len(train)), seed) for seed in seeds]
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
        SeedBatchModule(pack, trainer.lr, trainer.weight_decay, trainer.grad_clip, trainer.loss),
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
