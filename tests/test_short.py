"""Short series: a classical result when too short for an LSTM, padded windows across series
without leakage, growth.scope=auto, and the refit on all data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from growlstm import from_long, grow
from growlstm.config import Config, DataConfig, ForecastConfig, GoalConfig, GrowthConfig, TrainerConfig
from growlstm.runs.dispatch import choose_scope, grow_many
from growlstm.train.pooled_windows import PooledWindows
from growlstm.growth.refit import growth_path, recut, stage_epochs
from growlstm.growth.preparation import prepare
from growlstm.train.evaluator import grown_states
from growlstm.train.packed import fit_seeds

from .test_cli import run_cli

H = 6


def _panel(lengths: dict[str, int], season: int = 4) -> object:
    """Series whose values tell where they come from: series k holds 1000 * (k + 1) + t."""
    rows = []
    for k, (uid, n) in enumerate(lengths.items()):
        t = np.arange(n)
        y = 1000.0 * (k + 1) + t + 5 * np.sin(2 * np.pi * t / season) + np.random.default_rng(k).normal(0, 1, n)
        rows.append(pd.DataFrame({"unique_id": uid, "ds": t, "y": y}))
    return from_long(pd.concat(rows, ignore_index=True), season_length=season)


def _tiny(**growth: object) -> Config:
    return Config(
        data=DataConfig(season_length=4), h=H, input_size=12,
        trainer=TrainerConfig(max_epochs=3, early_stopping_patience=2, batch_size=64),
        growth=GrowthConfig(seeds=2, max_stages=2, workers=1, **growth),  # type: ignore[arg-type]
        baselines=["naive", "naive2"],
    )


def _cut(panel: object, config: Config, uid: str):  # noqa: ANN202
    return prepare(panel, replace(config, data=replace(config.data, series=uid)), pad=True, pooled=True)[1]


def test_padded_windows_read_only_their_own_series_past(tmp_path: Path) -> None:
    # Shorter than input_size + h: 9 points (validation and forecast only), 15, 20; and a long one.
    panel = _panel({"a": 9, "b": 15, "c": 20, "d": 60})
    config = _tiny()
    wins = [_cut(panel, config, u) for u in "abcd"]
    assert [len(w.train_origins) > 0 for w in wins] == [False, True, True, True]
    pooled = PooledWindows.build(wins)
    # The target, the base's h forecast values (model.base_input, on when pooled) and the mask.
    assert pooled.pad and pooled.base_input and pooled.n_inputs == 1 + H + 1
    for k, w in enumerate(wins):
        origins = np.concatenate([w.train_origins, w.stop_origins, w.val_origins, w.test_origins, [w.future_origin]])
        x = pooled.inputs(pooled.offsets[k] + origins.astype(np.int64))
        torch.testing.assert_close(x, w.inputs(origins))  # pooled == the series alone
        real = x[:, :, -1].numpy() == 1
        # A padded step is zero in every column; a real one is the series' own value before the origin.
        assert (x[:, :, :-1].numpy()[~real] == 0).all()
        for row, o in enumerate(origins):
            steps = np.arange(o - config.input_size, o)
            assert np.array_equal(real[row], steps >= 0)
            own = (w.y[steps[steps >= 0]] - w.scaler.mean[0]) / w.scaler.std[0] - w.z[o - 1, 0]
            np.testing.assert_allclose(x[row, real[row], 0].numpy(), own, atol=1e-4)
        # Training targets never reach the validation span.
        if len(w.train_origins):
            assert w.train_origins.max() + H <= w.val_origins.min()


def test_recent_windows_are_measured_in_their_recent_level_where_it_is_below_the_std() -> None:
    # model.input_norm=recent: a window's unit is 1 training std, or its lookback's mean absolute
    # value where that is smaller (a collapsed series); pooled windows read what the series alone does.
    t = np.arange(60)
    collapsed = np.where(t < 30, 800.0, 5.0) + np.random.default_rng(0).uniform(0, 2, 60)
    steady = 1000.0 + t + np.random.default_rng(1).normal(0, 1, 60)
    frame = pd.concat([pd.DataFrame({"unique_id": u, "ds": t, "y": y}) for u, y in (("a", collapsed), ("b", steady))])
    panel = from_long(frame, season_length=4)
    config = _tiny()
    wins = [_cut(panel, config, u) for u in "ab"]
    assert config.model.input_norm is None and {w.norm for w in wins} == {"recent"}  # pooled: the default
    # A series' own network keeps `last` by default.
    assert prepare(panel, replace(config, data=replace(config.data, series="a")), pad=True)[1].norm == "last"
    pooled = PooledWindows.build(wins)
    for k, w in enumerate(wins):
        origins = np.concatenate([w.train_origins, w.val_origins, [w.future_origin]]).astype(np.int64)
        torch.testing.assert_close(pooled.inputs(pooled.offsets[k] + origins), w.inputs(origins))
        _, y = pooled.gather(pooled.offsets[k] + w.train_origins.astype(np.int64))
        torch.testing.assert_close(y, w.targets(w.train_origins))
        for o in origins:
            level = np.abs(w.y[max(o - config.input_size, 0):o]).mean()
            assert w.spread([o])[0] == pytest.approx(min(1.0, max(level / w.scaler.std[0], 0.01)), rel=1e-6)
        back = w.to_units(int(w.train_origins[-1]), y[-1].numpy().astype(float))
        np.testing.assert_allclose(back, w.actuals(int(w.train_origins[-1])), rtol=1e-4)
    assert wins[0].spread([wins[0].future_origin])[0] < 0.02  # 5 against a std of about 400
    assert (wins[1].spread(wins[1].train_origins) == 1).all()  # a steady series: as `last`


def test_series_too_short_for_an_lstm_gets_a_classical_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = pd.date_range("2020-01-01", periods=40, freq="MS")
    y = 100 + np.arange(40) + 10 * np.sin(np.arange(40) * np.pi / 6)
    pd.DataFrame({"ds": t, "y": y}).to_csv(tmp_path / "short.csv", index=False)
    run_dir = tmp_path / "run"
    code = run_cli(["data=csv", f"data.path={tmp_path / 'short.csv'}", "baselines=[naive,seasonal_naive,theta]",
                    f"hydra.run.dir={run_dir}"], monkeypatch)
    assert code == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stop_reason"] == "too_short" and summary["chosen"] is None and summary["stages"] == []
    assert "capacity" in summary["stop_note"] or "training window" in summary["stop_note"]
    forecast = pd.read_csv(run_dir / "forecast.csv")
    assert len(forecast) == 18 and {"naive", "seasonal_naive", "theta"} <= set(forecast.columns)
    assert "no LSTM" in (run_dir / "growlstm.log").read_text()


@pytest.mark.parametrize("n", [20, 30, 35])
def test_a_series_whose_lookback_fits_nowhere_still_gets_a_classical_result(n: int) -> None:
    # Monthly, h=18: from 20 points one validation origin fits, but not a lookback of
    # max(h, m) = 18 before it (M1: 32 of 617 monthly series were refused this way in local scope).
    t = np.arange(n)
    y = pd.Series(100 + t + 10 * np.sin(t * np.pi / 6), index=pd.date_range("2020-01-01", periods=n, freq="MS"))
    result = grow(y, Config(h=18, baselines=["naive", "seasonal_naive"]))
    assert result.stop_reason == "too_short" and not result.stages
    assert "no lookback of 18 steps fits before its first validation origin" in result.stop_note
    assert len(result.forecast) == 18 and result.forecast["recommended"].notna().all()


def test_too_short_to_validate_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pd.DataFrame({"ds": np.arange(7), "y": np.arange(7.0)}).to_csv(tmp_path / "tiny.csv", index=False)
    code = run_cli(["data=csv", f"data.path={tmp_path / 'tiny.csv'}", "h=6", f"hydra.run.dir={tmp_path / 'run'}"],
                   monkeypatch)
    assert code == 2
    assert "too short to validate" in capsys.readouterr().err
    assert not (tmp_path / "run" / "summary.json").exists()


def test_scope_auto_chooses_global_for_short_series_and_local_for_long_ones() -> None:
    config = Config(data=DataConfig(season_length=4), h=H)
    scope, why = choose_scope(_panel({f"s{k}": 30 for k in range(5)}), config)
    assert scope == "global" and "5 of 5 series too short" in why
    scope, why = choose_scope(_panel({f"s{k}": 400 for k in range(3)} | {"short": 30}), config)
    assert scope == "local" and "1 of 4" in why
    assert choose_scope(_panel({"one": 30}), config)[0] == "local"  # one series has no one to pool with


def test_global_run_forecasts_every_series_and_refits_on_all_data(tmp_path: Path) -> None:
    panel = _panel({"a": 9, "b": 15, "c": 20, "d": 40, "e": 40})
    result = grow_many(panel, _tiny(scope="auto"), run_dir=tmp_path)
    assert result.scope == "global"
    assert (result.table.status == "ok").all()
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert sorted(forecast.unique_id.unique()) == list("abcde") and len(forecast) == 5 * H
    block = json.loads((tmp_path / "summary.json").read_text())["global"]
    refit = block["refit"]
    assert block["padded"] and refit["future_windows"] > refit["test_windows"] > refit["val_windows"] > block["training_windows"]
    assert "lstm_norefit_test_mase" in result.table  # the searched networks' scores, beside the refit's
    assert 0 < block["baseline_seconds"] < result.seconds  # where the run's time went
    # So little data leaves no room for the base's h inputs (model.base_input=null): it is left out.
    assert block["base_input"] is False and block["n_inputs"] == 2


def test_pooled_data_without_room_for_an_lstm_still_forecast_every_series(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Forcing the base's h inputs on leaves these five series a pooled cap of 1 cell: no network,
    # but every series is finished with its classical forecast and the run exits 0, saying why.
    _panel({"a": 9, "b": 15, "c": 20, "d": 40, "e": 40}).df.rename(columns={"unique_id": "id"}).to_csv(
        tmp_path / "panel.csv", index=False)
    code = run_cli(["data=csv", f"data.path={tmp_path / 'panel.csv'}", "data.id_col=id", "data.season_length=4",
                    f"h={H}", "growth.scope=global", "model.base_input=true", "baselines=[naive,naive2]",
                    "trainer.max_epochs=2", f"hydra.run.dir={tmp_path / 'run'}"], monkeypatch)
    out = capsys.readouterr().out
    assert code == 0
    assert "no LSTM: [2] cells exceed the pooled capacity cap of 1 cells" in out and "model.base_input" in out
    assert "global model: none trained (too_short" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["global"]["stages"] == [] and summary["global"]["stop_reason"] == "too_short"
    table = pd.read_csv(tmp_path / "run" / "series.csv")
    assert (table.status == "ok").all() and (table.stop == "too_short").all()
    forecast = pd.read_csv(tmp_path / "run" / "forecast.csv")
    assert sorted(forecast.unique_id.unique()) == list("abcde") and forecast["recommended"].notna().all()
    assert "lstm" not in forecast
    assert "No network was trained: [2] cells exceed the pooled capacity cap" in (tmp_path / "run" / "report.html").read_text()


def test_refit_windows_use_every_point() -> None:
    panel = _panel({"a": 60})
    win = prepare(panel, _tiny())[1]
    assert win.train_end < win.n_train < len(win.y)
    full = recut(win, len(win.y))
    assert full.train_origins.max() + H == len(win.y)  # the last window ends with the data
    assert full.scaler.mean[0] == pytest.approx(win.y.mean())  # scaled on all of it
    assert len(full.stop_origins) == 0 and full.base_name == win.base_name == "theta"
    at_test = recut(win, int(win.test_origins[0]))
    assert at_test.train_origins.max() + H == win.test_origins[0]


def test_a_refit_at_the_first_validation_origin_reuses_the_fitted_base(monkeypatch: pytest.MonkeyPatch) -> None:
    from growlstm.baselines import residual

    win = residual.with_classical_base(prepare(_panel({"a": 60}), _tiny())[1], "ets")
    assert win.base_name == "ets"
    fits: list[int] = []
    real = residual.ets_paths
    monkeypatch.setattr(residual, "ets_paths", lambda y, end, h, m: fits.append(end) or real(y, end, h, m))
    again = recut(win, win.n_train)  # the base was fitted on y[:n_train]: no second fit
    assert fits == []
    fresh = residual.with_classical_base(again.with_cut(), "ets")
    assert fits == [win.n_train]
    np.testing.assert_array_equal(again.base, fresh.base)  # exactly what a second fit gives
    recut(win, int(win.test_origins[0]))  # elsewhere the base is fitted on the data before the cut
    assert fits == [win.n_train, int(win.test_origins[0])]


def test_fixed_length_training_gives_each_seed_its_own_epochs() -> None:
    win = recut(prepare(_panel({"a": 60}), _tiny())[1], 60)
    config = _tiny()
    both = fit_seeds(win, [3], config.model, config.trainer, [0, 1], epochs=[2, 4])
    assert [f.epochs for f in both] == [2, 4]
    alone = fit_seeds(win, [3], config.model, config.trainer, [0], epochs=[2])[0]
    for a, b in zip(alone.module.net.state_dict().values(), both[0].module.net.state_dict().values()):
        torch.testing.assert_close(a, b)  # seed 0 stopped after 2 epochs, as it would alone


def test_a_fresh_seed_in_a_warm_stage_trains_as_a_cold_one() -> None:
    win = recut(prepare(_panel({"a": 60}), _tiny())[1], 60)
    config = _tiny()
    parent = fit_seeds(win, [2], config.model, config.trainer, [0, 1], epochs=[1, 1])
    inits = grown_states([parent[0].module.net, None], [3], [0, 1], 0.1, 1.0, 0.0)
    assert inits[1] is None
    mixed = fit_seeds(win, [3], config.model, config.trainer, [0, 1], init_states=inits, epochs=[2, 2])
    cold = fit_seeds(win, [3], config.model, config.trainer, [1], epochs=[2])[0]
    for a, b in zip(cold.module.net.state_dict().values(), mixed[1].module.net.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_refit_restarts_the_seeds_the_search_restarted(tmp_path: Path) -> None:
    # lagging=0: every seed but the stage's best starts afresh at the next stage.
    config = replace(_tiny(lagging=0.0, alpha=0.5), forecast=ForecastConfig(refit=True), goal=GoalConfig(beat="none"))
    result = grow(_panel({"a": 80}), config, run_dir=tmp_path)
    warm = [s for s in result.stages if s.init == "warm"]
    assert warm and all(s.seed_parents.count(None) == 1 for s in warm)
    assert result.refit["path"] == [0, 1] and "error" not in result.refit
    assert np.isfinite(result.forecast["lstm"]).all()  # the refitted networks forecast
    recorded = json.loads((tmp_path / "stages" / f"stage_{warm[0].index:02d}" / "metrics.json").read_text())
    assert recorded["seed_parents"] == warm[0].seed_parents
    assert "restarted from fresh weights" in (tmp_path / "report.html").read_text()  # the stage table says so


def test_refit_repeats_the_recorded_training_lengths(tmp_path: Path) -> None:
    config = replace(_tiny(), forecast=ForecastConfig(refit=True))
    result = grow(_panel({"a": 80}), config, run_dir=tmp_path)
    assert result.chosen is not None
    path = growth_path(result.stages, result.chosen)
    assert path[-1].index == result.chosen and all(len(r.kept_epochs) == 2 for r in path)
    assert result.refit["epochs"] == {f"stage_{r.index:02d}": stage_epochs(r, 2) for r in path}
    assert result.refit["future_origin"] == 80 and result.search_test  # scores with and without the refit
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["chosen"]["refit"]["path"] == [r.index for r in path]
    plain = grow(_panel({"a": 80}), replace(config, forecast=ForecastConfig(refit=False)))
    assert plain.refit == {} and plain.chosen_test == pytest.approx(result.search_test)


def test_longer_gathered_windows_leave_a_network_of_the_layout_lookback_unchanged() -> None:
    # Growth's lookback move gathers every window longer (padded before its series); a network
    # reading the layout's lookback must forecast exactly as from windows of that length.
    panel = _panel({"a": 9, "b": 15, "c": 20, "d": 60})
    config = _tiny()
    pooled = PooledWindows.build([_cut(panel, config, u) for u in "abcd"])
    longer = pooled.with_lookback(3 * pooled.input_size)
    assert longer.input_size == 36 and longer.norm_steps == pooled.input_size == 12
    pos = pooled.train_pos
    x, y = pooled.gather(pos)
    x_long, y_long = longer.gather(pos)
    assert x_long.shape[1] == 36 and torch.equal(x_long[:, -12:], x) and torch.equal(y_long, y)
    torch.manual_seed(0)
    from growlstm.train.module import LSTMForecaster

    net = LSTMForecaster(pooled.n_inputs, [3], H, last_inputs=pooled.last_inputs, lookback=12)
    origins = pooled.origins("val")
    for short, long in zip(pooled.forecasts(net, origins), longer.forecasts(net, origins)):
        np.testing.assert_allclose(long, short, atol=1e-6)
    with pytest.raises(ValueError, match="shorter than the network's lookback"):
        LSTMForecaster(pooled.n_inputs, [3], H, last_inputs=pooled.last_inputs, lookback=13)(x)


def test_global_growth_moves_the_lookback_at_a_width_plateau_and_predicts_with_it(tmp_path: Path) -> None:
    panel = _panel({"a": 9, "b": 15, "c": 20, "d": 40, "e": 40})
    # One width on the schedule: its plateau comes at once, then the lookback move; no gain counts
    # (min_gain), so [2] at the layout's lookback is chosen and [2] at 4h joins it in the ensemble.
    config = _tiny(scope="global", lookbacks=[4], schedule=[2], min_gain=10.0)
    config = replace(config, growth=replace(config.growth, max_stages=3), goal=GoalConfig(beat="none"))
    result = grow_many(panel, config, run_dir=tmp_path)
    stages = json.loads((tmp_path / "summary.json").read_text())["global"]["stages"]
    moves = [s for s in stages if "lookback" in s["decision"]]
    assert moves, [s["decision"] for s in stages]
    assert any(s["action"] == "lookback" for s in stages)
    configs = [p.read_text() for p in sorted(tmp_path.glob("stages/stage_*/config.yaml"))]
    assert any("lookback: 24" in c for c in configs)  # 4 x h, recorded to retrain the stage alone
    assert all("lookback: 12" in c or "lookback: 24" in c for c in configs)
    summary = json.loads((tmp_path / "summary.json").read_text())["global"]
    assert summary["chosen_stage"] == 0 and summary["lookback"] == 12
    assert summary["refit"]["members"] == [0, 1]  # forecast.ensemble: the two lookbacks' seeds averaged
    stored = torch.load(tmp_path / "forecaster.pt", weights_only=True)["network"]
    assert [a["lookback"] for a in stored["member_args"]] == [12, 12, 24, 24]
    import growlstm

    again = growlstm.predict(tmp_path, panel)
    saved = pd.read_csv(tmp_path / "forecast.csv")
    np.testing.assert_allclose(again.forecast["lstm"].to_numpy(), saved["lstm"].to_numpy(), rtol=1e-5)
    assert result.scope == "global"
