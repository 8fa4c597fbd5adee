"""Split, scaling and windows: shapes, and nothing crosses the train | validation | test split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growlstm.config import EvalConfig
from growlstm.errors import InputError
from growlstm.data.windows import make_windows

ONE = EvalConfig(val_origins=1, test_origins=1, early_stop="val")  # one validation window, no slice


def frame(n: int, features: int = 0) -> pd.DataFrame:
    data = {"ds": pd.date_range("2000-01-01", periods=n, freq="MS"), "y": np.arange(n, dtype=float) ** 1.1}
    for k in range(features):
        data[f"f{k}"] = np.sin(np.arange(n) + k)
    return pd.DataFrame(data)


@pytest.mark.parametrize("norm", ["global", "last", "mean"])
def test_shapes_and_blocks(norm: str) -> None:
    win = make_windows(frame(120, features=2), uid="s", h=6, input_size=12, season_length=12,
                       features=["f0", "f1"], norm=norm, ev=ONE)
    assert win.n_train == 108 and win.val_origins.tolist() == [108] and win.test_origins.tolist() == [114]
    origins = win.train_origins
    assert win.inputs(origins).shape == (len(origins), 12, 3)
    assert win.targets(origins).shape == (len(origins), 6)
    assert win.n_samples == 108 - 12


def test_training_windows_never_read_validation_or_test() -> None:
    win = make_windows(frame(120), uid="s", h=6, input_size=12, season_length=12, features=[], ev=ONE)
    last_target_index = win.train_origins.max() + win.h - 1
    assert last_target_index == win.n_train - 1
    # Inputs of the validation window end where validation starts; test inputs where test starts.
    val = int(win.val_origins[0])
    x_val = win.inputs([val])[0, :, 0].numpy() + win.level([val])[0]
    np.testing.assert_allclose(x_val, win.z[win.n_train - 12 : win.n_train, 0], atol=1e-5)
    np.testing.assert_array_equal(win.history(val), win.y[: win.n_train])
    np.testing.assert_array_equal(win.actuals(int(win.test_origins[0])), win.y[-6:])


def test_scaler_sees_training_block_only() -> None:
    df = frame(120)
    win = make_windows(df, uid="s", h=6, input_size=12, season_length=12, features=[], ev=ONE)
    train = df["y"].to_numpy()[:108]
    assert win.scaler.mean[0] == pytest.approx(train.mean())
    assert win.scaler.std[0] == pytest.approx(train.std())
    # Changing the validation and test values leaves the scaler and training data unchanged.
    df2 = df.copy()
    df2.loc[108:, "y"] = 1e6
    win2 = make_windows(df2, uid="s", h=6, input_size=12, season_length=12, features=[], ev=ONE)
    assert win2.scaler.mean[0] == win.scaler.mean[0]
    np.testing.assert_array_equal(win2.targets(win2.train_origins), win.targets(win.train_origins))


@pytest.mark.parametrize("norm", ["global", "last", "mean"])
def test_to_units_inverts_the_target_transform(norm: str) -> None:
    win = make_windows(frame(120), uid="s", h=6, input_size=12, season_length=12, features=[], norm=norm)
    o = int(win.val_origins[-1])
    np.testing.assert_allclose(win.to_units(o, win.targets([o])[0].numpy()), win.actuals(o), rtol=1e-5)


def test_too_short_series_is_an_input_error() -> None:
    with pytest.raises(InputError, match="too short.*needs at least"):
        make_windows(frame(30), uid="s", h=6, input_size=12, season_length=12, features=[])


@pytest.mark.parametrize("pad", [False, True])
def test_base_inputs_are_the_base_forecast_from_each_origin_and_nothing_later(pad: bool) -> None:
    from dataclasses import replace

    from growlstm.baselines.residual import with_classical_base

    df = frame(120)
    df["y"] += 5 * np.sin(np.arange(120) / 2)

    def windows(data: pd.DataFrame, base_input: bool):
        win = make_windows(data, uid="s", h=6, input_size=12, season_length=1, features=[], norm="recent", ev=ONE)
        return with_classical_base(replace(win, base_input=base_input, pad=pad), "theta")

    plain, based = windows(df, False), windows(df, True)
    assert based.n_inputs == plain.n_inputs + 6
    origins = np.r_[based.train_origins, based.val_origins, based.test_origins, based.future_origin]
    x, x_plain = based.inputs(origins).numpy(), plain.inputs(origins).numpy()
    assert x.shape == (len(origins), 12, plain.n_inputs + 6)
    # Columns: the target, the base's 6 values, then the mask when padded (as plain has it).
    np.testing.assert_array_equal(np.delete(x, np.s_[1:7], axis=2), x_plain)
    expected = (based.reference(origins) - based.level(origins)[:, None]) / based.spread(origins)[:, None]
    # At the last step of a window, where the network reads them; nothing at the steps before.
    np.testing.assert_allclose(x[:, -1, 1:7], expected, rtol=1e-6, atol=1e-6)
    assert not x[:, :-1, 1:7].any()
    assert based.last_inputs == list(range(1, 7)) and plain.last_inputs == []  # read at the last step
    # No leakage: values from the first validation origin on change nothing a training window reads.
    later = df.copy()
    later.loc[based.n_train :, "y"] = 1e4
    np.testing.assert_array_equal(windows(later, True).inputs(based.train_origins).numpy(),
                                  x[: len(based.train_origins)])
