"""model.series_stats: statistics of each window's series as last-step inputs of the pooled network."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import growlstm
from growlstm import from_long
from growlstm.config import Config, DataConfig, GrowthConfig, ModelConfig, TrainerConfig, check_config
from growlstm.data.windows import season_phase
from growlstm.errors import InputError
from growlstm.growth.preparation import prepare
from growlstm.records.forecaster import MODEL_FILE, load, networks
from growlstm.runs.dispatch import grow_many
from growlstm.train.pooled_windows import SERIES_STATS, PooledWindows

M1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "m1"


def _table(n: int = 80, after: int | None = None) -> pd.DataFrame:
    """Three series of different scales; ``after``: series b's values from there on changed."""
    t = np.arange(n)
    frames = []
    for k, (uid, scale) in enumerate((("a", 1.0), ("b", 10.0), ("c", 100.0))):
        y = scale * (5 + np.sin(t / 3 + k) + 0.02 * t)
        if after is not None and uid == "b":
            y[after:] *= 3.0
        frames.append(pd.DataFrame({"unique_id": uid, "ds": t + 5 * k, "y": y}))
    return pd.concat(frames)


def _windows(table: pd.DataFrame, season: int = 4) -> list:
    panel = from_long(table, season_length=season)
    cfg = Config(h=6, input_size=12, data=DataConfig(season_length=season), model=ModelConfig(residual=None))
    return [prepare(panel, replace(cfg, data=replace(cfg.data, series=u)), pooled=True)[1] for u in panel.ids()]


def _all_origins(pooled: PooledWindows) -> np.ndarray:
    return np.concatenate([off + np.r_[w.train_origins, w.val_origins, w.test_origins, w.future_origin]
                           for off, w in zip(pooled.offsets, pooled.series)])


def test_statistics_are_the_last_columns_at_the_last_step_only() -> None:
    wins = _windows(_table())
    plain, stats = PooledWindows.build(wins), PooledWindows.build(wins, series_stats=True)
    assert stats.n_stats == len(SERIES_STATS) == 5 and stats.n_inputs == plain.n_inputs + 5
    assert stats.last_inputs == plain.last_inputs + list(range(plain.n_inputs, plain.n_inputs + 5))
    pos = _all_origins(plain)
    x, xs = plain.inputs(pos), stats.inputs(pos)
    torch.testing.assert_close(xs[:, :, : plain.n_inputs], x)  # the other inputs are untouched
    assert not xs[:, :-1, plain.n_inputs:].any()  # zero before the last step
    last = xs[:, -1, plain.n_inputs:].numpy()
    k = plain.series_of(pos)
    std = np.array([w.scaler.std[0] for w in wins])
    np.testing.assert_allclose(last[:, 0], np.log10(std[k]), rtol=1e-5)
    z_last = plain.z[pos - 1, 0]
    np.testing.assert_allclose(last[:, 1], np.sign(z_last) * np.log1p(np.abs(z_last)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last[:, 2], np.log10([wins[j].n_train for j in k]), rtol=1e-5)
    # Season position of the origin's own time stamp: ds = t + 5k, m = 4.
    origin = pos - plain.offsets[k]
    angle = 2 * np.pi * ((origin + 5 * k) % 4) / 4
    np.testing.assert_allclose(last[:, 3], np.sin(angle), atol=1e-6)
    np.testing.assert_allclose(last[:, 4], np.cos(angle), atol=1e-6)
    # No season (m = 1): no season inputs.
    yearly = PooledWindows.build(_windows(_table(), season=1), series_stats=True)
    assert yearly.n_stats == 3 and yearly.n_inputs == plain.n_inputs + 3


def test_season_phase_of_dates_and_steps() -> None:
    assert season_phase(pd.DatetimeIndex(["2020-03-01", "2020-04-01"]), 12) == 2
    assert season_phase(pd.DatetimeIndex(["2020-08-01"]), 4) == 2
    assert season_phase(pd.Index([13, 14]), 12) == 1
    assert season_phase(pd.Index(["x"]), 12) == 0


def test_no_statistic_reads_the_origin_or_after() -> None:
    base = PooledWindows.build(_windows(_table()), series_stats=True)
    b = base.series[1]
    for after in (int(b.val_origins[0]), int(b.test_origins[-1])):
        changed = PooledWindows.build(_windows(_table(after=after)), series_stats=True)
        assert changed.series[1].y[after] != b.y[after]
        origins = np.r_[b.train_origins, b.val_origins, b.test_origins]
        origins = origins[origins <= after]  # windows whose inputs all lie before the change
        pos = base.offsets[1] + origins
        torch.testing.assert_close(changed.inputs(pos), base.inputs(pos))
        np.testing.assert_array_equal(changed.stats(pos), base.stats(pos))


def test_series_stats_needs_global_scope() -> None:
    with pytest.raises(InputError, match="series_stats=true needs one network"):
        check_config(Config(model=ModelConfig(series_stats=True), growth=GrowthConfig(scope="local")))
    check_config(Config(model=ModelConfig(series_stats=True), growth=GrowthConfig(scope="global")))


def test_a_series_the_run_never_saw_gets_the_same_inputs_and_a_forecast(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """M1 monthly: a network pooled over 7 series forecasts an 8th it never saw; that series'
    statistics are its own alone (not the pool's), so they exist for any new series."""
    if not (M1 / "train.csv").is_file():
        pytest.skip(f"M1 not found at {M1}")
    data = DataConfig(name="csv", path=str(M1 / "train.csv"), test_path=str(M1 / "test.csv"), id_col="uid",
                      time_col="t", target="value", series="M1-MNM*", season_length=12)
    panel = growlstm.load(data)
    ids = panel.ids()[:8]
    held, seen = ids[-1], ids[:-1]
    train_panel = replace(panel, df=panel.df[panel.df.unique_id.isin(seen)].reset_index(drop=True))
    config = Config(data=data, h=18, baselines=["naive", "naive2"], model=ModelConfig(series_stats=True, widths=[2]),
                    trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1),
                    growth=GrowthConfig(seeds=1, max_stages=1, scope="global", workers=1))
    run = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="growlstm"):
        grow_many(train_panel, config, run_dir=run)
    assert "5 series statistics as inputs" in caplog.text  # the run's first line; the capacity rule counts them
    block = json.loads((run / "summary.json").read_text())["global"]
    assert block["series_stats"] is True
    fc = load(run / MODEL_FILE)
    assert fc.network is not None and fc.network["series_stats"] is True
    assert held not in {s.uid for s in fc.series}
    net = networks(fc.network)[0]
    cut = replace(config, input_size=fc.network["input_size"], data=replace(data, series=held))
    new = prepare(panel, cut, pad=fc.series[0].pad, pooled=True)[1]
    alone = PooledWindows.build([new], series_stats=True)
    assert alone.n_inputs == net.hparams["n_inputs"] and alone.last_inputs == list(net.net.last_inputs)
    forecast = alone.forecasts(net, [np.array([new.future_origin])])[0]
    assert forecast.shape == (1, 18) and np.isfinite(forecast).all()
    # Its statistics do not depend on which series it is pooled with.
    others = [prepare(panel, replace(cut, data=replace(data, series=u)), pad=fc.series[0].pad, pooled=True)[1]
              for u in seen[:3]]
    pool = PooledWindows.build(others + [new], series_stats=True)
    origins = np.r_[new.val_origins, new.future_origin]
    np.testing.assert_array_equal(pool.stats(pool.offsets[-1] + origins), alone.stats(origins))
    assert block["n_inputs"] == alone.n_inputs
