"""The growth controller: propose -> train -> evaluate -> record -> decide.

``grow`` is the Python entry point (no Hydra): give it a series and a ``Config``; it returns a
``GrowthResult``, the object the CLI prints and records.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd

from growlstm import data as data_mod
from growlstm import metrics
from growlstm.config import Config, GrowthConfig, check_config
from growlstm.errors import InputError
from growlstm.forecaster import capture
from growlstm.evaluate import (
    BaselineResult,
    StageOutcome,
    LSTMEvaluator,
    StageEvaluator,
    run_baseline,
    score_origins,
)
from growlstm.goal import Goal, make_goal
from growlstm.model import count_params
from growlstm.policy import CapFn, Proposal, Stage, Stop, beats, decide, replay
from growlstm.recommend import Candidate
from growlstm.train import one_torch_thread, predict
from growlstm.windows import future_frame
from growlstm.residual import RESIDUAL_BASES, with_best_base, with_classical_base
from growlstm.significance import diebold_mariano
from growlstm.manyseries import report_skipped
from growlstm.records import Recorder
from growlstm.results import GrowthResult, StageRecord
from growlstm.metrics import fmt
from growlstm.layout import MIN_HISTORY, origin_step
from growlstm.layout import plan as plan_layout
from growlstm.windows import SeriesWindows, default_h, default_input_size, make_windows

log = logging.getLogger("growlstm")


def to_panel(series: Any, config: Config) -> data_mod.Panel:
    """A Panel from whatever the user passed: Panel, pandas Series, numpy array or list."""
    if isinstance(series, data_mod.Panel):
        return series
    if isinstance(series, pd.DataFrame):
        d = config.data
        return data_mod.from_long(
            series, id_col=d.id_col or "unique_id", time_col=d.time_col or "ds", target=d.target or "y",
            features=d.features, freq=d.freq, season_length=d.season_length, fill=d.fill,
            series=d.series, bad_series=d.bad_series,
        )
    return data_mod.from_values(
        series, freq=config.data.freq, season_length=config.data.season_length,
        fill=config.data.fill, name=getattr(series, "name", None) or "series",
    )


def prepare(panel: data_mod.Panel, config: Config, *, pad: bool = False) -> tuple[str, SeriesWindows]:
    """Pick the series to grow and cut it into windows, with h, input_size and the layout resolved.

    One series (``pad=False``) needs h training windows; its default lookback shortens to fit, then
    its layout shrinks (``growlstm.layout``). When even the smallest layout has too few windows,
    the windows come back as they are, for the classical forecasts (``lstm_room`` says why).
    ``pad``: the global scope's left-padded lookback, one training window is enough.
    """
    # data.series may be a pattern that selected this one series when the data was loaded.
    picked = config.data.series if config.data.series in panel.ids() else None
    frame = panel.series(picked)
    uid = picked or panel.ids()[0]
    season = config.data.season_length or panel.season_length
    h = config.h if config.h is not None else default_h(panel.freq)
    held_out = panel.test_rows.get(uid)
    if held_out is not None:
        span = h + origin_step(h, config.eval) * (config.eval.test_origins - 1)
        if span != held_out:
            raise InputError(
                f"series '{uid}' has {held_out} held-out rows (data.test_path) but the test span is {span} steps "
                f"(h={h}, eval.test_origins={config.eval.test_origins})",
                f"set h={held_out} and eval.test_origins=1, so that the test span is exactly the held-out data",
            )
    lookback = config.input_size or default_input_size(h, season)
    # The default lookback may shorten, but not below a horizon or a season: shorter windows
    # cannot see the pattern they are asked to continue.
    shorten = None if pad or config.input_size is not None else min(lookback, max(h, season))
    cut = plan_layout(len(frame), h, config.eval, lookback, min_windows=1 if pad else h, pad=pad,
                      shorten_to=shorten, test_span=held_out)
    if cut is None and not pad:
        # No lookback fits before the first validation origin: no LSTM of its own, but the
        # classical forecasts need only MIN_HISTORY points; cut it as the global scope would
        # (``lstm_room`` then says why it gets the classical result).
        cut = plan_layout(len(frame), h, config.eval, shorten or lookback, min_windows=h, pad=True, test_span=held_out)
    if cut is None:
        least = h + MIN_HISTORY + (held_out or 0)
        raise InputError(
            f"series '{uid}' has {len(frame)} points, too short to validate any forecast of h={h} steps "
            f"(needs at least {least}: {MIN_HISTORY} points before one validation origin"
            + (f", and the {held_out} held-out ones)" if held_out else ")"),
            f"use a smaller h (at most {max(1, len(frame) - MIN_HISTORY - (held_out or 0))}), or a longer series",
        )
    win = make_windows(
        frame, uid=uid, h=h, input_size=cut.input_size, season_length=season,
        features=list(panel.features), norm=config.model.input_norm, ev=config.eval, cut=cut,
    )
    residual = config.model.residual
    if residual == "seasonal_naive" and win.input_size < season and not pad:
        # The first training window must have a full season before it to repeat.
        raise InputError(
            f"model.residual=seasonal_naive needs input_size >= the season length ({season}); "
            f"series '{uid}' has input_size={win.input_size}",
            f"set input_size={season} or more (the series needs to be long enough for it), or use model.residual=theta",
        )
    if residual == "auto":
        # Chosen on the validation origins only; seasonal naive only where a full season fits.
        candidates = RESIDUAL_BASES if win.input_size >= season or pad else ("theta",)
        win = with_best_base(win, candidates, config.goal.metric)
    elif residual:
        win = with_classical_base(win, residual)
    return uid, win


TINY = 2  # cells of the recipe's first LSTM: a series whose cap is below it is too short for one


def lstm_room(win: SeriesWindows, cap_fn: CapFn, growth: GrowthConfig) -> str:
    """Why one series is too short for an LSTM of its own ("" when it is not).

    It needs h training windows (so that training and early stopping mean something) and a
    capacity cap of at least ``growth.start_cells`` cells.
    """
    windows = len(win.train_origins)
    if win.pad:  # (one series is padded only when no lookback fits before its validation origin)
        return (f"no lookback of {win.input_size} steps fits before its first validation origin "
                f"({len(win.y)} points, h={win.h})")
    cap = cap_fn(growth.alpha)
    figures = (f"N_s={cap_fn.n_samples} training targets, N_i={cap_fn.n_inputs}, N_o=h={cap_fn.n_outputs}, "
               f"alpha={growth.alpha:g}")
    if windows < win.h:
        return (f"its smallest layout leaves {windows} training window(s), fewer than h={win.h} "
                f"({len(win.y)} points)")
    if cap < min(growth.start_cells, TINY):
        return f"the capacity rule allows {cap} cell(s), fewer than the recipe's smallest LSTM ({figures})"
    if cap < growth.start_cells:  # room for a small LSTM, not for the one asked for: a setting to change
        raise InputError(f"growth.start_cells={growth.start_cells} exceeds the capacity cap of {cap} cells ({figures})",
                         f"use growth.start_cells={cap} or fewer, a smaller growth.alpha, or a longer series")
    return ""


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
    if panel.skipped:
        report_skipped(panel)
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
    if win.y.min() <= 0 and "ets" in config.baselines:
        log.info("note: the series has values <= 0, so ETS considers additive forms only")

    baselines = {name: BaselineResult(name) for name in config.baselines}
    for name, result in baselines.items():
        run_baseline(name, win, result, "val")
    goal = make_goal(config.goal, baselines)
    log.info("%s", baseline_line(baselines, goal))
    if no_room and not fixed:
        return classical_only(uid, win, config, goal, baselines, cap_fn, no_room, recorder, start, skipped, panel)

    seeds = [config.seed + k for k in range(config.growth.seeds)]
    evaluator = evaluator or LSTMEvaluator(
        win, config.model, config.trainer, seeds,
        log_dir=recorder.tb_dir if recorder else None, verbose=config.verbose,
        split_noise=config.growth.split_noise, shrink=config.growth.shrink, perturb=config.growth.perturb,
    )
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
        run_baseline(name, win, baseline, "test")
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
    return (
        f"growlstm: series {uid} ({len(win.y)} points, season {win.season_length}), h={win.h}, "
        f"input_size={win.input_size}, {describe_layout(win)}: {len(win.train_origins)} training windows, "
        f"{len(win.stop_origins)} early-stopping, {len(win.val_origins)} validation and {len(win.test_origins)} "
        f"test origin(s), capacity cap {cap_fn(config.growth.alpha)} cells at alpha={config.growth.alpha:g}"
        + (f"; the LSTM corrects a {win.base_name} forecast" if win.base_name else "")
    )


def chosen_lstm(result: GrowthResult, win: SeriesWindows, modules: list[Any], config: Config
                ) -> tuple[Optional[Candidate], Optional[tuple[SeriesWindows, list[Any]]]]:
    """The chosen stage's goal evidence on validation, its test scores (refitted unless
    ``forecast.refit=false``) and its forecasts as a recommendation candidate; (candidate, the
    windows and networks that forecast the future). (None, None) without a trained stage."""
    if not modules:
        return None, None
    goal = result.goal
    evidence = (seed_mean(modules, win, win.val_origins), [win.actuals(int(o)) for o in win.val_origins],
                [win.history(int(o)) for o in win.val_origins], win.season_length)
    result.val_claim_p = goal.claim_pvalue(*evidence)
    ratios = goal.origin_ratios(*evidence)
    result.val_origins_met = float(np.mean(ratios <= 1)) if ratios is not None else None
    nets = finish_chosen(result, win, modules, config)
    (at_val, val_nets), (at_end, end_nets) = nets["val"], nets["future"]
    lstm = Candidate("lstm", seed_mean(val_nets, at_val, win.val_origins), result.lstm_test,
                     seed_mean(end_nets, at_end, [at_end.future_origin])[0])
    return lstm, (at_end, list(end_nets))


def describe_layout(win: SeriesWindows) -> str:
    """The layout in words, for the run's first line."""
    return "full layout" if not win.layout_steps else "layout shrunk to fit: " + ", ".join(win.layout_steps)


def classical_only(
    uid: str, win: SeriesWindows, config: Config, goal: Goal, baselines: dict[str, BaselineResult],
    cap_fn: CapFn, why: str, recorder: Any, start: float, skipped: dict[str, str], panel: data_mod.Panel,
) -> GrowthResult:
    """A series too short for an LSTM of its own: its baselines, verdict and forecast, no stages."""
    best = goal.baseline or "none (every baseline failed)"
    note = (f"too little data for an LSTM of its own: {why}; the forecast is the classical one "
            f"that validates best ({best}); several short series learn one LSTM together with growth.scope=global")
    log.info("no LSTM: %s", note)
    result = GrowthResult(
        config=config, series=uid, n_points=len(win.y), h=win.h, input_size=win.input_size,
        season_length=win.season_length, n_samples=win.n_samples, n_inputs=win.n_inputs, goal=goal, stages=[],
        baselines=baselines, stop_reason="too_short", stop_note=note, chosen=None,
        layout=layout_of(win, config) | {"residual": None, "input_treatment": None},  # no network to feed
        skipped=skipped,
    )
    for name, baseline in baselines.items():
        run_baseline(name, win, baseline, "test")
    advise(result, win, None, config, panel)
    result.seconds = time.perf_counter() - start
    if recorder:
        recorder.finish(result)
    return result


class Searched(NamedTuple):
    """What the stage loop leaves: the stages, their trained seeds, and why it stopped."""

    stages: list[StageRecord]
    modules: dict[int, list[Any]]  # trained seeds per stage (for the final test and forecast)
    history: list[Stage]
    stop: Stop
    spent: float  # minutes of stages read back on resume


def run_stages(
    win: Any, config: Config, goal: Goal, cap_fn: CapFn, evaluator: StageEvaluator, recorder: Any,
    first: list[int], resume: bool, start: float,
) -> Searched:
    """Propose -> train -> record -> decide until the policy stops (one series or many).

    ``win`` needs ``n_inputs`` and ``h`` (a SeriesWindows, or PooledWindows for many series).
    """
    given_parent = fixed_parent(config)
    stages: list[StageRecord] = []
    modules: dict[int, list[Any]] = {}  # trained seeds per stage (for the final test and forecast)
    history: list[Stage] = []
    spent = 0.0  # minutes of completed stages read back on resume
    if recorder and resume:
        for record, stage_modules in recorder.completed():
            stages.append(record)
            modules[record.index] = stage_modules
            history.append(stage_of(record, goal))
            spent += record.seconds / 60
            log.info("%s  (resumed)", stage_line(record, goal))
    proposal: Proposal | Stop = (
        next_step(history, config, cap_fn, goal, spent) if history else Proposal("start", first)
    )
    while isinstance(proposal, Proposal):
        index = len(stages)
        warm = config.growth.init == "warm" and proposal.action != "probe"  # a probe starts fresh
        parent = find_parent(stages, modules, proposal) if warm else None
        parents = [m.net for m in modules[parent]] if parent is not None else given_parent
        outcome = evaluator(index, proposal.widths, parents)
        modules[index] = [s.fit.module for s in outcome.seeds if s.fit is not None]
        record = make_record(index, proposal, outcome, win, config, goal, cap_fn, history)
        record.parent, record.init = parent, "warm" if parents is not None else "cold"
        history.append(stage_of(record, goal))
        state = replay(history, config.growth)
        record.gain, record.overfit = state.gains[-1], state.overfit[-1]  # what the decision used
        proposal = next_step(history, config, cap_fn, goal, spent + (time.perf_counter() - start) / 60)
        record.decision = (
            f"{proposal.action} -> {proposal.widths}" if isinstance(proposal, Proposal) else f"stop: {proposal.reason}"
        )
        stages.append(record)
        log.info("%s", stage_line(record, goal))
        if recorder:
            recorder.stage(record, outcome, goal)
    assert isinstance(proposal, Stop)
    return Searched(stages, modules, history, proposal, spent)


def layout_of(win: SeriesWindows, config: Config) -> dict[str, Any]:
    """The split as recorded in summary.json (origins are 0-based positions in the series)."""
    return {
        "train_end": win.train_end, "early_stop": config.eval.early_stop,
        "stop_origins": [int(win.stop_origins[0]), int(win.stop_origins[-1])] if len(win.stop_origins) else [],
        "layout": list(win.layout_steps) or ["full"], "padded": win.pad,
        "val_origins": win.val_origins.tolist(), "test_origins": win.test_origins.tolist(),
        "input_treatment": f"residual over {win.base_name}, inputs by {win.norm}" if win.base_name else win.norm,
        "residual": win.base_name or None,  # the base used (model.residual=auto picks it per series)
    }


def finish_chosen(result: GrowthResult, win: SeriesWindows, modules: Sequence[Any], config: Config
                  ) -> dict[str, tuple[SeriesWindows, Sequence[Any]]]:
    """Test the chosen stage and return, for the validation origins (the recommendation's
    evidence), the test origins and the future, the windows and networks that forecast them:
    with ``forecast.refit``, the chosen stage refitted on all the data before each (as the
    baselines are fitted there); otherwise the searched networks throughout."""
    from growlstm.refit import RefitFailure, growth_path, recut, refit

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
    from growlstm.refit import stage_epochs

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


def find_parent(stages: list[StageRecord], modules: dict[int, list[Any]], proposal: Proposal) -> Optional[int]:
    """The trained stage that ``proposal`` grows from: the one the policy names, else the latest
    that its widths can grow from (wider, or one layer deeper)."""

    def grows_from(stage: StageRecord) -> bool:
        if not stage.ok or not modules.get(stage.index):
            return False
        old, widths = stage.widths, proposal.widths
        wider = len(old) == len(widths) and all(o <= w for o, w in zip(old, widths)) and old != widths
        deeper = len(widths) == len(old) + 1 and widths[:-1] == old
        return wider or deeper

    named = [s for s in stages if s.index == proposal.parent]
    if named and grows_from(named[0]):
        return proposal.parent
    return next((s.index for s in reversed(stages) if grows_from(s)), None)


def fixed_parent(config: Config) -> Optional[list[Any]]:
    """Networks per seed to start a fixed architecture from (``model.init_from``), or None."""
    if not config.model.init_from:
        return None
    from growlstm.store import load_modules

    path = Path(config.model.init_from)
    if not path.is_file():
        raise InputError(f"model.init_from={path} does not exist", "give a stage's checkpoint.pt, or drop model.init_from")
    nets = [m.net for m in load_modules(path)]
    if len(nets) < config.growth.seeds:
        raise InputError(f"{path} holds {len(nets)} seeds but growth.seeds={config.growth.seeds}",
                         f"use growth.seeds={len(nets)}")
    return nets[: config.growth.seeds]


def next_step(history: list[Stage], config: Config, cap_fn: CapFn, goal: Goal, minutes: float) -> Proposal | Stop:
    """The controller's decision after the last stage: the policy, a fixed model, or the clock."""
    if config.model.widths:
        return Stop("fixed", "model.widths given: trained that architecture only")
    proposal = decide(history, config.growth, cap_fn, goal.threshold("val"))
    if isinstance(proposal, Proposal) and minutes >= config.growth.max_minutes:
        return Stop("max_minutes", f"growth.max_minutes={config.growth.max_minutes:g} reached")
    return proposal


def stage_of(record: StageRecord, goal: Goal) -> Stage:
    """What the policy sees of a stage: mean, seed spread, each seed's score, training loss and
    the stage it grew from (its seeds pair with that stage's)."""
    spread = record.val_std if math.isfinite(record.val_std) else 0.0
    seeds = tuple(float(v.get(goal.metric, math.inf)) for v in record.seed_val) if record.ok else ()
    parent = record.parent if record.init == "warm" else None
    return Stage(record.widths, record.action, stage_score(record, goal), spread, seeds, record.train_loss, parent)


def stage_score(record: StageRecord, goal: Goal) -> float:
    """The number decisions are made on: mean validation goal metric (inf for a failed stage)."""
    return record.val.get(goal.metric, math.inf) if record.ok else math.inf


def make_record(
    index: int,
    proposal: Proposal,
    outcome: StageOutcome,
    win: SeriesWindows,
    config: Config,
    goal: Goal,
    cap_fn: CapFn,
    history: list[Stage],
) -> StageRecord:
    """Summarise a stage's seeds: means, spread, over-fitting and the cap in force."""
    seeds = outcome.seeds
    keys = list(seeds[0].val) if seeds else []
    train_loss = float(np.mean([s.train_loss for s in seeds])) if seeds else math.nan
    val_loss = float(np.mean([s.val_loss for s in seeds])) if seeds else math.nan
    alpha = replay(history, config.growth).alpha  # rises each time more capacity hurt
    ok = not outcome.error and bool(seeds)
    return StageRecord(
        index=index,
        action=proposal.action,
        widths=list(proposal.widths),
        params=count_params(win.n_inputs, proposal.widths, win.h, config.model.proj_size),
        val={k: outcome.mean(k) for k in keys},
        val_std=outcome.std(goal.metric) if ok else math.nan,
        val_spread={k: outcome.std(k) for k in keys},
        seed_val=[s.val for s in seeds],
        train_loss=train_loss,
        val_loss=val_loss,
        overfit=False,  # set by the controller from the policy's replay
        alpha=alpha,
        cap=cap_fn(alpha),
        gain=math.nan,  # set by the controller from the policy's replay
        seconds=float(sum(s.seconds for s in seeds)),
        epochs=float(np.mean([s.epochs for s in seeds])) if seeds else 0.0,
        steps=int(sum(s.steps for s in seeds)),
        error=outcome.error if outcome.error or seeds else "no seed trained",
        notes=[s.note for s in seeds if s.note],
        kept_epochs=[s.kept_epochs for s in seeds],
    )


def choose(stages: list[StageRecord], history: list[Stage], goal: Goal, growth: GrowthConfig) -> Optional[int]:
    """The smallest stage meeting the goal on validation; else the smallest stage that no other
    stage beats by ``min_gain`` and the seed noise (the acceptance rule), else the best one."""
    threshold = goal.threshold("val")
    meeting = [
        s for s, h in zip(stages, history) if threshold is not None and math.isfinite(h.score) and h.score <= threshold
    ]
    if meeting:
        return min(meeting, key=lambda s: (s.params, s.index)).index
    finite = [(i, s, h) for i, (s, h) in enumerate(zip(stages, history)) if math.isfinite(h.score)]
    unbeaten = [s for i, s, _ in finite if not any(beats(history, i, j, growth) for j, _, _ in finite)]
    if unbeaten:
        return min(unbeaten, key=lambda s: (s.params, s.index)).index
    return min(finite, key=lambda t: (t[2].score, t[1].params, t[1].index))[1].index if finite else None


def seed_mean(modules: Sequence[Any], win: SeriesWindows, origins: Any) -> list[np.ndarray]:
    """The seeds' mean forecast (what the LSTM delivers) from each origin."""
    return [np.mean([predict(m, win, int(o)) for m in modules], axis=0) for o in origins]


def advise(result: GrowthResult, win: SeriesWindows, lstm: Optional[Candidate], config: Config,
           panel: data_mod.Panel, end: Optional[tuple[SeriesWindows, list[Any]]] = None) -> None:
    """The recommendation among the LSTM, the baselines and their combinations, and forecast.csv:
    the recommended forecast and every candidate's, with conformal intervals; and what it was
    made from (``end``: the windows and networks of the LSTM's future forecast), for ``predict``."""
    from growlstm.advice import decide, forecast_columns, quantiles, series_advice, summary_block

    levels = list(config.forecast.levels)
    advice = series_advice(win, result.baselines, lstm, result.goal.metric)
    frame = future_frame(win.ds, win.h)
    if not advice.candidates:
        log.warning("no model forecast the validation origins: no recommendation, no forecast")
        result.forecast = frame
        return
    rec = decide([advice], config.forecast.significance)
    q = {name: quantiles([advice], name, levels) for name in advice.candidates}
    result.recommendation = summary_block(rec, advice, q, levels, win)
    result.forecast = pd.concat([frame, pd.DataFrame(forecast_columns(advice, rec, levels, q))], axis=1)
    nets = end[1] if end is not None and lstm is not None else []
    result.forecaster = capture("single", [end[0] if end is not None and nets else win], [advice], rec, q, nets,
                                panel, config)
    log.debug("recommended: %s (%s)", rec.model, rec.reason)


def stage_line(record: StageRecord, goal: Goal) -> str:
    """The console line of one stage."""
    metric = metrics.metric_label(goal.metric)
    if not record.ok:
        return (
            f"stage {record.index:2d}  {record.action:<6s} {str(record.widths):<11s} params {record.params:6d}  "
            f"FAILED ({record.error})  -> {record.decision}"
        )
    gain = f"{record.gain:+6.1%}" if math.isfinite(record.gain) else "     -"
    notes = "".join(f"\n          note: {n}" for n in record.notes)
    return (
        f"stage {record.index:2d}  {record.action:<6s} {str(record.widths):<11s} params {record.params:6d}  "
        f"val {metric} {fmt(record.val[goal.metric])} ± {fmt(record.val_std)}  gain {gain}  "
        f"{record.seconds:5.1f}s  -> {record.decision}{notes}"
    )


def baseline_line(baselines: dict[str, BaselineResult], goal: Goal) -> str:
    """One console line with the baselines' validation scores and the goal."""
    metric = goal.metric
    parts = [
        f"{name} {fmt(b.val.get(metric, math.nan))}" if b.ok else f"{name} FAILED ({b.error})"
        for name, b in baselines.items()
    ]
    return f"baselines (val {metric}): " + ", ".join(parts) + f"; goal: {goal.describe()}"
