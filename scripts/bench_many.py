"""Many series: local vs global growth on the M4 subsets, local throughput, and a scale run.

    python scripts/bench_many.py --quick              # 4 series per M4 subset, both scopes
    python scripts/bench_many.py                      # every series of the three M4 subsets, both scopes
    python scripts/bench_many.py --throughput         # local scope, 1 worker vs 2, the same series
    python scripts/bench_many.py --throughput --throughput-subset m4_hourly --set growth.max_stages=2
    python scripts/bench_many.py --scale 1000 10000   # synthetic global runs: series/s, peak memory

Every configuration runs in a fresh Python process (this script with --job), so its wall time
and peak memory are its own: peak memory is the largest resident set of that process and of
the worker processes it started. The M4 runs read ../shared/data/m4 through growlstm's own
loader (data=m4 layout, held-out test.csv as each series' test span), score the LSTM and every
baseline on the official test horizon, and put the official M4 OWA beside them.

Writes <out>/bench_many.csv (one row per configuration, appended as it goes; a configuration
already in it is skipped) and <out>/bench_many.md (the tables).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M4_FREQ, M4_SUBSETS as SUBSETS, RESULTS, m4_official, m4_sample, subset_data  # noqa: E402
from bench.run import job_key, overrides, parse_settings, run_in_process, stages_text  # noqa: E402
from bench.score import owa  # noqa: E402
from bench.table import write  # noqa: E402

BASELINES = ["naive", "seasonal_naive", "naive2", "arima", "ets", "theta"]
OFFICIAL = {"Theta": "Theta", "RNN": "RNN (per series)", "118": "ES-RNN (winner, global)"}


# ------------------------------------------------------------------ one job (in its own process)


def m4_job(spec: dict[str, Any]) -> dict[str, Any]:
    import growlstm
    from growlstm.config import Config, GrowthConfig
    from growlstm.runs.dispatch import grow_many

    data, h = subset_data(spec["subset"])
    panel = growlstm.load(data)
    if spec.get("series"):
        panel = replace(panel, df=panel.df[panel.df.unique_id.isin(spec["series"])].reset_index(drop=True))
    config = Config(data=data, h=h, baselines=BASELINES,
                    # init: the default when the committed figures were measured (--set growth.init=warm)
                    growth=GrowthConfig(scope=spec["scope"], workers=spec["workers"], init="cold"))
    config = overrides(config, spec.get("settings", {}))
    with tempfile.TemporaryDirectory() as tmp:
        result = grow_many(panel, config, run_dir=tmp)
    scores = result.scores("test")
    cols = [c for c in result.table.columns if c in ("uid", "status", "residual") or c.endswith(("_test_smape", "_test_mase"))]
    return {
        "per_series": result.table[cols].to_dict(orient="records"),
        "series": int(result.verdicts["series"]), "ran": int(result.verdicts["ran"]),
        "met_val": result.verdicts["met_val"], "met_test": result.verdicts["met_test"],
        "sizes": json.dumps(result.sizes), "widths": json.dumps((result.extra.get("global") or {}).get("widths")),
        "stages": stages_text(result.extra.get("global") or {}),
        **{f"{m}_{k}": float(scores.loc[m, k]) for m in scores.index for k in ("smape", "mase", "owa")},
    }


def synthetic(n_series: int, length: int, seed: int = 0) -> pd.DataFrame:
    """Seasonal series with trend, noise and scales from 1 to 1000 (period 12), integer steps."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = 10 ** rng.uniform(0, 3, n_series)[:, None]
    values = level * (
        1 + 0.3 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6.3, n_series)[:, None])
        + rng.normal(0, 0.002, n_series)[:, None] * t + rng.normal(0, 0.05, (n_series, length))
    )
    return pd.DataFrame({
        "unique_id": np.repeat([f"s{k}" for k in range(n_series)], length),
        "ds": np.tile(t, n_series), "y": values.ravel(),
    })


def scale_job(spec: dict[str, Any]) -> dict[str, Any]:
    from growlstm import from_long
    from growlstm.config import Config, DataConfig, GrowthConfig, TrainerConfig
    from growlstm.runs.dispatch import grow_many

    panel = from_long(synthetic(spec["n"], spec["length"]), season_length=12)
    config = Config(
        data=DataConfig(season_length=12), h=18, baselines=["naive", "naive2"],
        growth=GrowthConfig(scope="global", workers=spec["workers"], seeds=1, max_stages=1),
        trainer=TrainerConfig(max_epochs=1, batch_size=1024),
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = grow_many(panel, config, run_dir=tmp)
    scores = result.scores("test")
    return {"series": spec["n"], "ran": int(result.verdicts["ran"]),
            **{f"{m}_mase": float(scores.loc[m, "mase"]) for m in scores.index}}


def job(spec: dict[str, Any]) -> dict[str, Any]:
    """One configuration (bench.run runs it in its own process)."""
    return m4_job(spec) if spec["kind"] == "m4" else scale_job(spec)


# ------------------------------------------------------------------ the driver


# ------------------------------------------------------------------ the driver


def official() -> pd.DataFrame:
    table = m4_official()
    return pd.DataFrame({label: {s: table.loc[m, f"OWA_{f}"] for s, f in M4_FREQ.items()}
                         for m, label in OFFICIAL.items()})


def owa_of(rows: pd.DataFrame, model: str) -> float:
    return owa(rows, model)[0]


def local_runs(per: pd.DataFrame, m4_local: pd.DataFrame, subset: str) -> list[tuple[str, pd.DataFrame]]:
    """Local-scope results on ``subset``: this script's own local runs, and bench_m4.csv's rows
    of the `theta` treatment (growlstm's per-series defaults of that benchmark, on a sample)."""
    runs = [(label, rows[rows.status == "ok"]) for label, rows in per.groupby("label", sort=False)
            if label.startswith(f"{subset} local")]
    local = m4_local[m4_local.subset == subset]
    if not local.empty:
        runs.append(("bench_m4.csv, Theta residual", local))
    return runs


def same_series(out: Path, stem: str) -> list[str]:
    """Global runs against local growth on the same series (those both ran on)."""
    series_path = out / f"{stem}_series.csv"
    if not series_path.exists():
        return []
    per = pd.read_csv(series_path)
    m4_path = out / "bench_m4.csv"
    m4_local = pd.read_csv(m4_path) if m4_path.exists() else pd.DataFrame(columns=["treatment", "status", "subset"])
    m4_local = m4_local[(m4_local.treatment == "theta") & (m4_local.status == "ok")]
    lines = ["", "## Same series: local vs global", "",
             "Global runs trained on every series of the subset; each pair is scored on the series both ran on.", "",
             "| subset | local run | global run | series | LSTM local | LSTM global | Theta | ARIMA | ETS |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, rows in per.groupby("label", sort=False):
        if " global" not in label:
            continue
        subset = next((s for s in SUBSETS if label.startswith(s)), None)
        for local_label, loc in local_runs(per, m4_local, subset):
            both = rows[rows.uid.isin(loc.uid) & rows.lstm_test_mase.notna()]
            loc = loc[loc.uid.isin(both.uid)].drop_duplicates("uid")
            if both.empty:
                continue
            both = both.drop_duplicates("uid").set_index("uid").loc[loc.uid]
            lines.append(f"| {subset} | {local_label} | {label} | {len(both)} | {owa_of(loc, 'lstm'):.3f} | "
                         f"{owa_of(both, 'lstm'):.3f} | {owa_of(both, 'theta'):.3f} | {owa_of(both, 'arima'):.3f} | "
                         f"{owa_of(both, 'ets'):.3f} |")
    return lines


def summarise(frame: pd.DataFrame, out: Path, stem: str) -> str:
    lines = []
    m4 = frame[(frame.kind == "m4") & (frame.status == "ok")]
    if not m4.empty:
        lines += [
            "Test = the official M4 horizon of each series (held-out test.csv). Set-level OWA vs Naive2 over",
            "the series the LSTM ran on (series too short for the windows are refused), official M4 OWA",
            "(all series of the frequency) below. Local: one growth search per series; global: one LSTM on",
            "every series' windows, grown by the set-level validation MASE. Settings other than the defaults",
            "are listed per run.", "",
            "| subset | scope | settings | series (ran) | LSTM OWA | Theta | ARIMA | ETS | LSTM sMAPE / MASE | goal met val/test | sizes | wall s | peak GiB |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in m4.itertuples():
            sizes = r.widths if isinstance(r.widths, str) and r.widths != "null" else r.sizes
            settings = r.settings if isinstance(getattr(r, "settings", None), str) and r.settings else "defaults"
            lines.append(
                f"| {r.subset} | {r.scope} | {settings} | {r.series:.0f} ({r.ran:.0f}) | {r.lstm_owa:.3f} | {r.theta_owa:.3f} | "
                f"{r.arima_owa:.3f} | {r.ets_owa:.3f} | {r.lstm_smape:.2f} / {r.lstm_mase:.3f} | "
                f"{r.met_val:.0f}/{r.met_test:.0f} | {sizes} | {r.seconds:.0f} | {r.peak_gib:.2f} |"
            )
        lines += same_series(out, stem)
        lines += ["", "Official M4 OWA (all series of each frequency):", "", "| method | " + " | ".join(SUBSETS) + " |",
                  "|---|" + "---|" * len(SUBSETS)]
        for label, col in official().items():
            lines.append(f"| {label} | " + " | ".join(f"{col[s]:.3f}" for s in SUBSETS) + " |")
    thr = frame[(frame.kind == "throughput") & (frame.status == "ok")]
    if not thr.empty:
        lines += ["", "## Local scope throughput", "",
                  "Every series of the subset, growlstm defaults except the settings listed (series refused for their",
                  "length included); speed-up against 1 worker with the same subset and settings.", "",
                  "| subset | workers | settings | series | wall s | series/s | speed-up |", "|---|---|---|---|---|---|---|"]
        thr = thr.assign(settings=thr.settings.where(thr.settings.notna() & (thr.settings != ""), "defaults"))
        for (subset, settings), group in thr.groupby(["subset", "settings"], sort=False):
            base = group[group.workers == 1].seconds.min()
            for r in group.sort_values("workers").itertuples():
                lines.append(f"| {subset} | {r.workers} | {settings} | {r.series:.0f} | {r.seconds:.0f} | "
                             f"{r.series / r.seconds:.3f} | {base / r.seconds:.2f}x |")
    scale = frame[(frame.kind == "scale") & (frame.status == "ok")]
    if not scale.empty:
        lines += ["", "## Scale (synthetic, global scope)", "",
                  "One stage of [2] cells, 1 epoch, batch 1024, baselines naive and naive2; every series 500 points.", "",
                  "| series | workers | wall s | series/s | peak GiB |", "|---|---|---|---|---|"]
        for r in scale.sort_values("n").itertuples():
            lines.append(f"| {r.n:.0f} | {r.workers:.0f} | {r.seconds:.0f} | {r.n / r.seconds:.1f} | {r.peak_gib:.2f} |")
    bad = frame[frame.status != "ok"]
    if not bad.empty:
        lines += ["", "## Failed configurations", ""] + [f"- {r.label}: {r.reason}" for r in bad.itertuples()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 series per subset (both scopes)")
    parser.add_argument("--per-subset", type=int, default=0, metavar="K", help="K series per subset (0: all)")
    parser.add_argument("--subsets", nargs="*", default=list(SUBSETS), choices=list(SUBSETS))
    parser.add_argument("--scopes", nargs="*", default=["local", "global"], choices=["local", "global"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config settings for the M4 runs, e.g. trainer.batch_size=256 (numbers parsed)")
    parser.add_argument("--throughput", action="store_true", help="local scope on one subset, 1 vs 2 workers")
    parser.add_argument("--throughput-subset", default="m4_monthly", choices=list(SUBSETS),
                        help="the subset of --throughput (every series of it)")
    parser.add_argument("--scale", nargs="*", type=int, default=[], help="synthetic global runs with these series counts")
    parser.add_argument("--length", type=int, default=500, help="points per synthetic series")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per configuration")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--tag", default="")
    parser.add_argument("--summarise", action="store_true")
    args = parser.parse_args()
    settings = parse_settings(args.set)
    specs: list[dict[str, Any]] = []
    if not args.summarise:
        k = 4 if args.quick else args.per_subset
        if not (args.throughput or args.scale) or args.quick or args.per_subset:
            for subset in args.subsets:
                for scope in args.scopes:
                    specs.append({"kind": "m4", "subset": subset, "scope": scope, "workers": args.workers,
                                  "series": m4_sample(subset, k) if k else None, "settings": settings,
                                  "label": f"{subset} {scope}" + (f" ({k} series)" if k else "")
                                  + "".join(f" {key}={v}" for key, v in settings.items())})
        if args.throughput:
            for workers in (1, 2):
                specs.append({"kind": "m4", "subset": args.throughput_subset, "scope": "local", "workers": workers,
                              "series": None, "settings": settings, "throughput": True,
                              "label": f"throughput {args.throughput_subset}, {workers} worker(s)"})
        for n in args.scale:
            specs.append({"kind": "scale", "n": n, "length": args.length, "workers": args.workers,
                          "label": f"scale {n} x {args.length}"})
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "bench_many" + (f"_{args.tag}" if args.tag else "")
    csv_path, md_path = args.out / f"{stem}.csv", args.out / f"{stem}.md"
    series_path = args.out / f"{stem}_series.csv"
    done = pd.read_csv(csv_path) if csv_path.exists() else pd.DataFrame()
    have = set(done.get("key", []))
    for spec in specs:
        key = job_key(spec)
        if key in have:
            print(f"{spec['label']}: already in {csv_path.name}", flush=True)
            continue
        print(f"{spec['label']} ...", flush=True)
        kind = "throughput" if spec.get("throughput") else spec["kind"]
        outcome = run_in_process({**spec, "job": "bench_many:job"}, args.timeout)
        per_series = outcome.pop("per_series", None)
        settings_text = " ".join(f"{k}={v}" for k, v in spec.get("settings", {}).items())
        row = {"key": key, "label": spec["label"], "kind": kind, "settings": settings_text, **{k: v for k, v in spec.items()
               if k in ("subset", "scope", "workers", "n", "length")}, **outcome}
        print("  " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                               if k not in ("key", "label")), flush=True)
        # Re-read before appending: another run of this script may have added rows meanwhile.
        done = pd.read_csv(csv_path) if csv_path.exists() else pd.DataFrame()
        done = pd.concat([done, pd.DataFrame([row])], ignore_index=True)
        done.to_csv(csv_path, index=False)
        if per_series:
            rows = pd.DataFrame(per_series).assign(key=key, label=spec["label"])
            # Rewritten whole, not appended: rows of newer runs may carry more columns.
            old = pd.read_csv(series_path) if series_path.exists() else pd.DataFrame()
            pd.concat([old, rows], ignore_index=True).to_csv(series_path, index=False)
    if done.empty:
        raise SystemExit(f"no results in {csv_path}")
    write(args.out, stem, "Many series: local vs global growth", summarise(done, args.out, stem))
    print(f"wrote {csv_path} and {md_path}")


if __name__ == "__main__":
    main()
