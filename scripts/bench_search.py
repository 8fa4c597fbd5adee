"""Search cost: warm growth vs cold growth vs an exhaustive grid vs Optuna TPE.

All methods search the same space (widths from the schedule up to 32, 1 to 3 layers, under the
same capacity cap) with the same training settings and seeds, and pick by mean validation MASE
over the seeds (``--judge ensemble``: by that of the seeds' mean forecast, growth.judge); test
MASE is reported for the model each method picked. Optuna gets as many trials as warm growth
trained stages. Per method and series: wall seconds, optimiser steps, chosen widths and
parameters, validation (the seeds' mean, whatever the judge) and test MASE; the summary adds
each pair of methods compared series by series.

    python scripts/bench_search.py --quick          # nile, elec_equip, M4-M2: < 5 minutes
    python scripts/bench_search.py --no-cap ...     # every method over all widths <= 32, 1-3 layers
    python scripts/bench_search.py                  # built-ins + M4 monthly, weekly/hourly samples
    python scripts/bench_search.py --series co2 M4-M1 --methods warm grid

Writes <out>/bench_search.csv (one row per method and series, appended as it goes) and
<out>/bench_search.md (medians per method, ratios to the grid).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
import growlstm  # noqa: E402
from growlstm.config import Config, DataConfig, EvalConfig, ForecastConfig, GoalConfig, GrowthConfig  # noqa: E402
from growlstm.growth.policy import CapFn  # noqa: E402
from growlstm.growth.preparation import prepare, to_panel  # noqa: E402
from bench.data import M1_DIR, RESULTS, collection_data, load_m4  # noqa: E402
from bench.run import parse_settings  # noqa: E402
from bench.table import write  # noqa: E402
from search_tables import summarise  # noqa: E402

SCHEDULE = [2, 3, 4, 6, 8, 12, 16, 24, 32]
BUILTINS = ["co2", "sunspots", "nile", "elec_equip", "macrodata"]
# The longest M1 monthly series (150 points with the official 18 held out): long enough for a
# search of their own without the capacity cap.
M1_LONG = ["M1-MNM38", "M1-MRM10", "M1-MNI29"]
# The short-series issue's global runs: one network on every series of an M1 subset (with the
# official test span), scored by the mean over series of the validation and test MASE.
PANELS = {"M1-quarterly-global": ("M1-Q*", 8, 4), "M1-monthly-global": ("M1-M*", 18, 12), "M1-yearly-global": ("M1-Y*", 6, 1)}
METHODS = ["warm", "cold", "grid", "optuna", "warm_sp", "warm_mean", "warm_minval", "warm_fresh"]
GROWTH_METHODS = ("warm", "cold", "warm_sp", "warm_mean", "warm_minval", "warm_fresh")
# The remedy for warm starts that generalise worse (Ash & Adams 2020): shrink 0.6, perturb 0.01.
SHRINK_PERTURB = {"shrink": 0.6, "perturb": 0.01}
# Growth judging a stage by its mean validation MASE alone, as the grid and Optuna pick
# (growth.spread_factor=0): how much of a gap to the grid is the noise-aware acceptance rule.
MEAN_ONLY = {"spread_factor": 0.0}
TITLE = "Search cost: growth (warm, cold) vs grid vs Optuna TPE"


def base_config(args: argparse.Namespace) -> Config:
    # --no-cap: a tiny alpha lifts the capacity cap, so the space is every width up to 32 in 1 to 3
    # layers for every method (27 uniform stacks for the grid); by default all share the cap.
    alpha = 1e-3 if args.no_cap else 2.0
    return Config(
        goal=GoalConfig(beat="none"),  # every method looks for the best size, not a goal
        growth=GrowthConfig(schedule=SCHEDULE, max_layers=3, seeds=args.seeds, max_stages=40, max_minutes=1e9,
                            alpha=alpha, alpha_max=alpha if args.no_cap else 10.0, judge=args.judge),
        baselines=["naive"],  # baselines are not what this benchmark measures
        # The search is measured, not the final forecast: every method's pick is scored by its
        # searched networks (a refit of every grid size would charge the grid for work it never needs).
        forecast=ForecastConfig(refit=False),
        eval=replace(EvalConfig(), **{k: v for k, v in (("val_origins", args.val_origins),
                                                        ("test_origins", args.test_origins)) if v}),
        seed=args.seed,
    )


def series_list(args: argparse.Namespace) -> list[tuple[str, Any, Config]]:
    """(name, data, config) for each series of the run."""
    base = base_config(args)
    out: list[tuple[str, Any, Config]] = []
    m4 = {s.uid: s for s in load_m4()}
    for name in args.series:
        if name in BUILTINS:
            config = replace(base, data=DataConfig(name=name))
            out.append((name, growlstm.load(config.data), config))
        elif name in m4:
            s = m4[name]
            config = replace(base, h=s.h, data=DataConfig(name=name, season_length=s.season_length))
            out.append((name, growlstm.from_values(s.values, season_length=s.season_length, name=name), config))
        elif name in PANELS or name in M1_LONG:
            # growlstm's own CSV loader, the official test span held out (one series or a subset).
            pattern, h, season = PANELS.get(name, (name, 18, 12))  # M1_LONG: monthly, h=18, m=12
            data = collection_data(M1_DIR, pattern, season)
            scope = "global" if name in PANELS else base.growth.scope
            config = replace(base, h=h, data=data, growth=replace(base.growth, scope=scope))
            out.append((name, growlstm.load(data), config))
        else:
            raise SystemExit(f"unknown series {name}: use a built-in ({', '.join(BUILTINS)}), an M4 uid, one of {M1_LONG} or {list(PANELS)}")
    return out


@dataclass
class Searched:
    """What a search (or one size) left, for one series or a global network on many."""

    stages: int
    steps: int
    widths: list[int]
    val: float  # validation MASE of the pick (global: mean over series), the mean of its seeds' own
    test: float  # test MASE of the pick's searched networks (global: mean over series)
    params: int
    score: float = math.nan  # what the pick was made on (--judge): ``val``, or the seeds' mean forecast's


def seeds_mean(stage: Any) -> float:
    """A stage's validation MASE as the mean of its seeds' own (what every table reports, so that
    ratios compare alike whatever a method picked on; ``stage.val`` is what it picked on)."""
    return float(sum(v["mase"] for v in stage.seed_val) / len(stage.seed_val))


def run_growth(data: Any, config: Config) -> Searched:
    if config.growth.scope == "global":
        from growlstm.runs.dispatch import grow_many

        many = grow_many(data, config)
        block = many.extra["global"]
        chosen = block["stages"][block["chosen_stage"]]
        return Searched(len(block["stages"]), int(block.get("steps", 0)), chosen["widths"], chosen["val"]["mase"],
                        float(many.scores("test").loc["lstm", "mase"]), chosen["params"], chosen["val"]["mase"])
    result = growlstm.grow(data, config)
    if not result.chosen_test:  # e.g. M4-M4 (100 points): the layout keeps no test span of its own
        raise growlstm.InputError(f"{result.n_points} points leave no test span for h={result.h}")
    stage = result.chosen_stage
    return Searched(len(result.stages), sum(s.steps for s in result.stages), stage.widths, seeds_mean(stage),
                    result.chosen_test["mase"], stage.params, stage.val["mase"])


def best_validating(data: Any, config: Config) -> Searched:
    """Warm growth as it runs, reporting the stage that validates best instead of growth's own
    choice (the smallest stage no other beats by min_gain and the noise): what that parsimony
    costs or saves on test. The stage's searched networks are read back from the run's records."""
    import tempfile

    import numpy as np

    from growlstm.baselines.backtesting import score_origins
    from growlstm.records.store import load_modules
    from growlstm.train.fit import predict

    with tempfile.TemporaryDirectory() as tmp:
        result = growlstm.grow(data, config, run_dir=tmp)
        if not result.chosen_test:
            raise growlstm.InputError(f"{result.n_points} points leave no test span for h={result.h}")
        ok = [s for s in result.stages if s.ok]
        stage = min(ok, key=lambda s: (s.val["mase"], s.params))
        test = result.chosen_test["mase"]
        if stage.index != result.chosen:
            nets = load_modules(Path(tmp) / "stages" / f"stage_{stage.index:02d}" / "checkpoint.pt")
            _, win = prepare(to_panel(data, config), config)
            mean = {int(o): np.mean([predict(m, win, int(o)) for m in nets], axis=0) for o in win.test_origins}
            test = score_origins(win, win.test_origins, lambda o: mean[int(o)])[0]["mase"]
    return Searched(len(result.stages), sum(s.steps for s in result.stages), stage.widths, seeds_mean(stage), test,
                    stage.params, stage.val["mase"])


def one_size(data: Any, config: Config, widths: list[int]) -> Searched:
    return run_growth(data, replace(config, model=replace(config.model, widths=list(widths))))


def pick(results: list[tuple[list[int], Searched]]) -> tuple[list[int], Searched]:
    ok = [(r.score, w, r) for w, r in results if math.isfinite(r.score)]
    best = min(ok, key=lambda t: t[0])
    return best[1], best[2]


def run_method(method: str, data: Any, config: Config, n_trials: int, growth: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    if method in GROWTH_METHODS:
        extra = {**{"warm_sp": SHRINK_PERTURB, "warm_mean": MEAN_ONLY}.get(method, {}), **growth}
        init = "cold" if method == "cold" else "warm"
        grown = replace(config, growth=replace(config.growth, init=init, **extra))
        got = best_validating(data, grown) if method == "warm_minval" else run_growth(data, grown)
        row = {"trained": got.stages, "steps": got.steps, "widths": got.widths, "val_mase": got.val, "test_mase": got.test,
               "params": got.params}
        if method == "warm_fresh":
            # RECIPE.md: warm growth measured against fresh training of the same final size, same
            # seeds. The row reports the fresh networks; the warm ones stay in warm_* columns.
            fresh = one_size(data, config, got.widths)
            row = {"trained": got.stages + 1, "steps": got.steps + fresh.steps, "widths": got.widths,
                   "val_mase": fresh.val, "test_mase": fresh.test, "params": fresh.params,
                   "warm_val_mase": got.val, "warm_test_mase": got.test, "warm_score": got.score,
                   "fresh_score": fresh.score}
    else:
        if config.growth.scope == "global":  # pooled, the cap never binds (README, "Capacity cap")
            cap = 10**9
        else:
            _, win = prepare(to_panel(data, config), config)
            cap = CapFn(win.n_samples, win.n_inputs, win.h)(config.growth.alpha)
        space = [[w] * d for d in (1, 2, 3) for w in SCHEDULE if w * d <= cap]
        if method == "grid":
            tried = [(w, one_size(data, config, w)) for w in space]
        else:
            tried = optuna_search(data, config, cap, n_trials)
        widths, best = pick(tried)
        row = {"trained": len(tried), "steps": sum(r.steps for _, r in tried), "widths": widths,
               "val_mase": best.val, "test_mase": best.test, "params": best.params}
    row["seconds"] = time.perf_counter() - start
    return row


def optuna_search(data: Any, config: Config, cap: int, n_trials: int) -> list[tuple[list[int], Any]]:
    """TPE over depth and per-layer widths (same schedule and cap); each trial trains a size."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tried: list[tuple[list[int], Any]] = []
    seen: dict[tuple[int, ...], float] = {}

    def objective(trial: "optuna.Trial") -> float:
        depth = trial.suggest_int("layers", 1, 3)
        widths = [trial.suggest_categorical(f"w{i}", SCHEDULE) for i in range(depth)]
        if sum(widths) > cap:
            raise optuna.TrialPruned()  # outside the space every method shares
        if tuple(widths) in seen:  # no need to train a size twice; it still counts as a trial
            return seen[tuple(widths)]
        result = one_size(data, config, widths)
        tried.append((widths, result))
        seen[tuple(widths)] = result.score if math.isfinite(result.score) else math.inf
        return seen[tuple(widths)]

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=config.seed))
    # Count only trials that were inside the space, so every method trains a comparable budget.
    while len([t for t in study.trials if t.state != optuna.trial.TrialState.PRUNED]) < n_trials:
        study.optimize(objective, n_trials=1)
        if len(study.trials) > 50 * n_trials:
            break
    return tried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="nile, elec_equip and M4-M2 (< 5 minutes)")
    parser.add_argument("--no-cap", action="store_true", help="lift the capacity cap for every method")
    parser.add_argument("--series", nargs="+", default=None)
    parser.add_argument("--methods", nargs="+", default=METHODS[:4], choices=METHODS,
                        help="warm_sp: warm growth with shrink-and-perturb; warm_mean: warm growth judging "
                        "stages by their mean alone (growth.spread_factor=0); warm_minval: warm growth reporting "
                        "its best-validating stage instead of its choice; warm_fresh: warm growth's chosen size "
                        "trained again from fresh weights (its warm scores in warm_* columns); none of these runs by default")
    parser.add_argument("--growth", nargs="+", default=[], metavar="KEY=VALUE",
                        help="growth settings for warm and cold growth, e.g. patience=2 'schedule=[2,4,8,16,32]'")
    parser.add_argument("--label", default="", help="suffix of the growth methods' names in the results (a variant)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--val-origins", type=int, default=None,
                        help="eval.val_origins for every method (default: growlstm's; the committed tables used 3)")
    parser.add_argument("--test-origins", type=int, default=None,
                        help="eval.test_origins for every method (default: growlstm's, 1): more origins judge "
                        "each pick on more of the data after validation")
    parser.add_argument("--judge", choices=["seeds", "ensemble"], default="seeds",
                        help="what every method picks on: the mean of the seeds' own validation MASE, or the "
                        "validation MASE of the seeds' mean forecast (growth.judge for the growth methods)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--tag", default="", help="suffix of the output files (shards of one benchmark; "
                        "with --summarise, of the merged summary)")
    parser.add_argument("--summarise", nargs="+", type=Path, default=None,
                        help="only merge these result CSVs (e.g. shards) into bench_search.md")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.summarise:
        frame = pd.concat([pd.read_csv(p) for p in args.summarise], ignore_index=True)
        write(args.out, f"bench_search_{args.tag}" if args.tag else "bench_search", TITLE,
              [f"Merged from {', '.join(p.name for p in args.summarise)}: {frame.series.nunique()} series "
               f"({', '.join(frame.series.unique())}); 2-core CPU, one series at a time per core.", "",
               *summarise(frame)])
        return
    if args.series is None:
        if args.quick:
            args.series = ["nile", "elec_equip", "M4-M2"]
        else:
            m4 = load_m4()
            monthly = [s.uid for s in m4 if s.subset == "m4_monthly"]
            weekly = [s.uid for s in m4 if s.subset == "m4_weekly"][:3]
            hourly = [s.uid for s in m4 if s.subset == "m4_hourly"][:1]
            args.series = BUILTINS + monthly + weekly + hourly + M1_LONG
    growth = parse_settings(args.growth, "--growth")
    logging.basicConfig(level=logging.WARNING)
    stem = ("bench_search_quick" if args.quick else "bench_search") + ("_nocap" if args.no_cap else "") + (f"_{args.tag}" if args.tag else "")
    csv_path = args.out / f"{stem}.csv"
    rows: list[dict[str, Any]] = []
    for name, data, config in series_list(args):
        n_trials = 0
        for method in args.methods:  # warm first: its stage count is Optuna's budget
            try:
                row = run_method(method, data, config, max(n_trials, 1), growth)
            except growlstm.InputError as err:  # e.g. a series too short for any LSTM under the cap
                print(f"{name:10s} skipped: {err}", flush=True)
                break
            n_trials = n_trials or row["trained"]
            label = f"{method}{args.label}" if method in GROWTH_METHODS else method
            row = {"series": name, "method": label, **row, "widths": " ".join(map(str, row["widths"]))}
            rows.append(row)
            print(f"{name:10s} {method:6s} {row['seconds']:7.1f}s  steps {row['steps']:6d}  trained {row['trained']:2d}  "
                  f"widths [{row['widths']}]  val {row['val_mase']:.3f}  test {row['test_mase']:.3f}", flush=True)
            pd.DataFrame(rows).to_csv(csv_path, index=False)  # partial results survive an interruption
    write(args.out, stem, TITLE,
          [f"Series: {', '.join(args.series)}; seeds per size: {args.seeds}; capacity cap "
           f"{'lifted' if args.no_cap else 'shared by all methods'}; 2-core CPU.", "", *summarise(pd.DataFrame(rows)),
           "", f"Per series: `{csv_path.name}`."])


if __name__ == "__main__":
    main()
