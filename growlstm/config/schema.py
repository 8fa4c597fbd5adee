"""Typed settings for every part of growlstm.

These dataclasses are the schema: the CLI registers them in Hydra's ConfigStore so that a typo
or a wrong type in an override fails at compose time, and Python users build them directly.
No Hydra import here (library code never sees a DictConfig).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from growlstm.config.choices import (Accelerator, Backend, BadSeries, BaselineEngine, BaselineName, Beat, EarlyStop, Fill,
                                     Init, InputNorm, Judge, Loss, LrSchedule, Metric, Residual, Scope)



@dataclass
class DataConfig:
    """Where the series comes from.

    `name` is a built-in dataset (co2, sunspots, nile, elec_equip, macrodata) or `csv`.
    A CSV is either wide (one time column, one target column, optional feature columns) or a
    long table with an id column (`id_col`, as in Nixtla's `unique_id, ds, y`); `series` picks
    the series to grow from a long table (default: the only one, or an error listing them).
    """

    # A built-in dataset (co2, sunspots, nile, elec_equip, macrodata, m4_sample) or csv.
    name: str = "co2"
    path: Optional[str] = None  # .csv, or .parquet / .pq
    # The time column; null: ds (a wide file may have none: integer steps).
    time_col: Optional[str] = None
    # The column to forecast; null: y.
    target: Optional[str] = None
    # Long tables: the series id column; null: unique_id.
    id_col: Optional[str] = None
    # One id, or a pattern such as 'M4-W*' (fnmatch) that selects several; None: all series.
    series: Optional[str] = None
    # Extra numeric columns the LSTM reads as inputs.
    features: list[str] = field(default_factory=list)
    freq: Optional[str] = None  # pandas alias (MS, M, Q, A, W, D, H); inferred when None
    season_length: Optional[int] = None  # inferred from freq when None
    fill: Fill = Fill.error  # missing values: error | interpolate | drop
    # Held-out actuals in a second file (as M4's test.csv: id, step, value): appended after each
    # series' data and used only as its test span, which must then be exactly that long.
    test_path: Optional[str] = None
    # A series that fails validation (too short, constant, duplicated times, ...) in a table of
    # several: skip (report it and go on with the others) | fail (stop the run).
    bad_series: BadSeries = BadSeries.skip


@dataclass
class ModelConfig:
    """The LSTM stack. `widths` empty means: let the growth search choose the widths.

    A non-empty `widths` trains exactly that architecture (this is what each stage's recorded
    config holds, so any stage can be retrained alone).
    """

    # A fixed architecture (cells per layer, e.g. [8,2]): trained, not searched; []: grow it.
    widths: list[int] = field(default_factory=list)
    proj_size: int = 0  # recurrent projection (LSTMP) size per layer; 0 = none
    dropout: float = 0.0  # between stacked layers
    # What each window is measured from: last (the last input value, in training stds), recent
    # (the same, in the lookback's mean absolute value where that is below one std), mean (the
    # window's mean) or global (plain standardisation). None: recent for a network pooled over
    # many series (M1 monthly, global LSTM OWA 0.929 -> 0.915), last for a series' own network
    # (sunspots, whose level nears zero at each solar minimum: validation MASE 1.14 -> 1.32).
    input_norm: Optional[InputNorm] = None
    # Residual treatment: a classical forecast (theta, seasonal_naive, ets, or auto: the better of
    # theta and seasonal_naive on validation, per series) that the LSTM corrects;
    # the network then predicts (actual - that forecast from each origin). None: it forecasts alone.
    # scope (the default): ets for a network pooled over many series (M1, global LSTM OWA monthly
    # 0.915 -> 0.904, quarterly 0.876 -> 0.863, yearly 0.779 -> 0.763), theta for a series' own
    # network (the best treatment on the M4 benchmark, scripts/results/bench_m4.md).
    residual: Optional[Residual] = Residual.scope
    # Global scope only: each series' identity as one-hot inputs, read at the last input step (as
    # the base forecast), so the one network learns a per-series offset of its first layer's gates
    # there (a learned series embedding). At most
    # SERIES_ID_MAX series: the inputs (and the capacity rule's N_i) grow with the series count.
    series_id: bool = False
    # Global scope only: statistics of each window's series as inputs at the last input step, so
    # the one network can tell series apart in ways that hold for series it never saw (unlike
    # series_id): log10 of the series' training std and of its training points, its last value
    # before the origin against its training mean, and the origin's position in the season
    # (sin, cos; none for m=1). None: off (no validation gain measured yet: scripts/bench_series_stats.py).
    series_stats: Optional[bool] = None
    # The residual base's forecast from each origin, measured from the window's level, as h more
    # inputs at every step: the network sees what it corrects (no effect without a base). None:
    # on for a network pooled over many series, off for a series' own (whose capacity cap the h
    # more inputs would halve; unmeasured there).
    base_input: Optional[bool] = None
    # Start from this stage checkpoint, grown exactly to `widths` (warm growth; recorded in the
    # config of every warm stage so it can be retrained alone).
    init_from: Optional[str] = None
    # With init_from: per seed, the checkpoint's seed (its position) to grow from; null for fresh
    # weights (a warm stage records it where growth restarted a lagging seed, growth.lagging);
    # empty: each seed from its own.
    init_seeds: list[Optional[int]] = field(default_factory=list)
    # The input steps the network reads: the last `lookback` of each window (null: all of
    # `input_size`). Growth's lookback move sets it per stage (growth.lookbacks), and each stage's
    # recorded config holds it, so the stage retrains alone; never more than the windows' length.
    lookback: Optional[int] = None


@dataclass
class TrainerConfig:
    """How each candidate is trained (Lightning, CPU by default)."""

    # The most epochs a stage trains.
    max_epochs: int = 100
    # Epochs without a better early-stopping loss before a stage stops.
    early_stopping_patience: int = 20
    # Adam's learning rate.
    lr: float = 0.01
    # Adam's weight decay.
    weight_decay: float = 0.0
    # None: 32 windows, or about a 32nd of the training windows when there are more than 1024
    # (a global model over many series), so that an epoch stays about 32 optimiser steps.
    batch_size: Optional[int] = None
    # Gradient norm clipping.
    grad_clip: float = 1.0
    # The learning rate over a fit (torch.optim.lr_scheduler): none (constant trainer.lr), plateau
    # (ReduceLROnPlateau: halved after plateau_patience validations without a lower loss; each
    # packed seed on its own) or onecycle (OneCycleLR over max_epochs: warm-up to trainer.lr, then
    # cosine annealing, stepped per minibatch; early stopping still ends a fit and keeps its best).
    lr_schedule: LrSchedule = LrSchedule.none
    # plateau: validations without a lower early-stopping loss before the rate is halved.
    plateau_patience: int = 5
    # Scale lr, max_epochs and early_stopping_patience to the network's width (growlstm.train.module.scaled):
    # a layer of W > 2 cells trains at lr * sqrt(2 / W) for sqrt(W / 2) x the epochs and patience,
    # so lr x epochs (how far Adam may travel) stays what it is at 2 cells. The batch size already
    # grows with the number of windows (batch_size null).
    scale: bool = False
    # Training loss on the scaled targets: mae (absolute error, what MASE and sMAPE average) or
    # mse (squared error). mae by the numbers: M1 monthly global OWA 0.930 against 0.938; on the
    # five built-in series test MASE 0.98x of mse's (geometric mean).
    loss: Loss = Loss.mae
    # Lightning's accelerator: cpu | gpu | cuda | mps | auto; a GPU torch cannot find is refused before the run.
    accelerator: Accelerator = Accelerator.cpu
    # Lightning's deterministic mode: the same seed gives the same run.
    deterministic: bool = True
    # Train a stage's seeds as one packed model (block-diagonal weights): each seed's result is
    # the same as training it alone, at a fraction of the cost; false trains them one by one.
    batch_seeds: bool = True
    # Processes (CPU) or GPUs one training run uses: > 1 trains with Lightning's DDP strategy
    # (spawned processes, gloo on CPU), each process taking its share of every batch; meant for
    # the global scope's large window sets. Seeds are then trained one after another.
    devices: int = 1


@dataclass
class GrowthConfig:
    """The recipe: start tiny, widen to a plateau, deepen, stop at the goal or the cap."""

    # Cells of the first layer.
    start_cells: int = 2
    # Cells of each added layer.
    new_layer_cells: int = 2
    # The widths a layer is widened through.
    schedule: list[int] = field(default_factory=lambda: [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64])
    min_gain: float = 0.02  # relative validation gain that counts as "improving by much"
    patience: int = 1  # widenings without that gain tolerated before the width plateau
    # The most layers.
    max_layers: int = 3
    # Seeds per stage: the LSTM forecasts their mean; decisions read their scores.
    seeds: int = 3
    # The most stages (a budget).
    max_stages: int = 20
    # The most minutes of growth (a budget).
    max_minutes: float = 30.0
    alpha: float = 2.0  # rule-of-thumb alpha to start with (loosest)
    # The highest alpha the capacity rule rises to.
    alpha_max: float = 10.0
    alpha_step: float = 2.0  # added to alpha each time more capacity hurts (fits training better, validates worse)
    # Noise-aware acceptance: a widening or a new layer counts only when its mean validation
    # improvement also exceeds spread_factor x the seed noise of the two stages compared (paired,
    # seed by seed, when one grew warm from the other; else the pooled std over seeds); 0 judges
    # the mean gain alone. 0.5 by the numbers (README, "Noise-aware acceptance"): at 1 the rule
    # rejected widenings whose gains held on test.
    spread_factor: float = 0.5
    # cold: every stage trains from a fresh initialisation; warm: each stage starts from the
    # stage it grows from, widened or deepened without changing its forecasts.
    init: Init = Init.warm
    # A flat start: when the first layer's widenings all fail, train the widest width the schedule
    # and the cap allow once from fresh weights before adding layers (growth goes on from it if
    # it is better beyond the noise). null (auto): on where a series grows a network of its own,
    # off for one network pooled over many series (README, "Growing without starting over": on
    # 22 series it brought the worst test ratio to the grid from 1.38 to 1.25; on pooled M1 it
    # changed nothing at twice the time).
    probe: Optional[bool] = None
    # Warm growth: a parent seed that validated more than this (relative) worse than the parent
    # stage's best seed is not grown; that seed starts from fresh weights instead. null (the
    # default): every seed grows from its own. Off by the numbers (README, "Lagging seeds"): on
    # 22 series it mended the stuck seeds it targets but did not make test scores better
    # reliably (0.05, 0.1 and 0.2 disagreed), at a quarter more training steps.
    lagging: Optional[float] = None
    # What a stage's validation score is: the metric of the seeds' mean forecast (ensemble, what
    # the LSTM delivers), or the mean of its seeds' own metrics (seeds). The seed noise of the
    # acceptance rule is the same either way. seeds by the numbers (README, "Judging the
    # delivered forecast"): ensemble was better on the no-cap search benchmark but worse on M4
    # weekly with the cap, and the same on pooled M1.
    judge: Judge = Judge.seeds
    # The lookback move (global scope, padded lookbacks): at a layer's width plateau, the
    # accepted network reads a longer lookback of k x h steps, for each k here in turn (longer
    # than the layout's own lookback), judged by the same noise-aware rule as a widening; a
    # lookback that pays restarts the widening there. Empty: the lookback stays the layout's.
    lookbacks: list[int] = field(default_factory=list)
    split_noise: float = 0.1  # asymmetry of the outgoing-weight split when widening warm
    # Shrink and perturb (Ash & Adams 2020) after a warm growth: weights <- shrink * weights +
    # perturb * fresh initial weights. 1.0 / 0.0 keep the growth exact; the remedy if warm starts
    # generalise worse than cold ones.
    shrink: float = 1.0
    # Warm growth: noise added after shrinking (0 keeps the grown network's function exact).
    perturb: float = 0.0
    # Data with several series: local grows one LSTM per series (series in parallel); global
    # grows one LSTM trained on the windows of all series; auto: global when at least half the
    # series are too short for an LSTM of their own (the capacity rule), local otherwise.
    scope: Scope = Scope.auto
    # Local scope: series grown at once (worker processes); None: the cores, at most the series.
    workers: Optional[int] = None
    # Where the per-series work (baselines, local-scope growth, refits) runs: processes (worker
    # processes on this machine) | ray (Ray tasks, on this machine or a cluster: ray_address).
    # The same function on the same items either way, so the results are identical; global
    # training itself keeps Lightning's strategies (trainer.devices).
    backend: Backend = Backend.processes
    # backend=ray: None starts a Ray of growth.workers CPUs on this machine (or joins RAY_ADDRESS
    # when that is set); "auto" joins the cluster `ray start --head` started here; "ray://host:10001"
    # a remote one.
    ray_address: Optional[str] = None


@dataclass
class GoalConfig:
    """The accuracy the use case needs, judged on validation and reported on test.

    With `target` set, the goal is `metric <= target`. Otherwise, with `beat=best_baseline`, the
    goal is to be `margin` (relative) better than the best baseline on validation; `beat=none`
    sets no goal (the search then runs to its plateau and reports the smallest size no other beats).
    """

    # The goal's metric: mae | rmse | smape | mase.
    metric: Metric = Metric.mase
    # An absolute goal (e.g. 0.9: MASE <= 0.9); null: beat the best baseline by goal.margin.
    target: Optional[float] = None
    # Best_baseline: the goal is relative to the best baseline on validation; none: no goal (growth runs to its plateau).
    beat: Beat = Beat.best_baseline
    # How much better than the best baseline (0.05: 5%).
    margin: float = 0.05
    # With a level (e.g. 0.05) "goal met on test" also needs the chosen LSTM's test forecasts to
    # be significantly better than the best baseline's (one-sided Diebold-Mariano, HLN corrected).
    significance: Optional[float] = None
    # "Goal met on validation" is claimed only with a one-sided p-value below this that the goal
    # is met beyond the noise (Goal.claim_pvalue): a statement to the user, so a test's level.
    claim_significance: float = 0.05


@dataclass
class EvalConfig:
    """Where models are scored: several forecast origins, and data kept apart for early stopping.

    The series ends with  | train | early-stopping slice | validation span | test span |.
    Validation and test spans hold `val_origins` / `test_origins` forecast origins, `step` apart
    (each model forecasts h steps from each origin with all data before it; baselines are refitted
    per origin; metrics are averaged over origins). With `early_stop=slice`, training stops on
    windows whose targets lie in a slice as long as the validation span, just before it, so the
    windows that choose the size and judge the goal never steered training; `early_stop=val`
    stops on the validation windows themselves (the optimistic set-up, kept for comparison).
    """

    # Forecast origins in the validation span (at most; a short series gets fewer).
    val_origins: int = 9
    # Forecast origins in the test span.
    test_origins: int = 1
    step: Optional[int] = None  # steps between origins; None: ceil(h / min(val_origins, 3))
    # Slice: early stopping on a slice before validation; val: on validation itself.
    early_stop: EarlyStop = EarlyStop.slice


@dataclass
class ForecastConfig:
    """What forecast.csv is made from."""

    # Retrain the chosen architecture on all the data (validation and test spans included) before
    # forecasting, each stage of its growth path for the epochs its early stopping kept; the test
    # scores then come from a refit on the data before the test span. false: the searched networks.
    refit: bool = True
    # The LSTM forecast averages the chosen stage's seeds with those of the stages growth's
    # lookback move trained (growth.lookbacks) that it does not beat beyond the noise, at most one
    # per lookback, best-validating first: an ensemble over lookbacks, each member refitted. No
    # effect without the lookback move.
    ensemble: bool = True
    # Prediction intervals (conformal, from the validation errors) at these levels, in percent.
    levels: list[int] = field(default_factory=lambda: [80, 95])
    # A more specialised candidate (a single model over comb, the LSTM over the classical one)
    # is recommended only with a one-sided p-value on the validation errors below a level:
    # `significance` where a global run decides for 10 series or more (a paired t-test over the
    # series), `series_significance` where one series decides on its own validation origins
    # (Diebold-Mariano, origins as units). Decisions' thresholds, chosen by the numbers (README,
    # "What to use"): at 0.05 one series' nine overlapping origins almost never let a better
    # forecast through; at 0.3 a panel of hundreds of series took advantages that did not hold.
    significance: float = 0.05
    # The same where one series decides on its own validation origins (see above).
    series_significance: float = 0.3
    # Forecasts of a series that was never negative are floored at zero (sales, counts, prices):
    # every candidate's, at validation, test and in forecast.csv, and the intervals' lower bounds.
    # null: when every observed value is >= 0; true: always; false: never (a series that may
    # turn negative though it has not yet, e.g. a profit).
    nonnegative: Optional[bool] = None


@dataclass
class Config:
    """Everything a run needs. `h` and `input_size` default from the data's frequency."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    growth: GrowthConfig = field(default_factory=GrowthConfig)
    goal: GoalConfig = field(default_factory=GoalConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    # Steps to forecast; null: the M4 horizon of the frequency (yearly 6, quarterly 8, monthly 18, weekly 13, daily 14, hourly 48).
    h: Optional[int] = None
    # Window length the network is given; null: max(2h, 2m), shortened to fit a short series (down to max(h, m)).
    input_size: Optional[int] = None
    # The classical forecasts to fit and judge against (a subset of naive, seasonal_naive, naive2, arima, ets, theta).
    baselines: list[BaselineName] = field(default_factory=lambda: list(BaselineName))
    # Who fits the arima, ets and theta baselines: statsmodels (growlstm's own searches) or
    # statsforecast (Nixtla's AutoARIMA / AutoETS / AutoTheta: the `statsforecast` extra, faster).
    # Top level rather than `baselines.engine`: `baselines` is a list of names.
    baseline_engine: BaselineEngine = BaselineEngine.statsmodels
    # Stages use seeds seed .. seed + growth.seeds - 1 (>= 0).
    seed: int = 0
    # Show Lightning and statsmodels messages (off: a line per stage and the final table).
    verbose: bool = False
    # A run directory to continue (CLI: `growlstm resume=<run dir>`): its saved config is used.
    resume: Optional[str] = None
    # A finished run directory whose saved forecaster (forecaster.pt) forecasts the h steps after
    # the data ends, without training (CLI: `growlstm predict=<run dir>`); data.* gives newer data.
    predict: Optional[str] = None


