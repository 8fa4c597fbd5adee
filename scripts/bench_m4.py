"""M4 accuracy: growlstm with defaults on the M4 subset, per input treatment, beside the baselines.

Each series is its official training part followed by the official test horizon, so growlstm's
single test origin (eval.test_origins=1) *is* the M4 test. Everything else is the default
configuration (3 validation origins, early-stopping slice, goal 5% better than the best baseline
on validation), with one input treatment per run:

    last    windows measured from their last value, no residual
    mean    windows measured from their mean, no residual
    global  plain standardisation with the training mean and std, no residual
    theta   the LSTM corrects a Theta forecast (model.residual=theta), inputs by last value (default)

A series growlstm refuses (too short for the origins, or the capacity rule allows fewer cells
than the first stage) is reported as refused; set-level scores compare the LSTM and every
baseline on the series the LSTM ran on, and OWA is relative to Naive2 on those same series.

    python scripts/bench_m4.py --quick                  # a sample, all treatments: < 10 minutes
    python scripts/bench_m4.py --treatments theta       # all 70 series, the default treatment
    python scripts/bench_m4.py --per-subset 8           # 8 series per subset, all treatments
    python scripts/bench_m4.py --summarise              # tables from the CSV written so far

Writes <out>/bench_m4.csv (one row per series and treatment, appended as it goes, so an
interrupted run continues where it stopped) and <out>/bench_m4.md (tables per subset and
treatment, official M4 figures beside them, validation-to-test gaps).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
import growlstm  # noqa: E402
from growlstm.baselines import backtesting  # noqa: E402
from growlstm.config import Config, DataConfig, EvalConfig, GrowthConfig, ModelConfig  # noqa: E402
from growlstm.errors import InputError  # noqa: E402
from bench.data import M4_FREQ as SUBSETS, RESULTS, M4Series, load_m4, m4_official, per_subset  # noqa: E402
from bench.score import set_scores  # noqa: E402
from bench.table import write  # noqa: E402

TREATMENTS: dict[str, ModelConfig] = {  # explicit, whatever the defaults are
    "last": ModelConfig(input_norm="last", residual=None),
    "mean": ModelConfig(input_norm="mean", residual=None),
    "global": ModelConfig(input_norm="global", residual=None),
    "theta": ModelConfig(input_norm="last", residual="theta"),
}
BASELINES = ["naive", "seasonal_naive", "naive2", "arima", "ets", "theta"]
# A fixed sample for --quick: one series per subset (the shorter ones: about a minute each).
QUICK = ["M4-M2", "M4-W260", "M4-H9"]
OFFICIAL = ["Naive2", "SES", "Theta", "RNN", "118"]  # 118: Smyl's ES-RNN, the M4 winner


def config_for(s: M4Series, treatment: str, seed: int) -> Config:
    return Config(
        data=DataConfig(name=s.uid, season_length=s.season_length),
        model=TREATMENTS[treatment], eval=EvalConfig(test_origins=1), h=s.h, baselines=BASELINES, seed=seed,
        growth=GrowthConfig(init="cold"),  # the default when the committed figures were measured
    )


_FORECASTS: dict[tuple[str, bytes, int, int, tuple[int, ...]], tuple[list[np.ndarray], str]] = {}


def cached_backtest(name: str, y: np.ndarray, h: int, season_length: int, origins: Any) -> tuple[list[np.ndarray], str]:
    """growlstm's backtest, memoised: the treatments of a series share their origins, so each
    baseline is fitted once per span (ETS and ARIMA take seconds on hourly series)."""
    key = (name, np.asarray(y, dtype=float).tobytes(), h, season_length, tuple(int(o) for o in origins))
    if key not in _FORECASTS:
        _FORECASTS[key] = _backtest(name, y, h, season_length, origins)
    forecasts, spec = _FORECASTS[key]
    return [f.copy() for f in forecasts], spec


_backtest = backtesting.backtest
backtesting.backtest = cached_backtest  # run_baseline looks it up at call time


def run_series(s: M4Series, treatments: list[str], seed: int) -> list[dict[str, Any]]:
    """All treatments of one series in one process (they share the baselines' fits)."""
    rows = [run_one(s, t, seed) for t in treatments]
    _FORECASTS.clear()
    return rows


def run_one(s: M4Series, treatment: str, seed: int) -> dict[str, Any]:
    """Grow on one series with one treatment; one CSV row."""
    logging.getLogger("growlstm").setLevel(logging.WARNING)
    row: dict[str, Any] = {"uid": s.uid, "subset": s.subset, "treatment": treatment, "n": len(s.values)}
    start = time.perf_counter()
    try:
        result = growlstm.grow(growlstm.from_values(s.values, season_length=s.season_length, name=s.uid),
                               config_for(s, treatment, seed))
    except InputError as err:
        return row | {"status": "refused", "reason": str(err), "seconds": time.perf_counter() - start}
    chosen = result.chosen_stage
    row |= {
        "status": "ok" if chosen is not None else "no model",
        "seconds": result.seconds,
        "stages": len(result.stages),
        "stop": result.stop_reason,
        "widths": " ".join(map(str, chosen.widths)) if chosen else "",
        "params": chosen.params if chosen else 0,
        "best_baseline": result.goal.baseline,
        "goal_met_val": result.goal_met("val"),
        "goal_met_test": result.goal_met("test"),
        "dm_stat": result.significance.statistic if result.significance else math.nan,
        "dm_p_better": result.significance.pvalue_better if result.significance else math.nan,
    }
    for key in ("smape", "mase"):
        row[f"lstm_val_{key}"] = chosen.val.get(key, math.nan) if chosen else math.nan
        row[f"lstm_test_{key}"] = result.chosen_test.get(key, math.nan)
        for name, b in result.baselines.items():
            row[f"{name}_val_{key}"] = b.val.get(key, math.nan) if b.ok else math.nan
            row[f"{name}_test_{key}"] = b.test.get(key, math.nan) if b.ok else math.nan
    return row


def official_scores() -> pd.DataFrame:
    table = m4_official()
    rows = []
    for method in OFFICIAL:
        for subset, freq in SUBSETS.items():
            rows.append({"method": "ES-RNN (winner)" if method == "118" else method, "subset": subset,
                         "owa": table.loc[method, f"OWA_{freq}"]})
        rows.append({"method": "ES-RNN (winner)" if method == "118" else method, "subset": "all M4",
                     "owa": table.loc[method, "OWA_Total"]})
    return pd.DataFrame(rows).pivot(index="method", columns="subset", values="owa")


def summarise(frame: pd.DataFrame) -> str:
    """Markdown: accuracy per subset and treatment, the official figures, gaps and verdicts."""
    subsets = [s for s in SUBSETS if s in set(frame.subset)]
    parts = {s: frame[frame.subset == s] for s in subsets} | {"all": frame}
    treatments = [t for t in TREATMENTS if t in set(frame.treatment)]
    # Refusals depend on the split and the cap, not on the treatment: score every model on the
    # series all treatments ran on, so the rows of a column compare like with like.
    ran = {k: set.intersection(*[set(p[(p.treatment == t) & (p.status == "ok")].uid) for t in treatments])
           for k, p in parts.items()}
    refused = {k: p[p.status == "refused"].uid.nunique() for k, p in parts.items()}
    models = [(f"LSTM ({t})", "lstm", t) for t in treatments] + [(b, b, treatments[0]) for b in BASELINES]
    scores: dict[tuple[str, str], tuple[float, float, float]] = {}
    for key, part in parts.items():
        for label, model, t in models:
            rows = part[(part.treatment == t) & part.uid.isin(ran[key])]
            if not rows.empty:
                scores[(label, key)] = set_scores(rows, model)
    keys = [*subsets, "all"]
    lines = [
        "Test = the official M4 horizon (one origin). LSTM = the chosen stage, mean over its 3 seeds; one",
        "row per input treatment. Set-level means over the series every treatment ran on (counts below;",
        "refused: too short for the origins, or the capacity rule allows fewer cells than the first stage).",
        "OWA vs our Naive2 on the same series (it reproduces the official Naive2 forecasts).", "",
        "Series: " + ", ".join(f"{k} {len(ran[k])} ran / {refused[k]} refused" for k in keys), "",
        "## OWA", "", "| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys),
    ]
    for label, _, _ in models:
        lines.append(f"| {label} | " + " | ".join(
            f"{scores[(label, k)][2]:.3f}" if (label, k) in scores else "-" for k in keys) + " |")
    official = official_scores()
    for method, row in official.iterrows():
        cells = [row.get(k if k != "all" else "all M4", math.nan) for k in keys]
        lines.append(f"| official M4 {method} (all series) | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    lines += ["", "## sMAPE / MASE", "", "| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for label, _, _ in models:
        lines.append(f"| {label} | " + " | ".join(
            f"{scores[(label, k)][0]:.2f} / {scores[(label, k)][1]:.3f}" if (label, k) in scores else "-" for k in keys) + " |")
    lines += [
        "", "## Validation-to-test gap and verdicts", "",
        "Gap: median over series of test MASE / validation MASE (validation: mean over 3 origins). The best",
        "baseline is the one chosen on validation; \"significant\": the LSTM beats it on test by the",
        "one-sided Diebold-Mariano test (HLN) at 5%.", "",
        "| subset | treatment | LSTM val->test | best baseline val->test | goal met on val | ... held on test | LSTM better on test | significant |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in keys:
        for t in treatments:
            ok = parts[key][(parts[key].treatment == t) & parts[key].uid.isin(ran[key])]
            if ok.empty:
                continue
            best = [(r[f"{r.best_baseline}_val_mase"], r[f"{r.best_baseline}_test_mase"]) for _, r in ok.iterrows()]
            met_val = ok.goal_met_val.astype(bool)
            held = int((met_val & ok.goal_met_test.astype(bool)).sum())
            better = int(sum(r.lstm_test_mase < b[1] for (_, r), b in zip(ok.iterrows(), best)))
            lines.append(
                f"| {key} | {t} | {(ok.lstm_test_mase / ok.lstm_val_mase).median():.2f} | "
                f"{np.median([b[1] / b[0] for b in best]):.2f} | {int(met_val.sum())}/{len(ok)} | {held}/{int(met_val.sum())} | "
                f"{better}/{len(ok)} | {int((ok.dm_p_better < 0.05).sum())}/{len(ok)} |"
            )
    refused_rows = frame[frame.status == "refused"].drop_duplicates("uid")
    if not refused_rows.empty:
        lines += ["", "## Refused series", ""]
        lines += [f"- {r.uid} ({r.n} points): {r.reason}" for r in refused_rows.itertuples()]
    secs = frame.groupby("treatment").seconds.median()
    lines += ["", "Median seconds per series: " + ", ".join(f"{t} {v:.0f} s" for t, v in secs.items())
              + " (the baselines are fitted once per series and origin and shared by its treatments: the first"
              " treatment run on a series carries their cost).", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--series", nargs="*", help="M4 uids (default: all 70, or the --quick sample)")
    parser.add_argument("--per-subset", type=int, default=0, metavar="K",
                        help="K series per subset, evenly spaced in catalogue order, subsets interleaved (0: all)")
    parser.add_argument("--subsets", nargs="*", default=list(SUBSETS), choices=list(SUBSETS))
    parser.add_argument("--treatments", nargs="*", default=list(TREATMENTS), choices=list(TREATMENTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="runs in parallel (processes; default: 2 or the cores if fewer)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--tag", default="", help="suffix of the output files, e.g. quick")
    parser.add_argument("--summarise", action="store_true", help="only rebuild the tables from the CSV")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "bench_m4" + (f"_{args.tag}" if args.tag else "")
    csv_path, md_path = args.out / f"{stem}.csv", args.out / f"{stem}.md"
    done = pd.read_csv(csv_path) if csv_path.exists() else pd.DataFrame()
    if not args.summarise:
        series = [s for s in load_m4(tuple(args.subsets))]
        wanted = args.series or (QUICK if args.quick else None)
        if wanted:
            unknown = sorted(set(wanted) - {s.uid for s in series})
            if unknown:
                raise SystemExit(f"unknown M4 uid(s) {unknown} in --subsets {' '.join(args.subsets)}")
            series = [s for s in series if s.uid in wanted]
        if args.per_subset:
            series = per_subset(series, args.per_subset)
        have = set(zip(done.get("uid", []), done.get("treatment", [])))
        todo = [(s, [t for t in args.treatments if (s.uid, t) not in have]) for s in series]
        todo = [(s, ts) for s, ts in todo if ts]
        print(f"{sum(len(ts) for _, ts in todo)} runs on {len(todo)} series ({len(have)} already in {csv_path.name})",
              flush=True)
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_series, s, ts, args.seed) for s, ts in todo]
            for k, future in enumerate(as_completed(futures), 1):
                rows = future.result()
                done = pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
                done.to_csv(csv_path, index=False)
                for row in rows:
                    lstm = row.get("lstm_test_mase", math.nan)
                    print(f"[{k}/{len(todo)}] {row['uid']:<7s} {row['treatment']:<6s} {row['status']:<7s} "
                          f"widths {row.get('widths', '') or '-':<8s} test MASE lstm {lstm:.3f} "
                          f"theta {row.get('theta_test_mase', math.nan):.3f}  {row['seconds']:.0f}s", flush=True)
    if done.empty:
        raise SystemExit(f"no results in {csv_path}")
    write(args.out, stem, "M4 benchmark: growlstm (defaults) per input treatment", summarise(done))
    print(f"wrote {csv_path} and {md_path}")


if __name__ == "__main__":
    main()
