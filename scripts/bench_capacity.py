"""Capacity that pays: growth's choice against fixed sizes of the pooled network.

    python scripts/bench_capacity.py                                  # every panel, every configuration
    python scripts/bench_capacity.py --panels m1_yearly --configs growth fixed-2 fixed-16
    python scripts/bench_capacity.py --summarise                      # the tables from the CSV only

Per panel (pooled M1 monthly 617, quarterly 203, yearly 181; the 70 M4 series as three pooled
panels, one per frequency) it runs, each in a fresh process (bench_short.py's job, the user's
defaults otherwise):
- `growth`: the defaults with the lookback move on (growth.lookbacks=[2,3]);
- `growth-single`: the same without the ensemble over lookbacks (forecast.ensemble=false);
- `growth-h`: the defaults without the lookback move (the lookback stays the layout's);
- `fixed-W` at each lookback of `--fixed-lookbacks` (multiples of h; 1 = the layout's): the
  fixed sizes [2], [8], [16], [32], [16,16] (model.widths, model.lookback). Each fixed size's
  "best lookback" is the one with the lowest set-level validation MASE (never the test span).
Printed per panel: chosen size and lookback, set-level validation MASE, test OWA of the LSTM and
of the recommended forecast, wall seconds, and statsforecast's AutoETS / AutoARIMA / AutoTheta on
the same series. Rows go to scripts/results/bench_capacity.csv, the tables to bench_capacity.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M1_SUBSETS, M4_SUBSETS, RESULTS, layout, read_or_empty, statsforecast_table  # noqa: E402
from bench.run import run_in_process  # noqa: E402
from bench.score import owa, references  # noqa: E402
from bench.table import upsert, write  # noqa: E402

PANELS = [*M1_SUBSETS, *M4_SUBSETS]
FIXED = {"fixed-2": [2], "fixed-8": [8], "fixed-16": [16], "fixed-32": [32], "fixed-16-16": [16, 16]}
CONFIGS = ["growth", "growth-single", "growth-h", *FIXED]


def settings_for(config: str, multiple: int, h: int) -> dict[str, Any]:
    """The overrides of one configuration (``multiple``: its lookback in h, fixed sizes only)."""
    if config == "growth":
        return {"growth.scope": "global", "growth.lookbacks": [2, 3]}
    if config == "growth-single":  # the lookback move without the ensemble over lookbacks
        return {"growth.scope": "global", "growth.lookbacks": [2, 3], "forecast.ensemble": False}
    if config == "growth-h":
        return {"growth.scope": "global"}
    settings: dict[str, Any] = {"growth.scope": "global", "model.widths": FIXED[config]}
    if multiple > 1:
        settings["model.lookback"] = multiple * h
    return settings


def run(panel: str, config: str, multiple: int, timeout: float) -> dict[str, Any]:
    spec = {"subset": panel, "scope": "global", "settings": settings_for(config, multiple, layout(panel)[1])}
    return run_in_process(spec, timeout)


def summarise(rows: pd.DataFrame, series: pd.DataFrame) -> str:
    """Per panel: every run, then each fixed size at its best validating lookback beside growth."""
    sf = statsforecast_table()
    out = ["See scripts/bench_capacity.py's docstring. Set-level validation MASE (what growth and the "
           "best-lookback choice see), test OWA vs Naive2 on the official horizon (read once, after every choice), "
           "wall seconds of the whole run (shared 2-core machine: compare within a panel).", ""]
    for panel in PANELS:
        mine = rows[rows.panel == panel]
        if mine.empty:
            continue
        per = series[series.panel == panel]
        ref = references(per[per.label == mine.label.iloc[0]], sf) if not per.empty else {}
        out += [f"## {panel}", "", "| run | chosen | lookback | val MASE | LSTM test OWA | recommended OWA | seconds |",
                "|---|---|---|---|---|---|---|"]
        for _, r in mine.iterrows():
            out.append(f"| {r.label} | {r.widths} | {r.lookback:.0f} | {r.chosen_val_mase:.3f} | {r.lstm_owa:.3f} | "
                       f"{r.recommended_owa:.3f} | {r.seconds:.0f} |")
        best = (mine[mine.config.str.startswith("fixed")].sort_values("chosen_val_mase")
                .groupby("config", sort=False).head(1).sort_values("config"))
        out += ["", "Each fixed size at its best validating lookback:", "",
                "| size | lookback | val MASE | LSTM test OWA | seconds |", "|---|---|---|---|---|"]
        for _, r in best.iterrows():
            out.append(f"| {r.widths} | {r.lookback:.0f} | {r.chosen_val_mase:.3f} | {r.lstm_owa:.3f} | {r.seconds:.0f} |")
        if not best.empty:
            top = best.lstm_owa.min()
            two = best.sort_values("seconds").seconds.tail(2).sum()
            for g in mine[mine.config.str.startswith("growth")].itertuples():
                out.append(f"\n`{g.label}`: test OWA {g.lstm_owa:.3f} = {g.lstm_owa / top:.3f} x the best fixed size's "
                           f"{top:.3f} (target <= 1.02), {g.seconds:.0f} s against {two:.0f} s for the two slowest "
                           f"fixed sizes together.")
        for g in mine[mine.config.str.startswith("growth")].itertuples():
            out.append(f"\n`{g.label}` stages (widths, validation MASE): {g.stages}")
        if ref:
            out.append("\nstatsforecast on the same series: " + ", ".join(f"{k} {v:.3f}" for k, v in ref.items()))
        out.append("")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--panels", nargs="+", default=PANELS, choices=PANELS)
    parser.add_argument("--configs", nargs="+", default=CONFIGS, choices=CONFIGS)
    parser.add_argument("--fixed-lookbacks", nargs="+", type=int, default=[1, 2],
                        help="lookbacks of the fixed sizes, in multiples of h (1: the layout's)")
    parser.add_argument("--force", action="store_true", help="rerun runs already in the CSV")
    parser.add_argument("--summarise", action="store_true", help="only write the tables from the CSV")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows_path, series_path = args.out / "bench_capacity.csv", args.out / "bench_capacity_series.csv"
    rows = read_or_empty(rows_path)
    for panel in [] if args.summarise else args.panels:
        for config in args.configs:
            for multiple in args.fixed_lookbacks if config.startswith("fixed") else [1]:
                label = f"{panel} {config}" + (f" L{multiple}h" if config.startswith("fixed") else "")
                if label in set(rows.label) and not args.force:
                    continue
                print(f"{label}: running ...", flush=True)
                out = run(panel, config, multiple, args.timeout)
                if out["status"] != "ok":
                    print(f"{label}: failed: {out['reason']}", flush=True)
                    continue
                per = pd.DataFrame(out.pop("per_series")).assign(label=label, panel=panel)
                lstm, _ = owa(per[per.lstm_test_mase.notna()], "lstm") if "lstm_test_mase" in per else (float("nan"), 0)
                rec, _ = owa(per, "recommended")
                row = {"label": label, "panel": panel, "config": config, "multiple": multiple,
                       "lstm_owa": lstm, "recommended_owa": rec,
                       **{k: out.get(k) for k in ("widths", "lookback", "chosen_val_mase", "seconds", "stages", "series")}}
                rows = upsert(rows_path, pd.DataFrame([row]), "label", label)
                upsert(series_path, per, "label", label)
                print(f"{label}: {row['widths']} L{row['lookback']} val {row['chosen_val_mase']:.3f}, LSTM OWA {lstm:.3f}, "
                      f"recommended {rec:.3f}, {row['seconds']:.0f} s", flush=True)
    write(args.out, "bench_capacity", "Capacity that pays: growth against fixed sizes of the pooled network",
          summarise(pd.read_csv(rows_path), pd.read_csv(series_path, low_memory=False)))


if __name__ == "__main__":
    main()
