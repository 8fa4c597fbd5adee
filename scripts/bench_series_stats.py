"""Does the pooled network gain from series statistics (model.series_stats)? Pooled M1, fixed widths.

    python scripts/bench_series_stats.py                                  # m1_monthly, [2] and [16], with and without
    python scripts/bench_series_stats.py --quick                          # every 10th series (a smoke run)
    python scripts/bench_series_stats.py --subsets m1_quarterly m1_yearly --widths 2 16
    python scripts/bench_series_stats.py --collect /tmp/b38c/*            # only tabulate runs made already

Each run is ``scripts/bench_short.py --scopes global --set model.widths=[W] model.series_stats=S``
(the defaults otherwise, in a fresh process; its own table in <out>/runs/<name>/). The table gives
the validation MASE of the trained network (the stage's set-level mean, the metric growth judges
and the default is chosen on) beside the test OWA of the LSTM and of the recommended forecast,
and statsforecast's AutoETS on the same series. The default is decided on the validation column.

Writes <out>/bench_series_stats.csv and <out>/bench_series_stats.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M1_SUBSETS, RESULTS, statsforecast_table  # noqa: E402
from bench.score import owa, references  # noqa: E402
from bench.table import write  # noqa: E402


def run_one(subset: str, width: int, stats: bool, quick: bool, folder: Path) -> None:
    """One bench_short run (skipped where its table already holds it)."""
    cmd = [sys.executable, str(Path(__file__).with_name("bench_short.py")), "--subsets", subset, "--scopes", "global",
           "--set", f"model.widths=[{width}]", f"model.series_stats={str(stats).lower()}",
           "--label", f"fixed[{width}] stats-{str(stats).lower()}", "--out", str(folder)] + (["--quick"] if quick else [])
    subprocess.run(cmd, check=True)


def collect(folders: list[Path]) -> pd.DataFrame:
    """One row per run found in the folders' bench_short tables."""
    sf = statsforecast_table()
    rows = []
    for folder in folders:
        runs, series = folder / "bench_short.csv", folder / "bench_short_series.csv"
        if not runs.exists():
            continue
        per_series = pd.read_csv(series, low_memory=False)
        for run in pd.read_csv(runs).itertuples():
            per = per_series[per_series.label == run.label]
            found = re.search(r"fixed\[(\d+)\] stats-(\w+)", run.label)
            val = re.search(r"\] ([\d.]+)", str(run.stages))
            lstm = per[per.lstm_test_mase.notna()] if "lstm_test_mase" in per else per.iloc[0:0]
            rows.append({
                "subset": run.subset, "series": int(run.series), "quick": run.label.endswith("quick"),
                "widths": f"[{found.group(1)}]" if found else run.widths,
                "series_stats": found.group(2) if found else "", "val_mase": float(val.group(1)) if val else float("nan"),
                "test_owa_lstm": owa(lstm, "lstm")[0], "test_owa_recommended": owa(per, "recommended")[0],
                "sf_autoets": references(per, sf)["AutoETS"], "seconds": round(float(run.seconds)),
            })
    return pd.DataFrame(rows).sort_values(["subset", "widths", "series_stats"]) if rows else pd.DataFrame()


def report(table: pd.DataFrame) -> list[str]:
    lines = ["Each run: `scripts/bench_short.py --scopes global "
             "--set model.widths=[W] model.series_stats=S`, the defaults otherwise. `val MASE`: the trained "
             "network's set-level validation MASE (what growth judges; the default is chosen on it); test OWA vs "
             "Naive2 on M1's official test horizon, set-level as in M4; sf AutoETS on the same series. `quick`: "
             "every 10th series.", "",
             "| subset | series | quick | widths | series_stats | val MASE | test OWA LSTM | test OWA recommended | "
             "sf AutoETS | seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.subset} | {r.series} | {'yes' if r.quick else 'no'} | {r.widths} | {r.series_stats} | "
                     f"{r.val_mase:.3f} | {r.test_owa_lstm:.3f} | {r.test_owa_recommended:.3f} | {r.sf_autoets:.3f} | "
                     f"{r.seconds} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subsets", nargs="+", default=["m1_monthly"], choices=list(M1_SUBSETS))
    parser.add_argument("--widths", nargs="+", type=int, default=[2, 16])
    parser.add_argument("--quick", action="store_true", help="every 10th series of each subset")
    parser.add_argument("--collect", nargs="*", type=Path, default=None, help="tabulate these bench_short folders only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    folders = list(args.collect or [])
    if args.collect is None:
        for subset in args.subsets:
            for width in args.widths:
                for stats in (False, True):
                    folder = args.out / "series_stats_runs" / f"{subset}_{width}_{str(stats).lower()}"
                    run_one(subset, width, stats, args.quick, folder)
                    folders.append(folder)
    table = collect(folders)
    write(args.out, "bench_series_stats", "Series statistics as inputs of the pooled network (model.series_stats)",
          report(table), table)


if __name__ == "__main__":
    main()
