"""What a run found, as plain types: each stage's record, one series' growth result, and the
outcome over many series. The controllers fill them; records, reports and plots read them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from growlstm.config import Config
from growlstm.baselines.backtesting import BaselineResult
from growlstm.records.forecaster import Forecaster
from growlstm.verdict.goal import Goal, claimed
from growlstm.records.setlevel import set_scores, size_counts, verdict_counts
from growlstm.verdict.significance import Significance


@dataclass
class StageRecord:
    """One evaluated stage, as recorded and reported."""

    index: int
    action: str
    widths: list[int]
    params: int
    # Validation metrics as growth.judge scores the stage: of the seeds' mean forecast (ensemble)
    # or the mean of the seeds' own metrics (seeds); each seed's own are in ``seed_val``.
    val: dict[str, float]
    val_std: float  # spread (std over seeds) of the goal metric
    val_spread: dict[str, float]
    seed_val: list[dict[str, float]]
    train_loss: float
    val_loss: float
    overfit: bool  # more capacity hurt: fits training better, validates worse (it raised alpha)
    alpha: float
    cap: int
    gain: float
    seconds: float
    epochs: float
    steps: int
    decision: str = ""
    error: str = ""
    notes: list[str] = field(default_factory=list)  # e.g. retries with a lower learning rate
    init: str = "cold"  # cold: fresh weights; warm: grown from the parent stage's networks
    parent: Optional[int] = None  # the stage it was grown from (warm growth)
    kept_epochs: list[int] = field(default_factory=list)  # per seed: epochs to its kept weights (a refit's length)
    # Warm growth, per seed: the parent stage's seed it grew from (None: fresh weights, as a
    # lagging parent seed is replaced); empty when every seed grew from its own.
    seed_parents: list[Optional[int]] = field(default_factory=list)
    # Validation metrics of the seeds' mean forecast (what the LSTM delivers), whatever
    # growth.judge is; empty in records written before it existed.
    val_ensemble: dict[str, float] = field(default_factory=dict)
    # Input steps its network reads where growth moves the lookback (growth.lookbacks); None: the
    # layout's input_size.
    lookback: Optional[int] = None

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class GrowthView:
    """What growth.png shows: the stages against the baselines and the goal, the chosen stage
    and its test score. ``GrowthResult`` has these fields too; a global run builds one directly
    (set-level means over its series)."""

    series: str
    goal: Goal
    stages: list[StageRecord]
    baselines: dict[str, BaselineResult]
    stop_reason: str
    chosen: Optional[int]
    chosen_test: dict[str, float] = field(default_factory=dict)

    @property
    def chosen_stage(self) -> Optional[StageRecord]:
        return self.stages[self.chosen] if self.chosen is not None else None


@dataclass
class GrowthResult:
    """Everything the search found, decided and measured."""

    config: Config
    series: str
    n_points: int
    h: int
    input_size: int
    season_length: int
    n_samples: int
    n_inputs: int  # per time step: the target and the features
    goal: Goal
    stages: list[StageRecord]
    baselines: dict[str, BaselineResult]
    stop_reason: str
    stop_note: str
    chosen: Optional[int]
    chosen_test: dict[str, float] = field(default_factory=dict)  # mean over seeds and test origins
    chosen_test_std: float = math.nan  # spread over seeds of the goal metric
    chosen_test_origins: list[dict[str, float]] = field(default_factory=list)  # per origin, mean over seeds
    # forecast.refit: the chosen stage's test scores without the refit (the searched networks),
    # kept beside chosen_test (the refitted ones) so that a run shows what refitting did.
    search_test: dict[str, float] = field(default_factory=dict)
    refit: dict[str, Any] = field(default_factory=dict)  # the refit's origins and training lengths
    lstm_test: list[np.ndarray] = field(default_factory=list)  # the seeds' mean forecast at each test origin
    recommendation: dict[str, Any] = field(default_factory=dict)  # what to use, why, on what evidence
    significance: Optional[Significance] = None  # DM test of the chosen LSTM vs the best baseline
    val_claim_p: Optional[float] = None  # one-sided p that the chosen LSTM meets the goal on validation beyond the noise
    val_origins_met: Optional[float] = None  # share of the validation origins at which it met the goal
    forecast: Optional[pd.DataFrame] = None
    seconds: float = 0.0
    layout: dict[str, Any] = field(default_factory=dict)  # where training, early stopping, validation and test lie
    skipped: dict[str, str] = field(default_factory=dict)  # series of the table the loader left out, and why
    forecaster: Optional[Forecaster] = None  # what forecast.csv was made from (forecaster.pt; ``predict``)

    @property
    def chosen_stage(self) -> Optional[StageRecord]:
        return self.stages[self.chosen] if self.chosen is not None else None

    def goal_met(self, part: str) -> Optional[bool]:
        """Whether the chosen model meets the goal on ``part`` (val or test).

        On validation, the mean must meet the goal and do so beyond the noise (``val_claim_p``
        below ``goal.claim_significance``; ``Goal.claim_pvalue``). With ``goal.significance`` set,
        a test verdict against the best baseline also needs a significant Diebold-Mariano win.
        """
        stage = self.chosen_stage
        if stage is None:
            return False
        values = stage.val if part == "val" else self.chosen_test
        met = self.goal.met(values.get(self.goal.metric, math.nan), part)
        if part == "val":
            met = claimed(met, self.val_claim_p, self.config.goal.claim_significance)
        level = self.config.goal.significance
        if met and part == "test" and level is not None and self.goal.beat and self.goal.target is None:
            sig = self.significance
            met = sig is not None and sig.pvalue_better < level
        return met


@dataclass
class ManyResult:
    """The outcome of growing on many series (local or global scope)."""

    config: Config
    scope: str
    table: pd.DataFrame  # one row per series (setlevel.series_row)
    skipped: dict[str, str] = field(default_factory=dict)  # series the loader left out, and why
    seconds: float = 0.0
    workers: int = 1
    run_dir: Optional[Path] = None
    extra: dict[str, Any] = field(default_factory=dict)  # scope-specific facts (global: the model's stages)

    def scores(self, part: str = "test") -> pd.DataFrame:
        return set_scores(self.table, part)

    @property
    def sizes(self) -> dict[str, int]:
        return size_counts(self.table.get("widths", pd.Series(dtype=str)))

    @property
    def residual_bases(self) -> dict[str, int]:
        """How many series the LSTM corrected each classical base on (``model.residual``)."""
        return size_counts(self.table.get("residual", pd.Series(dtype=str)))

    @property
    def verdicts(self) -> dict[str, int]:
        return verdict_counts(self.table)
