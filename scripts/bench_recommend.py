"""What to use: the recommended forecast against the LSTM alone, every baseline, the
combinations and statsforecast, with interval coverage, on the M4 subset and the M1 series.

    python scripts/bench_recommend.py                 # runs the three M4 subsets (defaults), then the tables
    python scripts/bench_recommend.py --tables-only   # the tables from what is recorded

M4: each subset of ../shared/data/m4 is run as a user would (`data=m4 ... data.series='M4-M*'`,
the default config, M4's horizon and season, the held-out test.csv as each series' test span), in
a fresh process (scripts/bench_short.py's job). M1: the runs of scripts/bench_short.py with the
defaults (its bench_short_series.csv; run that first). For every subset and all together:

- OWA vs Naive2 of the recommended forecast, the LSTM alone, `lstm+<best>`, `comb` and every
  baseline, and statsforecast's AutoETS / AutoARIMA / AutoTheta on the same series (M1: the
  shared statsforecast_per_series.csv; M4: bench_baselines.csv, run by scripts/bench_baselines.py);
- how often the recommended forecast was the best candidate on test (lowest MASE), and how often
  "goal met on validation" held on test;
- coverage of the 80% and 95% intervals of the recommended forecast (share of test points
  inside), and its MSIS at 95% beside the official M4 figures (m4_official_interval_scores.csv).

Writes <out>/bench_recommend.csv (per series) and <out>/bench_recommend.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M4_FREQ, M4_SUBSETS, REFERENCES, RESULTS, m4_official, read_or_empty, statsforecast_table  # noqa: E402
from bench.run import parse_settings, run_in_process  # noqa: E402
from bench.score import coverage, owa, references, with_pair  # noqa: E402
from bench.table import write  # noqa: E402

CANDIDATES = ("lstm", "lstm+best", "comb", "naive", "seasonal_naive", "naive2", "arima", "ets", "theta")


def run_m4(subset: str, timeout: float, settings: dict[str, object]) -> pd.DataFrame:
    """One M4 subset with the defaults (and ``settings``), in its own process; its per-series rows."""
    result = run_in_process({"subset": subset, "scope": "auto", "settings": settings}, timeout)
    if result["status"] != "ok":
        raise SystemExit(f"{subset}: {result['reason']}")
    print(f"{subset}: {result['forecast']}/{result['series']} forecast, scope {result['scope']}, "
          f"{result['seconds']:.0f} s", flush=True)
    # The panel's decision (its reason, reference, per-series check) beside every series' row.
    return pd.DataFrame(result["per_series"]).assign(subset=subset, seconds=result["seconds"],
                                                      reason=result.get("reason"), reference=result.get("reference"),
                                                      per_series_check=result.get("per_series_check"))


HEDGE_SUBSETS = ("m1_monthly", "m1_quarterly", "m1_yearly", "m4 (all)")


def with_counterfactuals(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` plus ``before_*`` (what the rule before issue 42 recommended: the reference where
    the recommendation is the hedge of a lead within the noise, else the same) and ``oracle_*``
    (per series, the better of lstm and comb on test: hindsight, no forecaster can have it)."""
    rows = rows.copy()
    # A series' own decision (local scope) where recorded, else its panel's (global scope).
    blank = pd.Series(np.nan, index=rows.index)
    reason = rows.get("recommended_reason", blank).fillna(rows.get("reason", blank))
    ref = rows.get("recommended_reference", blank).fillna(rows.get("reference", blank))
    hedged = rows.recommended.astype(str).str.startswith("lstm+") & reason.astype(str).str.contains("hedges between them")
    lstm_better = rows.lstm_test_mase < rows.comb_test_mase
    for key in ("smape", "mase"):
        own = rows[f"recommended_test_{key}"].to_numpy(dtype=float).copy()
        for i in np.flatnonzero(hedged.to_numpy()):
            col = f"{ref.iloc[i]}_test_{key}"
            own[i] = rows[col].iloc[i] if col in rows else np.nan
        rows[f"before_test_{key}"] = own
        rows[f"oracle_test_{key}"] = np.where(lstm_better, rows[f"lstm_test_{key}"], rows[f"comb_test_{key}"])
    return rows


def hedge_table(groups: list[tuple[str, pd.DataFrame]], sf: pd.DataFrame) -> list[str]:
    """Issue 42's table: per M1 subset and the M4 70, the recommended forecast against lstm, comb,
    their mean, the oracle per-series pick and statsforecast's AutoETS, with the targets."""
    lines = ["", "## The hedge: recommended vs lstm, comb and their mean (issue 42)", "",
             "OWA vs Naive2 over the series the LSTM forecast. `before`: what the rule before issue 42 "
             "recommended in the same run (the reference wherever the hedge was taken; its intervals were not "
             "recorded). `lstm+comb`: the mean of the two, equal weights. `oracle`: per series, the better "
             "of lstm and comb on test (hindsight). Targets: recommended <= min(lstm, comb) and <= 0.95 x "
             "AutoETS; coverage within 3 points of 80% and 95%. `per-series`: in how many series a choice made "
             "on that series' validation errors alone would have differed from the panel's (not used).", "",
             "| subset | series | recommended | before | lstm | comb | lstm+comb | oracle | sf AutoETS | "
             "<= min(lstm, comb) | <= 0.95 AutoETS | cover 80 | cover 95 | coverage ok | per-series | decision |",
             "|" + "---|" * 16]
    for subset, rows in groups:
        if subset not in HEDGE_SUBSETS or rows.empty or "lstm_test_mase" not in rows or "comb_test_mase" not in rows:
            continue
        rows = with_counterfactuals(rows[rows.lstm_test_mase.notna() & rows.comb_test_mase.notna()])
        score = {m: owa(rows, m)[0] for m in ("recommended", "before", "lstm", "comb", "lstm+comb", "oracle")}
        ets = references(rows, sf)["AutoETS"]
        c80, c95, _ = coverage(rows)
        checks = [score["recommended"] <= min(score["lstm"], score["comb"]), score["recommended"] <= 0.95 * ets,
                  abs(c80 - 0.80) <= 0.03 and abs(c95 - 0.95) <= 0.03]
        per = []
        for text in rows.get("per_series_check", pd.Series(dtype=object)).dropna().unique():
            check = json.loads(text) if isinstance(text, str) and text != "null" else None
            if check:
                per.append(f"{check['changed']}/{check['series']}")
        decision = "; ".join(f"{m} x{k}" for m, k in rows.recommended.value_counts().items())
        lines.append(f"| {subset} | {len(rows)} | " + " | ".join(f"{score[m]:.3f}" for m in score)
                     + f" | {ets:.3f} | " + " | ".join("yes" if c else "**no**" for c in checks[:2])
                     + f" | {c80:.3f} | {c95:.3f} | {'yes' if checks[2] else '**no**'} | {', '.join(per) or '-'} "
                     f"| {decision} |")
    reasons = [(s, r) for s, rows in groups if s in HEDGE_SUBSETS or s.startswith("m4_")
               for r in rows.get("reason", pd.Series(dtype=object)).dropna().unique()]
    lines += ["", "Reason lines:", ""] + [f"- {s}: {r}" for s, r in reasons]
    return lines


def best_share(rows: pd.DataFrame) -> float:
    """Share of series whose recommended forecast had the lowest test MASE of its candidates."""
    cols = [f"{c}_test_mase" for c in CANDIDATES if f"{c}_test_mase" in rows]
    best = rows[cols].min(axis=1)
    return float((rows["recommended_test_mase"] <= best + 1e-12).mean())


def held(rows: pd.DataFrame) -> tuple[int, int]:
    """(claims of "goal met on validation", how many of them held on test)."""
    val = rows.get("goal_met_val", pd.Series(dtype=object)).astype(str).str.lower() == "true"
    test = rows.get("goal_met_test", pd.Series(dtype=object)).astype(str).str.lower() == "true"
    return int(val.sum()), int((val & test).sum())


def tables(per: pd.DataFrame) -> str:
    msis = m4_official("interval")
    lines = ["M4: run here, defaults; M1: scripts/bench_short.py's default runs. "
             "OWA vs Naive2 on the official test horizons, set-level as in M4, over the series every model "
             "forecast; statsforecast on the same series. `best on test`: share of series whose recommended "
             "forecast had the lowest test MASE among its candidates. Coverage: share of test points inside "
             "the recommended forecast's intervals; MSIS at 95% (M4's interval score), official M4 figures "
             "for the whole frequency beside it.", "",
             "| subset | series | recommended | LSTM | LSTM+best | comb | naive2 | ARIMA | ETS | Theta | sf AutoETS "
             "| sf AutoARIMA | sf AutoTheta | best sf | best on test | goal held / claimed | cover 80 | cover 95 "
             "| MSIS 95 | M4 ETS MSIS | M4 ARIMA MSIS |", "|" + "---|" * 21]
    sf = statsforecast_table()
    groups = [(s, per[per.subset == s]) for s in per.subset.unique()]
    groups += [("m4 (all)", per[per.subset.str.startswith("m4")]), ("m1 (all)", per[per.subset.str.startswith("m1")]),
               ("all", per)]
    for subset, rows in groups:
        rows = with_pair(rows.dropna(axis=1, how="all"))
        rows = rows[rows.recommended_test_mase.notna()] if "recommended_test_mase" in rows else rows.iloc[0:0]
        if rows.empty:
            continue
        scores = {m: owa(rows, m)[0] for m in ("recommended", "lstm", "lstm+best", "comb", "naive2", "arima", "ets", "theta")}
        refs = references(rows, sf)
        claimed, kept = held(rows)
        freq = M4_FREQ.get(subset)
        official = [f"{msis.loc[m, f'MSIS_{freq}']:.2f}" if freq else "-" for m in ("ETS", "ARIMA")]
        lines.append(
            f"| {subset} | {len(rows)} | " + " | ".join(f"{scores[m]:.3f}" for m in scores) + " | "
            + " | ".join(f"{refs[r]:.3f}" for r in REFERENCES) + f" | {min(refs.values()):.3f} | {best_share(rows):.0%} | "
            f"{kept} / {claimed} | " + " | ".join(f"{c:.{d}f}" for c, d in zip(coverage(rows), (3, 3, 2)))
            + " | " + " | ".join(official) + " |")
    lines += ["", "## Spread over series", "",
              "Per series, test MASE divided by that of the subset's best statsforecast model (the `best sf` "
              "column) on the same series: the median hides the series where a forecast fails, so the 80th "
              "and 95th percentiles, the worst, and the share of series more than 25% worse are beside it.", "",
              "| subset | series | reference | forecast | median | p80 | p95 | worst | share > 1.25 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for subset, rows in groups:
        rows = rows[rows.recommended_test_mase.notna()] if "recommended_test_mase" in rows else rows.iloc[0:0]
        if rows.empty or not rows.uid.isin(sf.index).all():
            continue
        refs = references(rows, sf)
        best = min(refs, key=refs.__getitem__)
        ref = sf.loc[rows.uid, ("mase", best)].to_numpy()
        for model in ("recommended", "lstm", "comb"):
            col = f"{model}_test_mase"
            if col not in rows:
                continue
            ratio = pd.Series(rows[col].to_numpy() / ref).replace([np.inf, -np.inf], np.nan).dropna()
            if ratio.empty:
                continue
            q = ratio.quantile([0.5, 0.8, 0.95])
            lines.append(f"| {subset} | {len(ratio)} | {best} | {model} | {q[0.5]:.3f} | {q[0.8]:.3f} | {q[0.95]:.3f} | "
                         f"{ratio.max():.2f} | {(ratio > 1.25).mean():.0%} |")
    lines += hedge_table(groups, sf)
    lines += ["", "Recommended models (series): " + "; ".join(
        f"{s}: " + ", ".join(f"{m} x{k}" for m, k in rows.recommended.value_counts().items())
        for s, rows in per.groupby("subset") if "recommended" in rows)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subsets", nargs="+", default=list(M4_SUBSETS), choices=list(M4_SUBSETS))
    parser.add_argument("--tables-only", action="store_true")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="config overrides for the M4 runs, e.g. eval.val_origins=9 (use with --tag)")
    parser.add_argument("--tag", default="", help="suffix of the output files; M1 rows then come from "
                        "bench_short.py's runs with --label <tag>, not the defaults'; with --tables-only and no "
                        "bench_recommend_<tag>.csv, the M4 rows are the defaults'")
    args = parser.parse_args()
    settings = parse_settings(args.set)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = f"_{args.tag}" if args.tag else ""
    path = args.out / f"bench_recommend{suffix}.csv"
    # --tables-only --tag with no M4 runs of the tag's own (a setting local runs ignore): the defaults' M4 rows.
    source = path if path.exists() or not args.tables_only else args.out / "bench_recommend.csv"
    per = read_or_empty(source, ("subset", "uid"))
    if not args.tables_only:
        for subset in args.subsets:
            per = pd.concat([per[per.subset != subset], run_m4(subset, args.timeout, settings)], ignore_index=True)
            per.to_csv(path, index=False)
    m1_path = args.out / "bench_short_series.csv"
    m1 = read_or_empty(m1_path)
    label = "auto" + (f" {args.tag}" if args.tag else "")  # bench_short.py's "<subset> <scope> <label>"
    # A subset's full run, else its --quick one (every 10th series), said under the tables.
    done = set(m1.label)
    picked = [f"{s} {label}" if f"{s} {label}" in done else f"{s} {label} quick"
              for s in ("m1_monthly", "m1_quarterly", "m1_yearly")]
    quick = [p for p in picked if p.endswith(" quick") and p in done]
    m1 = m1[m1.label.isin(picked)]
    m1 = m1.assign(subset=m1.label.str.split().str[0])
    runs_path = args.out / "bench_short.csv"  # each M1 run's decision (reason, reference, per-series check)
    if runs_path.exists() and len(m1):
        runs = pd.read_csv(runs_path)
        keep = [c for c in ("reason", "reference", "per_series_check") if c in runs]
        m1 = m1.drop(columns=[c for c in keep if c in m1]).merge(runs[["label", *keep]], on="label", how="left")
    lines = tables(pd.concat([per, m1], ignore_index=True))
    if settings:
        lines += ["", "M4 runs with: " + " ".join(args.set)]
    if args.tag:
        lines += ["", f"M1 rows: bench_short.py's runs labelled `{args.tag}`; M4 rows: {source.name}."]
    if quick:
        lines += ["", "Quick runs (every 10th series of the subset) stand in for: " + ", ".join(quick) + "."]
    write(args.out, f"bench_recommend{suffix}", "What to use: the recommended forecast", lines)


if __name__ == "__main__":
    main()
