"""Ray against the worker processes on the same M1 series (issue 40): the forecasts must be
identical; the table shows the largest difference and each backend's wall time.

    python scripts/bench_ray.py                      # 20 M1 quarterly series, local and global scope
    python scripts/bench_ray.py --subset m1_monthly --series 20 --scopes global

Each run is growlstm's defaults with ``growth.backend`` set, as a user would run it (Ray starts
its own local cluster of ``growth.workers`` CPUs on the first run and keeps it for the second).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import RESULTS, evenly
from bench.run import load_panel, overrides
from bench.table import markdown, write


def run(panel: Any, data: Any, h: int, scope: str, backend: str, workers: int) -> tuple[pd.DataFrame, float, int]:
    """forecast.csv of one run, its wall time and how many series an LSTM forecast."""
    from growlstm.config import Config
    from growlstm.runs.dispatch import grow_many

    config = overrides(Config(data=data, h=h), {"growth.scope": scope, "growth.backend": backend,
                                                 "growth.workers": workers})
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = grow_many(panel, config, run_dir=tmp)
        seconds = time.perf_counter() - start
        root = Path(tmp)
        if (root / "forecast.csv").is_file():  # global scope: one file
            forecast = pd.read_csv(root / "forecast.csv")
        else:  # local scope: each series' own folder
            from growlstm.runs.shared import series_folder

            forecast = pd.concat([pd.read_csv(series_folder(root, u) / "forecast.csv").assign(unique_id=u)
                                  for u in panel.ids()], ignore_index=True)
    widths = result.table.widths.fillna("").astype(str) if "widths" in result.table else pd.Series(dtype=str)
    return forecast, seconds, int(widths.str.len().gt(0).sum())


def compare(a: pd.DataFrame, b: pd.DataFrame) -> tuple[bool, float]:
    """(same columns and rows, largest absolute difference over the numeric columns)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False, float("nan")
    keys = [c for c in a.columns if not pd.api.types.is_numeric_dtype(a[c])]
    if not a[keys].equals(b[keys]):
        return False, float("nan")
    numeric = a.select_dtypes("number").columns
    return True, float(np.nanmax(np.abs(a[numeric].to_numpy(float) - b[numeric].to_numpy(float))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", default="m1_quarterly", choices=["m1_monthly", "m1_quarterly", "m1_yearly"])
    parser.add_argument("--series", type=int, default=20, help="series, evenly spaced in catalogue order")
    parser.add_argument("--scopes", nargs="+", default=["local", "global"], choices=["local", "global"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.getLogger("growlstm").setLevel(logging.WARNING)

    panel, data, h = load_panel({"subset": args.subset})
    ids = evenly(panel.ids(), args.series)
    panel = replace(panel, df=panel.df[panel.df.unique_id.isin(ids)].reset_index(drop=True))
    rows = []
    for scope in args.scopes:
        runs = {backend: run(panel, data, h, scope, backend, args.workers) for backend in ("processes", "ray")}
        same, diff = compare(runs["processes"][0], runs["ray"][0])
        rows.append({"scope": scope, "series": len(ids), "forecast rows": len(runs["ray"][0]),
                     "series with an LSTM": runs["ray"][2], "identical": "yes" if same and diff == 0 else "no",
                     "max abs difference": diff, "processes s": runs["processes"][1], "ray s": runs["ray"][1]})
        print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    body = [f"{len(ids)} {args.subset} series (evenly spaced: {', '.join(ids)}), growlstm's defaults, "
            f"growth.workers={args.workers}, on this 2-core machine. Identical: every column of forecast.csv "
            "(recommended, every candidate and their intervals) equal to the last digit.", "",
            *markdown(frame, digits=3), "",
            "The Ray wall time includes starting the local cluster (first scope only)."]
    write(args.out, "bench_ray", "Ray against worker processes (scripts/bench_ray.py)", body, frame)


if __name__ == "__main__":
    main()
