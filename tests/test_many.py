"""Many series: local runs in parallel, resuming, a global run, and set-level metrics."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from growlstm import load
from growlstm.config import Config, DataConfig, GoalConfig, GrowthConfig, TrainerConfig
from growlstm.runs.local import grow_local
from growlstm.runs.dispatch import grow_many
from growlstm.runs.shared import series_folder
from growlstm import from_long
from growlstm.train.pooled_windows import PooledWindows, pool_feature_scaling
from growlstm.records.report import format_many
from growlstm.growth.preparation import prepare
from growlstm.records.setlevel import set_scores, size_counts, verdict_counts
from growlstm.train.fit import new_module, predict


def _m4(shared_m4: Path, series: str) -> DataConfig:
    return DataConfig(name="csv", path=str(shared_m4 / "train.csv"), id_col="uid", time_col="t", target="value",
                      test_path=str(shared_m4 / "test.csv"), series=series, season_length=12)


def _tiny(**growth: object) -> Config:
    return Config(
        data=DataConfig(season_length=12), h=18,
        trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1, batch_size=128),
        growth=GrowthConfig(seeds=2, max_stages=2, **growth),  # type: ignore[arg-type]
        baselines=["naive", "naive2"],
    )


def test_set_level_scores_by_hand() -> None:
    table = pd.DataFrame({
        "uid": ["a", "b", "c"], "status": ["ok", "ok", "refused"], "widths": ["2", "3 2", ""],
        "goal_met_val": [True, False, None], "goal_met_test": [False, False, None],
        "lstm_test_smape": [10.0, 20.0, np.nan], "lstm_test_mase": [1.0, 2.0, np.nan],
        "naive2_test_smape": [20.0, 20.0, 5.0], "naive2_test_mase": [2.0, 2.0, 1.0],
        "theta_test_smape": [10.0, np.nan, 1.0], "theta_test_mase": [1.0, np.nan, 1.0],
    })
    scores = set_scores(table, "test")
    # Series a and b (c has no LSTM): LSTM sMAPE 15 / Naive2 20, MASE 1.5 / 2 -> OWA 0.75.
    assert scores.loc["lstm"].tolist() == [2, 15.0, 1.5, pytest.approx(0.75)]
    assert scores.loc["naive2", "owa"] == pytest.approx(1.0)
    # theta failed on b: averaged over a alone, against Naive2 on a alone.
    assert scores.loc["theta"].tolist() == [1, 10.0, 1.0, pytest.approx(0.5)]
    assert list(scores.index) == ["lstm", "naive2", "theta"]
    assert size_counts(table.widths) == {"2": 1, "3 2": 1}
    assert verdict_counts(table) == {"series": 3, "ran": 2, "met_val": 1, "met_test": 0, "held_on_test": 0}


@pytest.mark.parametrize("residual", [None, "theta", "auto"])
def test_pooled_windows_match_each_series(shared_m4: Path, residual: str | None) -> None:
    panel = load(_m4(shared_m4, "M4-M[1-3]"))
    cfg = Config(data=DataConfig(season_length=12), h=18, input_size=36)
    cfg = replace(cfg, model=replace(cfg.model, residual=residual))
    wins = [prepare(panel, replace(cfg, data=replace(cfg.data, series=u)))[1] for u in panel.ids()]
    pooled = PooledWindows.build(wins)
    assert pooled.n_samples == sum(w.n_samples for w in wins)  # the capacity rule counts every series
    train, stop = pooled.datasets()
    assert len(train) == sum(len(w.train_origins) for w in wins)
    assert len(stop) == sum(len(w.stop_origins) for w in wins)
    at = 0
    for w in wins:
        n = len(w.train_origins)
        x, y = train[list(range(at, at + n))]
        torch.testing.assert_close(x, w.inputs(w.train_origins))
        torch.testing.assert_close(y, w.targets(w.train_origins))
        # No window of a series reads another series or its own data past the training block.
        ends = pooled.train_pos[at : at + n] - pooled.offsets[wins.index(w)] + w.h
        assert ends.max() <= w.train_end and (pooled.train_pos[at : at + n] - pooled.offsets[wins.index(w)]).min() >= w.input_size
        at += n
    # Each series' forecast past its end reads its own last inputs and base forecast.
    ends = np.array([off + len(w.y) for off, w in zip(pooled.offsets, wins)])
    np.testing.assert_allclose(pooled.reference(ends), np.stack([w.reference([len(w.y)])[0] for w in wins]), rtol=1e-6)
    module = new_module(wins[0], [3], cfg.model, cfg.trainer, seed=0)
    fc = pooled.forecasts(module, [w.val_origins for w in wins])
    for w, f in zip(wins, fc):
        expected = np.stack([predict(module, w, int(o)) for o in w.val_origins])
        np.testing.assert_allclose(f, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_local_run_in_parallel_with_series_folders(shared_m4: Path, tmp_path: Path) -> None:
    panel = load(_m4(shared_m4, "M4-M[1-5]"))  # M4-M4 and M4-M5: too short for an LSTM of their own
    result = grow_local(panel, _tiny(workers=2), run_dir=tmp_path)
    assert result.workers == 2
    rows = result.table.set_index("uid")
    assert rows.status.tolist() == ["ok"] * 5  # every series gets a forecast
    assert rows.loc[["M4-M4", "M4-M5"], "stop"].tolist() == ["too_short"] * 2
    assert rows.loc[["M4-M4", "M4-M5"], "widths"].fillna("").tolist() == ["", ""]  # classical: no LSTM
    for uid in ("M4-M1", "M4-M2", "M4-M3"):
        folder = series_folder(tmp_path, uid)
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["series"] == uid and (folder / "stages" / "stage_00" / "checkpoint.pt").is_file()
        assert "stage  0" in (folder / "growlstm.log").read_text()  # stage lines go to the series' log
        assert rows.loc[uid, "lstm_test_mase"] == pytest.approx(summary["chosen"]["test"]["mase"])
    assert (series_folder(tmp_path, "M4-M4") / "forecast.csv").is_file()
    top = json.loads((tmp_path / "summary.json").read_text())
    assert top["scope"] == "local" and top["series"]["ran"] == 5 and not top["refused"]
    lstm = [r for r in top["set_level"]["test"] if r["model"] == "lstm"][0]
    assert lstm["series"] == 3 and math.isfinite(lstm["owa"])
    assert sum(top["chosen_sizes"].values()) == 3
    assert top["residual_bases"] == {"theta": 3}  # the default base, read from each series' summary
    assert len(pd.read_csv(tmp_path / "series.csv")) == 5
    text = format_many(result)
    assert "LSTM" in text and "naive2" in text and "no LSTM of their own: 2 series" in text


def test_resume_skips_finished_series(shared_m4: Path, tmp_path: Path) -> None:
    panel = load(_m4(shared_m4, "M4-M[12]"))
    config = _tiny(workers=1)
    first = grow_local(load(_m4(shared_m4, "M4-M1")), config, run_dir=tmp_path)  # "interrupted" after M4-M1
    done = series_folder(tmp_path, "M4-M1") / "summary.json"
    stamp = done.stat().st_mtime_ns
    with pytest.raises(Exception, match="already holds a many-series run"):
        grow_local(panel, config, run_dir=tmp_path)
    result = grow_local(panel, config, run_dir=tmp_path, resume=True)
    assert done.stat().st_mtime_ns == stamp  # not retrained
    rows = result.table.set_index("uid")
    assert rows.loc["M4-M1", "lstm_test_mase"] == pytest.approx(first.table.lstm_test_mase.iloc[0])
    assert rows.loc["M4-M2", "status"] == "ok" and (series_folder(tmp_path, "M4-M2") / "summary.json").is_file()


@pytest.mark.parametrize("judge", ["seeds", "ensemble"])
def test_tiny_global_run(shared_m4: Path, tmp_path: Path, judge: str) -> None:
    panel = load(_m4(shared_m4, "M4-M[1-4]"))
    config = _tiny(scope="global", workers=1, judge=judge)
    config = replace(config, model=replace(config.model, residual="auto"))  # each series its own base
    result = grow_many(panel, config, run_dir=tmp_path)
    rows = result.table.set_index("uid")
    assert result.scope == "global"
    ran = rows[rows.status == "ok"]
    assert len(ran) == 4 and ran.widths.nunique() == 1  # one network for every series, the short M4-M4 too
    assert ran.lstm_test_mase.notna().all() and ran.naive2_test_mase.notna().all()
    top = json.loads((tmp_path / "summary.json").read_text())
    block = top["global"]
    assert block["n_samples"] > 0 and block["stages"] and block["widths"] == [int(w) for w in ran.widths.iloc[0].split()]
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert sorted(forecast.unique_id.unique()) == ["M4-M1", "M4-M2", "M4-M3", "M4-M4"] and len(forecast) == 4 * 18
    checkpoint = torch.load(tmp_path / "stages" / "stage_00" / "checkpoint.pt", weights_only=False)
    assert set(checkpoint["scaler"]["per_series"]) == {"M4-M1", "M4-M2", "M4-M3", "M4-M4"}
    assert block["padded"]  # M4-M4 is too short for whole windows: every lookback is left-padded
    # The set-level validation metric of the chosen stage is the mean of the series' own, judged
    # alike (growth.judge: each series' seeds' mean, or its seeds' mean forecast's).
    chosen = block["chosen_stage"]
    assert block["stages"][chosen]["val"]["mase"] == pytest.approx(ran.lstm_val_mase.mean(), rel=1e-6)
    # model.residual=auto: the base of every series is recorded and counted.
    assert set(ran.residual) <= {"theta", "seasonal_naive"}
    assert sum(top["residual_bases"].values()) == 4 and "residual bases (auto)" in format_many(result)


def test_static_features_survive_pooled_scaling() -> None:
    """A feature constant within each series (its 'size') stays informative across series."""
    t = np.arange(80)
    table = pd.concat([
        pd.DataFrame({"unique_id": uid, "ds": t, "y": size * (5 + np.sin(t / 3)), "size": float(size)})
        for uid, size in (("a", 1), ("b", 10), ("c", 100))
    ])
    panel = from_long(table, features=["size"], season_length=1)
    cfg = Config(h=6, input_size=12)
    wins = [prepare(panel, replace(cfg, data=replace(cfg.data, series=u)))[1] for u in panel.ids()]
    assert all(np.allclose(w.z[:, 1], 0) for w in wins)  # per series: a constant becomes 0
    pooled = pool_feature_scaling(wins)
    levels = [float(w.z[0, 1]) for w in pooled]
    assert levels[0] < levels[1] < levels[2] and all(np.allclose(w.z[:, 1], w.z[0, 1]) for w in pooled)
    for old, new in zip(wins, pooled):  # the target and its scaling are untouched
        np.testing.assert_array_equal(old.z[:, 0], new.z[:, 0])
        assert new.scaler.inverse_target(np.array([1.0])) == old.scaler.inverse_target(np.array([1.0]))


def test_global_run_resumes_from_its_last_stage(shared_m4: Path, tmp_path: Path) -> None:
    import shutil

    from growlstm import resume

    panel = load(_m4(shared_m4, "M4-M[1-3]"))
    config = replace(_tiny(scope="global", workers=1), goal=GoalConfig(beat="none"))  # two stages, whatever they score
    first = grow_many(panel, config, run_dir=tmp_path)
    stages = sorted((tmp_path / "stages").glob("stage_*"))
    assert len(stages) == 2
    shutil.rmtree(stages[-1])  # as if cut off while training the second stage
    (tmp_path / "summary.json").unlink()
    with pytest.raises(Exception, match="global-scope run on 3 series.*pass the series"):
        resume(tmp_path)  # the saved data config (co2) is not what the run grew on
    again = resume(tmp_path, panel)
    assert again.scope == "global" and len(sorted((tmp_path / "stages").glob("stage_*"))) == 2
    pd.testing.assert_series_equal(again.table.lstm_test_mase, first.table.lstm_test_mase, rtol=1e-6)


def _three_series(n: int = 80) -> "object":
    t = np.arange(n)
    table = pd.concat([pd.DataFrame({"unique_id": uid, "ds": t, "y": scale * (5 + np.sin(t / 3 + k))})
                       for k, (uid, scale) in enumerate((("a", 1.0), ("b", 10.0), ("c", 100.0)))])
    return from_long(table, season_length=1)


def test_series_id_inputs_are_one_hot_per_window() -> None:
    panel = _three_series()
    cfg = Config(h=6, input_size=12)
    wins = [prepare(panel, replace(cfg, data=replace(cfg.data, series=u)))[1] for u in panel.ids()]
    plain, ided = PooledWindows.build(wins), PooledWindows.build(wins, series_id=True)
    assert plain.n_inputs == 1 and ided.n_inputs == 4
    # Training, stopping and each series' future origin (a position equal to the next offset).
    future = np.array([off + w.future_origin for off, w in zip(plain.offsets, wins)])
    for pos in (plain.train_pos, plain.stop_pos, future):
        x, x_id = plain.inputs(pos), ided.inputs(pos)
        torch.testing.assert_close(x_id[:, :, :1], x)  # the series' own values are untouched
        owner = np.searchsorted(plain.offsets, pos, side="right") - 1
        owner[np.isin(pos, future)] = np.arange(3)[np.isin(future, pos)]
        expected = torch.nn.functional.one_hot(torch.from_numpy(owner), 3).float()
        torch.testing.assert_close(x_id[:, -1, 1:], expected)  # read at the last step ...
        assert not x_id[:, :-1, 1:].any()  # ... and zero before it
    assert plain.last_inputs == [] and ided.last_inputs == [1, 2, 3]


def test_base_inputs_of_the_pooled_windows_are_each_series_own() -> None:
    from growlstm.config import ModelConfig

    panel = _three_series()
    cfg = Config(h=6, input_size=12, model=ModelConfig(residual="theta", base_input=True))  # type: ignore[arg-type]
    wins = [prepare(panel, replace(cfg, data=replace(cfg.data, series=u)), pooled=True)[1] for u in panel.ids()]
    pooled = PooledWindows.build(wins)
    assert pooled.base_input and pooled.n_inputs == 1 + 6 == wins[0].n_inputs
    assert pooled.last_inputs == wins[0].last_inputs == list(range(1, 7))
    for off, w in zip(pooled.offsets, wins):
        origins = np.r_[w.train_origins, w.val_origins, w.future_origin]
        torch.testing.assert_close(pooled.inputs(off + origins), w.inputs(origins))
    unbased = PooledWindows.build([replace(w, base_input=False) for w in wins])
    assert not unbased.base_input and unbased.n_inputs == 1
    assert unbased.last_inputs == []


def test_base_input_defaults_to_on_for_a_pooled_network_only() -> None:
    from growlstm.config import ModelConfig

    panel = _three_series()
    one = replace(Config(h=6, input_size=12, model=ModelConfig(residual="theta")),  # type: ignore[arg-type]
                  data=DataConfig(series="a", season_length=1))
    assert prepare(panel, one, pooled=True)[1].reads_base
    assert not prepare(panel, one)[1].base_input  # a series' own network: off unless asked
    off = replace(one, model=replace(one.model, base_input=False))
    assert not prepare(panel, off, pooled=True)[1].reads_base
    alone = replace(one, model=replace(one.model, residual=None))  # no base: nothing to read
    assert not prepare(panel, alone, pooled=True)[1].reads_base


def test_global_run_with_series_id(tmp_path: Path) -> None:
    config = replace(_tiny(scope="global", workers=1), h=6, input_size=12, data=DataConfig(season_length=1))
    config = replace(config, model=replace(config.model, series_id=True))
    result = grow_many(_three_series(120), config, run_dir=tmp_path)
    block = json.loads((tmp_path / "summary.json").read_text())["global"]
    # The target, 3 series' one-hot identity and the ETS base's h=6 forecast values (model.base_input).
    assert block["series_id"] is True and block["base_input"] is True and block["n_inputs"] == 1 + 3 + 6
    assert (result.table.status == "ok").all() and result.table.lstm_test_mase.notna().all()
    checkpoint = torch.load(tmp_path / "stages" / "stage_00" / "checkpoint.pt", weights_only=False)
    assert checkpoint["model_args"]["n_inputs"] == 10


def test_series_id_needs_global_scope_and_few_series(monkeypatch: pytest.MonkeyPatch) -> None:
    from growlstm.runs import pooled
    from growlstm.errors import InputError

    config = replace(_tiny(scope="local", workers=1), h=6, input_size=12, data=DataConfig(season_length=1))
    config = replace(config, model=replace(config.model, series_id=True))
    with pytest.raises(InputError, match="series_id=true needs one network"):
        grow_many(_three_series(), config)
    monkeypatch.setattr(pooled, "SERIES_ID_MAX", 2)
    with pytest.raises(InputError, match="3 series is more than 2"):
        grow_many(_three_series(), replace(config, growth=replace(config.growth, scope="global")))


def test_wide_pooled_stage_trains_on_the_workers_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pooled stage from ``WIDE_LAYER`` cells trains on the run's workers' threads (tiny ones on
    one), scores as on one thread, and leaves the caller's thread count as it was."""
    from growlstm.runs import pooled as pooled_run

    panel = _three_series()
    cfg = replace(Config(h=6, input_size=12), trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1),
                  growth=GrowthConfig(seeds=2))  # seeds packed, as runs train them
    wins = [prepare(panel, replace(cfg, data=replace(cfg.data, series=u)))[1] for u in panel.ids()]
    pooled = PooledWindows.build(wins)
    from growlstm.runs.shared import WIDE_LAYER, training_threads

    assert training_threads([2], 2) == 1 and training_threads([WIDE_LAYER], 2) == 2
    assert training_threads([2, WIDE_LAYER], 1) == 1 and training_threads([], 4) == 1

    seen: list[int] = []
    fit = pooled_run.LSTMEvaluator.fit_together

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(torch.get_num_threads())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(pooled_run.LSTMEvaluator, "fit_together", spy)
    before = torch.get_num_threads()
    scores = {}
    for threads in (1, 2):
        evaluator = pooled_run.PooledEvaluator.for_run(pooled, cfg, None)
        evaluator.threads = threads  # type: ignore[attr-defined]
        scores[threads] = evaluator(0, [WIDE_LAYER]).seeds[0].val["mase"]
        evaluator(1, [2])
    assert seen == [1, 1, 2, 1]
    assert scores[2] == pytest.approx(scores[1], rel=1e-6)
    assert torch.get_num_threads() == before


def test_the_default_base_is_ets_when_pooled_and_theta_for_a_series_own() -> None:
    from growlstm.growth.preparation import residual_for

    panel = _three_series()
    cfg = Config(h=6, input_size=12)
    assert cfg.model.residual == "scope"
    one = replace(cfg, data=replace(cfg.data, series="b"))
    assert prepare(panel, one)[1].base_name == "theta"
    assert prepare(panel, one, pooled=True)[1].base_name == "ets"
    for given in ("theta", "seasonal_naive", "ets", "auto", None):  # a value given is kept, in either scope
        assert residual_for(replace(cfg, model=replace(cfg.model, residual=given)), pooled=True) == given


def test_work_spread_over_workers_comes_back_in_order_as_in_one_process() -> None:
    from growlstm.runs.shared import map_series

    items = [(k, 3) for k in range(12)]
    assert map_series(pow, items, 2, "powers", min_items=2) == map_series(pow, items, 1, "powers") == [k**3 for k in range(12)]


def test_ctrl_c_ends_the_workers_instead_of_waiting_for_them() -> None:
    import signal
    import time

    from growlstm.runs.shared import map_series

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGALRM, interrupt)
    start = time.perf_counter()
    signal.alarm(15)  # the workers are asleep by then (starting one imports torch)
    try:
        with pytest.raises(KeyboardInterrupt):
            map_series(time.sleep, [(120,), (120,)], 2, "sleeping", min_items=1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
    assert time.perf_counter() - start < 60  # not the 120 s the pool would wait for its workers


def test_the_first_lines_say_what_the_pooled_network_corrects() -> None:
    from growlstm.runs.pooled import base_counts

    panel = _three_series()
    cfg = Config(h=6, input_size=12)
    wins = [prepare(panel, replace(cfg, data=replace(cfg.data, series=u)), pooled=True)[1] for u in panel.ids()]
    assert base_counts(wins) == "the LSTM corrects each series' classical forecast: ets x3"
    assert base_counts([wins[0], replace(wins[1], base=None, base_name="theta"), replace(wins[2], base=None, base_name="")]) == (
        "the LSTM corrects each series' classical forecast: ets x1, theta x1, none (alone) x1")
    alone = replace(cfg, model=replace(cfg.model, residual=None))
    assert base_counts([prepare(panel, replace(alone, data=replace(cfg.data, series="a")), pooled=True)[1]]) == "the LSTM forecasts alone"


def test_refit_cuts_side_by_side_match_one_after_another(shared_m4: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Two workers refit a narrow network's three cuts in worker processes: the same networks."""
    from growlstm.runs import pooled_refit

    panel = load(_m4(shared_m4, "M4-M[1-3]"))
    config = _tiny(scope="global", workers=1)
    one = grow_many(panel, config, run_dir=tmp_path / "one")
    monkeypatch.setattr(pooled_refit, "REFIT_SIDE_BY_SIDE", 0)  # tiny data: worth it only in a test
    with caplog.at_level("INFO", logger="growlstm"):
        two = grow_many(panel, replace(config, growth=replace(config.growth, workers=2)), run_dir=tmp_path / "two")
    assert ", side by side in 2 processes" in caplog.text
    pd.testing.assert_series_equal(two.table.lstm_test_mase, one.table.lstm_test_mase, rtol=1e-6)
    ahead = [pd.read_csv(tmp_path / run / "forecast.csv") for run in ("one", "two")]
    np.testing.assert_allclose(ahead[1]["lstm"], ahead[0]["lstm"], rtol=1e-6)
