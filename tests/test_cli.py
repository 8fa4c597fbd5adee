"""The `growlstm` command: config composition, bad input, retraining a recorded stage, multirun."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from growlstm import cli
from growlstm.config import Config

from .conftest import TINY_OVERRIDES

CONF = Path(cli.conf_dir())


def groups() -> list[tuple[str, str]]:
    return sorted((d.name, f.stem) for d in CONF.iterdir() if d.is_dir() for f in d.glob("*.yaml"))


def compose_config(overrides: list[str]) -> Config:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    return OmegaConf.to_object(cfg)  # type: ignore[return-value]


@pytest.mark.parametrize("group,option", groups())
def test_every_config_group_composes(group: str, option: str) -> None:
    extra = ["data.path=x.csv"] if (group, option) == ("data", "csv") else []
    config = compose_config([f"{group}={option}", *extra])
    # Every value the option's file sets is what the composed config holds.
    given = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"))
    given.pop("defaults", None)
    given |= {"path": "x.csv"} if extra else {}
    composed = vars(getattr(config, group))
    assert {k: composed[k] for k in given if given[k] != "???"} == {k: v for k, v in given.items() if v != "???"}


def test_typos_and_wrong_types_fail_at_compose_time() -> None:
    with pytest.raises(Exception, match="patince"):
        compose_config(["growth.patince=3"])
    with pytest.raises(Exception, match="min_gain"):
        compose_config(["growth.min_gain=lots"])
    # A choice outside its list fails when composing, naming the valid ones.
    for override, valid in [("growth.init=warmm", "warm, cold"), ("growth.scope=globl", "auto, local, global"),
                            ("model.residual=thetta", "scope, theta, seasonal_naive, ets, auto"), ("baselines=[naive,arma]", "arima")]:
        with pytest.raises(Exception) as info:
            compose_config([override])
        assert valid in f"{info.value} {info.value.__cause__}"
    # ... and a valid one is the plain string to the code and in the records.
    config = compose_config(["growth.scope=global", "model.input_norm=global"])
    assert config.growth.scope == "global" and f"{config.model.input_norm}" == "global"
    from growlstm.config import plain

    assert json.dumps(plain(dataclasses.asdict(config))["growth"]["init"]) == '"warm"'


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the console entry point in this process; returns its exit code."""
    GlobalHydra.instance().clear()
    monkeypatch.setattr(sys, "argv", ["growlstm", *args])
    try:
        cli.main()
    except SystemExit as exit:
        return int(exit.code or 0)
    return 0


def write_csv(path: Path, y: list[float] | np.ndarray, *, ds: list[str] | None = None) -> Path:
    ds = ds if ds is not None else [str(d.date()) for d in pd.date_range("2000-01-01", periods=len(y), freq="MS")]
    pd.DataFrame({"date": ds, "sales": y}).to_csv(path, index=False)
    return path


def good_values(n: int = 120) -> np.ndarray:
    t = np.arange(n)
    return 100 + t + 10 * np.sin(2 * np.pi * t / 12)


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    y = good_values()
    dates = [str(d.date()) for d in pd.date_range("2000-01-01", periods=120, freq="MS")]
    us_dates = [d.strftime("%m/%d/%Y") for d in pd.date_range("2000-01-01", periods=120, freq="MS")]
    text_values = [str(v) for v in y]
    text_values[5] = "abc"
    missing = list(y)
    missing[7] = np.nan
    spaced = "date sales\n" + "".join(f"{d} {v}\n" for d, v in zip(dates, y))
    return {
        "missing file": ([f"data.path={tmp / 'nope.csv'}"], "not found"),
        "missing column": ([f"data.path={write_csv(tmp / 'a.csv', y)}", "data.target=revenue"], "revenue"),
        "non-numeric": ([f"data.path={write_csv(tmp / 'b.csv', text_values)}"], "abc"),
        "missing values": ([f"data.path={write_csv(tmp / 'c.csv', missing)}"], "missing"),
        "unsorted timestamps": ([f"data.path={write_csv(tmp / 'h.csv', y, ds=dates[:50] + dates[51:52] + dates[50:51] + dates[52:])}"], "time order"),
        "duplicate timestamps": ([f"data.path={write_csv(tmp / 'd.csv', y, ds=dates[:60] + dates[59:119])}"], "duplicate"),
        "too short": ([f"data.path={write_csv(tmp / 'e.csv', y[:19])}"], "too short"),  # h=18 needs 20
        "constant": ([f"data.path={write_csv(tmp / 'f.csv', np.full(120, 3.0))}"], "constant"),
        "bad h": ([f"data.path={write_csv(tmp / 'g.csv', y)}", "h=0"], "h=0"),
        "irregular frequency": ([f"data.path={write_csv(tmp / 'i.csv', y[:119], ds=dates[:60] + dates[61:])}"], "irregular"),
        "wrong delimiter": ([f"data.path={write_text(tmp / 'j.csv', spaced)}"], "single column"),
        "bad fill policy": ([f"data.path={write_csv(tmp / 'k.csv', missing)}", "data.fill=guess"], "data.fill"),
        "mixed date formats": ([f"data.path={write_csv(tmp / 'l.csv', y, ds=dates[:60] + us_dates[60:])}"],
                               "mixes date formats: '2000-01-01' at line 2 but '01/01/2005' at line 62"),
        "id column is the target": ([f"data.path={write_csv(tmp / 'm.csv', y)}", "data.id_col=sales"],
                                    "the id column and the target column are the same column 'sales'"),
        "values beyond float range": ([f"data.path={write_csv(tmp / 'n.csv', y * 1e300)}"], "beyond the 1e+100"),
        "values varying too little": ([f"data.path={write_csv(tmp / 'o.csv', y * 1e-300)}"], "varies by only"),
        "negative lagging": ([f"data.path={write_csv(tmp / 'p.csv', y)}", "growth.lagging=-0.1"], "growth.lagging=-0.1"),
        "init seeds without a checkpoint": ([f"data.path={write_csv(tmp / 'q.csv', y)}", "model.init_seeds=[0,null]"],
                                            "model.init_seeds needs model.init_from"),
    }


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BAD_CASES = [
    "missing file", "missing column", "non-numeric", "missing values",
    "unsorted timestamps", "duplicate timestamps", "too short", "constant", "bad h",
    "irregular frequency", "wrong delimiter", "bad fill policy", "mixed date formats", "id column is the target",
    "values beyond float range", "values varying too little", "negative lagging", "init seeds without a checkpoint",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_line_exit_2_and_no_summary(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides, expected = bad_inputs(tmp_path)[case]
    run_dir = tmp_path / "run"
    args = ["data=csv", "data.time_col=date", "data.target=sales", *overrides, f"hydra.run.dir={run_dir}"]
    # A later override wins, so the case's own data.target (missing column) takes effect.
    code = run_cli(args, monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("growlstm: error:") and "Fix:" in err[0]
    assert expected.lower() in err[0].lower()
    assert not (run_dir / "summary.json").exists() and not (run_dir / "stages").exists()


def test_bad_input_from_a_real_shell_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "growlstm.cli", "data=csv", f"data.path={tmp_path / 'missing.csv'}",
         f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().startswith("growlstm: error:")


@pytest.mark.parametrize("init", ["cold", "warm", "warm with a restarted seed"])
def test_tiny_run_then_retrain_one_stage_from_its_record(
    init: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    # growth.lagging=0: every seed but the parent stage's best starts afresh at the next stage.
    extra = ["growth.lagging=0"] if "restarted" in init else []
    assert run_cli([*TINY_OVERRIDES, f"growth.init={init.split()[0]}", "goal=none", *extra,
                    f"hydra.run.dir={run_dir}"], monkeypatch) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    stage = summary["stages"][-1]
    stage_dir = run_dir / "stages" / f"stage_{stage['index']:02d}"
    if extra:
        assert None in stage["seed_parents"]
        assert yaml.safe_load((stage_dir / "config.yaml").read_text())["model"]["init_seeds"] == stage["seed_parents"]
    # The recorded config retrains exactly that architecture, alone, with the same seeds.
    retrain_dir = tmp_path / "retrain"
    code = run_cli(
        [f"--config-path={stage_dir}", "--config-name=config", f"hydra.run.dir={retrain_dir}"], monkeypatch
    )
    assert code == 0
    again = json.loads((retrain_dir / "summary.json").read_text())
    assert again["stop_reason"] == "fixed"
    assert again["stages"][0]["widths"] == stage["widths"]
    for key, value in stage["val"].items():
        assert again["stages"][0]["val"][key] == pytest.approx(value, rel=1e-6, abs=1e-9)


def test_multirun_gives_each_job_its_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "sweep"
    tiny = [o for o in TINY_OVERRIDES if not o.startswith("data=")] + ["growth.max_stages=1", "growth.seeds=1"]
    code = run_cli(["-m", "data=nile,sunspots", *tiny, f"hydra.sweep.dir={sweep}"], monkeypatch)
    assert code == 0
    summaries = sorted(sweep.glob("*/summary.json"))
    assert len(summaries) == 2
    assert {json.loads(p.read_text())["data"]["name"] for p in summaries} == {"nile", "sunspots"}
    # Each of a job's console lines says which job it belongs to (parallel jobs' lines interleave).
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip() and "[HYDRA]" not in line]
    assert lines and all(line.startswith(("[0_nile_seed0] ", "[1_sunspots_seed0] ")) for line in lines)
    assert sum("records:" in line for line in lines) == 2


def test_help_lists_groups(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--help"], monkeypatch) == 0
    out = capsys.readouterr().out
    for group in ("data", "growth", "goal", "trainer", "model"):
        assert f"{group}:" in out
    assert "start_cells" in out


@pytest.mark.parametrize(
    "args,expected",
    [
        (["growth.patince=3"], "patince"),
        (["growth.min_gain=lots"], "could not be converted to float"),
        (["data=nope"], "choose one of co2, csv"),
        (["-m", "seed=0,zero"], "could not be converted to integer"),
        (["data=csv"], "data.path"),
        (["growth.start_cells=40"], "capacity cap"),
        (["resume=/nonexistent/run"], "not a directory"),
        (["eval.early_stop=never"], "eval.early_stop"),
        (["eval.val_origins=0"], "eval.val_origins"),
        (["goal.significance=1.5"], "goal.significance"),
        (["goal.claim_significance=0"], "goal.claim_significance"),
        (["model.residual=prophet"], "model.residual"),
        (["model.residual=seasonal_naive", "input_size=6"], "needs input_size >= the season length (12)"),
        (["growth.spread_factor=-1"], "growth.spread_factor"),
        (["data=nile", "h=99"], "too short to validate"),  # nile: 100 points
        (["goal=target", "goal.target=-1"], "goal.target=-1.0 can never be met"),
        (["seed=-5"], "seed=-5 is negative"),
        (["-m", "data=nile", "h=6,-1"], "h=-1 must be positive (in the sweep job h=-1)"),
        (["-m", "growth.alpha=2,20", "growth.alpha_max=10,30"], "(in the sweep job growth.alpha=20 growth.alpha_max=10)"),
        pytest.param(["trainer.accelerator=gpu"], "torch finds no gpu device",
                     marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")),
    ],
)
def test_config_errors_are_one_line_and_exit_2(
    args: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = [f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    code = run_cli([*args, *dirs, "baselines=[naive]"], monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("growlstm: error:") and "Fix:" in err[0]
    assert expected.lower() in err[0].lower()
    assert not (tmp_path / "run" / "summary.json").exists()
    assert not (tmp_path / "sweep").exists()  # a sweep is refused before any job runs


def test_parallel_sweep_isolates_a_failed_job(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    tiny = [o for o in TINY_OVERRIDES if not o.startswith("data=")] + ["growth.max_stages=1", "growth.seeds=1"]
    proc = subprocess.run(
        [sys.executable, "-m", "growlstm.cli", "-m", "data=nile,sunspots,csv", "hydra/launcher=joblib",
         "hydra.launcher.n_jobs=2", *tiny, f"hydra.sweep.dir={sweep}2"],
        capture_output=True, text=True, timeout=300,
    )
    # csv fails (no data.path); the others finish in their own folders and the sweep exits 1.
    jobs = sorted(p.name for p in (sweep.parent / "sweep2").iterdir() if p.is_dir())
    assert jobs == ["0_nile_seed0", "1_sunspots_seed0", "2_csv_seed0"]
    assert (sweep.parent / "sweep2" / "0_nile_seed0" / "summary.json").is_file()
    assert (sweep.parent / "sweep2" / "1_sunspots_seed0" / "summary.json").is_file()
    assert not (sweep.parent / "sweep2" / "2_csv_seed0" / "summary.json").exists()
    assert "data.path" in (sweep.parent / "sweep2" / "2_csv_seed0" / "error.txt").read_text()
    assert proc.returncode == 1
    # Jobs running at once interleave their lines: each says which job it belongs to (issue 16, 11).
    ours = [line for line in proc.stdout.splitlines() if line.strip() and "[HYDRA]" not in line]
    assert ours and all(line.startswith(("[0_nile_seed0] ", "[1_sunspots_seed0] ")) for line in ours)
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr


def _m4_args(shared_m4: Path) -> list[str]:
    return ["data=csv", f"data.path={shared_m4 / 'train.csv'}", "data.id_col=uid", "data.time_col=t",
            "data.target=value", f"data.test_path={shared_m4 / 'test.csv'}", "data.season_length=12", "h=18",
            "trainer.max_epochs=2", "trainer.early_stopping_patience=1", "growth.seeds=1", "growth.max_stages=1",
            "baselines=[naive,naive2]"]


def test_many_series_from_the_shell_local_scope(shared_m4: Path, tmp_path: Path) -> None:
    """A table of several series runs one search per series, two at a time: a line per series,
    then the set-level table; the series folders and the set-level summary are written."""
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "growlstm.cli", *_m4_args(shared_m4), "data.series=M4-M?", "growth.workers=2",
         f"hydra.run.dir={run_dir}"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "9 series, local scope" in out and "2 at a time" in out
    assert sum(line.startswith("[") for line in out.splitlines()) == 9  # one line per series
    assert "OWA" in out and "no LSTM of their own: 4 series" in out and "records:" in out
    assert "stage  0" not in out  # stage lines go to the series' own logs
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["series"]["series"] == 9 and len(list((run_dir / "series").iterdir())) == 9
    assert "Lightning" not in proc.stderr and "ConvergenceWarning" not in proc.stderr


def test_multirun_over_series_of_a_table(shared_m4: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same per-series runs as Hydra jobs (what a cluster launcher would run)."""
    sweep = tmp_path / "sweep"
    code = run_cli(["-m", *_m4_args(shared_m4), "data.series=M4-M1,M4-M2", f"hydra.sweep.dir={sweep}"], monkeypatch)
    assert code == 0
    series = {json.loads(p.read_text())["series"] for p in sweep.glob("*/summary.json")}
    assert series == {"M4-M1", "M4-M2"}


def test_cluster_launcher_configs(shared_m4: Path, tmp_path: Path) -> None:
    """hydra/launcher=slurm composes to the submitit SLURM launcher with our settings, and the
    same packaging runs here through submitit's local executor (hydra/launcher=local_jobs)."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    proc = subprocess.run([sys.executable, "-m", "growlstm.cli", "--cfg", "hydra", "hydra/launcher=slurm"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SlurmLauncher" in proc.stdout and "cpus_per_task: 4" in proc.stdout
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "growlstm.cli", "-m", "hydra/launcher=local_jobs", *_m4_args(shared_m4),
         "data.series=M4-M1,M4-M2", f"hydra.sweep.dir={sweep}"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    series = {json.loads(p.read_text())["series"] for p in sweep.glob("*/summary.json")}
    assert series == {"M4-M1", "M4-M2"}
