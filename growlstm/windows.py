"""Chronological split, training-only scaling and sliding windows for one series.

A window with origin ``o`` (index of its first target) reads inputs ``z[o - input_size : o]``
and predicts ``y[o : o + h]`` (direct multi-output). The blocks are

    | train (n_train) | validation (h) | test (h) |

Training windows keep their targets inside the training block; the validation window's inputs
end where validation starts and the test window's inputs end where test starts, so every model
(LSTM or classical) sees exactly the data before its forecast origin. The scaler sees the
training block only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from growlstm.config import M4_HORIZONS
from growlstm.errors import InputError


NORMS = ("global", "last", "mean")


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
    n_train: int
    season_length: int
    norm: str = "last"  # global | last | mean: what each window is measured from (see level)

    @property
    def n_inputs(self) -> int:
        return self.z.shape[1]

    @property
    def val_origin(self) -> int:
        return self.n_train

    @property
    def test_origin(self) -> int:
        return self.n_train + self.h

    @property
    def future_origin(self) -> int:
        """Origin of the forecast past the end of the data (uses every observation)."""
        return len(self.y)

    @property
    def train_origins(self) -> np.ndarray:
        return np.arange(self.input_size, self.n_train - self.h + 1)

    @property
    def n_samples(self) -> int:
        """Distinct training target values: the honest N_s of the capacity rule.

        Overlapping windows reuse the same values, so counting windows would inflate N_s.
        """
        return self.n_train - self.input_size

    def level(self, origins: np.ndarray | list[int]) -> np.ndarray:
        """Scaled target level each window is measured from, shape (N,).

        ``global``: 0 (plain standardisation). ``last``: the last input value, ``mean``: the
        input window's mean; both let a trending series leave the training range without the
        network having to extrapolate its inputs.
        """
        origins = np.asarray(origins)
        if self.norm == "last":
            return self.z[origins - 1, 0]
        if self.norm == "mean":
            idx = origins[:, None] + np.arange(-self.input_size, 0)[None, :]
            return self.z[idx, 0].mean(axis=1)
        return np.zeros(len(origins))

    def inputs(self, origins: np.ndarray | list[int]) -> torch.Tensor:
        """Input windows, shape (N, input_size, C), float32; the target column relative to the level."""
        origins = np.asarray(origins)
        idx = origins[:, None] + np.arange(-self.input_size, 0)[None, :]
        x = self.z[idx].copy()
        x[:, :, 0] -= self.level(origins)[:, None]
        return torch.as_tensor(x, dtype=torch.float32)

    def targets(self, origins: np.ndarray | list[int]) -> torch.Tensor:
        """Scaled target windows relative to the level, shape (N, h), float32."""
        origins = np.asarray(origins)
        idx = origins[:, None] + np.arange(self.h)[None, :]
        return torch.as_tensor(self.z[idx, 0] - self.level(origins)[:, None], dtype=torch.float32)

    def to_units(self, origin: int, output: np.ndarray) -> np.ndarray:
        """A network output for ``origin`` back in the series' own units."""
        return self.scaler.inverse_target(np.asarray(output, dtype=float) + self.level([origin])[0])

    def actuals(self, origin: int) -> np.ndarray:
        """Raw target values of the h steps from ``origin`` (validation or test)."""
        return self.y[origin : origin + self.h]

    def history(self, origin: int) -> np.ndarray:
        """Raw target before ``origin``: what a classical model may fit on."""
        return self.y[:origin]


def default_h(freq: str | None) -> int:
    """The M4 horizon of the frequency (6 when it is unknown)."""
    return M4_HORIZONS.get(freq or "", 6)


def default_input_size(h: int, season_length: int) -> int:
    """Two horizons or two seasons, whichever is longer: enough to see the seasonal pattern."""
    return max(2 * h, 2 * season_length)


def make_windows(
    frame: pd.DataFrame,
    *,
    uid: str,
    h: int,
    input_size: int,
    season_length: int,
    features: list[str],
    norm: str = "last",
) -> SeriesWindows:
    """Split one series (columns ds, y, features) and fit the scaler on its training block."""
    if h <= 0:
        raise InputError(f"h must be positive, got {h}", "set h to the number of steps to forecast, e.g. h=12")
    if norm not in NORMS:
        raise InputError(f"model.input_norm={norm} is not understood", f"use one of {', '.join(NORMS)}")
    if input_size <= 0:
        raise InputError(f"input_size must be positive, got {input_size}", "set input_size=24 or leave it unset")
    values = frame[["y", *features]].to_numpy(dtype=float)
    n = len(values)
    n_train = n - 2 * h
    # At least as many training windows as the horizon, so training and early stopping mean something.
    min_len = input_size + h + (h - 1) + 2 * h
    if n_train - input_size - h + 1 < h:
        raise InputError(
            f"series '{uid}' has {n} points, too short for input_size={input_size}, h={h} and "
            f"the validation and test blocks (needs at least {min_len})",
            f"use a smaller h or input_size (e.g. input_size={max(1, (n - 4 * h + 1) // 2)}), or a longer series",
        )
    scaler = Scaler.fit(values[:n_train])
    return SeriesWindows(
        uid=uid,
        ds=pd.Index(frame["ds"]),
        y=values[:, 0].copy(),
        z=scaler.transform(values),
        scaler=scaler,
        h=h,
        input_size=input_size,
        n_train=n_train,
        season_length=season_length,
        norm=norm,
    )
