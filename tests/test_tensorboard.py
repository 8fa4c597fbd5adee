"""TensorBoard records read back with TensorBoard's own event reader: each stage's
hyperparameters with its metrics (the HParams tab), per-seed loss curves, no duplicated
``epoch`` scalar, and the cross-stage run with baselines and goal (one series and many)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from growlstm import from_long, grow, load
from growlstm.config import Config, EvalConfig, GoalConfig, GrowthConfig
from growlstm.runs.dispatch import grow_many


def read_run(folder: Path) -> tuple[dict[str, list[tuple[int, float]]], dict[str, object]]:
    """Scalars ({tag: [(step, value)]}) and hparams plugin data of one TensorBoard run."""
    scalars: dict[str, list[tuple[int, float]]] = {}
    hparams: dict[str, object] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        events = EventAccumulator(str(path))
        events.Reload()
        for tag in events.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend((e.step, e.value) for e in events.Scalars(tag))
        try:
            content = events.PluginTagToContent("hparams")
        except KeyError:
            continue
        for tag, raw in content.items():
            hparams[tag] = plugin_data_pb2.HParamsPluginData.FromString(raw)
    return scalars, hparams


def session_hparams(hparams: dict[str, object]) -> dict[str, object]:
    start = hparams["_hparams_/session_start_info"].session_start_info  # type: ignore[attr-defined]
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tb") / "run"
    config = Config(
        trainer=replace(Config().trainer, max_epochs=12, early_stopping_patience=2),
        growth=GrowthConfig(seeds=2, max_stages=2), baselines=["naive", "naive2"],
        goal=GoalConfig(target=0.01),  # never met: the search grows a second stage
        eval=EvalConfig(val_origins=3),  # nile (100 points): room under the cap for that stage
    )
    config = replace(config, data=replace(config.data, name="nile"))
    grow(load(config.data), config, run_dir=folder)
    return folder


def test_each_stage_logs_its_hyperparameters_with_its_metrics(run: Path) -> None:
    stages = sorted((run / "stages").glob("stage_*"))
    assert len(stages) == 2
    for stage in stages:
        record = json.loads((stage / "metrics.json").read_text())
        scalars, hparams = read_run(run / "tb" / stage.name / "seeds")
        hp = session_hparams(hparams)
        assert hp["widths"] == " ".join(map(str, record["widths"])) and hp["params"] == record["params"]
        assert hp["stage"] == record["index"] and hp["layers"] == len(record["widths"])
        assert hp["input_size"] == 12 and hp["residual"] == "theta" and hp["seeds"] == 2
        assert hp["init"] == ("warm" if record["init"] == "warm" else "cold")
        # The HParams tab lists the metrics beside them: the stage's own validation means and spread.
        experiment = hparams["_hparams_/experiment"].experiment  # type: ignore[attr-defined]
        listed = {m.name.tag for m in experiment.metric_infos}
        assert {"hp/val_mase", "hp/val_mase_std", "hp/train_loss", "hp/stop_loss"} <= listed
        assert scalars["hp/val_mase"][0][1] == pytest.approx(record["val"]["mase"], rel=1e-5)
        assert scalars["hp/val_mase_std"][0][1] == pytest.approx(record["val_std"], rel=1e-5)
        assert scalars["hp/train_loss"][0][1] == pytest.approx(record["train_loss"], rel=1e-5)


def test_per_seed_loss_curves_by_epoch_without_an_epoch_scalar(run: Path) -> None:
    for stage in sorted((run / "stages").glob("stage_*")):
        record = json.loads((stage / "metrics.json").read_text())
        mean, _ = read_run(run / "tb" / stage.name / "seeds")
        assert "epoch" not in mean
        seeds = [read_run(run / "tb" / stage.name / f"seed_{k}")[0] for k in (0, 1)]
        for curves in seeds:
            assert "epoch" not in curves
            for tag in ("train/loss", "val/loss"):
                steps = [s for s, _ in curves[tag]]
                assert steps == list(range(len(steps))) and len(steps) >= 1  # x axis: epochs
        # Each seed's own curve; together they give the stage's mean curve.
        for tag in ("train/loss", "val/loss"):
            n = min(len(c[tag]) for c in seeds)  # the epochs both seeds trained
            assert [s for s, _ in mean[tag]][:n] == list(range(n))
            pairs = np.array([[v for _, v in c[tag][:n]] for c in seeds])
            np.testing.assert_allclose(pairs.mean(axis=0), [v for _, v in mean[tag][:n]], rtol=1e-5)
            assert not np.allclose(pairs[0], pairs[1])  # two seeds, two curves
        # A seed's curve ends with its early stopping, though the pack trains on for the others.
        assert np.mean([len(c["train/loss"]) for c in seeds]) == pytest.approx(record["epochs"])


def test_growth_run_holds_stages_baselines_and_goal(run: Path) -> None:
    scalars, _ = read_run(run / "tb" / "growth")
    summary = json.loads((run / "summary.json").read_text())
    assert [v for _, v in scalars["growth/val"]] == pytest.approx([s["val"]["mase"] for s in summary["stages"]], rel=1e-5)
    for name in ("naive", "naive2"):
        assert scalars[f"reference/{name}"] == [(i, pytest.approx(summary["baselines"][name]["val"]["mase"], rel=1e-5))
                                                 for i in range(2)]
    assert [v for _, v in scalars["reference/goal"]] == pytest.approx([0.01, 0.01])


def test_global_scope_gets_the_same_growth_run(tmp_path: Path) -> None:
    t = np.arange(120)
    table = pd.concat([pd.DataFrame({"unique_id": uid, "ds": t, "y": scale * (5 + np.sin(t / 3 + k))})
                       for k, (uid, scale) in enumerate((("a", 1.0), ("b", 10.0), ("c", 100.0)))])
    config = Config(h=6, input_size=12, trainer=replace(Config().trainer, max_epochs=2, early_stopping_patience=1),
                    growth=GrowthConfig(seeds=2, max_stages=1, scope="global", workers=1), baselines=["naive", "naive2"])
    config = replace(config, data=replace(config.data, season_length=1))
    grow_many(from_long(table, season_length=1), config, run_dir=tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    scalars, _ = read_run(tmp_path / "tb" / "growth")
    means = {row["model"]: row["mase"] for row in summary["set_level"]["val"]}
    assert len(scalars["growth/val"]) == 1
    for name in ("naive", "naive2"):
        assert scalars[f"reference/{name}"][0][1] == pytest.approx(means[name], rel=1e-5)
    assert "reference/goal" in scalars
    _, hparams = read_run(tmp_path / "tb" / "stage_00" / "seeds")
    assert session_hparams(hparams)["residual"] == "ets"  # the pooled default base


def test_a_failed_packed_run_leaves_no_curves_beside_the_seeds_own(monkeypatch: pytest.MonkeyPatch,
                                                                   tiny_config: Config, tmp_path: Path) -> None:
    from .test_resume import inject_nan, nile

    lr = tiny_config.trainer.lr
    inject_nan(monkeypatch, lambda widths, rate: rate >= lr)  # packed fails, each seed then retries at lr / 10
    grow(nile(), replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1)), run_dir=tmp_path)
    runs = {p.name for p in (tmp_path / "tb" / "stage_00").iterdir()}
    assert "seeds" not in runs and {"seed_0_retry", "seed_1_retry"} <= runs
    for seed in (0, 1):
        scalars, hparams = read_run(tmp_path / "tb" / "stage_00" / f"seed_{seed}_retry")
        assert session_hparams(hparams)["seeds"] == 1 and "hp/val_mase" in scalars and "hp/val_mase_std" not in scalars
