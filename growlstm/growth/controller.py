"""The growth controller: propose -> train -> evaluate -> record -> decide.

``grow`` is the Python entry point (no Hydra): give it a series and a ``Config``; it returns a
``GrowthResult``, the object the CLI prints and records.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from growlstm import data as data_mod
from growlstm.config import Config, check_config
from growlstm.errors import InputError
from growlstm.train.evaluator import LSTMEvaluator, StageEvaluator
from growlstm.baselines.backtesting import BaselineResult, run_baseline, score_origins
from growlstm.records.forecaster import capture
from growlstm.verdict.goal import Goal, make_goal, share_met
from growlstm.metrics import fmt
from growlstm.growth.policy import CapFn
from growlstm.growth.preparation import describe_layout, layout_of, lstm_room, prepare, to_panel
from growlstm.verdict.recommend import Candidate
from growlstm.records.recorder import Recorder
from growlstm.records.results import GrowthResult, StageRecord
from growlstm.verdict.significance import diebold_mariano
from growlstm.growth.stages import choose, run_stages
from growlstm.train.fit import one_torch_thread, predict
from growlstm.data.windows import SeriesWindows, future_frame

log = logging.getLogger("growlstm")


@one_torch_thread
def grow(
    series: Any,
    config: Optional[Config] = None,
    *,
    run_dir: Optional[str | Path] = None,
    evaluator: Optional[StageEvaluator] = None,
    resume: bool = False,
) -> GrowthResult:
    """Find the smallest LSTM that meets the goal on ``series``.

    ``series``: a pandas Series (dated index), a numpy array, a ``Panel`` or a long DataFrame
    (``unique_id, ds, y``; ``config.data.series`` picks the series). ``run_dir``: where stage
    folders, summary and plots go (nothing is written when None). ``resume``: continue the run
    in ``run_dir`` from its last completed stage (completed stages are read back, not retrained).
    ``evaluator``: replaces training (tests script validation scores with it).
    """
    config = config or Config()
    check_config(config)
    start = time.perf_counter()
    panel = to_panel(series, config)
    data_mod.report_skipped(panel)
    uid, win = prepare(panel, config)
    skipped = dict(panel.skipped)
    cap_fn = CapFn(win.n_samples, win.n_inputs, win.h)
    fixed = list(config.model.widths)
    first = fixed or [config.growth.start_cells]
    no_room = lstm_room(win, cap_fn, config.growth)
    check_fixed(uid, win, fixed, cap_fn(config.growth.alpha))
    if resume and run_dir is None:
        raise InputError("resume needs the run directory to continue", "pass run_dir=<run dir>")
    recorder = Recorder(Path(run_dir), config, win, resume=resume) if run_dir is not None else None
    log.info("%s", first_line(uid, win, cap_fn, config))
    if config.growth.lookbacks and not fixed:
        log.info("note: growth.lookbacks moves the lookback of one network pooled over many series (growth.scope="
                 "global); a series' own network reads input_size=%d steps (set input_size for another)", win.input_size)
    if win.y.min() <= 0 and "ets" in config.baselines:
        log.info("note: the series has values <= 0, so ETS considers additive forms only")

    baselines = {name: BaselineResult(name) for name in config.baselines}
    for name, result in baselines.items():
        run_baseline(name, win, result, "val", config.baseline_engine)
    goal = make_goal(config.goal, baselines)
    log.info("%s", baseline_line(baselines, goal))
    if no_room and not fixed:
        return classical_only(uid, win, config, goal, baselines, cap_fn, no_room, recorder, start, skipped, panel)

    evaluator = evaluator or LSTMEvaluator.for_run(win, config, recorder.tb_dir if recorder else None)
    stages, modules, history, proposal, spent = run_stages(win, config, goal, cap_fn, evaluator, recorder, first, resume, start)

    chosen = choose(stages, history, goal, config.growth)
    result = GrowthResult(
        config=config, series=uid, n_points=len(win.y), h=win.h, input_size=win.input_size,
        season_length=win.season_length, n_samples=win.n_samples, n_inputs=win.n_inputs, goal=goal, stages=stages,
        baselines=baselines, stop_reason=proposal.reason, stop_note=proposal.note, chosen=chosen,
        layout=layout_of(win, config), skipped=skipped,
    )
    # The test block is read once, here, for the chosen model and the baselines.
    for name, baseline in baselines.items():
        run_baseline(name, win, baseline, "test", config.baseline_engine)
    lstm, end = chosen_lstm(result, win, modules.get(chosen, []) if chosen is not None else [], config)
    advise(result, win, lstm, config, panel, end)
    result.seconds = spent * 60 + time.perf_counter() - start
    if recorder:
        recorder.finish(result)
    return result


def check_fixed(uid: str, win: SeriesWindows, fixed: list[int], cap: int) -> None:
    """A fixed architecture (``model.widths``) needs training windows; past the cap, a note."""
    if fixed and (not len(win.train_origins) or win.pad):
        raise InputError(f"series '{uid}' ({len(win.y)} points) leaves no training window for model.widths={fixed}",
                         "use a smaller h or input_size, or a longer series")
    if fixed and sum(fixed) > cap:
        log.warning("note: model.widths=%s passes the capacity cap of %d cells; trained as asked", fixed, cap)


def first_line(uid: str, win: SeriesWindows, cap_fn: CapFn, config: Config) -> str:
    """The run's first console line: the series, the layout it got, the cap, the residual base."""
    head = f"growlstm: series {uid} ({len(win.y)} points, season {win.season_length}), h={win.h}, input_size={win.input_size}"
    if win.no_room:  # cut for the classical forecasts only: no training windows or cap to speak of
        return f"{head}, no LSTM of its own: {len(win.val_origins)} validation and {len(win.test_origins)} test origin(s)"
    return (
        f"{head}, {describe_layout(win)}: {len(win.train_origins)} training windows, "
        f"{len(win.stop_origins)} early-stopping, {len(win.val_origins)} validation and {len(win.test_origins)} "
        f"test origin(s), capacity cap {cap_fn(config.growth.alpha)} cells at alpha={config.growth.alpha:g}"
        + (f"; the LSTM corrects {'an' if win.base_name[0] in 'aeiou' else 'a'} {win.base_name} forecast"
           if win.base_name else "")
    )


def chosen_lstm(result: GrowthResult, win: SeriesWindows, modules: list[Any], config: Config
                ) -> tuple[Optional[Candidate], Optional[tuple[SeriesWindows, list[Any]]]]:
    """The chosen stage's goal evidence on validation, its test scores (refitted unless
    ``forecast.refit=false``) and its forecasts as a recommendation candidate; (candidate, the
    windows and networks that forecast the future). (None, None) without a trained stage."""
    if not modules:
        return None, None
    goal = result.goal
    result.val_claim_p, ratios = goal.evidence_at(win, seed_mean(modules, win, win.val_origins))
    result.val_origins_met = share_met(ratios)
    nets = finish_chosen(result, win, modules, config)
    (at_val, val_nets), (at_end, end_nets) = nets["val"], nets["future"]
    lstm = Candidate("lstm", seed_mean(val_nets, at_val, win.val_origins), result.lstm_test,
                     seed_mean(end_nets, at_end, [at_end.future_origin])[0])
    return lstm, (at_end, list(end_nets))


def classical_only(
    uid: str, win: SeriesWindows, config: Config, goal: Goal, baselines: dict[str, BaselineResult],
    cap_fn: CapFn, why: str, recorder: Any, start: float, skipped: dict[str, str], panel: data_mod.Panel,
) -> GrowthResult:
    """A series too short for an LSTM of its own: its baselines, verdict and forecast, no stages."""
    best = goal.baseline or ("none (every baseline failed)" if goal.asked else "none (baselines=[])")
    pool = "" if "input_size=" in why else "; several short series learn one LSTM together with growth.scope=global"
    note = (f"too little data for an LSTM of its own: {why}; the forecast is classical (the recommendation "
            f"chooses among the baselines and comb; {best} validates best alone){pool}")
    log.info("no LSTM: %s", note)
    result = GrowthResult(
        config=config, series=uid, n_points=len(win.y), h=win.h, input_size=win.input_size,
        season_length=win.season_length, n_samples=win.n_samples, n_inputs=win.n_inputs, goal=goal, stages=[],
        baselines=baselines, stop_reason="too_short", stop_note=note, chosen=None,
        layout=layout_of(win, config) | {"residual": None, "input_treatment": None},  # no network to feed
        skipped=skipped,
    )
    for name, baseline in baselines.items():
        run_baseline(name, win, baseline, "test", config.baseline_engine)
    advise(result, win, None, config, panel)
    result.seconds = time.perf_counter() - start
    if recorder:
        recorder.finish(result)
    return result


def finish_chosen(result: GrowthResult, win: SeriesWindows, modules: Sequence[Any], config: Config
                  ) -> dict[str, tuple[SeriesWindows, Sequence[Any]]]:
    """Test the chosen stage and return, for the validation origins (the recommendation's
    evidence), the test origins and the future, the windows and networks that forecast them:
    with ``forecast.refit``, the chosen stage refitted on all the data before each (as the
    baselines are fitted there); otherwise the searched networks throughout."""
    from growlstm.growth.refit import RefitFailure, growth_path, recut, refit

    searched = {part: (win, modules) for part in ("val", "test", "future")}
    if len(win.test_origins):
        test_chosen(result, win, modules)
    if not config.forecast.refit:
        return searched
    path = growth_path(result.stages, result.chosen)  # type: ignore[arg-type]
    lengths = {f"stage_{r.index:02d}": stage_epochs_of(r, config) for r in path}
    result.refit = {"path": [r.index for r in path], "epochs": lengths}
    cuts = {"val": int(win.val_origins[0]), "future": len(win.y)}
    if len(win.test_origins):
        cuts["test"] = int(win.test_origins[0])
    try:
        refits = {part: (recut(win, origin), None) for part, origin in cuts.items()}
        refits = {part: (cut, refit(cut, path, config)) for part, (cut, _) in refits.items()}
    except RefitFailure as err:  # the searched networks still forecast; say why they do
        log.warning("refit failed (%s): the forecast comes from the searched networks", err)
        result.refit["error"] = str(err)
        return searched
    result.refit |= {f"{part}_origin": origin for part, origin in cuts.items()}
    if "test" in refits:
        result.search_test = result.chosen_test
        test_chosen(result, *refits["test"])  # type: ignore[arg-type]
        log.info("refit on the %d points before the test span: test %s %s (without refit %s)", cuts["test"],
                 result.goal.metric.upper(), fmt(result.chosen_test.get(result.goal.metric, math.nan)),
                 fmt(result.search_test.get(result.goal.metric, math.nan)))
    return {part: refits.get(part, searched[part]) for part in searched}  # type: ignore[misc]


def stage_epochs_of(record: StageRecord, config: Config) -> list[int]:
    from growlstm.growth.refit import stage_epochs

    return stage_epochs(record, config.growth.seeds)


def test_chosen(result: GrowthResult, win: SeriesWindows, modules: Sequence[Any]) -> None:
    """Score the chosen stage on the test origins, and test its win for significance.

    The scores are those of the seeds' mean forecast (what forecast.csv delivers); the spread
    is that of the seeds' own scores."""
    metric = result.goal.metric
    seeds = [score_origins(win, win.test_origins, lambda o, m=m: predict(m, win, o)) for m in modules]
    ensemble = [np.mean([f[k] for _, _, f in seeds], axis=0) for k in range(len(win.test_origins))]
    mean, per, _ = score_origins(win, win.test_origins, lambda o: ensemble[list(win.test_origins).index(o)])
    result.chosen_test, result.chosen_test_origins, result.lstm_test = mean, per, ensemble
    result.chosen_test_std = float(np.std([m[metric] for m, _, _ in seeds], ddof=1)) if len(seeds) > 1 else 0.0
    best = result.baselines.get(result.goal.baseline or "")
    if best is not None and best.ok and best.test_forecasts:
        actuals = [win.actuals(int(o)) for o in win.test_origins]
        result.significance = diebold_mariano(actuals, ensemble, best.test_forecasts, best.name)


def seed_mean(modules: Sequence[Any], win: SeriesWindows, origins: Any) -> list[np.ndarray]:
    """The seeds' mean forecast (what the LSTM delivers) from each origin."""
    return [np.mean([predict(m, win, int(o)) for m in modules], axis=0) for o in origins]


def advise(result: GrowthResult, win: SeriesWindows, lstm: Optional[Candidate], config: Config,
           panel: data_mod.Panel, end: Optional[tuple[SeriesWindows, list[Any]]] = None) -> None:
    """The recommendation among the LSTM, the baselines and their combinations, and forecast.csv:
    the recommended forecast and every candidate's, with conformal intervals; and what it was
    made from (``end``: the windows and networks of the LSTM's future forecast), for ``predict``."""
    from growlstm.verdict.advice import decide, forecast_columns, quantiles, series_advice, summary_block

    levels = list(config.forecast.levels)
    advice = series_advice(win, result.baselines, lstm, result.goal.metric, nonnegative=config.forecast.nonnegative)
    frame = future_frame(win.ds, win.h)
    if not advice.candidates:
        log.warning("no model forecast the validation origins: no recommendation, no forecast")
        result.forecast = frame
        return
    rec = decide([advice], config.forecast.significance, config.forecast.series_significance)
    q = {name: quantiles([advice], name, levels) for name in advice.candidates}
    result.recommendation = summary_block(rec, advice, q, levels, win)
    result.forecast = pd.concat([frame, pd.DataFrame(forecast_columns(advice, rec, levels, q))], axis=1)
    nets = end[1] if end is not None and lstm is not None else []
    result.forecaster = capture("single", [end[0] if end is not None and nets else win], [advice], rec, q, nets,
                                panel, config)
    log.debug("recommended: %s (%s)", rec.model, rec.reason)


def baseline_line(baselines: dict[str, BaselineResult], goal: Goal) -> str:
    """One console line with the baselines' validation scores and the goal."""
    metric = goal.metric
    parts = [
        f"{name} {fmt(b.val.get(metric, math.nan))}" if b.ok else f"{name} FAILED ({b.error})"
        for name, b in baselines.items()
    ]
    return f"baselines (val {metric}): " + ", ".join(parts) + f"; goal: {goal.describe()}"
