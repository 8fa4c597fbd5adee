"""Short series: all 1001 M1 series, one run per subset, as a user would run them.

    python scripts/bench_short.py                          # the three subsets with the defaults (growth.scope=auto)
    python scripts/bench_short.py --scopes auto local global   # ... and each scope forced
    python scripts/bench_short.py --subsets m1_monthly --set trainer.max_epochs=50 --label epochs50
    python scripts/bench_short.py --quick                  # every 10th series of each subset (a smoke run)
    python scripts/bench_short.py --subsets m1_quarterly --refit-in-sequence --label refit-in-sequence   # the refit's cost before its cuts trained side by side

Each run is what `growlstm data=m4 data.path=../shared/data/m1/train.csv
data.test_path=../shared/data/m1/test.csv data.series='M1-M*' h=18 data.season_length=12` does
(the default config, M1's official horizon and season, the held-out test.csv as each series'
test span), in a fresh Python process so that its wall time and peak memory are its own.
Scores are on the official test horizon: set-level sMAPE, MASE and OWA vs Naive2 over the
series every model forecast, the LSTM's with and without the refit (`lstm_norefit`: the
searched networks, what `forecast.refit=false` gives), statsforecast's AutoETS, AutoARIMA and
AutoTheta on the same series beside them (../shared/data/m1/statsforecast_per_series.csv).

Writes <out>/bench_short.csv (one row per run; a run already there is skipped unless --force),
<out>/bench_short_series.csv (per-series rows) and <out>/bench_short.md (the tables).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M1_SUBSETS, REFERENCES, RESULTS, folder_of, read_or_empty, statsforecast_table  # noqa: E402
from bench.run import parse_settings, run_in_process  # noqa: E402
from bench.score import coverage, owa, references, with_pair  # noqa: E402
from bench.table import upsert, write  # noqa: E402

MODELS = ("recommended", "lstm", "lstm_norefit", "lstm+best", "lstm+comb", "comb", "naive", "seasonal_naive", "naive2", "arima",
          "ets", "theta")
HEADERS = ("recommended", "LSTM", "LSTM no refit", "LSTM+best", "LSTM+comb", "comb", "naive", "snaive", "naive2", "ARIMA", "ETS",
           "Theta")


def tables(runs: pd.DataFrame, series: pd.DataFrame) -> str:
    """The markdown report: one table per subset (every model on the series the LSTM forecast)."""
    lines = ["Results in bench_short.csv and bench_short_series.csv. OWA vs "
             "Naive2 on M1's official test horizon, set-level as in M4, over the series the LSTM forecast "
             "(`lstm_norefit`: the same LSTM without the refit on all data, `forecast.refit=false`); "
             "statsforecast's references on those same series. Runs named after a setting ran with the "
             "defaults of their day plus that setting: rows `no-base-input` are the defaults before the pooled "
             "network read its base's forecast as inputs (`model.base_input`), and the older named rows "
             "(`theta-base`, `judge-ensemble`, ...) ran without it too. Rows `weighted` are the defaults since the "
             "pooled interval quantiles weigh every series the same (the plain `auto` rows ran before it); "
             "`side-by-side` and `refit-in-sequence` ran the same code with the refit's three cuts in two "
             "processes and one after another (`--refit-in-sequence`), to time it. Those three ran on a CPU about 2.5 "
             "times slower than the earlier rows' (the `auto` row's quarterly code and defaults, run from the CLI "
             "that day, took 633 s against its 232 s): compare their wall times with each other only. Rows "
             "`last-step-base` are the defaults since the pooled network reads its base's forecast once, at the "
             "last input step (forecaster.pt format 2; the rows before repeated it at every step), run on a "
             "faster CPU again (see bench_base_input_cost.md for the cost measured in one run). Rows `one-array` "
             "ran the next commits (input windows built in one array) an hour later: the same scores in every "
             "column, and longer wall times from a slower machine, not the code: `last-step-base`'s own code "
             "rerun on quarterly right after took 264 s against its 197 s. Rows `series-id` add "
             "`model.series_id=true` (read at the last input step, forecaster.pt format 3), the two subsets run "
             "side by side on the 2 cores; `series-id-array` the monthly one again after the one-hots were "
             "written into the batch array directly (the same scores), while a pooled M4 hourly run shared the CPU.", ""]
    sf = statsforecast_table()
    for subset in M1_SUBSETS:
        done = runs[runs.subset == subset]
        if done.empty:
            continue
        lines += [f"## {subset}", "",
                  "| run | scope | series | forecast | by LSTM | chosen | " + " | ".join(HEADERS)
                  + " | sf AutoETS | sf AutoARIMA | sf AutoTheta | cover 80 | cover 95 | MSIS 95 | recommended | wall s | peak GiB |",
                  "|" + "---|" * (len(HEADERS) + 15)]
        for run in done.itertuples():
            rows = with_pair(series[series.label == run.label].dropna(axis=1, how="all"))
            lstm_rows = rows[rows.lstm_test_mase.notna()] if "lstm_test_mase" in rows else rows.iloc[0:0]
            scored = {m: owa(lstm_rows, m)[0] for m in MODELS}
            refs = references(lstm_rows, sf)
            chosen = run.widths if run.widths not in ("null", None) else run.sizes
            cover = coverage(rows)
            lines.append(
                f"| {run.label} | {run.scope} | {run.series} | {run.forecast} | {run.by_lstm} | {chosen} | "
                + " | ".join(f"{scored[m]:.3f}" for m in MODELS) + " | "
                + " | ".join(f"{refs[m]:.3f}" for m in REFERENCES) + " | "
                + " | ".join(f"{c:.3f}" for c in cover)
                + f" | {getattr(run, 'recommended', '')} | {run.seconds:.0f} | {run.peak_gib:.2f} |")
        for run in done.itertuples():
            if isinstance(run.stages, str) and run.stages:
                lines.append(f"- {run.label}: stages (widths, validation MASE): {run.stages}")
            refit_s = getattr(run, "refit_seconds", None)
            if refit_s is not None and refit_s == refit_s:  # not NaN: runs from before it was recorded
                lines.append(f"- {run.label}: refit of the three cuts {refit_s:.0f} s, "
                             f"{int(run.refit_workers)} at a time")
            check = json.loads(run.claim_check) if isinstance(getattr(run, "claim_check", None), str) else None
            if check:  # goal.carry_over: per-series claims are made only if they carried over within validation
                lines.append(f"- {run.label}: goal met at the first validation origin held at the last in "
                             f"{check['held']} of {check['claimed']} series: per-series claims "
                             + ("withheld" if check["withholds"] else "allowed"))
        lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subsets", nargs="+", default=list(M1_SUBSETS), choices=list(M1_SUBSETS))
    parser.add_argument("--scopes", nargs="+", default=["auto"], choices=["auto", "local", "global"])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, e.g. trainer.max_epochs=50")
    parser.add_argument("--label", default="", help="a name for these settings in the tables")
    parser.add_argument("--quick", action="store_true", help="every 10th series of each subset")
    parser.add_argument("--refit-in-sequence", action="store_true",
                        help="refit the three cuts one after another, as before they trained side by side")
    parser.add_argument("--force", action="store_true", help="rerun runs already in the CSV")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    folder_of("m1_monthly")  # the data are there
    settings = parse_settings(args.set)
    args.out.mkdir(parents=True, exist_ok=True)
    runs_path, series_path = args.out / "bench_short.csv", args.out / "bench_short_series.csv"
    runs = read_or_empty(runs_path)
    for subset in args.subsets:
        for scope in args.scopes:
            label = " ".join(x for x in (subset, scope, args.label, "quick" if args.quick else "") if x)
            if label in set(runs.label) and not args.force:
                print(f"{label}: in {runs_path.name} already (--force reruns it)")
                continue
            spec = {"subset": subset, "scope": scope, "settings": settings, "every": 10 if args.quick else 1,
                    "refit_in_sequence": args.refit_in_sequence}
            print(f"{label}: running ...", flush=True)
            out = run_in_process(spec, args.timeout)
            if out["status"] != "ok":
                print(f"{label}: failed: {out['reason']}")
                continue
            per = pd.DataFrame(out.pop("per_series")).assign(label=label)
            row = {"label": label, "subset": subset, "settings": json.dumps(settings), **out}
            runs = upsert(runs_path, pd.DataFrame([row]), "label", label)
            upsert(series_path, per, "label", label)
            lstm, n = owa(per[per.lstm_test_mase.notna()] if "lstm_test_mase" in per else per.iloc[0:0], "lstm")
            print(f"{label}: {out['forecast']}/{out['series']} forecast, {out['by_lstm']} by an LSTM, "
                  f"LSTM OWA {lstm:.3f} over {n}, {out['seconds']:.0f} s", flush=True)
    write(args.out, "bench_short", "Short series: the 1001 M1 series",
          tables(pd.read_csv(runs_path), pd.read_csv(series_path, low_memory=False)))


if __name__ == "__main__":
    main()
