"""Data for training: windows into batches (seeded shuffles, a rank's share under DDP, the
large sets of many series), and the chunk size of whole-set scoring."""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from growlstm.config import TrainerConfig
from growlstm.train.module import Epoch


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
