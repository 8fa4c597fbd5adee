"""Shared fixtures: tiny, fast settings so the suite stays a few minutes on 2 CPU cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from growlstm.config import Config, DataConfig, EvalConfig, GrowthConfig, TrainerConfig

# Hydra overrides that shrink a CLI run to seconds (nile: 100 yearly points, h=6).
TINY_OVERRIDES = [
    "data=nile",
    "trainer.max_epochs=3",
    "trainer.early_stopping_patience=2",
    "growth.seeds=2",
    "growth.max_stages=3",
    "baselines=[naive,seasonal_naive]",
    # nile has 100 points: the default 9 validation origins leave its capacity cap at 2 cells (no
    # growth to test), 3 leave room for a few stages.
    "eval.val_origins=3",
]


@pytest.fixture
def tiny_config() -> Config:
    """A Python-API config matching TINY_OVERRIDES."""
    return Config(
        data=DataConfig(name="nile"),
        trainer=TrainerConfig(max_epochs=3, early_stopping_patience=2),
        growth=GrowthConfig(seeds=2, max_stages=3),
        baselines=["naive", "seasonal_naive"],
        eval=EvalConfig(val_origins=3),
    )


@pytest.fixture
def shared_m4() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4"
    if not path.is_dir():
        pytest.skip(f"M4 subset not found at {path}")
    return path
