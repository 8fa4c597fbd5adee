"""The learning-rate schedule (trainer.lr_schedule) and the width scaling (trainer.scale)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from growlstm.config import Config, DataConfig, ModelConfig, TrainerConfig, check_config
from growlstm.data import load
from growlstm.errors import InputError
from growlstm.growth.preparation import prepare
from growlstm.train.fit import fit_candidate
from growlstm.train.packed import fit_seeds
from growlstm.train.module import scaled


@pytest.fixture(scope="module")
def nile_windows():
    config = Config(data=DataConfig(name="nile"))
    return prepare(load(config.data), config)[1]


class Rates(Callback):
    """The optimiser's learning rate at the end of every training epoch, and after every batch."""

    def __init__(self) -> None:
        self.epochs: list[float] = []
        self.steps: list[float] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.epochs.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_onecycle_warms_up_then_anneals_per_minibatch(nile_windows) -> None:
    trainer = TrainerConfig(max_epochs=10, early_stopping_patience=100, lr=0.01, lr_schedule="onecycle")
    rates = Rates()
    fit = fit_candidate(nile_windows, [3], ModelConfig(), trainer, 0, callbacks=[rates])
    scheduler = fit.module.schedule.scheduler
    assert scheduler.last_epoch == fit.steps  # stepped once per minibatch
    peak = rates.epochs.index(max(rates.epochs))
    assert 0 < peak < len(rates.epochs) - 1
    assert max(rates.epochs) <= 0.01 + 1e-12
    assert rates.epochs[-1] < rates.epochs[0] < rates.epochs[peak]  # warm-up from lr/25, annealed below it


def test_plateau_halves_the_rate_after_validations_without_gain(nile_windows) -> None:
    trainer = TrainerConfig(max_epochs=30, early_stopping_patience=30, lr=0.05, lr_schedule="plateau", plateau_patience=1)
    rates = Rates()
    fit_candidate(nile_windows, [3], ModelConfig(), trainer, 0, callbacks=[rates])
    ratios = [r / 0.05 for r in rates.epochs]
    assert all(b <= a for a, b in zip(ratios, ratios[1:]))  # never raised
    assert min(ratios) < 1  # it fell
    assert all(any(abs(r - 0.5**k) < 1e-9 for k in range(40)) for r in ratios)  # by halvings


@pytest.mark.parametrize("schedule,widths", [("onecycle", [3]), ("plateau", [3]), ("plateau", [3, 2])])
def test_packed_seeds_match_their_solo_runs_under_a_schedule(nile_windows, schedule: str, widths: list[int]) -> None:
    # plateau_patience 1: the seeds' rates fall at different epochs within the fit, so each
    # packed seed must follow its own plateau.
    trainer = TrainerConfig(max_epochs=14, early_stopping_patience=5, loss="mse", lr=0.03, lr_schedule=schedule,
                            plateau_patience=1)
    seeds = [0, 1, 2]
    packed = fit_seeds(nile_windows, widths, ModelConfig(), trainer, seeds)
    for k, seed in enumerate(seeds):
        solo = fit_candidate(nile_windows, widths, ModelConfig(), trainer, seed)
        together = packed[k]
        assert (together.epochs, together.best_epoch) == (solo.epochs, solo.best_epoch)
        assert together.val_loss == pytest.approx(solo.val_loss, rel=1e-4, abs=1e-6)
        for name, value in solo.module.net.state_dict().items():
            torch.testing.assert_close(together.module.net.state_dict()[name], value, atol=1e-3, rtol=1e-3)


def test_plateau_rates_differ_between_packed_seeds(nile_windows) -> None:
    """The case the per-seed rates exist for: one seed's rate falls while another's does not."""
    trainer = TrainerConfig(max_epochs=14, early_stopping_patience=5, loss="mse", lr=0.03, lr_schedule="plateau",
                            plateau_patience=1)
    solo_rates = []
    for seed in [0, 1, 2]:
        rates = Rates()
        fit_candidate(nile_windows, [3], ModelConfig(), trainer, seed, callbacks=[rates])
        solo_rates.append(rates.epochs[:5])
    assert len({tuple(r) for r in solo_rates}) > 1


def test_scaling_rule() -> None:
    base = TrainerConfig(scale=True, lr=0.01, max_epochs=100, early_stopping_patience=20, plateau_patience=5)
    wide = scaled(base, [32])  # sqrt(32 / 2) = 4
    assert (wide.lr, wide.max_epochs, wide.early_stopping_patience, wide.plateau_patience) == (0.0025, 400, 80, 20)
    assert not wide.scale  # scaled once
    assert scaled(base, [8, 2]).lr == pytest.approx(0.005)  # the widest layer decides
    for narrow in ([2], [1], [2, 2]):
        assert scaled(base, narrow) == replace(base, scale=False)
    assert scaled(replace(base, scale=False), [32]) == replace(base, scale=False)


@pytest.mark.parametrize("setting,value", [("lr_schedule", "cyclic"), ("plateau_patience", 0),
                                           ("early_stopping_patience", 0)])
def test_config_rejects_bad_schedule_settings(setting: str, value: object) -> None:
    config = Config()
    config = replace(config, trainer=replace(config.trainer, **{setting: value}))
    with pytest.raises(InputError, match=setting):
        check_config(config)


def test_hydra_rejects_an_unknown_schedule() -> None:
    from omegaconf import OmegaConf
    from omegaconf.errors import ValidationError

    with pytest.raises(ValidationError):
        OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.from_dotlist(["trainer.lr_schedule=cyclic"]))
