"""Training the global model with Lightning's DDP strategy (2 CPU processes, gloo)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from growlstm import load
from growlstm.config import Config, DataConfig, TrainerConfig
from growlstm.train.pooled_windows import PooledWindows
from growlstm.growth.preparation import prepare
from growlstm.train.fit import fit_candidate
from growlstm.train.loaders import RankShare, set_loader


def test_rank_share_outside_ddp_is_the_plain_batches() -> None:
    data = torch.utils.data.TensorDataset(torch.arange(10.0)[:, None], torch.arange(10.0)[:, None])
    plain = [b[0].ravel().tolist() for b in set_loader(data, 4, seed=3)]
    shared = [b[0].ravel().tolist() for b in set_loader(data, 4, seed=3, share=True)]
    assert plain == shared and sorted(sum(plain, [])) == list(range(10))
    assert len(RankShare(torch.utils.data.BatchSampler(range(10), 4, False))) == 3


@pytest.mark.slow
def test_ddp_two_processes_match_one(shared_m4: Path) -> None:
    """Each process takes half of every batch; DDP averages the gradients, so two processes
    train the same network as one process on the whole batches (to float rounding)."""
    panel = load(DataConfig(name="csv", path=str(shared_m4 / "train.csv"), id_col="uid", time_col="t", target="value",
                            test_path=str(shared_m4 / "test.csv"), series="M4-M[1-3]", season_length=12))
    cfg = Config(data=DataConfig(season_length=12), h=18, input_size=36)
    pooled = PooledWindows.build([prepare(panel, replace(cfg, data=replace(cfg.data, series=u)))[1] for u in panel.ids()])
    trainer = TrainerConfig(max_epochs=3, early_stopping_patience=2, batch_size=64, loss="mse")  # DDP mechanics: exact arithmetic
    one = fit_candidate(pooled, [4, 2], cfg.model, trainer, seed=0)  # type: ignore[arg-type]
    two = fit_candidate(pooled, [4, 2], cfg.model, replace(trainer, devices=2), seed=0)  # type: ignore[arg-type]
    assert (two.epochs, two.best_epoch, two.steps) == (one.epochs, one.best_epoch, one.steps)
    for (name, a), b in zip(one.module.state_dict().items(), two.module.state_dict().values()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    assert two.val_loss == pytest.approx(one.val_loss, rel=1e-4)
    assert two.train_loss == pytest.approx(one.train_loss, rel=1e-4)


@pytest.mark.slow
def test_global_run_with_ddp_end_to_end(shared_m4: Path, tmp_path: Path) -> None:
    from growlstm.config import GrowthConfig
    from growlstm.runs.dispatch import grow_many

    panel = load(DataConfig(name="csv", path=str(shared_m4 / "train.csv"), id_col="uid", time_col="t", target="value",
                            test_path=str(shared_m4 / "test.csv"), series="M4-M[1-3]", season_length=12))
    config = Config(data=DataConfig(season_length=12), h=18, baselines=["naive", "naive2"],
                    trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1, batch_size=64, devices=2),
                    growth=GrowthConfig(scope="global", seeds=2, max_stages=1, workers=1))
    result = grow_many(panel, config, run_dir=tmp_path)
    assert (result.table.status == "ok").all() and result.table.lstm_test_mase.notna().all()
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "forecast.csv").is_file()
