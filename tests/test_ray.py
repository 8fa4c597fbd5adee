"""growth.backend=ray: the per-series work on a real local Ray cluster gives what the worker
processes give (issue 40)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

from growlstm import load
from growlstm.config import Config, DataConfig, GrowthConfig, TrainerConfig, check_config
from growlstm.errors import InputError
from growlstm.runs.dispatch import grow_many
from growlstm.runs.local import grow_local
from growlstm.runs.shared import all_baselines, series_folder

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A real local Ray of two CPUs, started here (the run then uses it as it is)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _m4(shared_m4: Path, series: str) -> DataConfig:
    return DataConfig(name="csv", path=str(shared_m4 / "train.csv"), id_col="uid", time_col="t", target="value",
                      test_path=str(shared_m4 / "test.csv"), series=series, season_length=12)


def _tiny(backend: str, **growth: object) -> Config:
    return Config(
        data=DataConfig(season_length=12), h=18,
        trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1, batch_size=128),
        growth=GrowthConfig(seeds=2, max_stages=2, workers=2, backend=backend, **growth),  # type: ignore[arg-type]
        baselines=["naive", "naive2", "theta"],
    )


def _forecasts(root: Path, uids: list[str]) -> pd.DataFrame:
    return pd.concat([pd.read_csv(series_folder(root, u) / "forecast.csv") for u in uids], ignore_index=True)


def test_local_scope_on_ray_matches_the_worker_processes(cluster: None, shared_m4: Path, tmp_path: Path) -> None:
    panel = load(_m4(shared_m4, "M4-M[1-4]"))  # M4-M4: too short for an LSTM, classical only
    uids = panel.ids()
    on_ray = grow_local(panel, _tiny("ray"), run_dir=tmp_path / "ray")
    in_processes = grow_local(panel, _tiny("processes"), run_dir=tmp_path / "processes")
    assert on_ray.table.status.tolist() == ["ok"] * 4 and on_ray.workers == 2
    a, b = _forecasts(tmp_path / "ray", uids), _forecasts(tmp_path / "processes", uids)
    assert list(a.columns) == list(b.columns) and a.recommended.notna().all()
    numeric = a.select_dtypes("number").columns
    np.testing.assert_allclose(a[numeric].to_numpy(), b[numeric].to_numpy(), rtol=0, atol=1e-9)
    scores = [c for c in on_ray.table.columns if c.endswith("_mase")]
    np.testing.assert_allclose(on_ray.table[scores].to_numpy(float), in_processes.table[scores].to_numpy(float),
                               rtol=0, atol=1e-9)
    assert (series_folder(tmp_path / "ray", "M4-M1") / "stages" / "stage_00" / "checkpoint.pt").is_file()


def test_global_scope_fits_its_baselines_on_ray(cluster: None, shared_m4: Path, tmp_path: Path) -> None:
    panel = load(_m4(shared_m4, "M4-M[1-4]"))
    config = _tiny("ray", scope="global", max_layers=1)
    result = grow_many(panel, config, run_dir=tmp_path)
    assert result.scope == "global" and (result.table.status == "ok").all()
    assert len(pd.read_csv(tmp_path / "forecast.csv")) == 4 * 18
    # The baselines that ran on Ray are the ones this process fits, series by series.
    from growlstm.growth.preparation import prepare

    wins = [prepare(load(_m4(shared_m4, u)), config)[1] for u in panel.ids()]
    here = all_baselines(wins, list(config.baselines), workers=1)
    there = all_baselines(wins, list(config.baselines), workers=2, config=config)
    for mine, theirs in zip(here, there):
        for name in config.baselines:
            np.testing.assert_allclose(np.array(mine[name].test_forecasts), np.array(theirs[name].test_forecasts), atol=1e-9)
            assert mine[name].spec == theirs[name].spec


def test_an_unknown_backend_is_refused() -> None:
    config = replace(Config(), growth=replace(GrowthConfig(), backend="dask"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="growth.backend=dask is not understood"):
        check_config(config)
