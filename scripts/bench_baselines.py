"""Classical baselines: growlstm's ARIMA / ETS / Theta against statsforecast's on the M4 subset.

Each series is fitted on the official M4 training part and forecast over the official test
horizon (the last h values). Methods: growlstm's naive, seasonal_naive, naive2, arima, ets,
theta and statsforecast's AutoARIMA, AutoETS, AutoTheta (sf_arima, sf_ets, sf_theta; model
classes called directly, one series at a time, season_length = the catalog's seasonal_period).
Per subset and overall: mean sMAPE, mean MASE, OWA vs the official Naive2 (M4 definitions, on
set-level averages) and seconds per series (fit + predict). Per method pair: the median of the
per-series MASE ratio ours / statsforecast. statsforecast compiles some code (numba) on first
use: every method, ours included, is warmed up once on a small synthetic series before timing.
The official M4 Naive2 and SES forecasts shipped with the subset are scored too and must
reproduce subset_benchmark_scores.csv to 3 decimals (the check of the metric code).

    python scripts/bench_baselines.py --quick                  # 4 monthly, 4 weekly, 2 hourly: ~3 min
    python scripts/bench_baselines.py                          # all 70 series
    python scripts/bench_baselines.py --subsets m4_monthly --methods ets sf_ets --tag ets
    python scripts/bench_baselines.py --series M4-H2 M4-H9 --tag a    # a shard; then merge shards:
    python scripts/bench_baselines.py --summarise scripts/results/bench_baselines_a.csv ...
    python scripts/bench_baselines.py --m1 m1_monthly m1_quarterly m1_yearly   # M1 against the stored references
    python scripts/bench_baselines.py --m1 m1_monthly --every 4               # every 4th M1 monthly series

``--m1`` fits growlstm's arima, ets and theta on each M1 series' official training part and scores
them on its official horizon against statsforecast's AutoARIMA / AutoETS / AutoTheta as stored
per series in ../shared/data/m1/statsforecast_per_series.csv (statsforecast need not be
installed): OWA vs the stored Naive2 of the same series, the target OWA <= reference x 1.01, and
the seconds per fit. Writes <out>/bench_baselines_m1<tag>.csv and .md.

Writes <out>/bench_baselines.csv (one row per series and method, appended as it goes) and
<out>/bench_baselines.md (the tables). Needs statsforecast: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/m4.py
from growlstm.baselines import make_baseline  # noqa: E402
from growlstm.metrics import mase, owa, smape  # noqa: E402
from m4 import M4_DIR, load_m4  # noqa: E402
from bench.score import spread  # noqa: E402

SUBSETS = ["m4_monthly", "m4_weekly", "m4_hourly"]
OURS = ["naive", "seasonal_naive", "naive2", "arima", "ets", "theta"]
SF = {"sf_arima": "AutoARIMA", "sf_ets": "AutoETS", "sf_theta": "AutoTheta"}
METHODS = OURS + list(SF)
PAIRS = [("arima", "sf_arima"), ("ets", "sf_ets"), ("theta", "sf_theta")]
OFFICIAL = ["M4:Naive2", "M4:SES"]  # forecasts shipped in benchmark_forecasts.csv
# --quick: statsforecast's AutoARIMA takes 1-4 minutes per hourly series, so only two of those.
QUICK = {"m4_monthly": 4, "m4_weekly": 4, "m4_hourly": 2}
TARGET_MASE, TARGET_TIME = 1.02, 2.0  # median MASE ratio and time ratio, ours / statsforecast


def forecaster(method: str, m: int) -> Callable[[np.ndarray, int], tuple[np.ndarray, str]]:
    """fit(y) then predict(h) of one method, returning (forecast, spec)."""
    if method in SF:
        import statsforecast.models as sfm

        def run_sf(y: np.ndarray, h: int) -> tuple[np.ndarray, str]:
            model = getattr(sfm, SF[method])(season_length=m).fit(y)
            return np.asarray(model.predict(h)["mean"], dtype=float), ""

        return run_sf

    def run_ours(y: np.ndarray, h: int) -> tuple[np.ndarray, str]:
        b = make_baseline(method, m)
        f = b.fit(y).predict(h)
        return f, b.spec

    return run_ours


def warm_up(methods: list[str]) -> None:
    """Fit every method once, untimed: numba compilation and lazy imports are not fitting."""
    rng = np.random.default_rng(0)
    t = np.arange(72.0)
    seasonal = 50 + 0.2 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(size=t.size)
    for method in methods:
        for m in (12, 1):
            forecaster(method, m)(seasonal, 6)


def official_scores(subsets: list[str]) -> tuple[pd.DataFrame, bool]:
    """Score the shipped Naive2 / SES forecasts over whole subsets; compare to the M4 sheet."""
    catalog = pd.read_csv(M4_DIR / "catalog.csv").set_index("uid")
    train = pd.read_csv(M4_DIR / "train.csv").sort_values(["uid", "t"])
    test = pd.read_csv(M4_DIR / "test.csv").sort_values(["uid", "step"])
    fc = pd.read_csv(M4_DIR / "benchmark_forecasts.csv").sort_values(["uid", "method", "step"])
    insample = {u: g["value"].to_numpy() for u, g in train.groupby("uid")}
    actual = {u: g["value"].to_numpy() for u, g in test.groupby("uid")}
    rows = []
    for (uid, method), g in fc[fc.method.isin(OFFICIAL)].groupby(["uid", "method"]):
        subset, m = catalog.loc[uid, "subset"], int(catalog.loc[uid, "seasonal_period"])
        if subset in subsets:
            f = g["value"].to_numpy()
            rows.append({"subset": subset, "uid": uid, "method": method, "smape": smape(actual[uid], f),
                         "mase": mase(actual[uid], f, insample[uid], m)})
    frame = pd.DataFrame(rows)
    ref = pd.read_csv(M4_DIR / "subset_benchmark_scores.csv").set_index(["subset", "method"])
    ok, lines = True, []
    for (subset, method), part in frame.groupby(["subset", "method"]):
        n2 = frame[(frame.subset == subset) & (frame.method == "M4:Naive2")]
        # The sheet's OWA is computed from its 3-decimal sMAPE and MASE, so ours is too.
        s_, m_, s2, m2 = (round(v, 3) for v in (part.smape.mean(), part.mase.mean(), n2.smape.mean(), n2.mase.mean()))
        ours = (s_, m_, owa(s_, m_, s2, m2))
        want = ref.loc[(subset, method), ["sMAPE", "MASE", "OWA_vs_Naive2"]].to_numpy(dtype=float)
        match = all(round(a, 3) == round(b, 3) for a, b in zip(ours, want))
        ok &= match
        lines.append(f"{subset} {method}: sMAPE {ours[0]:.3f} MASE {ours[1]:.3f} OWA {ours[2]:.3f} "
                     f"(sheet {want[0]:.3f} {want[1]:.3f} {want[2]:.3f}) {'OK' if match else 'FAIL'}")
    print("\n".join(lines))
    return frame, ok


def summarise(frame: pd.DataFrame, official: pd.DataFrame) -> str:
    """Per subset and overall: sMAPE, MASE, OWA vs the official Naive2, seconds per series."""
    groups = [(s, frame[frame.subset == s]) for s in SUBSETS if s in set(frame.subset)]
    groups.append(("all", frame))
    lines = ["| subset | method | series | sMAPE | MASE | OWA | s / series (mean) | s / series (median) | failed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, part in groups:
        uids = set(part.uid)
        n2 = official[(official.method == "M4:Naive2") & official.uid.isin(uids)]
        methods = [m for m in METHODS if m in set(part.method)]
        for method in methods + OFFICIAL:
            rows = part[part.method == method] if method in METHODS else official[(official.method == method) & official.uid.isin(uids)]
            s_, m_ = rows.smape.mean(), rows.mase.mean()
            o = owa(s_, m_, n2.smape.mean(), n2.mase.mean())
            secs = (f"{rows.seconds.mean():.3f} | {rows.seconds.median():.3f}" if method in METHODS else "- | -")
            failed = int(rows.failed.sum()) if method in METHODS else 0
            lines.append(f"| {name} | {method} | {len(rows)} | {s_:.3f} | {m_:.3f} | {o:.3f} | {secs} | {failed} |")
    return "\n".join(lines)


def pair_table(frame: pd.DataFrame) -> tuple[str, dict[str, tuple[float, float]]]:
    """Per method pair: median per-series MASE ratio ours / statsforecast and time ratios."""
    lines = ["| pair | subset | series | median MASE ratio | mean MASE ratio | ours s / series | sf s / series | time ratio (mean s) | median per-series time ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    overall: dict[str, tuple[float, float]] = {}
    wide_mase = frame.pivot_table(index="uid", columns="method", values="mase")
    wide_secs = frame.pivot_table(index="uid", columns="method", values="seconds")
    subset_of = frame.groupby("uid").subset.first()
    for ours, sf in PAIRS:
        if ours not in wide_mase or sf not in wide_mase:
            continue
        for name in [s for s in SUBSETS if s in set(frame.subset)] + ["all"]:
            uids = wide_mase.index if name == "all" else subset_of.index[subset_of == name]
            r = (wide_mase.loc[uids, ours] / wide_mase.loc[uids, sf]).dropna()
            t_ours, t_sf = wide_secs.loc[uids, ours].mean(), wide_secs.loc[uids, sf].mean()
            t_med = (wide_secs.loc[uids, ours] / wide_secs.loc[uids, sf]).median()
            lines.append(f"| {ours} / {sf} | {name} | {len(r)} | {r.median():.3f} | {r.mean():.3f} | {t_ours:.3f} | "
                         f"{t_sf:.3f} | {t_ours / t_sf:.2f} | {t_med:.2f} |")
            if name == "all":
                overall[ours] = (float(r.median()), float(t_ours / t_sf))
    return "\n".join(lines), overall


def targets(overall: dict[str, tuple[float, float]]) -> str:
    lines = []
    for ours, (ratio, t) in overall.items():
        lines.append(f"- {ours}: median MASE ratio {ratio:.3f} (target <= {TARGET_MASE}: "
                     f"{'met' if ratio <= TARGET_MASE else 'MISSED'}); time ratio {t:.2f} "
                     f"(target <= {TARGET_TIME:g}: {'met' if t <= TARGET_TIME else 'MISSED'})")
    return "\n".join(lines)


def report(frame: pd.DataFrame, official: pd.DataFrame, header: str, csv_path: Path, md_path: Path) -> None:
    table = summarise(frame, official)
    pairs, overall = pair_table(frame)
    notes = targets(overall)
    print("\n" + table + "\n\n" + pairs + "\n\n" + notes)
    md_path.write_text(
        "# Classical baselines: growlstm vs statsforecast on the M4 subset\n\n" + header + "\n\n" + table
        + "\n\nOWA: (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2 on the set's mean sMAPE and MASE, Naive2 = the "
        "official M4 forecasts (growlstm's naive2 reproduces them). Failed fits (if any) are scored with naive2's "
        "forecast and counted in `failed`.\n\n## Ours / statsforecast, per series\n\n" + pairs
        + f"\n\n## Targets\n\nMedian per-series MASE ratio ours / statsforecast <= {TARGET_MASE}; our seconds per "
        f"series (fit + predict, mean over the series) <= {TARGET_TIME:g}x statsforecast's (warmed up: numba "
        "compilation is not timed).\n\n" + notes + f"\n\nPer series and method: `{csv_path.name}`.\n"
    )
    print(f"\nwritten: {csv_path}, {md_path}")


M1_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "m1"
M1_PAIRS = {"arima": "AutoARIMA", "ets": "AutoETS", "theta": "AutoTheta"}
TARGET_OWA = 1.01  # ours <= reference x 1.01


def run_m1(subsets: list[str], every: int, out: Path, tag: str) -> None:
    """growlstm's arima / ets / theta on M1 against the stored statsforecast references."""
    catalog = pd.read_csv(M1_DIR / "catalog.csv")
    train = pd.read_csv(M1_DIR / "train.csv").sort_values(["uid", "t"])
    test = pd.read_csv(M1_DIR / "test.csv").sort_values(["uid", "step"])
    ref = pd.read_csv(M1_DIR / "statsforecast_per_series.csv")
    insample = {u: g["value"].to_numpy(dtype=float) for u, g in train.groupby("uid")}
    actual = {u: g["value"].to_numpy(dtype=float) for u, g in test.groupby("uid")}
    stem = f"bench_baselines_m1{'_' + tag if tag else ''}"
    csv_path, md_path = out / f"{stem}.csv", out / f"{stem}.md"
    warm_up(list(M1_PAIRS))
    rows: list[dict[str, Any]] = []
    for subset in subsets:
        part = catalog[catalog.subset == subset].reset_index(drop=True)
        for i in range(0, len(part), every):
            uid, m, h = part.uid[i], int(part.seasonal_period[i]), int(part.horizon[i])
            y, a = insample[uid], actual[uid]
            for method in M1_PAIRS:
                start = time.perf_counter()
                try:
                    f, spec = forecaster(method, m)(y, h)
                    error = ""
                except Exception as err:  # noqa: BLE001 - scored with naive2, counted as failed
                    f, spec, error = make_baseline("naive2", m).fit(y).predict(h), "", f"{type(err).__name__}: {err}"
                rows.append({"subset": subset, "uid": uid, "method": method, "n_train": y.size, "smape": smape(a, f),
                             "mase": mase(a, f, y, m), "seconds": time.perf_counter() - start, "spec": spec,
                             "failed": bool(error), "error": error})
            print(f"{uid:9s} " + "  ".join(f"{r['method']} {r['mase']:.3f} {r['seconds']:.2f}s {r['spec']}"
                                           for r in rows[-len(M1_PAIRS):]), flush=True)
            pd.DataFrame(rows).to_csv(csv_path, index=False)
    m1_report(pd.DataFrame(rows), subsets, f"every {every}th series of each subset (catalog order)", csv_path, md_path)


def m1_report(frame: pd.DataFrame, subsets: list[str], what: str, csv_path: Path, md_path: Path) -> None:
    """The M1 table (ours vs the stored references on the same series), printed and written."""
    ref = pd.read_csv(M1_DIR / "statsforecast_per_series.csv")
    subsets = [s for s in subsets if s in set(frame.subset)]
    # The per-series MASE ratio to the reference beside the set-level OWA: a mean hides where one fails.
    lines = ["| subset | series | method | sMAPE | MASE | OWA | reference | reference OWA | ratio | target <= 1.01 | "
             "MASE ratio median | p80 | p95 | worst | share > 1.25 | s / fit (mean) | failed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for subset in subsets:
        ours = frame[frame.subset == subset]
        uids = set(ours.uid)
        theirs = ref[(ref.subset == subset) & ref.uid.isin(uids)]
        n2 = theirs[theirs.method == "Naive2"]
        for method, sf in M1_PAIRS.items():
            o = ours[ours.method == method]
            r = theirs[theirs.method == sf]
            ow = owa(o.smape.mean(), o.mase.mean(), n2.smape.mean(), n2.mase.mean())
            rw = owa(r.smape.mean(), r.mase.mean(), n2.smape.mean(), n2.mase.mean())
            per = o.set_index("uid").mase / r.set_index("uid").mase.reindex(o.uid).to_numpy()
            lines.append(f"| {subset} | {len(o)} | {method} | {o.smape.mean():.3f} | {o.mase.mean():.3f} | {ow:.3f} | "
                         f"{sf} | {rw:.3f} | {ow / rw:.3f} | {'met' if ow <= rw * TARGET_OWA else 'MISSED'} | "
                         f"{spread(per)} | {o.seconds.mean():.3f} | {int(o.failed.sum())} |")
    table = "\n".join(lines)
    print("\n" + table)
    md_path.write_text(
        "# Classical baselines on M1: growlstm vs the stored statsforecast references\n\n"
        f"Command: `python scripts/bench_baselines.py {' '.join(sys.argv[1:])}`; {what}; fitted on the official training part, scored on the official horizon, one series at a time "
        "on a shared 2-core CPU. OWA vs the stored Naive2 of the same series (set-level means); references: "
        "`statsforecast_per_series.csv` (statsforecast 2.x, default settings).\n\n" + table
        + f"\n\nPer series and method: `{csv_path.name}`.\n")
    print(f"\nwritten: {csv_path}, {md_path}")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 monthly, 4 weekly, 2 hourly series (a few minutes)")
    parser.add_argument("--subsets", nargs="+", default=SUBSETS, choices=SUBSETS)
    parser.add_argument("--series", nargs="+", default=None, help="only these M4 uids (e.g. a shard)")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--out", type=Path, default=Path("scripts/results"))
    parser.add_argument("--tag", default="", help="suffix of the output files (shards of one benchmark)")
    parser.add_argument("--summarise", nargs="+", type=Path, default=None,
                        help="only merge these result CSVs (e.g. shards) into bench_baselines.md")
    parser.add_argument("--m1", nargs="+", default=None, choices=["m1_monthly", "m1_quarterly", "m1_yearly"],
                        help="score arima / ets / theta on these M1 subsets against the stored references")
    parser.add_argument("--every", type=int, default=1, help="with --m1: every k-th series of each subset")
    parser.add_argument("--m1-summarise", nargs="+", type=Path, default=None,
                        help="only tabulate these (possibly partial) --m1 CSVs into bench_baselines_m1<tag>.md")
    return parser.parse_args()


def m1_summarise(args: argparse.Namespace) -> None:
    """Tabulate (possibly partial) --m1 CSVs."""
    frame = pd.concat([pd.read_csv(p) for p in args.m1_summarise], ignore_index=True)
    # Only series that every method finished, so each row compares the same series.
    done = frame.groupby("uid").method.nunique()
    frame = frame[frame.uid.isin(done.index[done == len(M1_PAIRS)])]
    stem = f"bench_baselines_m1{'_' + args.tag if args.tag else ''}"
    frame.to_csv(args.out / f"{stem}.csv", index=False)
    what = (f"merged from {', '.join(p.name for p in args.m1_summarise)}: the first series of each subset "
            "that finished (see the series column)")
    m1_report(frame, sorted(set(frame.subset)), what, args.out / f"{stem}.csv", args.out / f"{stem}.md")


def merge_shards(args: argparse.Namespace, official: pd.DataFrame) -> None:
    """Merge M4 shards into bench_baselines.md."""
    frame = pd.concat([pd.read_csv(p) for p in args.summarise], ignore_index=True)
    merged = args.out / "bench_baselines.csv"
    frame.to_csv(merged, index=False)
    header = (f"Merged from {', '.join(p.name for p in args.summarise)} (shards run side by side): "
              f"{frame.uid.nunique()} series; fitted on the official training part, scored on the official "
              "test horizon; 2-core CPU (shared); statsforecast "
              f"{__import__('statsforecast').__version__} model classes called directly.")
    report(frame, official, header, merged, args.out / "bench_baselines.md")


def picked_series(args: argparse.Namespace) -> list[Any]:
    """The M4 series asked for (--series), or with --quick a spread over each subset in catalog order."""
    series = [s for s in load_m4(tuple(args.subsets)) if args.series is None or s.uid in args.series]
    if not args.quick:
        return series
    picked = []
    for subset in args.subsets:
        part = [s for s in series if s.subset == subset]
        k = min(QUICK[subset], len(part))
        picked += [part[i * len(part) // k] for i in range(k)]
    return picked


def run_m4(args: argparse.Namespace, official: pd.DataFrame, csv_path: Path, md_path: Path) -> None:
    """Every method on every picked M4 series, one at a time; the CSV is rewritten after each series."""
    warm_up(args.methods)
    rows: list[dict[str, Any]] = []
    for s in picked_series(args):
        y, actual, m = s.values[: -s.h], s.values[-s.h :], s.season_length
        fallback = make_baseline("naive2", m).fit(y).predict(s.h)
        for method in args.methods:
            start = time.perf_counter()
            try:
                f, spec = forecaster(method, m)(y, s.h)
                failed, error = False, ""
            except Exception as err:  # noqa: BLE001 - recorded, scored with the naive2 fallback
                f, spec, failed, error = fallback, "", True, f"{type(err).__name__}: {err}"
            seconds = time.perf_counter() - start
            row = {"subset": s.subset, "uid": s.uid, "method": method, "n_train": y.size, "m": m, "h": s.h,
                   "smape": smape(actual, f), "mase": mase(actual, f, y, m), "seconds": seconds,
                   "spec": spec, "failed": failed, "error": error}
            rows.append(row)
            print(f"{s.uid:8s} {method:14s} {seconds:7.3f}s  sMAPE {row['smape']:7.3f}  MASE {row['mase']:6.3f}  "
                  f"{spec}{' FAILED ' + error if failed else ''}", flush=True)
        pd.DataFrame(rows).to_csv(csv_path, index=False)  # partial results survive an interruption
    frame = pd.DataFrame(rows)
    header = (f"Command: `python scripts/bench_baselines.py {' '.join(sys.argv[1:])}`; {frame.uid.nunique()} series "
              f"({', '.join(args.subsets)}); fitted on the official training part, scored on the official test "
              "horizon; one series at a time on a 2-core CPU (shared); statsforecast "
              f"{__import__('statsforecast').__version__} model classes called directly.")
    report(frame, official, header, csv_path, md_path)


def main() -> None:
    args = parse()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.m1_summarise:
        return m1_summarise(args)
    if args.m1:
        return run_m1(args.m1, args.every, args.out, args.tag)
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        raise SystemExit("statsforecast is not installed: pip install -e '.[bench]'")
    official, ok = official_scores(args.subsets)
    print(f"official Naive2 / SES scores reproduce subset_benchmark_scores.csv: {'OK' if ok else 'FAIL'}\n")
    if args.summarise:
        merge_shards(args, official)
    else:
        stem = ("bench_baselines_quick" if args.quick else "bench_baselines") + (f"_{args.tag}" if args.tag else "")
        run_m4(args, official, args.out / f"{stem}.csv", args.out / f"{stem}.md")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
