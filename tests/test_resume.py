"""Nothing lost: resume after a kill, training faults, failing baselines, determinism."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import statsmodels.api as sm

import growlstm
from growlstm.train import evaluator as evaluate
from growlstm.baselines import backtesting
from growlstm.config import Config, GoalConfig
from growlstm.errors import InputError
from growlstm.train.module import LSTMForecaster
from growlstm.train.packed import SeedBatchModule

# Enough stages to kill one mid-way; nile's cap (5 cells with 3 validation origins) bounds the search.
RUN = [
    "data=nile", "trainer.max_epochs=8", "trainer.early_stopping_patience=3", "growth.seeds=1",
    "growth.max_stages=4", "goal=none", "baselines=[naive,seasonal_naive]", "eval.val_origins=3",
]


def nile():
    return sm.datasets.nile.load_pandas().data["volume"]


def comparable(summary: dict) -> dict:
    """What must match between an interrupted-and-resumed run and an uninterrupted one."""
    return {
        "stages": [(s["widths"], s["action"], s["val"], s["decision"], s["status"]) for s in summary["stages"]],
        "chosen": summary["chosen"],
        "stop_reason": summary["stop_reason"],
        "goal": summary["goal"],
        "baselines": {k: (v["val"], v["test"]) for k, v in summary["baselines"].items()},
    }


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "growlstm.cli", *args]


def test_kill_after_second_stage_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run(cli(*RUN, f"hydra.run.dir={whole}"), check=True, capture_output=True, timeout=300)
    reference = json.loads((whole / "summary.json").read_text())
    assert len(reference["stages"]) >= 3, "the scenario needs a third stage to interrupt"

    proc = subprocess.Popen(cli(*RUN, f"hydra.run.dir={cut}"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (cut / "stages" / "stage_01").is_dir() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (cut / "summary.json").exists(), "killed before the end: no summary"
    done_before = sorted(p.name for p in (cut / "stages").glob("stage_*"))
    assert "stage_01" in done_before

    resumed = subprocess.run(cli(f"resume={cut}", f"hydra.run.dir={tmp_path / 'ignored'}"),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "(resumed)" in resumed.stdout
    assert comparable(json.loads((cut / "summary.json").read_text())) == comparable(reference)


def test_resume_redoes_a_cut_off_stage_without_retraining_completed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_config: Config
) -> None:
    config = replace(tiny_config, goal=GoalConfig(beat="none"))
    first = growlstm.grow(nile(), config, run_dir=tmp_path)
    assert len(first.stages) >= 2
    # Simulate a crash during stage 1: its folder never got renamed, no summary was written.
    (tmp_path / "stages" / "stage_01").rename(tmp_path / "stages" / ".stage_01.tmp")
    for later in (tmp_path / "stages").glob("stage_0[2-9]"):
        shutil.rmtree(later)
    (tmp_path / "summary.json").unlink()
    trained: list[list[int]] = []

    def counting(real):
        def fit(win, widths, *args, **kwargs):
            trained.append(list(widths))
            return real(win, widths, *args, **kwargs)

        return fit

    monkeypatch.setattr(evaluate, "fit_candidate", counting(evaluate.fit_candidate))
    monkeypatch.setattr(evaluate, "fit_seeds", counting(evaluate.fit_seeds))
    again = growlstm.resume(tmp_path, nile().to_numpy())
    assert trained[0] == first.stages[1].widths  # stage 0 was read back, stage 1 redone
    assert not (tmp_path / "stages" / ".stage_01.tmp").exists()
    assert [s.val for s in again.stages] == [s.val for s in first.stages]
    assert (tmp_path / "summary.json").is_file()


def test_an_existing_run_is_never_overwritten(tmp_path: Path, tiny_config: Config) -> None:
    growlstm.grow(nile(), replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1)), run_dir=tmp_path)
    with pytest.raises(InputError, match="already holds a growth run.*resume="):
        growlstm.grow(nile(), tiny_config, run_dir=tmp_path)


def test_resume_of_a_folder_without_a_run_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds no growlstm run"):
        growlstm.resume(tmp_path)


def inject_nan(monkeypatch: pytest.MonkeyPatch, when) -> None:
    """Make training losses NaN whenever ``when(widths, lr)`` holds, on both training paths
    (seeds one by one, and seeds packed into one model)."""
    real_forward = LSTMForecaster.forward
    real_packed = SeedBatchModule.per_seed_loss

    def forward(self, x):
        out = real_forward(self, x)
        return out * math.nan if self.training and when(self.net.widths, self.hparams.lr) else out

    def packed(self, xs, ys):
        out = real_packed(self, xs, ys)
        return out * math.nan if self.training and when(self.pack.template.widths, self.lr) else out

    monkeypatch.setattr(LSTMForecaster, "forward", forward)
    monkeypatch.setattr(SeedBatchModule, "per_seed_loss", packed)


def test_nan_loss_is_retried_with_a_lower_learning_rate(
    monkeypatch: pytest.MonkeyPatch, tiny_config: Config
) -> None:
    lr = tiny_config.trainer.lr
    inject_nan(monkeypatch, lambda widths, rate: rate >= lr)
    config = replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1))
    result = growlstm.grow(nile(), config)
    stage = result.stages[0]
    assert stage.ok and math.isfinite(stage.val["mase"])
    assert len(stage.notes) == 2 and all(f"lr={lr / 10:g}" in n and "FloatingPointError" in n for n in stage.notes)


def test_stage_failing_twice_is_recorded_and_the_search_goes_on(
    monkeypatch: pytest.MonkeyPatch, tiny_config: Config, tmp_path: Path
) -> None:
    inject_nan(monkeypatch, lambda widths, rate: widths == [3])
    config = replace(tiny_config, goal=GoalConfig(beat="none"), growth=replace(tiny_config.growth, max_stages=3))
    result = growlstm.grow(nile(), config, run_dir=tmp_path)
    assert [s.widths for s in result.stages][:3] == [[2], [3], [4]]
    failed = result.stages[1]
    assert not failed.ok and "also after retrying" in failed.error
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stages"][1]["status"] == "failed" and summary["stages"][1]["error"]
    assert summary["chosen"]["widths"] != [3]


def test_failing_baseline_is_reported_and_the_others_go_on(
    monkeypatch: pytest.MonkeyPatch, tiny_config: Config, tmp_path: Path
) -> None:
    real = backtesting.make_baseline

    def broken(name: str, season_length: int):
        if name == "seasonal_naive":
            raise RuntimeError("injected failure")
        return real(name, season_length)

    monkeypatch.setattr(backtesting, "make_baseline", broken)
    config = replace(tiny_config, growth=replace(tiny_config.growth, max_stages=1))
    growlstm.grow(nile(), config, run_dir=tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["baselines"]["seasonal_naive"]["status"] == "failed"
    assert "injected failure" in summary["baselines"]["seasonal_naive"]["error"]
    assert summary["baselines"]["naive"]["status"] == "ok" and summary["goal"]["baseline"] == "naive"


def test_same_config_and_seed_give_the_same_run(tiny_config: Config) -> None:
    a = growlstm.grow(nile(), tiny_config)
    b = growlstm.grow(nile(), tiny_config)
    assert [(s.widths, s.val, s.decision) for s in a.stages] == [(s.widths, s.val, s.decision) for s in b.stages]
    assert a.chosen_test == b.chosen_test


def test_summary_records_versions_seed_and_config(tiny_config: Config, tmp_path: Path) -> None:
    growlstm.grow(nile(), replace(tiny_config, seed=7, growth=replace(tiny_config.growth, max_stages=1)), run_dir=tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["seed"] == 7 and summary["config"]["growth"]["max_stages"] == 1
    assert {"torch", "pytorch-lightning", "statsmodels", "python"} <= set(summary["versions"])
    assert summary["stages"][0]["seed_val"] and len(summary["stages"][0]["seed_val"]) == 2


def test_non_positive_series_runs_with_additive_ets_and_says_so(
    tiny_config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    y = nile().to_numpy() - 1000.0  # negative values: multiplicative ETS forms are impossible
    config = replace(tiny_config, baselines=["naive", "ets"], growth=replace(tiny_config.growth, max_stages=1))
    with caplog.at_level("INFO", logger="growlstm"):
        result = growlstm.grow(y, config)
    assert "ETS considers additive forms only" in caplog.text
    assert result.baselines["ets"].ok and "M" not in result.baselines["ets"].spec.replace("ETS(", "")


def test_warm_run_resumes_to_the_same_result(tiny_config: Config, tmp_path: Path) -> None:
    config = replace(tiny_config, goal=GoalConfig(beat="none"), growth=replace(tiny_config.growth, init="warm"))
    whole = growlstm.grow(nile(), config, run_dir=tmp_path / "whole")
    assert len(whole.stages) >= 3
    cut = tmp_path / "cut"
    shutil.copytree(tmp_path / "whole", cut)
    for later in sorted((cut / "stages").glob("stage_*"))[2:]:
        shutil.rmtree(later)
    (cut / "summary.json").unlink()
    again = growlstm.resume(cut, nile().to_numpy())
    assert [(s.widths, s.val, s.parent) for s in again.stages] == [(s.widths, s.val, s.parent) for s in whole.stages]


def test_networks_that_read_the_base_at_every_step_are_not_resumed() -> None:
    """A stage checkpoint written before forecaster format 2 (the base forecast read at every
    input step) is refused on windows that carry the base at the last step only."""
    from types import SimpleNamespace

    from growlstm.growth.stages import reads_like
    from growlstm.model import LSTMStack

    based = SimpleNamespace(last_inputs=[1, 2, 3])
    every_step = LSTMStack(5, [2], 3)
    with pytest.raises(InputError, match="every input step"):
        reads_like(based, [every_step], "stage 0 of the resumed run")
    reads_like(based, [LSTMStack(5, [2], 3, last_inputs=[1, 2, 3])], "stage 0 of the resumed run")
    reads_like(SimpleNamespace(last_inputs=[]), [every_step], "stage 0 of the resumed run")  # no base input
    # Before format 3 the series identity (here 2 one-hot columns after the base) was read at
    # every step too: such a network is refused on windows that carry it at the last step.
    with pytest.raises(InputError, match="series identity"):
        reads_like(SimpleNamespace(last_inputs=[1, 2, 3, 5, 6]), [LSTMStack(7, [2], 3, last_inputs=[1, 2, 3])],
                   "stage 0 of the resumed run")
