"""Typed settings for every part of growlstm.

These dataclasses are the schema: the CLI registers them in Hydra's ConfigStore so that a typo
or a wrong type in an override fails at compose time, and Python users build them directly.
No Hydra import here (library code never sees a DictConfig).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

# Default horizons by frequency, as in the M4 competition (yearly 6, quarterly 8, monthly 18,
# weekly 13, daily 14, hourly 48). Used when `h` is not given.
M4_HORIZONS: dict[str, int] = {"Y": 6, "Q": 8, "M": 18, "W": 13, "D": 14, "H": 48}
# Season lengths by frequency, as in the M4 MASE definition (others: 1).
SEASON_LENGTHS: dict[str, int] = {"Y": 1, "Q": 4, "M": 12, "W": 1, "D": 1, "H": 24}


class Choice(str, Enum):
    """A setting with a fixed set of values: typed with one, Hydra rejects any other value when
    composing (``growth.init=warmm`` fails before anything runs). Members equal, hash and print
    as their plain values, so code, records and Python callers keep using strings."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


def _choice(name: str, *values: str) -> Any:
    # The functional form: some values ("global") are Python keywords. Members are named by their
    # values, which is what Hydra matches and what Enum hashes.
    return Choice(name, {v: v for v in values}, module=__name__, qualname=name)


def values(choice: type[Enum]) -> tuple[str, ...]:
    """The plain values of a ``Choice``, in order."""
    return tuple(str(m.value) for m in choice)


Fill = _choice("Fill", "error", "interpolate", "drop")
BadSeries = _choice("BadSeries", "skip", "fail")
InputNorm = _choice("InputNorm", "last", "mean", "global", "recent")
Residual = _choice("Residual", "scope", "theta", "seasonal_naive", "ets", "auto")
Loss = _choice("Loss", "mae", "mse")
Accelerator = _choice("Accelerator", "cpu", "gpu", "cuda", "mps", "auto")
Init = _choice("Init", "warm", "cold")
Scope = _choice("Scope", "auto", "local", "global")
Judge = _choice("Judge", "seeds", "ensemble")
Metric = _choice("Metric", "mae", "rmse", "smape", "mase")
Beat = _choice("Beat", "best_baseline", "none")
EarlyStop = _choice("EarlyStop", "slice", "val")
LrSchedule = _choice("LrSchedule", "none", "plateau", "onecycle")
BaselineName = _choice("BaselineName", "naive", "seasonal_naive", "naive2", "arima", "ets", "theta")


def plain(data: Any) -> Any:
    """``data`` (nested dicts and lists, as ``dataclasses.asdict`` gives) with every ``Choice``
    member replaced by its plain string: what YAML and JSON records hold."""
    if isinstance(data, Enum):
        return str(data.value)
    if isinstance(data, dict):
        return {plain(k): plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(plain(v) for v in data)
    return data


@dataclass
class DataConfig:
    """Where the series comes from.

    `name` is a built-in dataset (co2, sunspots, nile, elec_equip, macrodata) or `csv`.
    A CSV is either wide (one time column, one target column, optional feature columns) or a
    long table with an id column (`id_col`, as in Nixtla's `unique_id, ds, y`); `series` picks
    the series to grow from a long table (default: the only one, or an error listing them).
    """

    name: str = "co2"
    path: Optional[str] = None  # .csv, or .parquet / .pq
    time_col: Optional[str] = None
    target: Optional[str] = None
    id_col: Optional[str] = None
    # One id, or a pattern such as 'M4-W*' (fnmatch) that selects several; None: all series.
    series: Optional[str] = None
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

    max_epochs: int = 100
    early_stopping_patience: int = 20
    lr: float = 0.01
    weight_decay: float = 0.0
    # None: 32 windows, or about a 32nd of the training windows when there are more than 1024
    # (a global model over many series), so that an epoch stays about 32 optimiser steps.
    batch_size: Optional[int] = None
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
    accelerator: Accelerator = Accelerator.cpu
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

    start_cells: int = 2
    new_layer_cells: int = 2
    schedule: list[int] = field(default_factory=lambda: [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64])
    min_gain: float = 0.02  # relative validation gain that counts as "improving by much"
    patience: int = 1  # widenings without that gain tolerated before the width plateau
    max_layers: int = 3
    seeds: int = 3
    max_stages: int = 20
    max_minutes: float = 30.0
    alpha: float = 2.0  # rule-of-thumb alpha to start with (loosest)
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
    perturb: float = 0.0
    # Data with several series: local grows one LSTM per series (series in parallel); global
    # grows one LSTM trained on the windows of all series; auto: global when at least half the
    # series are too short for an LSTM of their own (the capacity rule), local otherwise.
    scope: Scope = Scope.auto
    # Local scope: series grown at once (worker processes); None: the cores, at most the series.
    workers: Optional[int] = None


@dataclass
class GoalConfig:
    """The accuracy the use case needs, judged on validation and reported on test.

    With `target` set, the goal is `metric <= target`. Otherwise, with `beat=best_baseline`, the
    goal is to be `margin` (relative) better than the best baseline on validation; `beat=none`
    sets no goal (the search then runs to its plateau and reports the smallest size no other beats).
    """

    metric: Metric = Metric.mase
    target: Optional[float] = None
    beat: Beat = Beat.best_baseline
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

    val_origins: int = 9
    test_origins: int = 1
    step: Optional[int] = None  # steps between origins; None: ceil(h / min(val_origins, 3))
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
    h: Optional[int] = None
    input_size: Optional[int] = None
    baselines: list[BaselineName] = field(default_factory=lambda: list(BaselineName))
    seed: int = 0
    verbose: bool = False
    # A run directory to continue (CLI: `growlstm resume=<run dir>`): its saved config is used.
    resume: Optional[str] = None
    # A finished run directory whose saved forecaster (forecaster.pt) forecasts the h steps after
    # the data ends, without training (CLI: `growlstm predict=<run dir>`); data.* gives newer data.
    predict: Optional[str] = None


def check_config(cfg: Config) -> None:
    """Reject impossible combinations with one clear message each (types are Hydra's job)."""
    from growlstm.errors import InputError

    metrics = values(Metric)  # Python callers may pass any string; Hydra checked the CLI's
    if cfg.goal.metric not in metrics:
        raise InputError(f"goal.metric={cfg.goal.metric} is not a metric", f"use one of {', '.join(metrics)}")
    if cfg.model.series_id and cfg.growth.scope == "local":
        raise InputError("model.series_id=true needs one network for several series",
                         "add growth.scope=global, or drop model.series_id")
    if cfg.model.series_stats and cfg.growth.scope == "local":
        raise InputError("model.series_stats=true needs one network for several series",
                         "add growth.scope=global, or drop model.series_stats")
    if cfg.growth.init not in ("cold", "warm"):
        raise InputError(f"growth.init={cfg.growth.init} is not understood", "use growth.init=cold or growth.init=warm")
    if not 0 < cfg.growth.shrink <= 1 or cfg.growth.perturb < 0:
        raise InputError(f"growth.shrink={cfg.growth.shrink}, growth.perturb={cfg.growth.perturb} out of range",
                         "use 0 < growth.shrink <= 1 and growth.perturb >= 0 (e.g. 0.6 and 0.01)")
    if cfg.growth.lagging is not None and cfg.growth.lagging < 0:
        raise InputError(f"growth.lagging={cfg.growth.lagging} must be >= 0",
                         "e.g. growth.lagging=0.1 (a seed 10% behind the best restarts), or null to grow every seed")
    if cfg.model.init_seeds and not cfg.model.init_from:
        raise InputError("model.init_seeds needs model.init_from (the checkpoint whose seeds it names)",
                         "set model.init_from=<stage checkpoint.pt>, or leave model.init_seeds empty")
    if cfg.goal.beat not in ("best_baseline", "none"):
        raise InputError(f"goal.beat={cfg.goal.beat} is not understood", "use goal.beat=best_baseline or goal.beat=none")
    if cfg.goal.target is not None and cfg.goal.target <= 0:
        raise InputError(f"goal.target={cfg.goal.target} can never be met: {cfg.goal.metric.upper()} measures an error, "
                         "which is never below 0 (0: no error at all)",
                         "give a positive target, e.g. goal.target=0.9 (a MASE below 1 beats the naive forecast)")
    if not 0 <= cfg.goal.margin < 1:
        raise InputError(f"goal.margin={cfg.goal.margin} must be in [0, 1)", "e.g. goal.margin=0.05 for 5% better")
    if cfg.goal.significance is not None and not 0 < cfg.goal.significance < 1:
        raise InputError(f"goal.significance={cfg.goal.significance} must be in (0, 1)", "e.g. goal.significance=0.05, or leave it unset")
    e = cfg.eval
    if e.early_stop not in ("slice", "val"):
        raise InputError(f"eval.early_stop={e.early_stop} is not understood", "use eval.early_stop=slice or eval.early_stop=val")
    if e.val_origins < 1 or e.test_origins < 1 or (e.step is not None and e.step < 1):
        raise InputError(f"eval.val_origins={e.val_origins}, eval.test_origins={e.test_origins}, eval.step={e.step} must be >= 1",
                         "e.g. eval.val_origins=3 eval.test_origins=1 (eval.step unset)")
    if cfg.h is not None and cfg.h <= 0:
        raise InputError(f"h={cfg.h} must be positive", "set h to the number of steps to forecast, e.g. h=12")
    if cfg.input_size is not None and cfg.input_size <= 0:
        raise InputError(f"input_size={cfg.input_size} must be positive", "set input_size=24, or leave it unset")
    g = cfg.growth
    checks = [
        (g.start_cells >= 1, f"growth.start_cells={g.start_cells} must be >= 1", "e.g. growth.start_cells=2"),
        (g.new_layer_cells >= 1, f"growth.new_layer_cells={g.new_layer_cells} must be >= 1", "e.g. growth.new_layer_cells=2"),
        (bool(g.schedule) and min(g.schedule) >= 1, "growth.schedule needs positive widths", "e.g. growth.schedule=[2,3,4,6,8,12,16]"),
        (g.max_layers >= 1, f"growth.max_layers={g.max_layers} must be >= 1", "e.g. growth.max_layers=3"),
        (g.seeds >= 1, f"growth.seeds={g.seeds} must be >= 1", "e.g. growth.seeds=3"),
        (g.max_stages >= 1, f"growth.max_stages={g.max_stages} must be >= 1", "e.g. growth.max_stages=20"),
        (g.max_minutes > 0, f"growth.max_minutes={g.max_minutes} must be positive", "e.g. growth.max_minutes=30"),
        (g.patience >= 0, f"growth.patience={g.patience} must be >= 0", "e.g. growth.patience=1"),
        (0 < g.alpha <= g.alpha_max, f"growth.alpha={g.alpha} must be in (0, growth.alpha_max={g.alpha_max}]", "the rule of thumb uses alpha in [2, 10]"),
        (g.min_gain >= 0, f"growth.min_gain={g.min_gain} must be >= 0", "e.g. growth.min_gain=0.02"),
        (g.scope in ("auto", "local", "global"), f"growth.scope={g.scope} is not understood", "use growth.scope=auto, local or global"),
        (g.workers is None or g.workers >= 1, f"growth.workers={g.workers} must be >= 1", "e.g. growth.workers=2, or leave it unset (the cores)"),
        (cfg.data.bad_series in ("skip", "fail"), f"data.bad_series={cfg.data.bad_series} is not understood", "use data.bad_series=skip or data.bad_series=fail"),
        (g.spread_factor >= 0, f"growth.spread_factor={g.spread_factor} must be >= 0", "e.g. growth.spread_factor=1 (0: ignore the seed spread)"),
        (min(cfg.model.widths, default=1) >= 1, f"model.widths={cfg.model.widths} must be positive", "e.g. model.widths=[8,2]"),
        (cfg.model.proj_size >= 0, f"model.proj_size={cfg.model.proj_size} must be >= 0", "0 disables the projection"),
        (cfg.model.lookback is None or cfg.model.lookback >= 1, f"model.lookback={cfg.model.lookback} must be >= 1",
         "e.g. model.lookback=36, or leave it unset (the whole input_size)"),
        (min(g.lookbacks, default=2) >= 2, f"growth.lookbacks={list(g.lookbacks)} must be multiples of h of at least 2",
         "e.g. growth.lookbacks=[2,3] (lookbacks of 2h and 3h), or [] to keep the layout's lookback"),
        (0 <= cfg.model.dropout < 1, f"model.dropout={cfg.model.dropout} must be in [0, 1)", "e.g. model.dropout=0.1"),
        (cfg.trainer.max_epochs >= 1, f"trainer.max_epochs={cfg.trainer.max_epochs} must be >= 1", "e.g. trainer.max_epochs=80"),
        (cfg.trainer.lr > 0, f"trainer.lr={cfg.trainer.lr} must be positive", "e.g. trainer.lr=0.01"),
        (cfg.trainer.devices >= 1, f"trainer.devices={cfg.trainer.devices} must be >= 1", "e.g. trainer.devices=2 (DDP), or 1"),
        (cfg.trainer.batch_size is None or cfg.trainer.batch_size >= 1, f"trainer.batch_size={cfg.trainer.batch_size} must be >= 1", "e.g. trainer.batch_size=64, or leave it unset"),
        (cfg.trainer.early_stopping_patience >= 1, f"trainer.early_stopping_patience={cfg.trainer.early_stopping_patience} must be >= 1", "e.g. trainer.early_stopping_patience=20"),
        (cfg.trainer.lr_schedule in values(LrSchedule), f"trainer.lr_schedule={cfg.trainer.lr_schedule} is not understood", "use trainer.lr_schedule=none, plateau or onecycle"),
        (cfg.trainer.plateau_patience >= 1, f"trainer.plateau_patience={cfg.trainer.plateau_patience} must be >= 1", "e.g. trainer.plateau_patience=5 (below trainer.early_stopping_patience)"),
        (bool(cfg.forecast.levels) and all(0 < lv < 100 for lv in cfg.forecast.levels),
         f"forecast.levels={cfg.forecast.levels} must be percentages in (0, 100)", "e.g. forecast.levels=[80,95]"),
        (0 < cfg.forecast.significance < 1, f"forecast.significance={cfg.forecast.significance} must be in (0, 1)",
         "e.g. forecast.significance=0.05"),
        (0 < cfg.forecast.series_significance < 1,
         f"forecast.series_significance={cfg.forecast.series_significance} must be in (0, 1)", "e.g. forecast.series_significance=0.3"),
        (0 < cfg.goal.claim_significance < 1, f"goal.claim_significance={cfg.goal.claim_significance} must be in (0, 1)",
         "e.g. goal.claim_significance=0.05"),
        (cfg.trainer.loss in ("mse", "mae"), f"trainer.loss={cfg.trainer.loss} is not understood", "use trainer.loss=mse or trainer.loss=mae"),
        # Seeds go to torch and numpy, which take 0 .. 2**32-1; a run uses seed, seed+1, ...
        (cfg.seed >= 0, f"seed={cfg.seed} is negative", "use a seed >= 0 (the run uses seed, seed+1, ... for its growth.seeds)"),
    ]
    for ok, problem, fix in checks:
        if not ok:
            raise InputError(problem, fix)
    check_accelerator(cfg.trainer)
    unknown = [str(b) for b in cfg.baselines if b not in values(BaselineName)]
    if unknown:
        raise InputError(f"unknown baseline(s) {unknown}", f"choose among {', '.join(values(BaselineName))}")
    if cfg.model.residual is not None and cfg.model.residual not in values(Residual):
        raise InputError(f"model.residual={cfg.model.residual} is not understood", f"use one of {', '.join(values(Residual))}, or null")
    for key, value, choice in (("model.input_norm", cfg.model.input_norm, InputNorm), ("data.fill", cfg.data.fill, Fill),
                               ("growth.judge", cfg.growth.judge, Judge)):
        if value is None and key == "model.input_norm":
            continue  # chosen by scope (growth.preparation.norm_for)
        if value not in values(choice):
            raise InputError(f"{key}={value} is not understood", f"use one of {', '.join(values(choice))}")


ACCELERATORS = values(Accelerator)


def check_accelerator(trainer: TrainerConfig) -> None:
    """Refuse a GPU backend this machine lacks: every stage would fail, not just run slower."""
    from growlstm.errors import InputError

    accel = trainer.accelerator
    if accel not in ACCELERATORS:
        raise InputError(f"trainer.accelerator={accel} is not understood", f"use one of {', '.join(ACCELERATORS)}")
    if accel in ("cpu", "auto"):
        return
    import torch  # only now: asking torch costs seconds, and only a GPU run needs the answer

    cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    mps = int(torch.backends.mps.is_available())
    found = {"cuda": cuda, "mps": mps}.get(accel, cuda or mps)  # Lightning's gpu: CUDA, else Apple's MPS
    if found < trainer.devices:
        have = f"only {found} {accel} device(s)" if found else f"no {accel} device"
        raise InputError(f"trainer.accelerator={accel} (trainer.devices={trainer.devices}), but torch finds {have} on this machine",
                         "use trainer.accelerator=cpu (the default), or run on a machine with that GPU")


# Name under which the CLI registers `Config` in Hydra's ConfigStore; recorded stage configs list
# it in their defaults so Hydra type-checks them like the primary config.
SCHEMA_NAME = "growlstm_schema"


# Settings older versions saved that no longer exist, ignored when their runs are read back
# (resume, predict): growth.overfit_ratio (alpha now rises on evidence that capacity hurts).
RETIRED = {"GrowthConfig": {"overfit_ratio"}}


def config_from_dict(data: dict, cls: type = Config) -> "Config":
    """Rebuild a config dataclass from plain data (a saved run.yaml), rejecting unknown keys."""
    import dataclasses
    import typing

    from growlstm.errors import InputError

    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    data = {k: v for k, v in data.items() if k not in RETIRED.get(cls.__name__, set())}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"unknown setting(s) {unknown} in a saved {cls.__name__}", "was it written by another growlstm version?")
    kwargs = {}
    for key, value in data.items():
        if dataclasses.is_dataclass(hints[key]) and isinstance(value, dict):
            value = config_from_dict(value, hints[key])
        kwargs[key] = value
    return cls(**kwargs)
