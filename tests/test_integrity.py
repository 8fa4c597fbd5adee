"""Run folders are data: a crafted or damaged file is refused in one line and never runs code."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import statsmodels.api as sm
import torch

import growlstm
from growlstm.config import Config, GoalConfig, ModelConfig
from growlstm.errors import InputError

from .test_cli import run_cli


class Payload:
    """What a hostile checkpoint holds: unpickling it (weights_only=False) runs a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def crafted(path: Path, marker: Path) -> Path:
    torch.save({"model_args": {"n_inputs": 1}, "state_dicts": {0: Payload(marker)}}, path)
    return path


def nile():
    return sm.datasets.nile.load_pandas().data["volume"].to_numpy()


def test_a_crafted_init_checkpoint_is_refused_without_running_code(tmp_path: Path, tiny_config: Config) -> None:
    marker = tmp_path / "pwned"
    bad = crafted(tmp_path / "checkpoint.pt", marker)
    config = replace(tiny_config, model=ModelConfig(widths=[2], init_from=str(bad)))
    with pytest.raises(InputError, match="not a growlstm stage checkpoint") as err:
        growlstm.grow(nile(), config)
    assert not marker.exists()
    assert "\n" not in str(err.value) and "growth.seeds=0" not in str(err.value)


def test_resume_from_a_run_with_a_crafted_stage_checkpoint_runs_no_code(tmp_path: Path, tiny_config: Config) -> None:
    run = tmp_path / "run"
    config = replace(tiny_config, goal=GoalConfig(beat="none"))
    growlstm.grow(nile(), config, run_dir=run)
    (run / "summary.json").unlink()  # an interrupted run, as resume finds it
    marker = tmp_path / "pwned"
    crafted(run / "stages" / "stage_00" / "checkpoint.pt", marker)
    with pytest.raises(InputError, match="not a growlstm stage checkpoint"):
        growlstm.resume(run, nile())
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "crafted", "wrong fields"])
def test_a_damaged_forecaster_gets_a_one_line_error_from_predict(
    tmp_path: Path, tiny_config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    logging.getLogger("growlstm").handlers.clear()  # an earlier CLI run's console is closed by now
    run = tmp_path / "run"
    growlstm.grow(nile(), tiny_config, run_dir=run)
    model = run / "forecaster.pt"
    marker = tmp_path / "pwned"
    if damage == "truncated":
        model.write_bytes(model.read_bytes()[:200])
    elif damage == "garbage":
        model.write_bytes(b"not a checkpoint at all")
    elif damage == "crafted":
        crafted(model, marker)
    else:
        torch.save({"format": torch.load(model, weights_only=True)["format"], "series": []}, model)
    with pytest.raises(InputError, match="not a growlstm forecaster"):
        growlstm.predict(run, nile())
    assert not marker.exists()
    assert run_cli([f"predict={run}", "data=nile", f"hydra.run.dir={tmp_path / 'again'}"], monkeypatch) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a growlstm forecaster" in err[0], err


def test_a_deleted_forecaster_is_named_as_missing_not_as_an_older_version(tmp_path: Path, tiny_config: Config) -> None:
    run = tmp_path / "run"
    growlstm.grow(nile(), tiny_config, run_dir=run)
    (run / "forecaster.pt").unlink()
    with pytest.raises(InputError, match="holds no forecaster.pt: it was deleted") as err:
        growlstm.predict(run, nile())
    assert "without predict" not in str(err.value)
    shutil.rmtree(run)


def test_series_ids_that_look_alike_get_folders_of_their_own(tmp_path: Path) -> None:
    import json

    import numpy as np
    import pandas as pd

    from growlstm.config import DataConfig, GrowthConfig, TrainerConfig
    from growlstm.runs.dispatch import grow_many
    from growlstm.runs.shared import folder_name

    ids = ["café", "東京", "😀", ".", "..", "a b", "a_b", "plain"]
    names = [folder_name(u) for u in ids]
    assert len(set(names)) == len(ids) and names[-1] == "plain" and names[-2] == "a_b"
    assert all("/" not in n and n not in (".", "..") for n in names)
    rng = np.random.default_rng(0)
    frame = pd.concat([pd.DataFrame({"unique_id": u, "ds": np.arange(60), "y": 100 + rng.normal(0, 1, 60).cumsum()})
                       for u in ids[:6]], ignore_index=True)
    panel = growlstm.from_long(frame, season_length=1)
    config = Config(data=DataConfig(season_length=1), h=4, baselines=["naive", "naive2"],
                    trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1),
                    growth=GrowthConfig(scope="local", workers=1, seeds=1, max_stages=1))
    run = tmp_path / "run"
    grow_many(panel, config, run_dir=run)
    folders = json.loads((run / "folders.json").read_text())
    assert sorted(folders) == sorted(ids[:6]) and len(set(folders.values())) == 6
    for uid, name in folders.items():  # each folder holds its own series' run
        assert (run / "series" / name / "summary.json").is_file()
        assert json.loads((run / "series" / name / "summary.json").read_text())["series"] == uid
    again = growlstm.predict(run, panel)
    assert sorted(again.forecast.unique_id.unique()) == sorted(ids[:6])


def test_a_second_run_into_a_folder_in_use_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    folder = tmp_path / "shared"
    folder.mkdir()
    # Another process holds the folder, as a run started a moment before would.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; "
         f"lock = FileLock({str(folder / '.growlstm.lock')!r}); lock.acquire(); print('held', flush=True); "
         "time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code = run_cli(["data=nile", f"hydra.run.dir={folder}", "trainer.max_epochs=1"], monkeypatch)
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "another growlstm run is writing to" in err[0], err
    assert not (folder / "summary.json").exists()


def test_an_unwritable_run_folder_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["data=nile", "hydra.run.dir=/proc/growlstm-no"], monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot write the run folder /proc/growlstm-no" in err[0], err
