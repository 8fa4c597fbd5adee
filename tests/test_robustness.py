"""The CLI under stress (issue 16): concurrent runs, Ctrl-C, resuming a finished run, plugins
that are not installed, and the cost of --help."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from growlstm.runs import dispatch as runs

from .conftest import TINY_OVERRIDES
from .test_cli import run_cli

# One stage, one seed, two epochs: the smallest run that still leaves a complete record.
QUICK = [*TINY_OVERRIDES, "growth.max_stages=1", "growth.seeds=1", "trainer.max_epochs=2", "baselines=[naive]"]
# A run that is still training a few seconds after it printed its baselines.
SLOW = ["data=nile", "trainer.max_epochs=300", "trainer.early_stopping_patience=300", "growth.seeds=2",
        "growth.max_stages=4", "baselines=[naive]"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "growlstm.cli", *args], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def interrupt_after(proc: subprocess.Popen[str], marker: str, delay: float = 0.0) -> tuple[str, str, float]:
    """Send Ctrl-C (SIGINT) once `marker` appears on stdout; its output and how long it took to stop."""
    assert proc.stdout is not None and proc.stderr is not None
    seen = ""
    for line in proc.stdout:
        seen += line
        if marker in line:
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    sent = time.perf_counter()
    out, err = proc.communicate(timeout=60)
    return seen + out, err, time.perf_counter() - sent


def test_runs_started_together_get_folders_of_their_own(tmp_path: Path) -> None:
    procs = [cli([*QUICK, f"seed={seed}"], tmp_path) for seed in (0, 1)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    records = [next(line for line in out.splitlines() if line.startswith("records:")).split()[1] for out, _ in outputs]
    assert records[0] != records[1]
    assert {json.loads((Path(r) / "summary.json").read_text())["config"]["seed"] for r in records} == {0, 1}
    for proc, (_, err) in zip(procs, outputs):  # each folder is named after its process
        assert f"_{proc.pid}" in Path(records[procs.index(proc)]).name
        assert "Warning" not in err  # nothing leaks onto the console of a normal run


def test_ctrl_c_during_training_says_how_to_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    out, err, took = interrupt_after(cli([*SLOW, f"hydra.run.dir={run_dir}"], tmp_path), "baselines (val")
    assert err.strip() == f"growlstm: interrupted; continue with: growlstm resume={run_dir}", out + err
    assert took < 10
    assert not (run_dir / "summary.json").exists() and (run_dir / "run.yaml").is_file()


def test_ctrl_c_in_a_many_series_run_stops_the_workers(tmp_path: Path) -> None:
    table = tmp_path / "long.csv"
    years = [f"{1871 + i}-01-01" for i in range(100)]
    frames = [pd.DataFrame({"unique_id": uid, "ds": years, "y": [100 + k * i + (i % 7) * 10 for i in range(100)]})
              for k, uid in ((1, "a"), (2, "b"), (3, "c"))]
    pd.concat(frames).to_csv(table, index=False)
    run_dir = tmp_path / "run"
    args = [*SLOW[1:], "data=csv", f"data.path={table}", "growth.scope=local", "growth.workers=2", f"hydra.run.dir={run_dir}"]
    out, err, took = interrupt_after(cli(args, tmp_path), "at a time", delay=2.0)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert err.strip() == f"growlstm: interrupted; continue with: growlstm resume={run_dir}"
    assert took < 10
    assert not (run_dir / "summary.json").exists()


def test_keyboard_interrupt_from_anywhere_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def cut_short(panel: object, config: object, run_dir: Path) -> None:
        (run_dir / "run.yaml").write_text("{}")
        raise KeyboardInterrupt  # e.g. while the baselines are fitted

    monkeypatch.setattr(runs, "grow_panel", cut_short)
    run_dir = tmp_path / "run"
    assert run_cli([*QUICK, f"hydra.run.dir={run_dir}"], monkeypatch) == 130
    assert capsys.readouterr().err.strip() == f"growlstm: interrupted; continue with: growlstm resume={run_dir}"
    assert not (run_dir / "summary.json").exists()


def test_resume_of_a_finished_run_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    assert run_cli([*QUICK, f"hydra.run.dir={run_dir}"], monkeypatch) == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run_dir.rglob("*") if p.is_file()}
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_cli([f"resume={run_dir}", "h=7", "seed=3"], monkeypatch) == 0
    out, err = capsys.readouterr()
    assert err.strip() == "growlstm: note: resume continues with the run's saved run.yaml; ignored: h=7 seed=3"
    assert "is a finished run" in out and f"records: {run_dir}" in out
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run_dir.rglob("*") if p.is_file()}
    assert after == before
    assert not any(elsewhere.iterdir())  # no stray outputs/<date>/<time>/ for the resume itself


def test_resume_of_an_interrupted_run_leaves_no_stray_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    assert run_cli([*QUICK, f"hydra.run.dir={run_dir}"], monkeypatch) == 0
    (run_dir / "summary.json").unlink()  # as if cut off before the end
    hydra_record = (run_dir / ".hydra" / "overrides.yaml").read_text()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_cli([f"resume={run_dir}"], monkeypatch) == 0
    assert (run_dir / "summary.json").is_file()
    assert (run_dir / ".hydra" / "overrides.yaml").read_text() == hydra_record  # the run's own Hydra record
    assert not any(elsewhere.iterdir())


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is not None,
                    reason="the Ray launcher plugin is installed")
def test_a_launcher_without_its_plugin_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["-m", "hydra/launcher=ray", *QUICK, f"hydra.sweep.dir={tmp_path / 'sweep'}"], monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].endswith("Fix: pip install hydra-ray-launcher")
    assert not (tmp_path / "sweep").exists()


def test_help_and_import_do_not_load_torch(tmp_path: Path) -> None:
    probe = ("import sys, atexit; atexit.register(lambda: print('torch' in sys.modules, file=sys.stderr)); "
             "sys.argv = ['growlstm', '--help']; import growlstm.cli; growlstm.cli.main()")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "start_cells" in proc.stdout
    assert proc.stderr.strip() == "False"
    probe = "import sys, growlstm; from growlstm import Config, InputError; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout.strip() == "False"


def test_an_absurd_baseline_forecast_fails_that_baseline_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from growlstm.baselines import backtesting
    from growlstm.baselines.backtesting import BaselineResult, implausible, run_baseline
    from growlstm.growth.preparation import prepare
    from growlstm.config import Config
    from growlstm import load

    assert implausible(np.array([1.0, 9.2e9]), np.array([10.0, 500.0])).startswith("it reaches 9.2e+09")
    assert implausible(np.array([600.0, 700.0]), np.array([10.0, 500.0])) == ""  # a trend carried on is fine

    class Exploding:
        spec = "exploding"

        def fit(self, y: object) -> "Exploding":
            return self

        def predict(self, h: int) -> object:
            return np.full(h, 9.18e9)

    monkeypatch.setattr(backtesting, "make_baseline", lambda name, m: Exploding())
    config = Config()
    win = prepare(load(config.data), config)[1]
    result = BaselineResult("arima")
    run_baseline("arima", win, result, "val")
    assert not result.ok and "implausible" in result.error and f"origin {win.val_origins[0]}" in result.error
    assert result.val == {}  # no score to win or lose with


def test_skipped_series_are_in_the_summary_and_a_run_with_none_left_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    t = list(range(60))
    good = pd.DataFrame({"unique_id": "good", "ds": t, "y": 10 + np.sin(np.arange(60)) + np.arange(60) * 0.1})
    flat = pd.DataFrame({"unique_id": "flat", "ds": t, "y": 3.0})
    pd.concat([good, flat]).to_csv(tmp_path / "two.csv", index=False)
    run = tmp_path / "run"
    code = run_cli([*QUICK[1:], "data=csv", f"data.path={tmp_path / 'two.csv'}", "data.id_col=unique_id", "h=6",
                    f"hydra.run.dir={run}"], monkeypatch)
    assert code == 0
    summary = json.loads((run / "summary.json").read_text())
    assert "flat" in summary["skipped"] and "constant" in summary["skipped"]["flat"]
    short = pd.concat([pd.DataFrame({"unique_id": u, "ds": range(7), "y": np.arange(7.0) + k}) for k, u in enumerate("abc")])
    short.to_csv(tmp_path / "short.csv", index=False)
    code = run_cli([*QUICK[1:], "data=csv", f"data.path={tmp_path / 'short.csv'}", "data.id_col=unique_id", "h=6",
                    "growth.scope=local", f"hydra.run.dir={tmp_path / 'none'}"], monkeypatch)
    assert code == 2 and "none of the 3 series could be forecast" in capsys.readouterr().err
    assert not (tmp_path / "none" / "summary.json").exists()
