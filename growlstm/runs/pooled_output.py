"""What a global run writes and says once it is grown: its summary block, growth plot, the
recommendation per series and at set level, the per-series rows and forecast.csv."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from growlstm import data as data_mod
from growlstm.verdict.advice import decide, forecast_columns, quantiles, series_advice, summary_block
from growlstm.config import Config
from growlstm.baselines.backtesting import BaselineResult, mean_scores
from growlstm.records.forecaster import MODEL_FILE, capture, save
from growlstm.verdict.goal import CarryOver, Goal, carry_over, claimed, make_goal, share_met
from growlstm.runs.shared import (
    write_many,
)
from growlstm.train.module import LSTMForecaster
from growlstm.records.plots import growth_plot
from growlstm.train.pooled_windows import PooledWindows
from growlstm.verdict.recommend import Candidate
from growlstm.records.results import GrowthView, ManyResult
from growlstm.records.setlevel import series_row, set_scores
from growlstm.records.store import atomic_write
from growlstm.data.windows import future_frame

log = logging.getLogger("growlstm")


def global_block(pooled: PooledWindows, searched: Any, chosen: Optional[int], goal: Goal, input_size: int
                 ) -> dict[str, Any]:
    """The global network's account for summary.json: its stages, choice, stop and windows."""
    stage_table = [
        {"stage": s.index, "action": s.action, "widths": s.widths, "lookback": s.lookback, "params": s.params,
         "val": s.val, "val_ensemble": s.val_ensemble,
         "val_std": s.val_std, "decision": s.decision, "seconds": s.seconds, "error": s.error}
        for s in searched.stages
    ]
    return {
        "chosen_stage": chosen, "widths": searched.stages[chosen].widths if chosen is not None else None,
        "lookback": searched.stages[chosen].lookback if chosen is not None else None,
        "params": searched.stages[chosen].params if chosen is not None else None,
        "stop_reason": searched.stop.reason, "stop_note": searched.stop.note,
        "goal": goal.describe(), "best_baseline": goal.baseline, "training_windows": len(pooled.train_pos),
        "n_samples": pooled.n_samples, "h": pooled.h, "input_size": input_size,
        "series_id": pooled.series_id, "series_stats": pooled.series_stats, "base_input": pooled.base_input, "n_inputs": pooled.n_inputs, "stages": stage_table, "padded": pooled.pad,
    }


def write_global(root: Path, result: ManyResult, panel: data_mod.Panel,
                 future: tuple[PooledWindows, Sequence[LSTMForecaster]], advice: Optional[tuple[Any, list[Any], Any]],
                 rows: dict[str, dict[str, Any]]) -> None:
    """forecast.csv, forecaster.pt (what forecast.csv was made from, for ``growlstm.predict``),
    then series.csv and the set-level summary."""
    write_forecasts(root, future[0], advice, result.config)
    if advice is not None:
        others = {uid: f"{r['status']}: {r['reason']}" for uid, r in rows.items() if r["status"] == "refused"}
        at_end, end_nets = future
        save(root / MODEL_FILE, capture("global", at_end.series, advice[1], advice[0], advice[2], list(end_nets),
                                        panel, result.config, others))
    write_many(root, result)


def write_growth_plot(root: Path, pooled: PooledWindows, goal: Goal, baselines: dict[str, BaselineResult],
                      searched: Any, chosen: Optional[int], table: pd.DataFrame) -> None:
    """growth.png of the one network, as for one series: set-level validation means per stage,
    the baselines' and the goal's, and the chosen network's set-level test score."""
    scores = set_scores(table, "test")
    test = {k: float(scores.loc["lstm", k]) for k in ("smape", "mase")} if "lstm" in scores.index else {}
    view = GrowthView(series=f"{len(pooled.series)} series (one global LSTM; means over series)", goal=goal,
                      stages=searched.stages, baselines=baselines, stop_reason=searched.stop.reason, chosen=chosen,
                      chosen_test=test)
    atomic_write(root / "growth.png", lambda tmp: growth_plot(view, tmp))


def global_advice(
    pooled: PooledWindows, modules: Sequence[LSTMForecaster],
    refits: dict[str, tuple[PooledWindows, Sequence[LSTMForecaster]]], per_series: list[dict[str, BaselineResult]],
    goal: Goal, config: Config,
) -> Optional[tuple[Any, list[Any], dict[str, np.ndarray]]]:
    """The recommendation for every series, decided once on all series' validation errors
    (``growlstm.verdict.advice``): (recommendation, each series' advice, conformal quantiles per candidate)."""
    def seed_mean(where: PooledWindows, nets: Sequence[LSTMForecaster], origins: list[Any]) -> list[np.ndarray]:
        per_seed = [where.forecasts(m, origins) for m in nets]
        return [np.mean([f[k] for f in per_seed], axis=0) for k in range(len(origins))]

    lstm: list[Any] = [None] * len(pooled.series)
    if modules:
        (at_val, val_nets), (at_test, test_nets), (at_end, end_nets) = refits["val"], refits["test"], refits["future"]
        val = seed_mean(at_val, val_nets, [w.val_origins for w in at_val.series])
        test = seed_mean(at_test, test_nets, [w.test_origins for w in at_test.series])
        ahead = seed_mean(at_end, end_nets, [np.array([w.future_origin]) for w in at_end.series])
        lstm = [Candidate("lstm", list(v), list(t), a[0]) for v, t, a in zip(val, test, ahead)]
    advice = [series_advice(w, bases, cand, goal.metric, best=goal.baseline, nonnegative=config.forecast.nonnegative)
              for w, bases, cand in zip(pooled.series, per_series, lstm)]
    if not any(a.candidates for a in advice):
        return None
    rec = decide([a for a in advice if a.candidates], config.forecast.significance, config.forecast.series_significance)
    names = set().union(*(a.candidates for a in advice))  # a series' own fallback needs its intervals too
    q = {name: quantiles(advice, name, config.forecast.levels) for name in sorted(names)}
    return rec, advice, q


def chosen_rows(
    pooled: PooledWindows, modules: Sequence[LSTMForecaster], tested: tuple[PooledWindows, Sequence[LSTMForecaster]],
    per_series: list[dict[str, BaselineResult]], widths: list[int], goal: Goal, config: Config,
    advice: Optional[tuple[Any, list[Any], dict[str, np.ndarray]]] = None, too_short: bool = False,
) -> tuple[list[dict[str, Any]], CarryOver]:
    """One row per series: the chosen network (mean over its seeds) and that series' baselines;
    and the validation backtest of per-series goal claims (``goal.carry_over``).

    Validation scores come from the searched networks, test scores from ``tested`` (the refitted
    networks and their windows; with a refit, the searched networks' test scores are kept beside
    them as ``search_test``). The per-series goal verdict compares with the series' own best
    baseline on validation. ``too_short``: no network was trained, the pooled data having no room
    for one; every series is then finished with its classical forecast, as one series would be.
    """
    # Each seed's validation forecasts, once: its scores, and (seed mean) the goal claim's evidence.
    val_forecasts = [pooled.forecasts(m, pooled.origins("val")) for m in modules]
    val = [pooled.scores_of(per, "val") for per in val_forecasts]
    test = tested[0].ensemble_scores(tested[1], "test") if modules else []
    searched = pooled.ensemble_scores(modules, "test") if modules and tested[1] is not modules else []
    goals = [make_goal(config.goal, bases) for bases in per_series]
    # Each series' validation score as the stages were judged (growth.judge): its seeds' mean
    # forecast's, which the goal claim tests too, or the mean of the seeds' own.
    means = [np.mean([f[k] for f in val_forecasts], axis=0) for k in range(len(pooled.series))] if val_forecasts else []
    if config.growth.judge == "ensemble" and means:
        lstm_vals = pooled.scores_of(means, "val")
    else:
        lstm_vals = [mean_scores([v[k] for v in val]) if val else {} for k in range(len(pooled.series))]
    points = [own.met(v.get(goal.metric, math.nan), "val") for own, v in zip(goals, lstm_vals)]
    claims: list[Optional[float]] = [None] * len(goals)
    ratios: list[Optional[np.ndarray]] = [None] * len(goals)
    for k, (w, own) in enumerate(zip(pooled.series, goals)):
        if means:  # claimed only beyond the noise (Goal.claim_pvalue)
            claims[k], ratios[k] = own.evidence_at(w, list(means[k]), with_p=bool(points[k]))
    check = carry_over(ratios)
    if check.claimed:
        log.info("%s", check.describe())
    rows = []
    for k, (w, bases) in enumerate(zip(pooled.series, per_series)):
        lstm_val, lstm_test, own, point, claim = lstm_vals[k], test[k] if test else {}, goals[k], points[k], claims[k]
        met_val = claimed(point, claim, config.goal.claim_significance) and not check.withholds
        summary = {
            "data": {"points": len(w.y), "residual": w.base_name or None},
            "chosen": {"widths": widths, "params": None, "val": lstm_val, "test": lstm_test,
                       "search_test": searched[k] if searched else {}} if modules else None,
            "goal": {"baseline": own.baseline, "met_val": met_val, "met_val_mean": point, "met_val_p": claim,
                     "met_val_origins": share_met(ratios[k]),
                     "claims_withheld": check.withholds,
                     "met_test": own.met(lstm_test.get(goal.metric, math.nan), "test")},
            "baselines": {n: {"status": "ok" if b.ok else "failed", "val": b.val, "test": b.test} for n, b in bases.items()},
            "stop_reason": "too_short" if too_short else "global model",
        }
        if advice is not None and advice[1][k].candidates:
            summary["recommendation"] = summary_block(advice[0], advice[1][k], advice[2], config.forecast.levels, w)
        rows.append(series_row(w.uid, "ok" if modules or too_short else "no model", summary))
    return rows, check


def write_forecasts(root: Path, pooled: PooledWindows, advice: Optional[tuple[Any, list[Any], dict[str, np.ndarray]]],
                    config: Config) -> None:
    """forecast.csv: the h steps after each series' data: the recommended forecast and every
    candidate's (the LSTM is the mean over the chosen network's seeds), with their intervals."""
    frames = []
    for k, w in enumerate(pooled.series):
        frame = future_frame(w.ds, w.h)
        frame.insert(0, "unique_id", w.uid)
        if advice is not None:
            frame = pd.concat([frame, pd.DataFrame(forecast_columns(advice[1][k], advice[0], config.forecast.levels,
                                                                    advice[2]))], axis=1)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    atomic_write(root / "forecast.csv", lambda tmp: table.to_csv(tmp, index=False))
