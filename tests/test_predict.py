"""predict=<run dir>: a finished run's forecaster forecasts again without training: its own
forecast.csv on its own data (one series; many, local and global), the forecast after the end
of newer data, and a clear refusal of data that is not the run's."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import statsmodels.api as sm
import torch

import growlstm
from growlstm import from_long
from growlstm.config import Config, DataConfig, ForecastConfig, GrowthConfig, ModelConfig, TrainerConfig
from growlstm.errors import InputError
from growlstm.records.forecaster import MODEL_FILE, load, networks
from growlstm.runs.dispatch import grow_many
from growlstm.runs.shared import series_folder
from growlstm.baselines.residual import theta_paths

from .test_cli import run_cli

TINY = dict(trainer=TrainerConfig(max_epochs=3, early_stopping_patience=2),
            growth=GrowthConfig(seeds=2, max_stages=2), baselines=["naive", "theta"])


def nile_csv(path: Path, n: int) -> Path:
    """The first n years of the Nile's flow as a CSV (ds, y)."""
    d = sm.datasets.nile.load_pandas().data.iloc[:n]
    pd.DataFrame({"ds": [f"{int(y)}-01-01" for y in d["year"]], "y": d["volume"]}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished run on the first 80 years of a CSV, and the CSV with all 100 (newer data)."""
    root = tmp_path_factory.mktemp("predict")
    old, new = nile_csv(root / "old.csv", 80), nile_csv(root / "new.csv", 100)
    config = Config(data=DataConfig(name="csv", path=str(old)), **TINY)  # type: ignore[arg-type]
    growlstm.grow(growlstm.load(config.data), config, run_dir=root / "run")
    return root / "run", new


@contextlib.contextmanager
def no_training() -> Iterator[None]:
    """Any training (every fit goes through Lightning's Trainer.fit) fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("predict trained a network")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pl.Trainer, "fit", refuse)
        yield


def series_rows(table: pd.DataFrame, uid: str) -> pd.DataFrame:
    """One series' rows of a many-series forecast, as its own forecast.csv holds them."""
    rows = table[table["unique_id"] == uid].drop(columns="unique_id").dropna(axis=1, how="all")
    return pd.read_csv(io.StringIO(rows.to_csv(index=False)))


@pytest.mark.parametrize("case", ["refit", "searched", "classical"])
def test_predict_reproduces_forecast_csv_of_one_series(tmp_path: Path, case: str, csv_run: tuple[Path, Path]) -> None:
    """``refit``: the default, networks refitted on all the data; ``searched``: forecast.refit=false;
    ``classical``: a series too short for an LSTM, forecast by its baselines alone."""
    run = csv_run[0]
    if case != "refit":
        run = tmp_path / "run"
        config = Config(data=DataConfig(name="nile"), forecast=ForecastConfig(refit=False), **TINY)  # type: ignore[arg-type]
        panel = growlstm.load(config.data)
        if case == "classical":
            panel.df = panel.df.iloc[:30].reset_index(drop=True)
        growlstm.grow(panel, config, run_dir=run)
    saved = load(run / MODEL_FILE)
    if case == "classical":
        assert saved.network is None and saved.series[0].candidates == ["naive", "theta"]
    else:
        assert saved.network is not None and len(saved.network["state_dicts"]) == 2  # every seed is kept
        assert "lstm" in saved.series[0].candidates and saved.series[0].base_name == "theta"
        assert (saved.series[0].base_from_end == 0) is (case == "refit")  # a refit's base is fitted on all the data
    with no_training():
        result = growlstm.predict(run, panel if case == "classical" else None, out_dir=tmp_path / "out")
    assert (tmp_path / "out" / "forecast.csv").read_bytes() == (run / "forecast.csv").read_bytes()
    record = json.loads((tmp_path / "out" / "predict.json").read_text())
    assert record["recommended"] == result.recommended and record["notes"] == []
    summary = json.loads((run / "summary.json").read_text())
    assert result.recommended[saved.series[0].uid] == summary["recommendation"]["model"]


def three_series(n: int) -> pd.DataFrame:
    t = np.arange(n)
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": t, "y": scale * (5 + np.sin(t / 3 + k) + 0.01 * t)})
                      for k, (uid, scale) in enumerate((("a", 1.0), ("b", 10.0), ("c", 100.0)))])


@pytest.mark.parametrize("scope", ["local", "global"])
def test_predict_reproduces_forecast_csv_of_many_series(tmp_path: Path, scope: str) -> None:
    config = Config(data=DataConfig(season_length=1), h=6, input_size=12,
                    trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1),
                    growth=GrowthConfig(seeds=2, max_stages=1, scope=scope, workers=1),
                    model=ModelConfig(series_id=scope == "global", base_input=scope == "global"), baselines=["naive", "theta"])
    run = tmp_path / "run"
    grow_many(from_long(three_series(80), season_length=1), config, run_dir=run)
    with no_training():
        result = growlstm.predict(run, from_long(three_series(80), season_length=1), out_dir=tmp_path / "out")
    assert result.scope == scope and set(result.recommended) == {"a", "b", "c"}
    written = pd.read_csv(tmp_path / "out" / "forecast.csv")
    if scope == "global":  # one forecast.csv for all series
        assert load(run / MODEL_FILE).network["series_id"] is True  # type: ignore[index]
        assert load(run / MODEL_FILE).network["base_input"] is True  # type: ignore[index]
        assert (tmp_path / "out" / "forecast.csv").read_bytes() == (run / "forecast.csv").read_bytes()
        # Format 2 read the series identity at every input step: such a file is refused; one
        # without the identity reads the same in both formats.
        payload = torch.load(run / MODEL_FILE, weights_only=True)
        torch.save({**payload, "format": 2}, tmp_path / "two.pt")
        with pytest.raises(InputError, match=r"another growlstm version \(format 2\)"):
            load(tmp_path / "two.pt")
        torch.save({**payload, "format": 2, "network": {**payload["network"], "series_id": False}}, tmp_path / "two.pt")
        assert load(tmp_path / "two.pt").network["series_id"] is False  # type: ignore[index]
    else:  # local: each series' own folder holds its forecast.csv
        for uid in "abc":
            assert "lstm" in load(series_folder(run, uid) / MODEL_FILE).series[0].candidates
            pd.testing.assert_frame_equal(series_rows(written, uid), pd.read_csv(series_folder(run, uid) / "forecast.csv"),
                                          check_exact=True)
    # Ten more points of each series: every series forecast after its new end, baselines refitted.
    newer = three_series(90)
    with no_training():
        table = growlstm.predict(run, from_long(newer, season_length=1)).forecast
    assert sorted(table["unique_id"].unique()) == ["a", "b", "c"]
    for uid, rows in table.groupby("unique_id"):
        assert rows["ds"].tolist() == list(range(90, 96)) and rows["lstm"].notna().all()
        assert (rows["naive"] == newer.loc[newer.unique_id == uid, "y"].iloc[-1]).all()


def test_predict_after_the_end_of_newer_data(csv_run: tuple[Path, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    run, new = csv_run
    with no_training():
        result = growlstm.predict(run, data=DataConfig(name="csv", path=str(new)))
    table = result.forecast
    y = pd.read_csv(new)["y"].to_numpy(dtype=float)
    assert table["ds"].iloc[0] == pd.Timestamp("1971-01-01") and len(table) == 6  # after the new end (1970)
    assert (table["naive"] == y[-1]).all()  # the baselines refitted on the new data
    # The LSTM reused with its own scaler, its Theta base re-run on the new data, by hand:
    saved = load(run / MODEL_FILE)
    state, net = saved.series[0], saved.network
    assert net is not None and state.scaler_mean is not None and state.scaler_std is not None
    mean, std = state.scaler_mean[0], state.scaler_std[0]
    z = (y - mean) / std
    x = torch.tensor((z[-net["input_size"]:] - z[-1])[None, :, None], dtype=torch.float32)  # input_norm=last
    base = (theta_paths(y, len(y), saved.h, 1)[len(y)] - mean) / std
    with torch.no_grad():
        expected = np.mean([(m(x)[0].numpy() + base) * std + mean for m in networks(net)], axis=0)
    np.testing.assert_allclose(table["lstm"], expected, rtol=1e-6)
    assert result.data["old"] == {"points": 100, "last_ds": "1970-01-01", "run_points": 80, "run_last_ds": "1950-01-01"}
    # The command does the same with data.path=<newer csv> (the run's other data settings kept).
    out = tmp_path / "cli"
    assert run_cli([f"predict={run}", f"data.path={new}", f"hydra.run.dir={out}"], monkeypatch) == 0
    assert (out / "forecast.csv").read_text() == table.to_csv(index=False)
    assert json.loads((out / "predict.json").read_text())["data"]["old"]["points"] == 100


def test_predict_refuses_data_that_is_not_the_run_s(csv_run: tuple[Path, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    run, new = csv_run
    data = pd.read_csv(new, parse_dates=["ds"])
    cases = {
        "other series": (from_long(data.assign(unique_id="rhine")), "series rhine is not in the run"),
        "other frequency": (pd.Series(data["y"].to_numpy(), pd.date_range("1900-01-01", periods=100, freq="MS")),
                            "frequency is M but the run .* was grown on Y"),
        "too few points": (data.set_index("ds")["y"].iloc[:10], "series 'old' has 10 points, too few"),
    }
    for name, (series, message) in cases.items():
        with pytest.raises(InputError, match=message):
            growlstm.predict(run, series)
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run, unfinished)
    (unfinished / "summary.json").unlink()
    with pytest.raises(InputError, match="not a finished run"):
        growlstm.predict(unfinished)
    # A forecaster of format 1 (its network read the base forecast at every input step) is refused.
    older = tmp_path / "older"
    shutil.copytree(run, older)
    payload = torch.load(older / MODEL_FILE, weights_only=True)
    torch.save({**payload, "format": 1}, older / MODEL_FILE)
    with pytest.raises(InputError, match=r"another growlstm version \(format 1\)"):
        load(older / MODEL_FILE)
    # From the shell: one line, exit code 2, nothing that looks like a finished prediction.
    monthly = tmp_path / "monthly.csv"
    data.assign(ds=pd.date_range("1900-01-01", periods=100, freq="MS")).to_csv(monthly, index=False)
    out = tmp_path / "refused"
    capsys.readouterr()
    assert run_cli([f"predict={run}", f"data.path={monthly}", f"hydra.run.dir={out}"], monkeypatch) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("growlstm: error: the data's frequency is M") and "Fix:" in err[0]
    assert not (out / "forecast.csv").exists() and not (out / "predict.json").exists()
