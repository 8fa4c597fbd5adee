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
from growlstm.config import Config, check_config
from growlstm.errors import InputError
from growlstm.train.evaluator import LSTMEvaluator, SeedOutcome, StageOutcome
from growlstm.model import LSTMStack
from growlstm.baselines.backtesting import mean_scores
from growlstm.baselines.residual import fitted_base
from growlstm.verdict.goal import make_goal
from growlstm.data.layout import plan as plan_layout
from growlstm.runs.pooled_refit import refitted
from growlstm.runs.shared import (
    FITS_PER_WORKER, all_baselines, map_series, mark_many, series_config, set_baselines, split_panel,
    training_threads, worker_count,
)
from growlstm.train.module import LSTMForecaster
from growlstm.growth.policy import CapFn, Stop, beats
from growlstm.train.pooled_windows import SERIES_ID_MAX, PooledWindows, pool_feature_scaling
from growlstm.records.recorder import Recorder
from growlstm.records.results import ManyResult
from growlstm.growth.preparation import horizon_and_season, prepare, residual_for
from growlstm.growth.stages import Searched, choose, lookback_steps, run_stages, size_label
from growlstm.records.setlevel import series_row
from growlstm.train.fit import FitResult, one_torch_thread, torch_threads
from growlstm.data.windows import SeriesWindows, default_input_size

from growlstm.runs.pooled_output import chosen_rows, global_advice, global_block, write_global, write_growth_plot

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
    wins, rows, h, input_size, pooled, cap_fn, first = pooled_inputs(panel, config)
    workers = worker_count(config, len(wins))
    announce(wins, rows, h, input_size, pooled, config)
    log.info("fitting %s on every series (%d worker(s))", ", ".join(config.baselines), workers)
    started = time.perf_counter()
    per_series = all_baselines(wins, list(config.baselines), workers, config)
    baseline_seconds = time.perf_counter() - started  # summary.json global.baseline_seconds: where a run's time goes
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
    block = global_block(pooled, searched, chosen, goal, input_size) | {
        "refit": refit_info, "baseline_seconds": baseline_seconds, "claim_check": check.as_dict()}
    result = ManyResult(
        config=config, scope="global", table=table, skipped=dict(panel.skipped),
        seconds=searched.spent * 60 + time.perf_counter() - start, workers=workers, run_dir=root,
        extra={"global": block, "recommendation": advice[0].as_dict() if advice else None},
    )
    # The recommendation is said once, under the final table (records/report.py: format_many).
    if root is not None:
        write_global(root, result, panel, refits["future"], advice, rows)
    return result


def pooled_inputs(panel: data_mod.Panel, config: Config
                  ) -> tuple[list[SeriesWindows], dict[str, dict], int, int, PooledWindows, CapFn, list[int]]:
    """Every series' windows pooled, with the choices made before any fit: series identity, the
    base forecast as inputs where the capacity cap leaves room, windows as long as the longest lookback."""
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
    return wins, rows, h, input_size, pooled, cap_fn, first


def announce(wins: list[SeriesWindows], rows: dict[str, dict], h: int, input_size: int, pooled: PooledWindows,
             config: Config) -> None:
    """The run's opening lines: the pooled data, the lookback move, the layouts and bases."""
    lookbacks = lookback_steps(pooled, config)
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
    prepared = map_series(prepared_series, items, workers, "series", min_items=FITS_PER_WORKER, config=config)
    for uid, (win, reason) in zip(uids, prepared):
        if win is None:  # too short for any validation: reported, the others go on
            rows[uid] = series_row(uid, "refused", reason=reason)
        else:
            wins.append(win)
    if not wins:
        raise InputError(f"no series of {len(panel)} has {h} points and two more to validate on",
                         "use a smaller h, or longer series")
    return wins, rows, h, input_size
