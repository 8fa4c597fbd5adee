"""The final console table: the chosen LSTM beside the baselines on the test block."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

from growlstm.metrics import metric_label
from growlstm.metrics import fmt
from growlstm.records.setlevel import lstm_scored
from growlstm.verdict.advice import per_series_line

if TYPE_CHECKING:
    import pandas as pd

    from growlstm.records.results import ManyResult
    from growlstm.records.results import GrowthResult


def _yes(value: Optional[bool]) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def format_report(result: "GrowthResult") -> str:
    """Table of the chosen model and every baseline (validation and test), then the verdict."""
    metric = result.goal.metric
    cols = ["mase", "smape", "mae", "rmse"]
    # The spec column fits the longest spec (e.g. "Theta(theta=48.1 optimised, deseasonalised multiplicative m=12)").
    w = min(64, max([26, *(len(b.spec) for b in result.baselines.values() if b.ok)]))
    header = (
        f"{'model':<16s} {'spec':<{w}s} {'params':>7s} {'val ' + metric_label(metric):>10s} "
        + " ".join(f"{'test ' + metric_label(c):>11s}" for c in cols)
    )
    lines = [header, "-" * len(header)]
    chosen = result.chosen_stage
    if chosen is not None:
        lines.append(
            f"{'LSTM (chosen)':<16s} {'widths ' + str(chosen.widths):<{w}s} {chosen.params:>7d} "
            f"{fmt(chosen.val.get(metric, math.nan)):>10s} "
            + " ".join(f"{fmt(result.chosen_test.get(c, math.nan)):>11s}" for c in cols)
        )
    for name, b in sorted(result.baselines.items(), key=lambda kv: kv[1].val.get(metric, math.inf)):
        if not b.ok:
            lines.append(f"{name:<16s} FAILED: {b.error}")
            continue
        mark = " *" if name == result.goal.baseline else ""
        lines.append(
            f"{name + mark:<16s} {b.spec[:w]:<{w}s} {'':>7s} {fmt(b.val.get(metric, math.nan)):>10s} "
            + " ".join(f"{fmt(b.test.get(c, math.nan)):>11s}" for c in cols)
        )
    origins = f"{len(result.layout.get('val_origins', []))} validation / {len(result.layout.get('test_origins', []))} test origin(s)"
    lstm = ("the LSTM's are its seeds' mean forecast's" if result.config.growth.judge == "ensemble" else
            "the LSTM's are the mean over its seeds on validation, its seeds' mean forecast's on test")
    lines.append(f"(* best baseline on validation; metrics are means over {origins}; {lstm})")
    lines.append(verdict(result))
    if result.significance is not None:
        sig = result.significance
        lines.append(
            f"Diebold-Mariano (HLN, absolute error) vs {sig.baseline} on test: statistic {sig.statistic:+.2f}, "
            f"p = {sig.pvalue:.3f} (two-sided), p = {sig.pvalue_better:.3f} that the LSTM is better"
        )
    if result.stages:
        lines.append(f"stop: {result.stop_reason}" + (f" ({result.stop_note})" if result.stop_note else ""))
    lines.append(recommendation_line(result.recommendation))
    return "\n".join(lines)


def recommendation_line(rec: dict) -> str:
    """The last line of a run: what to use and why (summary.json's ``recommendation``)."""
    if not rec:
        return "recommended: nothing (no model forecast the validation origins)"
    test = rec.get("test") or {}
    scored = f"; on test MASE {fmt(test['mase'])}" if "mase" in test else ""
    cover = rec.get("intervals") or {}
    levels = ", ".join(f"{k.split('_')[1]}%: {v:.0%}" for k, v in cover.items() if k.startswith("coverage_"))
    return (f"recommended: {rec['model']} ({rec['reason']}){scored}"
            + (f"; test points inside its intervals: {levels}" if levels else "")
            + (f" ({rec['interval_note']})" if rec.get("interval_note") else ""))


def verdict(result: "GrowthResult") -> str:
    """Whether the goal was met, on validation and on test, and the gap when it was not."""
    goal = result.goal
    if not result.stages:
        return f"goal: {goal.describe()}; no LSTM was trained ({result.stop_note.split(';')[0]})"
    if goal.threshold("val") is None:
        return f"goal: {goal.describe()}"
    chosen = result.chosen_stage
    parts = [f"goal: {goal.describe()}"]
    for part, values in (("validation", chosen.val if chosen else {}), ("test", result.chosen_test)):
        key = "val" if part == "validation" else "test"
        value = values.get(goal.metric, math.nan)
        met = result.goal_met(key) if chosen else goal.met(value, key)
        threshold = goal.threshold(key)
        gap = goal.gap(value, key)
        text = f"met on {part}: {_yes(met)}"
        claim = result.val_claim_p if key == "val" and chosen else None
        if claim is not None and goal.met(value, key):
            level = result.config.goal.claim_significance
            text = (f"met on {part}: yes, beyond the noise (p = {claim:.2g})" if met else
                    f"met on {part}: on the mean only ({fmt(value)} vs {fmt(threshold)}), within the noise "
                    f"(p = {claim:.2g} >= {level:g})")
        elif not met and threshold is not None and gap is not None and math.isfinite(gap):
            text += f" ({fmt(value)} vs {fmt(threshold)}, gap {gap:+.3f})"
        parts.append(text)
    if not result.goal_met("val"):
        within = chosen is not None and goal.met(chosen.val.get(goal.metric, math.nan), "val")
        fixed = list(result.config.model.widths)
        if fixed:  # one size was trained, none searched: "no size met it" would claim a search
            parts.append(f"the fixed architecture model.widths={fixed} meets the goal on the mean only, within the noise"
                         if within else f"the fixed architecture model.widths={fixed} does not meet the goal "
                         "(no search: leave model.widths empty to grow one)")
        else:
            parts.append("the goal is not met beyond the noise; reported: the first size that meets it on the mean" if within else
                         "no LSTM size met the goal; reported: the smallest size no other beats beyond min_gain and the seed noise")
    return "; ".join(parts)


def set_model_label(name: object) -> str:
    """How a model of the set-level table is named for the reader (console and report.html)."""
    return {"lstm": "LSTM", "lstm_norefit": "LSTM (no refit)"}.get(str(name), str(name))


def untrained(block: Optional[dict]) -> bool:
    """Whether a global run trained no network: the pooled data had no room for the first stage
    (a run whose stages all failed did train, and says so by its stages)."""
    return bool(block) and block["stop_reason"] == "too_short"


NO_TEST_SCORES = "no test scores: no series is long enough to hold a test span out (validation scores: series.csv)"


def shown_scores(result: "ManyResult") -> tuple["pd.DataFrame", str]:
    """The set-level test scores to show (empty: none to show), and the series they average over.
    Where no LSTM was scored (none trained), its empty rows are left out and the baselines are
    compared over every series with a test span."""
    scores = result.scores("test")
    with_lstm = lstm_scored(result.table, "test")
    if not with_lstm:
        scores = scores.drop(index=["lstm", "lstm_norefit"], errors="ignore")
    if not scores.series.any():
        scores = scores.iloc[0:0]
    return scores, ("the series the LSTM ran on" if with_lstm else "the series with a test span (no LSTM ran)")


def format_many(result: "ManyResult") -> str:
    """The set-level table (test, M4 style), the goal count, chosen sizes and the series left out."""
    scores, over = shown_scores(result)
    verdicts = result.verdicts
    if scores.empty:
        lines = [NO_TEST_SCORES]
    else:
        lines = [f"{'model':<16s} {'series':>6s} {'sMAPE':>8s} {'MASE':>8s} {'OWA':>7s}", "-" * 49]
        for model, row in scores.iterrows():
            label = set_model_label(model)
            lines.append(f"{label:<16s} {int(row.series):>6d} {fmt(row.smape, 2):>8s} {fmt(row.mase):>8s} {fmt(row.owa):>7s}")
        lines.append(f"(test; means over {over}; OWA vs Naive2 on the same series, as in M4)")
    rec = result.extra.get("recommendation")
    if rec:
        lines.append(f"recommended for every series: {rec['model']} ({rec['reason']})")
        if rec.get("per_series"):
            lines.append(per_series_line(rec["per_series"], rec["model"]))
    elif "recommended" in result.table:
        lines.append("recommended: " + ", ".join(f"{m} x{k}" for m, k in result.table.recommended.value_counts().items()))
    lines.append(
        f"series: {verdicts['series']} grown, {verdicts['ran']} ran; goal met on validation {verdicts['met_val']}, "
        f"on test {verdicts['met_test']} (held from validation: {verdicts['held_on_test']})"
    )
    block = result.extra.get("global")
    if untrained(block):
        lines.append(f"global model: none trained ({block['stop_reason']}: {block['stop_note']})")
    elif block:
        lines.append(f"global model: widths {block['widths']} ({block['params']} parameters, stage {block['chosen_stage']}) "
                     f"for every series; goal (set level): {block['goal']}; stop: {block['stop_reason']}")
    elif result.sizes:
        lines.append("chosen sizes: " + ", ".join(f"[{w}] x{k}" for w, k in result.sizes.items()))
    if result.config.model.residual == "auto" and result.residual_bases:
        lines.append("residual bases (auto): " + ", ".join(f"{b} x{k}" for b, k in result.residual_bases.items()))
    classical = result.table[(result.table.get("stop") == "too_short")] if "stop" in result.table else result.table.iloc[0:0]
    if len(classical) and not block:  # the global line says why no network was trained
        lines.append(f"no LSTM of their own: {len(classical)} series, too short (their forecast is the recommended "
                     f"classical one; growth.scope=global learns one LSTM across series); see series.csv")
    for status in ("refused", "failed"):
        bad = result.table[result.table.status == status] if "status" in result.table else result.table.iloc[0:0]
        if len(bad):
            # The first reason in full (one line with its fix), then the ids: reasons repeat.
            first = bad.iloc[0]
            more = f"; also {', '.join(bad.uid.iloc[1:6])}{', ...' if len(bad) > 6 else ''}" if len(bad) > 1 else ""
            lines.append(f"{status}: {len(bad)} series ({first.uid}: {first.reason}{more}); see series.csv")
    if result.skipped:
        lines.append(f"skipped by the loader: {len(result.skipped)} series ({', '.join(list(result.skipped)[:5])}"
                     + (", ..." if len(result.skipped) > 5 else "") + ")")
    return "\n".join(lines)
