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
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_many.py: overrides, run_in_process
from bench_many import collection_data, overrides, run_in_process  # noqa: E402

M1_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "m1"
SUBSETS = {"m1_monthly": ("M1-M*", 18, 12), "m1_quarterly": ("M1-Q*", 8, 4), "m1_yearly": ("M1-Y*", 6, 1)}
REFERENCES = ("AutoETS", "AutoARIMA", "AutoTheta")


def parse_value(text: str) -> Any:
    """An override's value as YAML reads it (numbers, true/false, null, lists)."""
    import yaml

    return yaml.safe_load(text)


def job(spec: dict[str, Any]) -> dict[str, Any]:
    """One run (in its own process): the subset through growlstm's loader and ``grow_many``."""
    import logging

    import growlstm
    from growlstm.config import Config

    logging.getLogger("growlstm").setLevel(logging.WARNING)
    # Another collection in the same uid,t,value layout (bench_recommend.py: the M4 subset).
    folder = Path(spec.get("data_dir", M1_DIR))
    pattern, h, season = spec.get("layout") or SUBSETS[spec["subset"]]
    data = collection_data(folder, pattern, season)
    panel = growlstm.load(data)
    if spec.get("every", 1) > 1:
        from dataclasses import replace

        ids = panel.ids()[:: spec["every"]]
        panel = replace(panel, df=panel.df[panel.df.unique_id.isin(ids)].reset_index(drop=True))
    config = Config(data=data, h=h)
    settings = dict(spec.get("settings", {}))
    if spec["scope"] != "auto":
        settings["growth.scope"] = spec["scope"]
    config = overrides(config, settings)
    from growlstm.runs.dispatch import grow_many

    if spec.get("refit_in_sequence"):  # --refit-in-sequence: the three refits one after another (to time the default)
        from growlstm.runs import pooled_refit

        pooled_refit.REFIT_SIDE_BY_SIDE = float("inf")

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = grow_many(panel, config, run_dir=tmp)
    seconds = time.perf_counter() - start
    table = result.table
    block = result.extra.get("global") or {}
    ok = table[table.status == "ok"] if "status" in table else table
    by_lstm = int(ok.widths.fillna("").astype(str).str.len().gt(0).sum()) if "widths" in ok else 0
    cols = [c for c in table.columns if c in ("uid", "status", "widths", "residual", "recommended", "recommended_reference",
                                               "recommended_reason", "goal_met_val",
                                               "goal_met_val_mean", "goal_met_val_p", "goal_met_val_origins",
                                               "goal_claims_withheld", "goal_met_test")
            or c.startswith(("coverage_", "msis_")) or c.endswith(("_test_smape", "_test_mase"))]
    return {
        "scope": result.scope, "series": int(len(table)), "forecast": int(len(ok)), "by_lstm": by_lstm,
        "sizes": json.dumps(result.sizes), "widths": json.dumps(block.get("widths")),
        # The chosen stage's lookback (growth.lookbacks, model.lookback) and set-level validation MASE.
        "lookback": block.get("lookback") or block.get("input_size"),
        "chosen_val_mase": (block["stages"][block["chosen_stage"]]["val"].get("mase")
                            if block.get("chosen_stage") is not None else None),
        "stages": "; ".join(f"{st['widths']} {st['val'].get('mase', float('nan')):.3f}" for st in block.get("stages", []))
        + (f"; stop: {block['stop_reason']}" if block else ""),
        # The global scope's check on per-series claims (goal.carry_over): first origin to last.
        "claim_check": json.dumps(block.get("claim_check")),
        "recommended": json.dumps(table.recommended.value_counts().to_dict()) if "recommended" in table else "{}",
        # The panel's reason line, and how often a per-series choice would have changed it (verdict.advice).
        "reason": (result.extra.get("recommendation") or {}).get("reason"),
        "reference": (result.extra.get("recommendation") or {}).get("reference"),
        "per_series_check": json.dumps((result.extra.get("recommendation") or {}).get("per_series")),
        "seconds": seconds, "per_series": table[cols].to_dict(orient="records"),
        # The global refit's own time and processes (summary.json: global.refit).
        "refit_seconds": (block.get("refit") or {}).get("seconds"), "refit_workers": (block.get("refit") or {}).get("workers"),
    }


def run_job(spec: dict[str, Any]) -> None:
    out = job(spec)
    # ru_maxrss is in KiB on Linux: the largest of this process and its (waited-for) workers.
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    out["peak_gib"] = peak / 2**20
    print("RESULT " + json.dumps(out), flush=True)


def owa(rows: pd.DataFrame, model: str) -> tuple[float, int]:
    """Set-level OWA of ``model`` vs Naive2 over the rows where both have scores (as in M4)."""
    cols = [f"{model}_test_smape", f"{model}_test_mase", "naive2_test_smape", "naive2_test_mase"]
    if not all(c in rows for c in cols):
        return float("nan"), 0
    both = rows.dropna(subset=cols)
    if both.empty:
        return float("nan"), 0
    value = 0.5 * (both[cols[0]].mean() / both[cols[2]].mean() + both[cols[1]].mean() / both[cols[3]].mean())
    return float(value), len(both)


def statsforecast_table() -> pd.DataFrame:
    """statsforecast's sMAPE and MASE per series (columns (metric, method), methods AutoETS,
    AutoARIMA, AutoTheta and Naive2): M1 from the shared file, M4 from bench_baselines.csv
    (scripts/bench_baselines.py)."""
    frames = [pd.read_csv(M1_DIR / "statsforecast_per_series.csv")]
    path = Path(__file__).resolve().parent / "results" / "bench_baselines.csv"
    if path.exists():
        names = {"sf_ets": "AutoETS", "sf_arima": "AutoARIMA", "sf_theta": "AutoTheta", "naive2": "Naive2"}
        m4 = pd.read_csv(path)
        frames.append(m4[m4.method.isin(list(names))].assign(method=lambda f: f.method.map(names)))
    per = pd.concat(frames, ignore_index=True)
    per = per[per.method.isin([*REFERENCES, "Naive2"])]
    return per.pivot_table(index="uid", columns="method", values=["smape", "mase"])


def references(rows: pd.DataFrame, table: pd.DataFrame) -> dict[str, float]:
    """statsforecast's OWA vs Naive2 on ``rows``' series (nan when some series lack a reference)."""
    if not rows.uid.isin(table.index).all():
        return {r: float("nan") for r in REFERENCES}
    per = table.loc[rows.uid]
    return {r: float(0.5 * (per["smape", r].mean() / per["smape", "Naive2"].mean()
                            + per["mase", r].mean() / per["mase", "Naive2"].mean())) for r in REFERENCES}


MODELS = ("recommended", "lstm", "lstm_norefit", "lstm+best", "lstm+comb", "comb", "naive", "seasonal_naive", "naive2", "arima",
          "ets", "theta")
HEADERS = ("recommended", "LSTM", "LSTM no refit", "LSTM+best", "LSTM+comb", "comb", "naive", "snaive", "naive2", "ARIMA", "ETS",
           "Theta")


def with_pair(rows: pd.DataFrame) -> pd.DataFrame:
    """``lstm+best_*``: each row's own LSTM+<baseline> combination, under one name."""
    rows = rows.copy()
    for key in ("smape", "mase"):
        cols = [c for c in rows.columns if c.startswith("lstm+") and not c.startswith("lstm+comb_")
                and c.endswith(f"_test_{key}")]
        rows[f"lstm+best_test_{key}"] = rows[cols].bfill(axis=1).iloc[:, 0] if cols else float("nan")
    return rows


def tables(runs: pd.DataFrame, series: pd.DataFrame) -> str:
    """The markdown report: one table per subset (every model on the series the LSTM forecast)."""
    lines = ["# Short series: the 1001 M1 series", "",
             "`python scripts/bench_short.py` (results in bench_short.csv and bench_short_series.csv). OWA vs "
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
    for subset in SUBSETS:
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
            refs = references(lstm_rows, statsforecast_table()) if len(lstm_rows) else {m: float("nan") for m in REFERENCES}
            chosen = run.widths if run.widths not in ("null", None) else run.sizes
            cover = [rows[c].mean() if c in rows else float("nan") for c in ("coverage_80", "coverage_95", "msis_95")]
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
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--subsets", nargs="+", default=list(SUBSETS), choices=list(SUBSETS))
    parser.add_argument("--scopes", nargs="+", default=["auto"], choices=["auto", "local", "global"])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, e.g. trainer.max_epochs=50")
    parser.add_argument("--label", default="", help="a name for these settings in the tables")
    parser.add_argument("--quick", action="store_true", help="every 10th series of each subset")
    parser.add_argument("--refit-in-sequence", action="store_true",
                        help="refit the three cuts one after another, as before they trained side by side")
    parser.add_argument("--force", action="store_true", help="rerun runs already in the CSV")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    if args.job:
        run_job(json.loads(args.job))
        return
    if not M1_DIR.is_dir():
        raise SystemExit(f"M1 data not found at {M1_DIR} (it lives in ../shared/data/m1)")
    settings = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    args.out.mkdir(parents=True, exist_ok=True)
    runs_path, series_path = args.out / "bench_short.csv", args.out / "bench_short_series.csv"
    runs = pd.read_csv(runs_path) if runs_path.exists() else pd.DataFrame(columns=["label"])
    series = pd.read_csv(series_path) if series_path.exists() else pd.DataFrame(columns=["label"])
    for subset in args.subsets:
        for scope in args.scopes:
            label = " ".join(x for x in (subset, scope, args.label, "quick" if args.quick else "") if x)
            if label in set(runs.label) and not args.force:
                print(f"{label}: in {runs_path.name} already (--force reruns it)")
                continue
            spec = {"subset": subset, "scope": scope, "settings": settings, "every": 10 if args.quick else 1,
                    "refit_in_sequence": args.refit_in_sequence}
            print(f"{label}: running ...", flush=True)
            out = run_in_process(spec, args.timeout, script=__file__)
            if out["status"] != "ok":
                print(f"{label}: failed: {out['reason']}")
                continue
            per = pd.DataFrame(out.pop("per_series")).assign(label=label)
            row = {"label": label, "subset": subset, "settings": json.dumps(settings), **out}
            # Read again: another invocation may have written its runs meanwhile (keep them).
            runs = pd.read_csv(runs_path) if runs_path.exists() else runs
            series = pd.read_csv(series_path) if series_path.exists() else series
            runs = pd.concat([runs[runs.label != label], pd.DataFrame([row])], ignore_index=True)
            series = pd.concat([series[series.label != label], per], ignore_index=True)
            runs.to_csv(runs_path, index=False)  # rewritten whole: columns may grow between versions
            series.to_csv(series_path, index=False)
            lstm, n = owa(per[per.lstm_test_mase.notna()] if "lstm_test_mase" in per else per.iloc[0:0], "lstm")
            print(f"{label}: {out['forecast']}/{out['series']} forecast, {out['by_lstm']} by an LSTM, "
                  f"LSTM OWA {lstm:.3f} over {n}, {out['seconds']:.0f} s", flush=True)
    runs = pd.read_csv(runs_path)
    series = pd.read_csv(series_path)
    text = tables(runs, series)
    (args.out / "bench_short.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
