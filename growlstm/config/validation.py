"""Checks of a whole config: one clear message for each impossible setting or combination.

Types are Hydra's job (a typo fails at compose time); these are the values and combinations a type
cannot rule out. Each section lists (ok, problem, fix) rows; the first failing row is raised.
"""

from __future__ import annotations

from growlstm.config.choices import Accelerator, Backend, BaselineEngine, BaselineName, Fill, InputNorm, Judge, LrSchedule, Metric, Residual, values
from growlstm.config.schema import Config, TrainerConfig
from growlstm.errors import InputError

Check = tuple[bool, str, str]


def check_config(cfg: Config) -> None:
    """Reject impossible combinations with one clear message each (types are Hydra's job)."""
    for section in (_goal_and_scope, _eval_and_sizes, _growth, _model_and_training, _choices):
        for ok, problem, fix in section(cfg):
            if not ok:
                raise InputError(problem, fix)
    check_accelerator(cfg.trainer)
    check_extras(cfg)


def _goal_and_scope(cfg: Config) -> list[Check]:
    metrics = values(Metric)  # Python callers may pass any string; Hydra checked the CLI's
    goal, growth = cfg.goal, cfg.growth
    return [
        (goal.metric in metrics, f"goal.metric={goal.metric} is not a metric", f"use one of {', '.join(metrics)}"),
        (not (cfg.model.series_id and growth.scope == "local"), "model.series_id=true needs one network for several series",
         "add growth.scope=global, or drop model.series_id"),
        (not (cfg.model.series_stats and growth.scope == "local"), "model.series_stats=true needs one network for several series",
         "add growth.scope=global, or drop model.series_stats"),
        (growth.init in ("cold", "warm"), f"growth.init={growth.init} is not understood", "use growth.init=cold or growth.init=warm"),
        (0 < growth.shrink <= 1 and growth.perturb >= 0, f"growth.shrink={growth.shrink}, growth.perturb={growth.perturb} out of range",
         "use 0 < growth.shrink <= 1 and growth.perturb >= 0 (e.g. 0.6 and 0.01)"),
        (growth.lagging is None or growth.lagging >= 0, f"growth.lagging={growth.lagging} must be >= 0",
         "e.g. growth.lagging=0.1 (a seed 10% behind the best restarts), or null to grow every seed"),
        (not (cfg.model.init_seeds and not cfg.model.init_from), "model.init_seeds needs model.init_from (the checkpoint whose seeds it names)",
         "set model.init_from=<stage checkpoint.pt>, or leave model.init_seeds empty"),
        (goal.beat in ("best_baseline", "none"), f"goal.beat={goal.beat} is not understood", "use goal.beat=best_baseline or goal.beat=none"),
        (goal.target is None or goal.target > 0,
         f"goal.target={goal.target} can never be met: {str(goal.metric).upper()} measures an error, which is never below 0 (0: no error at all)",
         "give a positive target, e.g. goal.target=0.9 (a MASE below 1 beats the naive forecast)"),
        (0 <= goal.margin < 1, f"goal.margin={goal.margin} must be in [0, 1)", "e.g. goal.margin=0.05 for 5% better"),
        (goal.significance is None or 0 < goal.significance < 1, f"goal.significance={goal.significance} must be in (0, 1)",
         "e.g. goal.significance=0.05, or leave it unset"),
    ]


def _eval_and_sizes(cfg: Config) -> list[Check]:
    e = cfg.eval
    return [
        (e.early_stop in ("slice", "val"), f"eval.early_stop={e.early_stop} is not understood", "use eval.early_stop=slice or eval.early_stop=val"),
        (e.val_origins >= 1 and e.test_origins >= 1 and (e.step is None or e.step >= 1),
         f"eval.val_origins={e.val_origins}, eval.test_origins={e.test_origins}, eval.step={e.step} must be >= 1",
         "e.g. eval.val_origins=3 eval.test_origins=1 (eval.step unset)"),
        (cfg.h is None or cfg.h > 0, f"h={cfg.h} must be positive", "set h to the number of steps to forecast, e.g. h=12"),
        (cfg.input_size is None or cfg.input_size > 0, f"input_size={cfg.input_size} must be positive", "set input_size=24, or leave it unset"),
    ]


def _growth(cfg: Config) -> list[Check]:
    g = cfg.growth
    return [
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
    ]


def _model_and_training(cfg: Config) -> list[Check]:
    g = cfg.growth
    return [
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


def _choices(cfg: Config) -> list[Check]:
    unknown = [str(b) for b in cfg.baselines if b not in values(BaselineName)]
    rows: list[Check] = [
        (not unknown, f"unknown baseline(s) {unknown}", f"choose among {', '.join(values(BaselineName))}"),
        (cfg.model.residual is None or cfg.model.residual in values(Residual), f"model.residual={cfg.model.residual} is not understood",
         f"use one of {', '.join(values(Residual))}, or null"),
    ]
    # model.input_norm=null is chosen by scope (growth.preparation.norm_for)
    for key, value, choice in (("model.input_norm", cfg.model.input_norm, InputNorm), ("data.fill", cfg.data.fill, Fill),
                               ("growth.judge", cfg.growth.judge, Judge), ("baseline_engine", cfg.baseline_engine, BaselineEngine),
                               ("growth.backend", cfg.growth.backend, Backend)):
        ok = value in values(choice) or (value is None and key == "model.input_norm")
        rows.append((ok, f"{key}={value} is not understood", f"use one of {', '.join(values(choice))}"))
    return rows


ACCELERATORS = values(Accelerator)


def check_accelerator(trainer: TrainerConfig) -> None:
    """Refuse a GPU backend this machine lacks: every stage would fail, not just run slower."""
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




def check_extras(cfg: Config) -> None:
    """An engine or backend whose package is not installed: say which extra installs it."""
    import importlib.util

    for key, value, package in (("baseline_engine", cfg.baseline_engine, "statsforecast"), ("growth.backend", cfg.growth.backend, "ray")):
        if value == package and importlib.util.find_spec(package) is None:
            raise InputError(f"{key}={value} needs the {package} package, which is not installed",
                             f"pip install 'growlstm[{package}]', or leave {key} at its default")
