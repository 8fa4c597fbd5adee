"""Global scope: one LSTM trained on the windows of many series, grown with the same recipe.

Each series keeps its own split, origins and training-only scaler (``SeriesWindows``); every
window is measured from its own level (``model.input_norm``), so series of different scales
share one network. Windows are gathered batch by batch from one float32 array of all series
(no window tensor is ever materialised), which bounds memory for thousands of series.
Decisions use the set-level validation metric: the mean over series of each series' metric
(itself the mean over its validation origins). Baselines stay per series.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from growlstm import data as data_mod
from growlstm.verdict.advice import decide, forecast_columns, quantiles, series_advice, summary_block
from growlstm.config import Config, check_config
from growlstm.errors import InputError
from growlstm.train.evaluator import LSTMEvaluator, SeedOutcome, StageOutcome
from growlstm.model import LSTMStack
from growlstm.baselines.backtesting import BaselineResult, mean_scores
from growlstm.baselines.residual import fitted_base
from growlstm.records.forecaster import MODEL_FILE, capture, save
from growlstm.verdict.goal import CarryOver, Goal, carry_over, claimed, make_goal, share_met
from growlstm.data.layout import plan as plan_layout
from growlstm.runs.pooled_refit import refitted
from growlstm.runs.shared import (
    FITS_PER_WORKER, all_baselines, map_series, mark_many, series_config, set_baselines, split_panel,
    training_threads, worker_count, write_many,
)
from growlstm.train.module import LSTMForecaster
from growlstm.records.plots import growth_plot
from growlstm.growth.policy import CapFn, Stop, beats
from growlstm.train.pooled_windows import SERIES_ID_MAX, PooledWindows, pool_feature_scaling
from growlstm.verdict.recommend import Candidate
from growlstm.records.recorder import Recorder
from growlstm.records.results import GrowthView, ManyResult
from growlstm.growth.preparation import horizon_and_season, prepare, residual_for
from growlstm.growth.stages import Searched, choose, lookback_steps, run_stages, size_label
from growlstm.records.setlevel import series_row, set_scores
from growlstm.records.store import atomic_write
from growlstm.train.fit import FitResult, one_torch_thread, torch_threads
from growlstm.data.windows import SeriesWindows, default_input_size, future_frame

log = logging.getLogger("growlstm")


class PooledEvaluator(LSTMEvaluator):
    """Trains the one network per stage (seeds packed as for one series) and scores it on every
    series' validation origins; a seed's score is the mean over series. ``threads``: the cores
    a wide stage may use (``training_threads``)."""

    def __init__(self, pooled: PooledWindows, *args: Any, **kwargs: Any) -> None:
        super().__init__(pooled, *args, **kwargs)  # type: ignore[arg-type]
        self.pooled = pooled
        self.threads = 1

    def __call__(self, index: int, widths: list[int], parents: Optional[list[Optional[LSTMStack]]] = None,
                 lookback: Optional[int] = None) -> StageOutcome:
        with torch_threads(training_threads(widths, self.threads)):
            return super().__call__(index, widths, parents, lookback)

    def outcome(self, fit: FitResult, note: str = "") -> SeedOutcome:
        forecasts = self.pooled.forecasts(fit.module, self.pooled.origins("val"))
        val = mean_scores(self.pooled.scores_of(forecasts, "val"))
        if not all(math.isfinite(v) for v in val.values()) or not math.isfinite(fit.train_loss):
            raise FloatingPointError(f"seed {fit.seed}: non-finite loss or forecast")
        return SeedOutcome(fit.seed, val, fit.train_loss, fit.val_loss, fit.epochs, fit.steps, fit.seconds, fit, note,
                           forecasts)

    def ensemble_scores(self, forecasts: list[list[np.ndarray]]) -> dict[str, float]:
        """Validation metrics of the seeds' mean forecast, averaged over series as a seed's are."""
        mean = [np.mean(per_series, axis=0) for per_series in zip(*forecasts)]
        return mean_scores(self.pooled.scores_of(mean, "val"))


def needs_padding(panel: data_mod.Panel, h: int, input_size: int, config: Config) -> bool:
    """Whether some series is too short for the full layout with whole windows: then every series
    is cut with a padded lookback, and its layout shrinks as far as it must (``growlstm.data.layout``)."""
    lengths = panel.df.groupby("unique_id", sort=False).size()
    for uid, n in lengths.items():
        cut = plan_layout(int(n), h, config.eval, input_size, min_windows=h, test_span=panel.test_rows.get(str(uid)))
        if cut is None or cut.steps or cut.n_windows < h:
            return True
    return False


def layout_counts(wins: list[SeriesWindows]) -> str:
    """How the series were cut, in words, most common first (the run's first lines say it)."""
    from collections import Counter

    counts = Counter(", ".join(w.layout_steps) or "full layout" for w in wins)
    untrained = sum(1 for w in wins if not len(w.train_origins))
    text = "; ".join(f"{k} series: {what}" for what, k in counts.most_common())
    return text + (f"; {untrained} series too short for a training window (validated and forecast only)" if untrained else "")


def base_counts(wins: list[SeriesWindows]) -> str:
    """What the network corrects, in words, most common base first (the run's first lines say it)."""
    from collections import Counter

    counts = Counter(w.base_name or "none (alone)" for w in wins)
    if set(counts) == {"none (alone)"}:
        return "the LSTM forecasts alone"
    return "the LSTM corrects each series' classical forecast: " + ", ".join(
        f"{name} x{k}" for name, k in counts.most_common())


@one_torch_thread
def grow_global(
    panel: data_mod.Panel, config: Config, run_dir: Optional[str | Path] = None, resume: bool = False
) -> ManyResult:
    """Grow one LSTM on the windows of every series of ``panel`` (``growth.scope=global``)."""
    check_config(config)
    if config.model.widths and config.model.init_from:
        raise InputError("model.init_from is not available with growth.scope=global", "leave model.init_from unset")
    start = time.perf_counter()
    data_mod.report_skipped(panel)
    wins, rows, h, input_size = series_windows(panel, config)
    if config.model.series_id and len(wins) > SERIES_ID_MAX:
        raise InputError(f"model.series_id=true gives one input per series, and {len(wins)} series is more than "
                         f"{SERIES_ID_MAX}", "drop model.series_id, or tell series apart by static data.features")
    # model.series_stats unset: off until scripts/bench_series_stats.py shows a validation gain.
    stats = bool(config.model.series_stats)
    pooled = PooledWindows.build(pool_feature_scaling(wins), series_id=config.model.series_id, series_stats=stats)
    first = list(config.model.widths) or [config.growth.start_cells]
    cap_fn = CapFn(pooled.n_samples, pooled.n_inputs, h)
    if pooled.base_input and config.model.base_input is None and cap_fn(config.growth.alpha) < sum(first):
        # The default reads the base only where the pooled data leaves room for its h inputs.
        log.info("the base forecast is not an input: with its %d values the capacity cap would leave fewer than "
                 "%d cells (model.base_input=true forces it)", h, sum(first))
        wins = [replace(w, base_input=False) for w in wins]
        pooled = PooledWindows.build(pool_feature_scaling(wins), series_id=config.model.series_id, series_stats=stats)
        cap_fn = CapFn(pooled.n_samples, pooled.n_inputs, h)
    lookbacks = lookback_steps(pooled, config)
    reach = max([*lookbacks, config.model.lookback or 0])
    if reach > pooled.input_size:  # gathered as long as the longest lookback a network may read
        if not pooled.pad:
            raise InputError(f"model.lookback={config.model.lookback} is longer than input_size={input_size}",
                             f"set input_size={config.model.lookback}, or leave model.lookback unset")
        pooled = pooled.with_lookback(reach)
    workers = worker_count(config, len(wins))
    log.info("growlstm: %d series, global scope: one LSTM on %d training windows (%d distinct targets), "
             "%d early-stopping, h=%d, input_size=%d%s%s%s%s; %d refused", len(wins), len(pooled.train_pos),
             pooled.n_samples, len(pooled.stop_pos), h, input_size, " left-padded" if pooled.pad else "",
             ", series identity as one-hot inputs" if pooled.series_id else "",
             ", the base forecast as inputs" if pooled.base_input else "",
             f", {pooled.n_stats} series statistics as inputs" if pooled.series_stats else "", len(rows))
    if lookbacks:
        log.info("lookback move: at each width plateau the network may read %s steps instead of %d (growth.lookbacks)",
                 " or ".join(map(str, lookbacks)), pooled.norm_steps)
    elif config.growth.lookbacks and not pooled.pad:
        log.info("lookback move off: every series is long enough for whole windows of %d steps, so none is left-padded "
                 "(set input_size for a longer lookback)", input_size)
    log.info("layouts: %s; %s", layout_counts(wins), base_counts(wins))
    log.info("fitting %s on every series (%d worker(s))", ", ".join(config.baselines), workers)
    per_series = all_baselines(wins, list(config.baselines), workers)
    baselines = set_baselines(per_series, config.baselines)
    goal = make_goal(config.goal, baselines)  # on the validation means only
    log.info("baselines (mean %s over series): %s", goal.metric.upper(), ", ".join(
        f"{n} {b.val.get(goal.metric, math.nan):.3f}" for n, b in baselines.items() if b.ok))
    root = Path(run_dir) if run_dir is not None else None
    recorder = Recorder(root, config, pooled, resume=resume) if root is not None else None  # type: ignore[arg-type]
    if root is not None:
        mark_many(root, "global", len(panel))
    too_short = no_room(pooled, first, cap_fn, config)
    if too_short:  # every series still gets its baselines, the verdict and forecast.csv
        log.info("no LSTM: %s", too_short)
        searched = Searched([], {}, [], Stop("too_short", too_short), 0.0)
    else:
        evaluator = PooledEvaluator.for_run(pooled, config, recorder.tb_dir if recorder else None)
        evaluator.threads = workers  # type: ignore[attr-defined]  # the baselines' workers are idle by then
        searched = run_stages(pooled, config, goal, cap_fn, evaluator, recorder, first, resume, start)
    if recorder is not None:
        recorder.close_growth(searched.stages, baselines, goal)
    chosen = choose(searched.stages, searched.history, goal, config.growth)
    members = ensemble_members(searched, chosen, config)
    if len(members) > 1:
        log.info("the LSTM forecast is the mean of %d grown networks' seeds: %s (forecast.ensemble)", len(members),
                 ", ".join(size_label(searched.stages[k].widths, searched.stages[k].lookback) for k in members))
    modules = [m for k in members for m in searched.modules.get(k, [])]
    refits, refit_info = refitted_members(pooled, searched.stages, members, searched.modules, config)
    tested = refits["test"]
    # The test origins are read once, here: the chosen network's seeds on every series.
    advice = global_advice(pooled, modules, refits, per_series, goal, config)
    table_rows, check = chosen_rows(pooled, modules, tested, per_series,
                                    searched.stages[chosen].widths if chosen is not None else [], goal, config, advice,
                                    too_short=bool(too_short))
    rows |= {r["uid"]: r for r in table_rows}
    table = pd.DataFrame([rows[uid] for uid in panel.ids() if uid in rows])
    if root is not None:
        write_growth_plot(root, pooled, goal, baselines, searched, chosen, table)
    block = global_block(pooled, searched, chosen, goal, input_size) | {"refit": refit_info,
                                                                         "claim_check": check.as_dict()}
    result = ManyResult(
        config=config, scope="global", table=table, skipped=dict(panel.skipped),
        seconds=searched.spent * 60 + time.perf_counter() - start, workers=workers, run_dir=root,
        extra={"global": block, "recommendation": advice[0].as_dict() if advice else None},
    )
    # The recommendation is said once, under the final table (records/report.py: format_many).
    if root is not None:
        write_global(root, result, panel, refits["future"], advice, rows)
    return result


def ensemble_members(searched: Searched, chosen: Optional[int], config: Config) -> list[int]:
    """The stages whose seeds the LSTM forecast averages, the chosen one first: with
    ``forecast.ensemble``, the stages growth's lookback move trained (another lookback) that the
    chosen stage does not beat beyond the noise, the best-validating first, one per entry of
    ``growth.lookbacks`` at most (an ensemble over lookbacks, as N-BEATS averages its members;
    the seeds of one stage are averaged anyway)."""
    if chosen is None:
        return []
    if not config.forecast.ensemble:
        return [chosen]
    stages, history = searched.stages, searched.history
    moved = [r.index for r in stages if r.ok and r.index != chosen and r.action == "lookback"
             and r.lookback != stages[chosen].lookback and searched.modules.get(r.index)
             and not beats(history, r.index, chosen, config.growth)]
    moved.sort(key=lambda k: history[k].score)
    return [chosen, *moved[: len(config.growth.lookbacks)]]


def refitted_members(pooled: PooledWindows, stages: Sequence[Any], members: list[int],
                     modules: dict[int, list[Any]], config: Config
                     ) -> tuple[dict[str, tuple[PooledWindows, Sequence[LSTMForecaster]]], dict[str, Any]]:
    """``refitted`` for each ensemble member, their networks side by side on the first member's
    windows (every member's cuts are the same data, gathered as long); where a member's refit
    fails, the chosen stage alone."""
    if not members:
        return refitted(pooled, stages, None, [], config)
    outs = [refitted(pooled, stages, k, modules.get(k, []), config) for k in members]
    if len(outs) == 1 or (config.forecast.refit and any("error" in info or not info for _, info in outs)):
        return outs[0]
    first = outs[0][0]
    refits = {part: (first[part][0], [m for out, _ in outs for m in out[part][1]]) for part in first}
    return refits, {**outs[0][1], "members": members, "member_seconds": [info.get("seconds") for _, info in outs]}


def no_room(pooled: PooledWindows, first: list[int], cap_fn: CapFn, config: Config) -> str:
    """Why the pooled data leave no room for the first stage ("" when they do): the capacity
    rule's figures and what the forecaster gets instead. A fixed ``model.widths`` is trained
    regardless, as for one series."""
    alpha = config.growth.alpha
    cap = cap_fn(alpha)
    if config.model.widths or sum(first) <= cap:
        return ""
    return (f"{first} cells exceed the pooled capacity cap of {cap} cells (N_s={pooled.n_samples} distinct training "
            f"targets, N_i={pooled.n_inputs}, N_o=h={pooled.h}, alpha={alpha:g}); every series gets the classical "
            f"forecast the recommendation picks. More or longer series, a smaller h or a smaller growth.alpha "
            f"leave room for an LSTM{' (so does leaving model.base_input unset: its h inputs count)' if pooled.base_input else ''}; "
            f"model.widths trains one regardless")


def prepared_series(one: data_mod.Panel, config: Config, pad: bool) -> tuple[Optional[SeriesWindows], str]:
    """One series cut for the pooled network, or why it is refused (a worker's job)."""
    try:
        return prepare(one, config, pad=pad, pooled=True)[1], ""
    except InputError as err:
        return None, str(err)


def series_windows(panel: data_mod.Panel, config: Config
                   ) -> tuple[list[SeriesWindows], dict[str, dict[str, Any]], int, int]:
    """Every series cut as the one network reads it (one h, one lookback, padded where a series
    is short): (windows, rows of the series refused, h, input size)."""
    h, season = horizon_and_season(panel, config)
    # One network reads one window length: the default is not shortened per series.
    input_size = config.input_size or default_input_size(h, season)
    pad = needs_padding(panel, h, input_size, config)
    if pad and config.input_size is None:
        # Short series: most of a long lookback would be padding. One horizon or one season
        # (M1 monthly, OWA of the global LSTM: 0.940 with 18 steps against 0.964 with 36).
        input_size = max(h, season)
    common = replace(config, h=h, input_size=input_size)
    rows: dict[str, dict[str, Any]] = {}
    wins: list[SeriesWindows] = []
    # A fitted base (ETS: ~0.1 s a series) is worth the workers' start on many series; Theta's
    # closed form is not.
    workers = worker_count(config, len(panel)) if fitted_base(residual_for(config, pooled=True)) else 1
    uids, items = [], []
    for uid, one in split_panel(panel):
        uids.append(uid)
        items.append((one, series_config(common, uid), pad))
    prepared = map_series(prepared_series, items, workers, "series", min_items=FITS_PER_WORKER)
    for uid, (win, reason) in zip(uids, prepared):
        if win is None:  # too short for any validation: reported, the others go on
            rows[uid] = series_row(uid, "refused", reason=reason)
        else:
            wins.append(win)
    if not wins:
        raise InputError(f"no series of {len(panel)} has {h} points and two more to validate on",
                         "use a smaller h, or longer series")
    return wins, rows, h, input_size


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
