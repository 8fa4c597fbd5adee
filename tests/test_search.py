"""The controller end to end: scripted trainers (milliseconds) and a tiny real run."""

from __future__ import annotations

import json
import time
from dataclasses import replace
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import statsmodels.api as sm

import growlstm
from growlstm.config import Config, EvalConfig, GoalConfig, GrowthConfig
from growlstm.data import load
from growlstm.train.evaluator import SeedOutcome, StageOutcome
from growlstm.errors import InputError
from growlstm.verdict.significance import Significance


def scripted(scores: dict[tuple[int, ...], float]):
    """A fake trainer: validation MASE by architecture; records the widths it was asked for."""
    calls: list[list[int]] = []

    def evaluate(index: int, widths: list[int], parents=None) -> StageOutcome:
        calls.append(list(widths))
        score = scores[tuple(widths)]
        seeds = [
            SeedOutcome(s, {"mae": score, "rmse": score, "smape": score, "mase": score + d}, 0.1, 0.1, 1, 1, 0.0)
            for s, d in ((0, -0.01), (1, 0.01))
        ]
        return StageOutcome(seeds)

    evaluate.calls = calls  # type: ignore[attr-defined]
    return evaluate


CO2 = load(growlstm.DataConfig(name="co2"))  # cap 11 cells: wide enough for the scripted paths


def nile() -> pd.Series:
    return sm.datasets.nile.load_pandas().data["volume"]


def test_scripted_search_widens_deepens_and_drops_a_layer(tiny_config: Config) -> None:
    fake = scripted({(2,): 1.0, (3,): 0.9, (4,): 0.89, (6,): 0.895, (4, 2): 0.95, (4, 3): 0.94, (4, 4): 0.94})
    config = Config(baselines=["naive"], goal=GoalConfig(beat="none"), growth=GrowthConfig(max_stages=20))
    result = growlstm.grow(CO2, config, evaluator=fake)
    # The new layer grows on [4], the best-validating width, though [3] is the accepted one.
    assert fake.calls == [[2], [3], [4], [6], [4, 2], [4, 3], [4, 4]]
    assert [s.action for s in result.stages] == ["start", "widen", "widen", "widen", "deepen", "widen", "widen"]
    assert result.stop_reason == "plateau"
    # No goal: the smallest stage no other beats by min_gain (2%): [4] is only 1.1% better than [3].
    assert result.chosen_stage.widths == [3]
    assert result.stages[0].val_std == pytest.approx(np.std([0.99, 1.01], ddof=1))


def test_scripted_search_stops_at_the_first_stage_meeting_the_goal(tiny_config: Config) -> None:
    fake = scripted({(2,): 1.0, (3,): 0.85, (4,): 0.7})
    config = Config(baselines=["naive"], goal=GoalConfig(target=0.9))
    result = growlstm.grow(CO2, config, evaluator=fake)
    assert fake.calls == [[2], [3]]
    assert result.stop_reason == "goal_met" and result.chosen_stage.widths == [3]
    assert result.goal_met("val") is True


def test_scripted_search_reports_the_closest_when_no_size_meets_the_goal(tiny_config: Config) -> None:
    fake = scripted({(2,): 1.0, (3,): 0.95, (4,): 0.96, (6,): 0.97})
    config = Config(baselines=["naive"], goal=GoalConfig(target=0.5), growth=GrowthConfig(max_layers=1))
    result = growlstm.grow(CO2, config, evaluator=fake)
    assert result.stop_reason == "plateau"
    assert result.chosen_stage.widths == [3] and result.goal_met("val") is False
    assert result.goal.gap(result.chosen_stage.val["mase"], "val") == pytest.approx(0.45)


def test_cap_stops_growth_on_a_short_series(tiny_config: Config) -> None:
    # nile: 100 points - test 6 - validation 10 - early-stopping slice 10 = 74 training points;
    # 74 - 12 inputs = 62 targets; 62 / (2 * (1 + 6)) -> 4 cells.
    fake = scripted({(2,): 1.0, (3,): 0.9, (4,): 0.8, (3, 2): 0.7, (4, 2): 0.7})
    config = Config(baselines=["naive"], goal=GoalConfig(beat="none"), eval=EvalConfig(val_origins=3))
    result = growlstm.grow(load(tiny_config.data), config, evaluator=fake)
    assert result.n_samples == 62
    assert fake.calls == [[2], [3], [4]]
    assert result.stop_reason == "capacity_cap" and "cap" in result.stop_note


def test_scripted_search_does_not_grow_on_seed_noise() -> None:
    """The same mean scores, with seeds that agree or disagree: only agreement justifies cells."""

    def evaluator(spread: float):
        means = {(2,): 1.0, (3,): 0.9, (4,): 0.8, (6,): 0.79, (3, 2): 1.0, (3, 3): 0.99, (6, 2): 0.775, (6, 3): 0.775}

        def evaluate(index: int, widths: list[int], parents=None) -> StageOutcome:
            m = means[tuple(widths)]
            return StageOutcome([SeedOutcome(s, {"mae": m, "rmse": m, "smape": m, "mase": m + d}, 0.1, 0.1, 1, 1, 0.0)
                                 for s, d in enumerate((-spread, 0.0, spread))])
        return evaluate

    # (The flat-start probe is off: this is about the noise gate; the next test turns it on.)
    config = Config(baselines=["naive"], goal=GoalConfig(beat="none"), growth=GrowthConfig(patience=0, probe=False),
                    eval=EvalConfig(val_origins=3))  # co2's cap then 10 cells (8 with 9 origins)
    steady = growlstm.grow(CO2, config, evaluator=evaluator(0.01))
    # Gains beat the noise; the new layer grows on [6], which validates best though not by 2%.
    assert [s.widths for s in steady.stages] == [[2], [3], [4], [6], [6, 2], [6, 3]]
    # [6, 2] beats [4] by 3.1% beyond the noise, and nothing beats [6] by 2% ([6, 2] is 1.9% better):
    # [6] is the smallest stage no other beats.
    assert steady.chosen_stage.widths == [6]
    noisy = growlstm.grow(CO2, config, evaluator=evaluator(0.3))  # half the seed sd 0.3 > the 0.1 gains
    # [3] is not accepted, but it validates best: the new layer grows on it.
    assert [s.widths for s in noisy.stages] == [[2], [3], [3, 2], [3, 3]]
    assert noisy.stop_reason == "plateau" and "seed noise" in noisy.stop_note
    assert noisy.stages[1].val_spread["mase"] == pytest.approx(0.3)


def test_warm_growth_restarts_a_lagging_seed_and_records_it() -> None:
    """Seed 1 of every stage validates far behind the others: the next stage grows seeds 0 and 2
    from their own parents and starts seed 1 afresh; the record says so, and the pairing is off."""
    from types import SimpleNamespace

    from growlstm.growth.preparation import prepare, to_panel
    from growlstm.growth.stages import run_stages
    from growlstm.verdict.goal import make_goal

    asked: list[object] = []

    def evaluate(index: int, widths: list[int], parents=None) -> StageOutcome:
        asked.append(parents)
        m = 1.0 - 0.1 * index
        return StageOutcome([
            SeedOutcome(s, {"mase": m + d}, 0.1, 0.1, 1, 1, 0.0, fit=SimpleNamespace(module=SimpleNamespace(net=f"{index}.{s}"), best_epoch=0))
            for s, d in ((0, 0.0), (1, 0.5), (2, 0.01))
        ])

    for lagging, expected in ((0.1, [0, None, 2]), (None, [])):
        asked.clear()
        config = Config(baselines=["naive"], goal=GoalConfig(beat="none"),
                        growth=GrowthConfig(max_stages=3, probe=False, lagging=lagging))
        _, win = prepare(to_panel(CO2, config), config)
        cap = growlstm.growth.policy.CapFn(win.n_samples, win.n_inputs, win.h)
        found = run_stages(win, config, make_goal(config.goal, {}), cap, evaluate, None, [2], False, time.perf_counter())
        assert asked[0] is None  # the first stage starts cold
        assert all(record.seed_parents == expected for record in found.stages[1:])
        if lagging is None:
            assert asked[1] == ["0.0", "0.1", "0.2"]
        else:
            assert asked[1] == ["0.0", None, "0.2"] and asked[2] == ["1.0", None, "1.2"]
            assert not any(stage.own_seeds for stage in found.history[1:])
            assert found.stages[1].notes[0].startswith("seed 1 restarted from fresh weights")


def test_the_flat_start_probe_is_on_for_a_series_own_network_and_off_for_a_pooled_one() -> None:
    from growlstm.growth.stages import probe_resolved

    assert probe_resolved(Config(), pooled=False).growth.probe is True
    assert probe_resolved(Config(), pooled=True).growth.probe is False
    assert probe_resolved(Config(growth=GrowthConfig(probe=False)), pooled=False).growth.probe is False

    def flat(index: int, widths: list[int], parents=None) -> StageOutcome:  # only the widest width helps
        m = 0.6 if widths[0] >= 8 else 1.0
        return StageOutcome([SeedOutcome(s, {"mae": m, "rmse": m, "smape": m, "mase": m}, 0.1, 0.1, 1, 1, 0.0)
                             for s in range(3)])

    config = Config(baselines=["naive"], goal=GoalConfig(beat="none"), eval=EvalConfig(val_origins=3))
    result = growlstm.grow(CO2, config, evaluator=flat)  # growth.probe left at its default (null)
    # Two failed widenings (patience 1), then the widest width the cap (10 cells) allows, fresh.
    assert [s.widths for s in result.stages][:4] == [[2], [3], [4], [8]] and result.stages[3].action == "probe"
    assert result.chosen_stage.widths[0] == 8


def test_tiny_real_run_writes_every_record(tiny_config: Config, tmp_path: Path) -> None:
    result = growlstm.grow(nile(), tiny_config, run_dir=tmp_path)
    for name in ("summary.json", "stages.csv", "growth.png", "forecast.csv"):
        assert (tmp_path / name).is_file(), name
    stage_dir = tmp_path / "stages" / "stage_00"
    assert {p.name for p in stage_dir.iterdir()} == {"config.yaml", "metrics.json", "checkpoint.pt"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stages"][0]["action"] == "start" and summary["stages"][0]["widths"] == [2]
    assert isinstance(summary["stages"][0]["params"], int)
    assert summary["chosen"]["widths"] == result.chosen_stage.widths
    assert math.isfinite(summary["chosen"]["test"]["mase"])
    assert set(summary["baselines"]) == {"naive", "seasonal_naive"}
    assert math.isfinite(summary["baselines"]["naive"]["test"]["mase"])
    assert len(summary["stages"]) == len(result.stages) and (tmp_path / "stages" / f"stage_{len(result.stages) - 1:02d}").is_dir()
    assert summary["goal"]["met"] == result.goal_met("val") and summary["stop_reason"] == result.stop_reason
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert len(forecast) == 6 and {"lstm", "step"} <= set(forecast.columns)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    stage_run = EventAccumulator(str(tmp_path / "tb" / "stage_00" / "seeds"))  # seeds packed
    stage_run.Reload()
    assert {"train/loss", "val/loss", "hp/val_mase"} <= set(stage_run.Tags()["scalars"])
    growth_run = EventAccumulator(str(tmp_path / "tb" / "growth"))
    growth_run.Reload()
    assert {"growth/val", "growth/params", "reference/naive"} <= set(growth_run.Tags()["scalars"])


def test_rolling_origins_residual_treatment_and_significance_in_the_summary(tiny_config: Config, tmp_path: Path) -> None:
    config = replace(tiny_config, eval=EvalConfig(val_origins=2, test_origins=2, step=3),
                     model=replace(tiny_config.model, residual="theta"), growth=replace(tiny_config.growth, max_stages=1))
    result = growlstm.grow(nile(), config, run_dir=tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    data = summary["data"]
    assert data["val_origins"] == [82, 85] and data["test_origins"] == [91, 94] and data["early_stop"] == "slice"
    assert data["stop_origins"][1] + 6 <= 82  # early stopping ends before validation starts
    assert data["input_treatment"] == "residual over theta, inputs by last"
    assert len(summary["chosen"]["test_origins"]) == 2
    assert summary["chosen"]["test"]["mase"] == pytest.approx(np.mean([o["mase"] for o in summary["chosen"]["test_origins"]]))
    assert {"mase", "smape"} <= set(summary["chosen"]["val_spread"])
    naive = summary["baselines"]["naive"]
    assert len(naive["val_origins"]) == 2 and len(naive["test_origins"]) == 2
    sig = summary["significance"]
    assert sig["baseline"] == result.goal.baseline and sig["n"] == 12
    assert 0 <= sig["pvalue_better"] <= 1 and math.isfinite(sig["statistic"])


def test_goal_significance_requires_a_significant_win(tiny_config: Config) -> None:
    result = growlstm.grow(nile(), replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1)))
    best = result.baselines[result.goal.baseline]
    result.chosen_test = {k: v * 0.5 for k, v in best.test.items()}  # far better than the goal asks
    assert result.goal_met("test")
    result.config = replace(result.config, goal=replace(result.config.goal, significance=0.05))
    result.significance = Significance(best.name, -1.0, 0.4, 0.2, 6, 2)
    assert result.goal_met("test") is False  # better on average, but not significantly
    result.significance = Significance(best.name, -4.0, 0.004, 0.002, 6, 2)
    assert result.goal_met("test") is True
    result.significance = None  # undefined test: no significant win to claim
    assert result.goal_met("test") is False


def test_goal_met_on_validation_is_claimed_at_the_claim_level_not_the_recommendation_level(tiny_config: Config) -> None:
    result = growlstm.grow(nile(), replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1)))
    threshold = result.goal.threshold("val")
    result.stages[result.chosen].val = {**result.chosen_stage.val, result.goal.metric: threshold * 0.9}  # met on the mean
    result.val_claim_p = 0.1  # inside the recommendation's gate (0.3), outside a claim's (0.05)
    assert result.config.forecast.series_significance == 0.3 and result.goal_met("val") is False
    result.config = replace(result.config, goal=replace(result.config.goal, claim_significance=0.2))
    assert result.goal_met("val") is True


def test_python_api_takes_numpy_arrays(tiny_config: Config) -> None:
    y = nile().to_numpy()
    result = growlstm.grow(y, tiny_config)
    assert result.n_points == 100 and result.chosen is not None
    assert "LSTM (chosen)" in growlstm.format_report(result)


def test_start_cells_past_the_cap_is_an_input_error(tiny_config: Config) -> None:
    config = Config(growth=GrowthConfig(start_cells=40), baselines=["naive"])
    with pytest.raises(InputError, match="exceeds the capacity cap"):
        growlstm.grow(CO2, config)


def test_time_budget_stops_the_search(tiny_config: Config) -> None:
    fake = scripted({(2,): 1.0, (3,): 0.9})
    config = Config(baselines=["naive"], goal=GoalConfig(beat="none"), growth=GrowthConfig(max_minutes=1e-9))
    result = growlstm.grow(CO2, config, evaluator=fake)
    assert fake.calls == [[2]] and result.stop_reason == "max_minutes"


def test_fixed_architecture_with_projection_and_dropout(tiny_config: Config, tmp_path: Path) -> None:
    from dataclasses import replace

    config = replace(tiny_config, model=growlstm.ModelConfig(widths=[4, 3], proj_size=2, dropout=0.2))
    result = growlstm.grow(nile(), config, run_dir=tmp_path)
    assert result.stop_reason == "fixed" and [s.widths for s in result.stages] == [[4, 3]]
    # 4 cells project to 2; 3 cells project to 2 as well (both wider than proj_size).
    from growlstm.model import count_params

    assert result.stages[0].params == count_params(1, [4, 3], 6, 2)
    assert math.isfinite(result.chosen_test["mase"])


def test_warm_growth_starts_each_stage_from_its_parent(tiny_config: Config, tmp_path: Path) -> None:
    from dataclasses import replace

    config = replace(tiny_config, goal=GoalConfig(beat="none"), growth=replace(tiny_config.growth, init="warm"))
    result = growlstm.grow(nile(), config, run_dir=tmp_path)
    assert result.stages[0].init == "cold" and result.stages[0].parent is None
    for stage in result.stages[1:]:
        assert stage.init == "warm" and stage.parent is not None
        parent = result.stages[stage.parent]
        assert len(stage.widths) in (len(parent.widths), len(parent.widths) + 1)
    import yaml

    recorded = yaml.safe_load((tmp_path / "stages" / "stage_01" / "config.yaml").read_text())
    assert recorded["model"]["init_from"].endswith("stages/stage_00/checkpoint.pt")
    assert recorded["growth"]["init"] == "warm"


def test_init_seeds_must_name_a_checkpoint_seed_or_null(tiny_config: Config, tmp_path: Path) -> None:
    config = replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1))
    growlstm.grow(nile(), config, run_dir=tmp_path)
    checkpoint = str(tmp_path / "stages" / "stage_00" / "checkpoint.pt")
    for seeds in ([7, None], [0]):  # no seed 7 in the checkpoint; one entry for growth.seeds=2
        fixed = replace(config, model=replace(config.model, widths=[3], init_from=checkpoint, init_seeds=seeds))
        with pytest.raises(InputError, match="model.init_seeds"):
            growlstm.grow(nile(), fixed)


def test_summary_counts_the_features_of_a_python_panel(tiny_config: Config, tmp_path: Path) -> None:
    from dataclasses import replace

    y = nile().to_numpy()
    frame = pd.DataFrame({"unique_id": "n", "ds": np.arange(len(y)), "y": y, "rain": np.sin(np.arange(len(y)))})
    panel = growlstm.from_long(frame, features=["rain"])
    growlstm.grow(panel, replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1)), run_dir=tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["capacity"]["n_inputs"] == 2  # the target and one feature per time step


def test_a_run_whose_every_stage_fails_still_finishes_its_records(tmp_path: Path) -> None:
    # Issue 16 (3): this crashed while drawing growth.png, leaving no summary.
    calls: list[list[int]] = []

    def failing(index: int, widths: list[int], parents=None) -> StageOutcome:
        calls.append(list(widths))
        return StageOutcome([], error="RuntimeError: loss is nan")

    config = Config(baselines=["naive", "theta"], growth=GrowthConfig(max_stages=3))
    result = growlstm.grow(CO2, config, evaluator=failing, run_dir=tmp_path)
    assert calls and result.chosen is None and not any(s.ok for s in result.stages)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["chosen"] is None and all(s["error"] for s in summary["stages"])
    assert (tmp_path / "growth.png").stat().st_size > 0 and (tmp_path / "forecast.csv").is_file()
    assert "recommended" in pd.read_csv(tmp_path / "forecast.csv").columns  # the classical forecast
    assert "lstm" not in growlstm.format_report(result).split("recommended:")[-1]


def test_grow_gives_the_callers_torch_threads_back() -> None:
    """Growth trains on one thread, and leaves the caller's setting as it found it."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        config = Config(baselines=["naive"], goal=GoalConfig(beat="none"), growth=GrowthConfig(max_stages=1))
        growlstm.grow(CO2, config, evaluator=scripted({(2,): 1.0}))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_judging_by_the_ensemble_scores_the_seeds_mean_forecast(tiny_config: Config, tmp_path: Path) -> None:
    from growlstm.baselines.backtesting import score_origins
    from growlstm.growth.controller import seed_mean
    from growlstm.growth.policy import replay
    from growlstm.growth.preparation import prepare, to_panel
    from growlstm.growth.stages import stage_of
    from growlstm.records.store import load_modules

    config = replace(tiny_config, goal=GoalConfig(beat="none"),
                     growth=replace(tiny_config.growth, init="warm", judge="ensemble"))
    result = growlstm.grow(nile(), config, run_dir=tmp_path)
    _, win = prepare(to_panel(nile(), config), config)
    for stage in result.stages:
        nets = load_modules(tmp_path / "stages" / f"stage_{stage.index:02d}" / "checkpoint.pt")
        mean = seed_mean(nets, win, win.val_origins)
        expected = score_origins(win, win.val_origins, lambda o: mean[list(win.val_origins).index(o)])[0]
        assert stage.val == stage.val_ensemble and stage.val["mase"] == pytest.approx(expected["mase"], rel=1e-6)
        # the mean forecast's absolute errors are at most the seeds' mean absolute errors
        assert stage.val["mase"] <= np.mean([v["mase"] for v in stage.seed_val]) + 1e-12
    history = [stage_of(s, result.goal) for s in result.stages]
    assert [h.score for h in history] == [s.val_ensemble["mase"] for s in result.stages]
    # the gains on the console and in the records are the ensemble's
    assert replay(history, config.growth).gains[1:] == [s.gain for s in result.stages[1:]]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stages"][0]["val_ensemble"]["mase"] == result.stages[0].val_ensemble["mase"]
    with pytest.raises(InputError, match="growth.judge=mean is not understood"):
        growlstm.grow(nile(), replace(config, growth=replace(config.growth, judge="mean")))
