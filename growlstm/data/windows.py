"""Chronological split, training-only scaling and sliding windows for one series.

A window with origin ``o`` (index of its first target) reads inputs ``z[o - input_size : o]``
and predicts ``y[o : o + h]`` (direct multi-output). The series is cut into

    | train | early-stopping slice | validation span | test span |

The validation span holds ``val_origins`` forecast origins ``step`` apart, the test span
``test_origins`` (the last origin's window ends with the data). Training windows keep their
targets inside the training block; early stopping reads windows whose targets lie in the slice
(``early_stop="slice"``) or the validation windows themselves (``"val"``, for comparison). Every
model (LSTM or classical) forecasts from an origin with exactly the data before it. The scaler
sees the data before the validation span only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np
import pandas as pd
import torch

from growlstm.config import M4_HORIZONS, EvalConfig
from growlstm.errors import InputError
from growlstm.data.freq import usual_step
from growlstm.data.layout import Layout, plan as plan_layout


NORMS = ("global", "last", "mean", "recent")
# ``recent``: the smallest window unit, in the series' standard deviations (a lookback of zeros).
SCALE_FLOOR = 0.01


@dataclass(frozen=True)
class Scaler:
    """Per-column standardisation fitted on the training block."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> "Scaler":
        std = values.std(axis=0)
        # A constant feature column would divide by zero; leave it unscaled around its mean.
        return cls(values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse_target(self, z: np.ndarray) -> np.ndarray:
        """Undo the scaling of the target (column 0)."""
        return z * self.std[0] + self.mean[0]


@dataclass(frozen=True)
class SeriesWindows:
    """One series, split and scaled, ready to cut into windows."""

    uid: str
    ds: pd.Index
    y: np.ndarray  # raw target, shape (T,)
    z: np.ndarray  # scaled target and features, shape (T, C)
    scaler: Scaler
    h: int
    input_size: int
    n_train: int  # first validation origin: the scaler and all training see y[:n_train]
    season_length: int
    norm: str = "last"  # global | last | mean: what each window is measured from (see level)
    val_origins: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    test_origins: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    stop_origins: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # early stopping
    train_end: int = 0  # training targets lie in y[first_origin:train_end]
    # First training origin: input_size, or 1 when the lookback is left-padded (``pad``): a window
    # may then start before the series, its missing steps zero and flagged by a mask input.
    first_origin: int = 0
    pad: bool = False
    layout_steps: tuple[str, ...] = ()  # how the layout was shrunk to fit (empty: the full layout)
    no_room: str = ""  # why the series gets no LSTM of its own, when known before it was cut (lstm_room)
    # Residual treatment: scaled forecast of a classical model from each origin, shape (T + 1, h)
    # (NaN rows where none was computed); the network then predicts what that forecast misses.
    base: Optional[np.ndarray] = None
    base_name: str = ""
    # The same forecasts in the series' units: the base is fitted on y[:n_train], so a refit cut
    # at n_train (the first validation origin) reuses them instead of fitting it again.
    base_raw: Optional[np.ndarray] = None
    # model.base_input: the base's forecast, measured from the window's level, as h more inputs
    # at the last step (``last_inputs``), so the network sees the forecast it corrects (no
    # effect without a base).
    base_input: bool = False

    @property
    def reads_base(self) -> bool:
        """Whether the inputs carry the base forecast (``base_input`` and a base to carry)."""
        return self.base_input and self.base is not None

    @property
    def n_inputs(self) -> int:
        return self.z.shape[1] + int(self.pad) + (self.h if self.reads_base else 0)

    @property
    def last_inputs(self) -> list[int]:
        """The input columns the network reads at the last step only: the base forecast's."""
        return base_columns(self.z.shape[1], self.h, self.reads_base)

    @property
    def future_origin(self) -> int:
        """Origin of the forecast past the end of the data (uses every observation)."""
        return len(self.y)

    @property
    def train_origins(self) -> np.ndarray:
        return np.arange(self.first_origin, self.train_end - self.h + 1)

    @property
    def n_samples(self) -> int:
        """Distinct training target values: the honest N_s of the capacity rule (overlapping
        windows reuse the same values, so counting windows would inflate N_s). No window, no target."""
        return self.train_end - self.first_origin if len(self.train_origins) else 0

    def with_cut(self, **changes: Any) -> "SeriesWindows":
        """The same series cut elsewhere (a refit): no early-stopping slice, no residual base."""
        return replace(self, stop_origins=np.zeros(0, dtype=int), base=None, base_name="", base_raw=None, **changes)

    def with_base(self, raw: np.ndarray, name: str) -> "SeriesWindows":
        """The same windows with targets relative to a classical forecast (residual treatment):
        ``raw``, its forecast from each origin in the series' units, shape (T + 1, h)."""
        return replace(self, base=(raw - self.scaler.mean[0]) / self.scaler.std[0], base_name=name, base_raw=raw)

    def reference(self, origins: np.ndarray | list[int]) -> np.ndarray:
        """What the network's output is added to, per origin, scaled: shape (N, h)."""
        origins = np.asarray(origins)
        if self.base is not None:
            ref = self.base[origins]
            if np.isnan(ref).any():
                raise ValueError(f"no {self.base_name} forecast was computed for some of the origins {origins.tolist()}")
            return ref
        return np.repeat(self.level(origins)[:, None], self.h, axis=1)

    def level(self, origins: np.ndarray | list[int]) -> np.ndarray:
        """Scaled target level each window is measured from, shape (N,).

        ``global``: 0 (plain standardisation). ``last``: the last input value, ``mean``: the
        input window's mean; both let a trending series leave the training range without the
        network having to extrapolate its inputs.
        """
        origins = np.asarray(origins)
        if self.norm in ("last", "recent"):
            return self.z[origins - 1, 0]
        if self.norm == "mean":
            idx = origins[:, None] + np.arange(-self.input_size, 0)[None, :]
            return masked_mean(self.z[np.maximum(idx, 0), 0], idx >= 0)
        return np.zeros(len(origins))

    def spread(self, origins: np.ndarray | list[int]) -> np.ndarray:
        """The unit each window's inputs and targets are measured in, in training standard
        deviations, shape (N,): 1, or with ``recent`` at most the lookback's mean absolute value."""
        origins = np.asarray(origins)
        if self.norm != "recent":
            return np.ones(len(origins))
        idx = origins[:, None] + np.arange(-self.input_size, 0)[None, :]
        n = len(origins)
        return window_unit(self.z[np.maximum(idx, 0), 0], idx >= 0, np.full(n, self.scaler.mean[0]), np.full(n, self.scaler.std[0]))

    def inputs(self, origins: np.ndarray | list[int]) -> torch.Tensor:
        """Input windows, shape (N, input_size, C), float32; the target column relative to the
        level, then the features, then (``base_input``) the base forecast's h values (at the last
        step); with ``pad``, steps before the series are zero and a last column flags the real
        ones (``window_inputs``)."""
        origins = np.asarray(origins)
        idx = origins[:, None] + np.arange(-self.input_size, 0)[None, :]
        x = self.z[np.maximum(idx, 0)]  # a copy (fancy indexing): the level is taken off in place
        level, unit = self.level(origins), self.spread(origins)
        x[:, :, 0] = (x[:, :, 0] - level[:, None]) / unit[:, None]
        base = (self.reference(origins) - level[:, None]) / unit[:, None] if self.reads_base else None
        return torch.from_numpy(window_inputs(x, base, idx >= 0 if self.pad else None))

    def targets(self, origins: np.ndarray | list[int]) -> torch.Tensor:
        """Scaled target windows relative to the reference (level or classical forecast), (N, h), float32."""
        origins = np.asarray(origins)
        idx = origins[:, None] + np.arange(self.h)[None, :]
        scaled = (self.z[idx, 0] - self.reference(origins)) / self.spread(origins)[:, None]
        return torch.as_tensor(scaled, dtype=torch.float32)

    def datasets(self) -> tuple[torch.utils.data.TensorDataset, torch.utils.data.TensorDataset]:
        """Training windows and early-stopping windows as datasets (PooledWindows has the same)."""
        train, stop = self.train_origins, self.stop_origins
        return (torch.utils.data.TensorDataset(self.inputs(train), self.targets(train)),
                torch.utils.data.TensorDataset(self.inputs(stop), self.targets(stop)))

    def to_units(self, origin: int, output: np.ndarray) -> np.ndarray:
        """A network output for ``origin`` back in the series' own units."""
        out = np.asarray(output, dtype=float) * self.spread([origin])[0]
        return self.scaler.inverse_target(out + self.reference([origin])[0])

    def actuals(self, origin: int) -> np.ndarray:
        """Raw target values of the h steps from ``origin`` (validation or test)."""
        return self.y[origin : origin + self.h]

    def history(self, origin: int) -> np.ndarray:
        """Raw target before ``origin``: what a classical model may fit on."""
        return self.y[:origin]


def base_columns(before: int, h: int, reads_base: bool) -> list[int]:
    """Where ``window_inputs`` puts the base forecast: right after the ``before`` columns of
    target and features (empty when the inputs do not carry it)."""
    return list(range(before, before + h)) if reads_base else []


def window_inputs(x: np.ndarray, base: Optional[np.ndarray] = None, real: Optional[np.ndarray] = None,
                  ids: Optional[tuple[np.ndarray, int]] = None, stats: Optional[np.ndarray] = None) -> np.ndarray:
    """The network's input windows, float32, in one array (built once per batch: on long
    pooled horizons this is a large share of an epoch):
    - ``x`` (N, L, C): target and feature columns;
    - ``base`` (N, h), each window's base forecast measured from its level: h more columns, at
      the last step, where the network reads them (``LSTMStack``'s last-step inputs), zero before;
    - ``real`` (N, L), padded lookbacks: a padded step (False) carries no value at all, not
      another series', not the future's, and a column flags the real steps (1);
    - ``ids`` (each window's series index, the series count), ``model.series_id``: one-hot
      columns, set at the last step only, as the base;
    - ``stats`` (N, S), ``model.series_stats``: each window's series statistics, the last S
      columns, at the last step only."""
    n, steps, c = x.shape
    n_base = 0 if base is None else base.shape[1]
    mask = c + n_base  # the mask column, where there is one
    n_ids = 0 if ids is None else ids[1]
    n_stats = 0 if stats is None else stats.shape[1]
    width = mask + (0 if real is None else 1) + n_ids + n_stats
    # empty + fill, not zeros: a fresh zeroed (calloc) array of a wide batch faults its pages in
    # one by one as the strided writes below reach them (series identity on M1 monthly, 637
    # columns: the validation forecasts, 8192 windows a chunk, took 8x as long).
    out = np.empty((n, steps, width), dtype=np.float32)
    out.fill(0.0)
    if real is None:
        out[:, :, :c] = x
    else:
        np.copyto(out[:, :, :c], x, where=real[:, :, None])
        out[:, :, mask] = real
    if base is not None:
        out[:, -1, c:mask] = base  # the last step of a window is always its own series'
    if ids is not None:
        out[np.arange(n), -1, width - n_stats - n_ids + ids[0]] = 1.0
    if stats is not None:
        out[:, -1, width - n_stats:] = stats
    return out


def season_phase(ds: pd.Index, season_length: int) -> int:
    """Position in the season of a series' first point, 0..season_length-1, from its time stamps,
    so that series starting in different months agree on what a month is: the month (m=12), the
    quarter (m=4), the weekday (m=7), the hour (m=24) or the week (m=52) of a date; an integer
    step's value (M1's t); otherwise 0 (the position from the series' start)."""
    first = ds[0]
    if isinstance(first, (pd.Timestamp, np.datetime64)):
        t = pd.Timestamp(first)
        by_season = {12: t.month - 1, 4: t.quarter - 1, 7: t.dayofweek, 24: t.hour, 52: t.isocalendar()[1] - 1}
        return int(by_season.get(season_length, 0)) % max(season_length, 1)
    if isinstance(first, (int, np.integer)):
        return int(first) % max(season_length, 1)
    return 0


def signed_log(v: np.ndarray) -> np.ndarray:
    """sign(v) log(1 + |v|): a level many standard deviations from the training mean (a trend)
    stays an input of modest size."""
    return np.sign(v) * np.log1p(np.abs(v))


def masked_mean(values: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Row means over the real (not padded) steps; every window has at least one."""
    return (values * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1)


def window_unit(z: np.ndarray, real: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``recent``: each window's unit, in training standard deviations: 1, or the mean absolute
    value of its real lookback steps where that is smaller (at least ``SCALE_FLOOR``).

    ``z`` (N, L) is scaled target, ``mean`` and ``std`` (N,) each row's series scaler. Why: a
    series whose level collapsed (M1-MND21: from about 800 to 25) keeps the standard deviation
    of its history, so a correction the network learnt on other series, a fraction of a standard
    deviation, is several times its current level. Where the level is above the standard
    deviation, as in almost every series, the unit is 1 and nothing changes.
    """
    level = masked_mean(np.abs(z * std[:, None] + mean[:, None]), real)
    return np.clip(level / std, SCALE_FLOOR, 1.0)


def default_h(freq: str | None) -> int:
    """The M4 horizon of the frequency (6 when it is unknown)."""
    return M4_HORIZONS.get(freq or "", 6)


def default_input_size(h: int, season_length: int) -> int:
    """Two horizons or two seasons, whichever is longer: enough to see the seasonal pattern."""
    return max(2 * h, 2 * season_length)


def layout(n: int, h: int, ev: EvalConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Origins of the full layout: test span, validation span, early stopping, training end."""
    full = plan_layout(n, h, ev, input_size=1, min_windows=0)
    assert full is not None
    return full.test, full.val, full.stop, full.train_end


def reserved(h: int, ev: EvalConfig) -> int:
    """Points at the end of a series kept from training: test, validation and early-stopping spans."""
    n = 10**9
    return n - layout(n, h, ev)[3]


def make_windows(
    frame: pd.DataFrame,
    *,
    uid: str,
    h: int,
    input_size: int,
    season_length: int,
    features: list[str],
    norm: str = "last",
    ev: Optional[EvalConfig] = None,
    cut: Optional[Layout] = None,
) -> SeriesWindows:
    """Split one series (columns ds, y, features) and fit the scaler on the data before validation.

    ``cut``: the layout to use (``growlstm.data.layout.plan``); by default the full layout, which must
    leave at least h training windows.
    """
    ev = ev or EvalConfig()
    if h <= 0:
        raise InputError(f"h must be positive, got {h}", "set h to the number of steps to forecast, e.g. h=12")
    if norm not in NORMS:
        raise InputError(f"model.input_norm={norm} is not understood", f"use one of {', '.join(NORMS)}")
    if input_size <= 0:
        raise InputError(f"input_size must be positive, got {input_size}", "set input_size=24 or leave it unset")
    # Column by column: a list selection of a DataFrame costs milliseconds, and a many-series
    # run cuts thousands of series.
    values = np.column_stack([frame[c].to_numpy(dtype=float) for c in ("y", *features)])
    n = len(values)
    if cut is None:
        # At least as many training windows as the horizon, so training and early stopping mean something.
        min_len = input_size + 2 * h - 1 + reserved(h, ev)
        if n < min_len:
            spans = f"{ev.val_origins} validation and {ev.test_origins} test origin(s)"
            if ev.early_stop == "slice":
                spans += " and the early-stopping slice"
            raise InputError(
                f"series '{uid}' has {n} points, too short for input_size={input_size}, h={h}, {spans} "
                f"(needs at least {min_len})",
                "use a smaller h, fewer eval.val_origins, or a longer series",
            )
        full = plan_layout(n, h, ev, input_size)
        assert full is not None
        cut = full
    scaler = Scaler.fit(values[: cut.n_train])
    return SeriesWindows(
        uid=uid,
        ds=pd.Index(frame["ds"]),
        y=values[:, 0].copy(),
        z=scaler.transform(values),
        scaler=scaler,
        h=h,
        input_size=cut.input_size,
        n_train=cut.n_train,
        season_length=season_length,
        norm=norm,
        val_origins=cut.val,
        test_origins=cut.test,
        stop_origins=cut.stop,
        train_end=cut.train_end,
        first_origin=cut.first_origin,
        pad=cut.first_origin < cut.input_size,
        layout_steps=cut.steps,
    )


def future_dates(ds: pd.Index, h: int) -> Optional[list[Any]]:
    """Timestamps of the h steps after ``ds`` ends (None when the spacing is unknown)."""
    if isinstance(ds, pd.DatetimeIndex) or pd.api.types.is_datetime64_any_dtype(ds):
        idx = pd.DatetimeIndex(ds)
        freq = idx.freq or (pd.infer_freq(idx) if len(idx) >= 3 else None) or usual_step(idx)
        if freq is None:
            return None
        return list(pd.date_range(idx[-1], periods=h + 1, freq=freq)[1:])
    if pd.api.types.is_integer_dtype(ds) and len(ds) > 1:
        step = int(ds[-1] - ds[-2])
        return [int(ds[-1]) + step * k for k in range(1, h + 1)]
    return None


def future_frame(ds: pd.Index, h: int) -> pd.DataFrame:
    """forecast.csv's first columns: ``ds`` (the dates after ``ds``, when known) and ``step`` 1..h."""
    frame = pd.DataFrame({"step": np.arange(1, h + 1)})
    dates = future_dates(ds, h)
    if dates is not None:
        frame.insert(0, "ds", dates)
    return frame
