"""The tables of scripts/bench_search.py: per method totals and medians, ratios to the grid,
paired comparisons series by series, and warm growth against fresh training."""

from __future__ import annotations

import math

import pandas as pd

from bench.score import paired


def ratio_line(label: str, ratios: pd.Series) -> str:
    """Median, 80th percentile and worst of per-series ratios to the grid's pick (1 = as good)."""
    if ratios.empty:
        return f"| {label} | 0 | | | | |"
    return (f"| {label} | {len(ratios)} | {ratios.median():.3f} | {ratios.quantile(0.8):.3f} | {ratios.max():.3f} | "
            f"{(ratios > 1.25).sum()} |")


def paired_lines(frame: pd.DataFrame) -> list[str]:
    """Each pair of methods (the grid aside) series by series on test: how often the first is
    better or worse, the geometric mean of its test MASE over the second's, and the Wilcoxon
    signed-rank p-value of the log ratios (ties left out)."""
    from itertools import combinations

    lines = ["", "Paired per series on test (first method against second; Wilcoxon signed-rank on the log ratios):",
             "", "| first | second | series | better | worse | tied | geo-mean ratio | p |", "|---|---|---|---|---|---|---|---|"]
    tests = {m: part.drop_duplicates("series", keep="last").set_index("series").test_mase
             for m, part in frame[frame.method != "grid"].groupby("method", sort=False)}
    for a, b in combinations(tests, 2):
        common = tests[a].index.intersection(tests[b].index)
        if len(common) < 2:
            continue
        better, worse, tied, geo, p = paired(tests[a][common], tests[b][common])
        lines.append(f"| {a} | {b} | {len(common)} | {better} | {worse} | {tied} | {geo:.3f} | {p:.2f} |")
    return lines


def fresh_lines(frame: pd.DataFrame) -> list[str]:
    """``warm_fresh`` rows: warm growth's chosen size against the same size trained from fresh
    weights with the same seeds (RECIPE.md asks for this measurement), on validation and test,
    over the series where the two differ (a chosen first stage or probe is fresh already)."""
    if "warm_val_mase" not in frame:
        return []
    rows = frame.dropna(subset=["warm_val_mase"])
    rows = rows[(rows.val_mase - rows.warm_val_mase).abs() > 1e-9].set_index("series")
    lines = ["", f"Warm growth's choice against the same size trained from fresh weights (`warm_fresh` rows: "
             f"{len(rows)} rows where the chosen stage was grown, not trained afresh):", "",
             "| fresh against warm | better | worse | tied | geo-mean ratio | p | median | 80th pct | worst |",
             "|---|---|---|---|---|---|---|---|---|"]
    for part in ("val", "test"):
        better, worse, tied, geo, p = paired(rows[f"{part}_mase"], rows[f"warm_{part}_mase"])
        ratio = rows[f"{part}_mase"] / rows[f"warm_{part}_mase"]
        lines.append(f"| {part} MASE | {better} | {worse} | {tied} | {geo:.3f} | {p:.2f} | {ratio.median():.3f} | "
                     f"{ratio.quantile(0.8):.3f} | {ratio.max():.3f} |")
    lines += ["", "| series | size | warm val | fresh val | warm test | fresh test |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | [{r.widths}] | {r.warm_val_mase:.3f} | {r.val_mase:.3f} | {r.warm_test_mase:.3f} | "
              f"{r.test_mase:.3f} |" for name, r in rows.iterrows()]
    return lines


def summarise(frame: pd.DataFrame) -> str:
    """Per method: totals and medians, and ratios to the grid over the series the grid ran on
    (total wall time; per-series time, validation and test MASE, with their spread over series);
    then the per-series rows."""
    lines = ["| method | series | total wall s | total / grid total | median wall s | median steps | median trained | "
             "median val MASE | median test MASE | median time / grid | median test MASE / grid best |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    grid = frame[frame.method == "grid"].set_index("series")
    spread = ["", "Per-series ratios to the grid's pick (lower is better; the grid picks by validation MASE "
              "over the uniform stacks, so a validation ratio below 1 is a non-uniform size or a lucky seed):", "",
              "| method: ratio | series | median | 80th percentile | worst | series > 1.25 |", "|---|---|---|---|---|---|"]
    for method, part in frame.groupby("method", sort=False):
        part = part.set_index("series")
        common = part.index.intersection(grid.index)
        total = part.loc[common, "seconds"].sum() / grid.loc[common, "seconds"].sum() if len(common) else math.nan
        t_ratio = (part.loc[common, "seconds"] / grid.loc[common, "seconds"]).median() if len(common) else math.nan
        m_ratio = (part.loc[common, "test_mase"] / grid.loc[common, "test_mase"]).median() if len(common) else math.nan
        lines.append(
            f"| {method} | {len(part)} | {part.seconds.sum():.0f} | {total:.2f} | {part.seconds.median():.1f} | "
            f"{part.steps.median():.0f} | {part.trained.median():.0f} | {part.val_mase.median():.3f} | "
            f"{part.test_mase.median():.3f} | {t_ratio:.2f} | {m_ratio:.3f} |"
        )
        if method != "grid" and len(common):
            spread.append(ratio_line(f"{method}: validation", part.loc[common, "val_mase"] / grid.loc[common, "val_mase"]))
            spread.append(ratio_line(f"{method}: test", part.loc[common, "test_mase"] / grid.loc[common, "test_mase"]))
    lines += spread + paired_lines(frame) + fresh_lines(frame)
    lines += ["", "| series | method | trained | wall s | time / grid | chosen | params | val MASE | test MASE | "
              "val / grid | test / grid |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in frame.iterrows():
        g = grid.loc[r.series] if r.series in grid.index else None
        nan = math.nan
        lines.append(
            f"| {r.series} | {r.method} | {r.trained} | {r.seconds:.1f} | "
            f"{r.seconds / g.seconds if g is not None else nan:.2f} | [{r.widths}] | {r.params} | "
            f"{r.val_mase:.3f} | {r.test_mase:.3f} | {r.val_mase / g.val_mase if g is not None else nan:.2f} | "
            f"{r.test_mase / g.test_mase if g is not None else nan:.2f} |"
        )
    return lines
