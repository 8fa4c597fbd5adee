"""growlstm's Theta against statsforecast's AutoTheta (issue 40): the automatic Theta (the
standard or the optimised theta model, chosen by AIC), the standard Theta(2) it replaced, and
the optimised model alone, on every M1 series and the 70 M4 series.

    python scripts/bench_theta.py            # about 3 minutes on 2 cores
    python scripts/bench_theta.py --every 4  # every 4th series of each subset

Fitted on the official training part, scored on the official horizon. References: statsforecast
AutoTheta per series (M1: ../shared/data/m1/statsforecast_per_series.csv; M4:
scripts/results/bench_baselines.csv). OWA against the stored Naive2 of the same series.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M1_DIR, M1_SUBSETS, M4_SUBSETS, RESULTS, load_m4, load_series, statsforecast_table  # noqa: E402
from bench.table import markdown, write  # noqa: E402

from growlstm.baselines import Theta  # noqa: E402
from growlstm.baselines.seasonal import _reseasonalise, seasonal_adjustment  # noqa: E402
from growlstm.baselines.theta import fit_theta_state  # noqa: E402
from growlstm.metrics import mase, owa, smape  # noqa: E402


def optimised_only(y, h: int, m: int):  # type: ignore[no-untyped-def]
    """The optimised theta model without the AIC choice (what the choice is measured against)."""
    mode, adjusted, season, _ = seasonal_adjustment(y, m)
    state = fit_theta_state(adjusted)
    return _reseasonalise(state.forecast(state.levels(adjusted), h), mode, season)


METHODS = {
    "theta (automatic)": lambda y, h, m: Theta(m).fit(y).predict(h),
    "theta=2 (before)": lambda y, h, m: Theta(m, theta=2.0).fit(y).predict(h),
    "optimised only": optimised_only,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=1, help="every k-th series of each subset")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--from-csv", type=Path, default=None,
                        help="tabulate the per-series rows of an earlier run (its bench_theta.csv) without fitting")
    args = parser.parse_args()
    refs = statsforecast_table()
    frame = pd.read_csv(args.from_csv) if args.from_csv else fitted_rows(args.every)
    tabulate(frame, refs, args)


def fitted_rows(every: int) -> pd.DataFrame:
    """Every method on every ``every``-th series: sMAPE, MASE and seconds per series."""
    series = load_series(M1_DIR, tuple(M1_SUBSETS)) + load_m4()
    series = [s for k, s in enumerate(series) if k % every == 0]
    rows = []
    for k, s in enumerate(series, start=1):
        for method, run in METHODS.items():
            start = time.perf_counter()
            f = run(s.train, s.h, s.season_length)
            rows.append({"subset": s.subset, "uid": s.uid, "method": method, "smape": smape(s.test, f),
                         "mase": mase(s.test, f, s.train, s.season_length), "seconds": time.perf_counter() - start})
        if k % 100 == 0:
            print(f"{k}/{len(series)} series", flush=True)
    return pd.DataFrame(rows)


def tabulate(frame: pd.DataFrame, refs: pd.DataFrame, args: argparse.Namespace) -> None:
    """Set-level OWA against AutoTheta's, and the per-series spread of the MASE ratio to it."""
    table = []
    for subset in [*M1_SUBSETS, *M4_SUBSETS]:
        part = frame[frame.subset == subset]
        if part.empty:
            continue
        ref = refs.loc[sorted(set(part.uid))]
        n2s, n2m = ref["smape", "Naive2"].mean(), ref["mase", "Naive2"].mean()
        auto = owa(ref["smape", "AutoTheta"].mean(), ref["mase", "AutoTheta"].mean(), n2s, n2m)
        for method in METHODS:
            rows_m = part[part.method == method]
            value = owa(rows_m.smape.mean(), rows_m.mase.mean(), n2s, n2m)
            # Per series, MASE over AutoTheta's (a set-level mean can hide the series where one fails).
            per = rows_m.set_index("uid").mase / ref["mase", "AutoTheta"].reindex(rows_m.uid).to_numpy()
            table.append({"subset": subset, "series": len(rows_m), "method": method, "OWA": value,
                          "AutoTheta OWA": auto, "ratio": value / auto,
                          "target <= 1.01": "met" if value / auto <= 1.01 else "MISSED",
                          "median MASE ratio": per.median(), "p95": per.quantile(0.95), "worst": per.max(),
                          "share > 1.25": (per > 1.25).mean(), "s / fit": rows_m.seconds.mean()})
    out = pd.DataFrame(table)
    body = [f"{frame.uid.nunique()} series ({'every ' + str(args.every) + 'th of ' if args.every > 1 else ''}"
            "M1 and the M4 subset); one series at a time on a shared 2-core CPU.", "",
            *markdown(out, digits=3), "",
            "The automatic Theta is growlstm's `theta` baseline; `theta=2 (before)` is the statsmodels "
            "ThetaModel it replaced (still `Theta(m, theta=2)`); `optimised only` takes the optimised theta "
            "everywhere, as AutoTheta's lowest-MSE choice nearly always would."]
    write(args.out, "bench_theta", "Theta against statsforecast's AutoTheta (scripts/bench_theta.py)", body,
          frame)


if __name__ == "__main__":
    main()
