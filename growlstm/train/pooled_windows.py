"""The windows of many series as one training set for a global network: each series keeps its
own scaler, layout and origins; padded lookbacks and per-series identity inputs where asked."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

import numpy as np
import torch

from growlstm.baselines.backtesting import mean_scores, score_at
from growlstm.train.module import LSTMForecaster
from growlstm.train.loaders import EVAL_CHUNK
from growlstm.data.windows import (
    SeriesWindows, base_columns, masked_mean, season_phase, signed_log, window_inputs, window_unit,
)


# model.series_id: one input per series, so the first layer's input weights (and the capacity
# rule's N_i) grow with the series count; past this, static features (data.features) scale.
SERIES_ID_MAX = 1000
# model.series_stats: what each statistic input is, in column order (the season's two only where
# the season is longer than one step).
SERIES_STATS = ("log10 training std", "last value vs training mean (signed log, in stds)", "log10 training points",
                "season sin", "season cos")


class WindowSet(torch.utils.data.Dataset):
    """Windows at ``positions`` of a PooledWindows; ``ds[list_of_indices]`` gathers a batch."""

    def __init__(self, pooled: "PooledWindows", positions: np.ndarray) -> None:
        self.pooled, self.positions = pooled, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pooled.gather(self.positions[np.asarray(index)])


@dataclass
class PooledWindows:
    """The windows of many series for one network (duck-types what training needs of
    ``SeriesWindows``: ``n_inputs``, ``h``, ``input_size`` and the training/stop datasets)."""

    series: list[SeriesWindows]
    z: np.ndarray  # every series' scaled target and features, one after another, float32 (sum T, C)
    offsets: np.ndarray  # where each series starts in z
    train_pos: np.ndarray  # positions in z of every training origin
    stop_pos: np.ndarray  # ... and of every early-stopping origin
    h: int
    input_size: int
    norm: str
    # Residual treatment: each series' classical forecast from every origin (scaled), stacked
    # like z but with one more row per series (origins run 0..T); None: no base.
    base: Optional[np.ndarray] = None
    # model.series_id: one-hot inputs of each window's series, appended per batch (never stored),
    # read at the last input step only (``last_inputs``).
    series_id: bool = False
    # Left-padded lookback (short series): steps before a window's series are zero and a mask
    # input flags the real ones (``windows.window_inputs``).
    pad: bool = False
    # model.base_input: each window's base forecast as h more inputs (``SeriesWindows.base_input``).
    base_input: bool = False
    # model.series_stats: statistics of each window's series that transfer to series the network
    # never saw (``stats``), read at the last input step only.
    series_stats: bool = False
    # The steps each window's level and unit are measured over (``model.input_norm``): the
    # layout's lookback, also where windows are gathered longer (``with_lookback``) for networks
    # that read more steps; None: ``input_size``.
    norm_size: Optional[int] = None

    @classmethod
    def build(cls, series: list[SeriesWindows], series_id: bool = False, series_stats: bool = False
              ) -> "PooledWindows":
        first = series[0]
        sizes = np.array([len(w.y) for w in series], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        z = np.concatenate([w.z.astype(np.float32) for w in series])
        train = np.concatenate([off + w.train_origins for off, w in zip(offsets, series)]).astype(np.int64)
        stop = np.concatenate([off + w.stop_origins for off, w in zip(offsets, series)]).astype(np.int64)
        base = None
        if first.base is not None:
            # Rows o of series k sit at offsets[k] + k + o (one extra row per series before it).
            base = np.concatenate([w.base.astype(np.float32) for w in series])  # type: ignore[union-attr]
        pad = any(w.pad for w in series)
        base_input = base is not None and first.base_input
        return cls(series, z, offsets, train, stop, first.h, first.input_size, first.norm, base, series_id, pad,
                   base_input, series_stats)

    def with_lookback(self, steps: int) -> "PooledWindows":
        """The same windows gathered ``steps`` long (padded before a series starts), measured as
        before: a network of the layout's lookback reads the same values from them, and longer
        ones (``model.lookback``) read further back. Shares the arrays."""
        if steps == self.input_size:
            return self
        if not self.pad:
            raise ValueError("only left-padded windows can be gathered longer than the layout's lookback")
        return replace(self, input_size=int(steps), norm_size=self.norm_steps)

    @property
    def norm_steps(self) -> int:
        return self.norm_size or self.input_size

    @property
    def reads_base(self) -> bool:
        """Whether the inputs carry the base forecast (as ``SeriesWindows.reads_base``)."""
        return self.base_input

    @property
    def n_inputs(self) -> int:
        return (self.z.shape[1] + int(self.pad) + (len(self.series) if self.series_id else 0)
                + (self.h if self.base_input else 0) + self.n_stats)

    @property
    def n_stats(self) -> int:
        """How many statistic inputs ``model.series_stats`` adds (``SERIES_STATS``)."""
        if not self.series_stats:
            return 0
        return len(SERIES_STATS) if self.series[0].season_length > 1 else len(SERIES_STATS) - 2

    @property
    def last_inputs(self) -> list[int]:
        """The input columns read at the last step only (as ``SeriesWindows.last_inputs``): the
        base forecast and the series identity. Why the identity there: one-hots at every step
        made the first layer's input product grow with the series count at every step (M1
        monthly, 617 series: 20x the time of a network without them); at the last step they
        are still a learned per-series offset of the gates, for one step's cost."""
        end = self.n_inputs - self.n_stats
        ids = list(range(end - len(self.series), end)) if self.series_id else []
        return base_columns(self.z.shape[1], self.h, self.base_input) + ids + list(range(end, self.n_inputs))

    @functools.cached_property
    def static_stats(self) -> np.ndarray:
        """Per series: log10 of its training std and of its training points, and its first
        point's season position, (n_series, 3): all from the span its scaler saw."""
        return np.array([[np.log10(w.scaler.std[0]), np.log10(max(w.n_train, 1)), season_phase(w.ds, w.season_length)]
                         for w in self.series])

    def stats(self, pos: np.ndarray) -> np.ndarray:
        """``model.series_stats`` of the windows at ``pos``, (N, n_stats), float32: the series'
        scale and length, the last value before the origin against the training mean, and the
        origin's position in the season; nothing from the origin on, nothing identifying a series."""
        k = self.series_of(pos)
        static = self.static_stats[k]
        cols = [static[:, 0], signed_log(self.z[pos - 1, 0]), static[:, 1]]
        if self.n_stats == len(SERIES_STATS):
            m = np.array([w.season_length for w in self.series])[k]
            angle = 2 * np.pi * ((static[:, 2] + pos - self.offsets[k]) % m) / m
            cols += [np.sin(angle), np.cos(angle)]
        return np.stack(cols, axis=1).astype(np.float32)

    @functools.cached_property
    def target_mean(self) -> np.ndarray:
        """Each series' target scaler mean, (n_series,)."""
        return np.array([w.scaler.mean[0] for w in self.series])

    @functools.cached_property
    def target_std(self) -> np.ndarray:
        return np.array([w.scaler.std[0] for w in self.series])

    def series_of(self, pos: np.ndarray) -> np.ndarray:
        """Index of the series each position belongs to. A position equal to the next series'
        offset is this series' origin past its end (the future forecast; no origin is ever 0)."""
        return np.searchsorted(self.offsets, pos, side="left") - 1

    @property
    def n_samples(self) -> int:
        """Distinct training targets of all series: N_s of the capacity rule for the one network."""
        return int(sum(w.n_samples for w in self.series))

    def window_steps(self, pos: np.ndarray, size: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions in z of each window's last ``size`` input steps (default ``input_size``), (N, size),
        and which of them lie in the window's own series (the others are padding: never read
        from the series before)."""
        idx = pos[:, None] + np.arange(-(size or self.input_size), 0)[None, :]
        start = self.offsets[self.series_of(pos)]
        return np.maximum(idx, 0), idx >= start[:, None]

    def level(self, pos: np.ndarray) -> np.ndarray:
        """Scaled level each window is measured from (as ``SeriesWindows.level``)."""
        if self.norm in ("last", "recent"):
            return self.z[pos - 1, 0]
        if self.norm == "mean":
            idx, real = self.window_steps(pos, self.norm_steps)
            return masked_mean(self.z[idx, 0], real).astype(np.float32)
        return np.zeros(len(pos), dtype=np.float32)

    def spread(self, pos: np.ndarray, steps: Optional[tuple[np.ndarray, np.ndarray]] = None) -> np.ndarray:
        """The unit each window is measured in (as ``SeriesWindows.spread``), with its own series'
        scaler; ``steps``: ``window_steps(pos)`` when the caller has them."""
        if self.norm != "recent":
            return np.ones(len(pos), dtype=np.float32)
        idx, real = steps if steps is not None else self.window_steps(pos, self.norm_steps)
        k = self.series_of(pos)
        return window_unit(self.z[idx, 0], real, self.target_mean[k], self.target_std[k]).astype(np.float32)

    def inputs(self, pos: np.ndarray, unit: Optional[np.ndarray] = None, reference: Optional[np.ndarray] = None
               ) -> torch.Tensor:
        """Input windows at ``pos``; ``unit``: their ``spread``, ``reference``: their ``reference``,
        when the caller has them."""
        idx, real = self.window_steps(pos)
        x = self.z[idx]
        if unit is None:  # measured over the layout's lookback, whatever length is gathered
            unit = self.spread(pos, (idx, real) if self.norm_steps == self.input_size else None)
        level = self.level(pos)
        x[:, :, 0] = (x[:, :, 0] - level[:, None]) / unit[:, None]
        base = None
        if self.base_input:  # in SeriesWindows.inputs' column order
            reference = self.reference(pos) if reference is None else reference
            base = (reference - level[:, None]) / unit[:, None]
        if not self.pad and not real.all():
            raise ValueError("a window starts before its series but the lookback is not padded")
        ids = (self.series_of(pos), len(self.series)) if self.series_id else None  # at the last step (last_inputs)
        stats = self.stats(pos) if self.series_stats else None  # at the last step too
        return torch.from_numpy(window_inputs(x, base, real if self.pad else None, ids, stats))

    def reference(self, pos: np.ndarray) -> np.ndarray:
        """What the network's output is added to (as ``SeriesWindows.reference``): (N, h)."""
        if self.base is None:
            return np.repeat(self.level(pos)[:, None], self.h, axis=1)
        # The series of each position shifts its base row by its index.
        return self.base[pos + self.series_of(pos)]

    def gather(self, pos: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets) of the windows with origins at ``pos``: (N, input_size, C), (N, h)."""
        unit, reference = self.spread(pos), self.reference(pos)  # once per batch: inputs and targets share them
        y = (self.z[pos[:, None] + np.arange(self.h)[None, :], 0] - reference) / unit[:, None]
        return self.inputs(pos, unit, reference), torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))

    def datasets(self) -> tuple[WindowSet, WindowSet]:
        return WindowSet(self, self.train_pos), WindowSet(self, self.stop_pos)

    def forecasts(self, module: LSTMForecaster, origins: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Forecasts in each series' units from its ``origins[k]``: one (n_k, h) array per series.

        The origins of all series go through the network together, EVAL_CHUNK at a time.
        """
        counts = [len(o) for o in origins]
        pos = np.concatenate([off + np.asarray(o, dtype=np.int64) for off, o in zip(self.offsets, origins)])
        module.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(pos), EVAL_CHUNK):
                outs.append(module(self.inputs(pos[start : start + EVAL_CHUNK])).numpy())
        out = np.concatenate(outs) if outs else np.zeros((0, self.h))
        result, at = [], 0
        for w, o, n in zip(self.series, origins, counts):
            result.append(np.stack([w.to_units(int(origin), out[at + j]) for j, origin in enumerate(o)]) if n else out[:0])
            at += n
        return result

    def ensemble_scores(self, modules: Sequence[LSTMForecaster], part: str) -> list[dict[str, float]]:
        """Per series: the metrics of the seeds' mean forecast (what forecast.csv delivers),
        averaged over its ``part`` (val or test) origins."""
        origins = self.origins(part)
        per_seed = [self.forecasts(m, origins) for m in modules]
        return [
            mean_scores([score_at(w, int(o), np.mean([f[k][j] for f in per_seed], axis=0)) for j, o in enumerate(orig)])
            for k, (w, orig) in enumerate(zip(self.series, origins))
        ]

    def scores(self, module: LSTMForecaster, part: str) -> list[dict[str, float]]:
        """Per series: its metrics averaged over its ``part`` (val or test) origins."""
        return self.scores_of(self.forecasts(module, self.origins(part)), part)

    def origins(self, part: str) -> list[np.ndarray]:
        return [w.val_origins if part == "val" else w.test_origins for w in self.series]

    def scores_of(self, forecasts: list[np.ndarray], part: str) -> list[dict[str, float]]:
        """``scores`` of forecasts already made at each series' ``part`` origins."""
        return [
            mean_scores([score_at(w, int(o), f) for o, f in zip(orig, fc)])
            for w, orig, fc in zip(self.series, self.origins(part), forecasts)
        ]


def pool_feature_scaling(series: list[SeriesWindows]) -> list[SeriesWindows]:
    """Feature columns standardised with one mean and std over every series' training data.

    The target keeps each series' own scaler (scales differ by orders of magnitude), but a
    per-series scaler would turn a static feature (constant within a series, e.g. a store's size
    or a category code) into zeros; pooled, it still tells the series apart.
    """
    if series[0].n_inputs == 1:
        return series
    raw = [w.z[:, 1:] * w.scaler.std[1:] + w.scaler.mean[1:] for w in series]
    train = np.concatenate([r[: w.n_train] for r, w in zip(raw, series)])
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    out = []
    for r, w in zip(raw, series):
        z = w.z.copy()
        z[:, 1:] = (r - mean) / std
        scaler = replace(w.scaler, mean=np.r_[w.scaler.mean[:1], mean], std=np.r_[w.scaler.std[:1], std])
        out.append(replace(w, z=z, scaler=scaler))
    return out
