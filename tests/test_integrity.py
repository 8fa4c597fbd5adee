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
