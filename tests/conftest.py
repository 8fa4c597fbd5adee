"""Shared fixtures: tiny, fast settings so the suite stays a few minutes on 2 CPU cores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from growlstm.config import Config

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


def config_from(overrides: list[str]) -> Config:
    """The Python-API config that these CLI overrides give (``data=<name>``: a built-in dataset),
    so that the CLI tests and the API tests share one list."""
    from omegaconf import OmegaConf

    dotlist = [f"data.name={o[5:]}" if o.startswith("data=") else o for o in overrides]
    merged = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.from_dotlist(dotlist))
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


@pytest.fixture
def tiny_config() -> Config:
    """A Python-API config matching TINY_OVERRIDES."""
    return config_from(TINY_OVERRIDES)


@pytest.fixture
def shared_m4() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4"
    if not path.is_dir():
        pytest.skip(f"M4 subset not found at {path}")
    return path


# Real series for the baselines' tests (a test module's own fixture of the same name wins).
@pytest.fixture(scope="module")
def co2() -> np.ndarray:
    s = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    return s.to_numpy()


@pytest.fixture(scope="module")
def nile() -> np.ndarray:
    return sm.datasets.nile.load_pandas().data["volume"].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def sunspots() -> np.ndarray:
    return sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=float)
