"""The stage loop of the growth controller: propose (``policy``), train, record, decide; and
the choice of the stage to report once growth stops."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, NamedTuple, Optional, Sequence

import numpy as np

from growlstm import metrics
from growlstm.config import Config, GrowthConfig
from growlstm.errors import InputError
from growlstm.train.evaluator import StageEvaluator, StageOutcome, seed_parent_nets
from growlstm.train.pooled_windows import PooledWindows
from growlstm.growth.preparation import probe_resolved  # the scope's defaults sit with norm_for
from growlstm.verdict.goal import Goal
from growlstm.metrics import fmt
from growlstm.model import count_params
from growlstm.growth.policy import CapFn, Proposal, Stage, State, Stop, beats, decide, replay, seed_sources
from growlstm.records.results import StageRecord
from growlstm.data.windows import SeriesWindows

log = logging.getLogger("growlstm")


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
    config = probe_resolved(config, pooled=isinstance(win, PooledWindows))
    given_parent = fixed_parent(config)
    if given_parent is not None:
        reads_like(win, [n for n in given_parent if n is not None], f"model.init_from={config.model.init_from}")
    stages: list[StageRecord] = []
    modules: dict[int, list[Any]] = {}  # trained seeds per stage (for the final test and forecast)
    history: list[Stage] = []
    spent = 0.0  # minutes of completed stages read back on resume
    if recorder and resume:
        for record, stage_modules in recorder.completed():
            reads_like(win, [m.net for m in stage_modules], f"stage {record.index} of the resumed run")
            stages.append(record)
            modules[record.index] = stage_modules
            history.append(stage_of(record, goal))
            spent += record.seconds / 60
            log.info("%s  (resumed)", stage_line(record, goal))
    # The policy's state after the history so far: replayed once per stage, then shared.
    state = replay(history, config.growth)
    lookbacks = lookback_steps(win, config)
    start_lookback = (config.model.lookback or win.norm_steps) if lookbacks else config.model.lookback
    proposal: Proposal | Stop = (
        next_step(history, config, cap_fn, goal, spent, state, lookbacks) if history
        else Proposal("start", first, lookback=start_lookback)
    )
    while isinstance(proposal, Proposal):
        index = len(stages)
        warm = config.growth.init == "warm" and proposal.action != "probe"  # a probe starts fresh
        parent = find_parent(stages, modules, proposal) if warm else None
        sources = seed_sources(history[parent].seeds, config.growth.lagging) if parent is not None else []
        parents = seed_parent_nets([m.net for m in modules[parent]], sources) if parent is not None else given_parent
        # A fake trainer (tests) need not know lookbacks: it is asked only where one moves.
        outcome = (evaluator(index, proposal.widths, parents, lookback=proposal.lookback) if lookbacks
                   else evaluator(index, proposal.widths, parents))
        modules[index] = [s.fit.module for s in outcome.seeds if s.fit is not None]
        record = make_record(index, proposal, outcome, win, config, goal, cap_fn, state.alpha)
        record.parent, record.init = parent, "warm" if parents is not None else "cold"
        record.lookback = proposal.lookback
        record.seed_parents = [] if sources == list(range(len(sources))) else sources
        restarted = [str(config.seed + k) for k, src in enumerate(sources) if src is None]
        if restarted:
            record.notes.append(f"seed {', '.join(restarted)} restarted from fresh weights: its parent validated more "
                                f"than growth.lagging={config.growth.lagging:g} behind the parent stage's best seed")
        history.append(stage_of(record, goal))
        state = replay(history, config.growth)
        record.gain, record.overfit = state.gains[-1], state.overfit[-1]  # what the decision used
        proposal = next_step(history, config, cap_fn, goal, spent + (time.perf_counter() - start) / 60, state,
                             lookbacks)
        record.decision = (
            f"{proposal.action} -> {size_label(proposal.widths, proposal.lookback if lookbacks else None)}"
            if isinstance(proposal, Proposal) else f"stop: {proposal.reason}"
        )
        stages.append(record)
        log.info("%s", stage_line(record, goal))
        if recorder:
            recorder.stage(record, outcome, goal)
    assert isinstance(proposal, Stop)
    return Searched(stages, modules, history, proposal, spent)


def find_parent(stages: list[StageRecord], modules: dict[int, list[Any]], proposal: Proposal) -> Optional[int]:
    """The trained stage that ``proposal`` grows from: the one the policy names, else the latest
    that its widths can grow from (wider, or one layer deeper)."""

    def grows_from(stage: StageRecord) -> bool:
        if not stage.ok or not modules.get(stage.index):
            return False
        old, widths = stage.widths, proposal.widths
        if proposal.action == "lookback":  # the same network, reading further back
            return old == widths
        wider = len(old) == len(widths) and all(o <= w for o, w in zip(old, widths)) and old != widths
        deeper = len(widths) == len(old) + 1 and widths[:-1] == old
        return wider or deeper

    named = [s for s in stages if s.index == proposal.parent]
    if named and grows_from(named[0]):
        return proposal.parent
    return next((s.index for s in reversed(stages) if grows_from(s)), None)


def reads_like(win: Any, nets: list[Any], source: str) -> None:
    """Refuse stored networks that read the windows' columns differently from how the windows
    carry them: a network written before forecaster format 2 read the base forecast at every
    input step (before format 3, the series identity too), where the windows now carry them at
    the last step only (zero before), so its recorded scores and its forecasts would not match."""
    expected = list(win.last_inputs)
    if any(list(net.last_inputs) != expected for net in nets):
        raise InputError(f"{source} holds networks that read the base forecast or the series identity at every "
                         "input step (written by an older growlstm); these windows carry them at the last step only",
                         "start a new run with this version, or set model.base_input=false model.series_id=false")


def fixed_parent(config: Config) -> Optional[list[Any]]:
    """Networks per seed to start a fixed architecture from (``model.init_from``; a seed that
    ``model.init_seeds`` maps to null starts from fresh weights), or None."""
    if not config.model.init_from:
        return None
    from growlstm.records.store import load_modules

    path = Path(config.model.init_from)
    if not path.is_file():
        raise InputError(f"model.init_from={path} does not exist", "give a stage's checkpoint.pt, or drop model.init_from")
    nets = [m.net for m in load_modules(path)]
    if len(nets) < config.growth.seeds and not config.model.init_seeds:
        raise InputError(f"{path} holds {len(nets)} seeds but growth.seeds={config.growth.seeds}",
                         f"use growth.seeds={len(nets)}")
    sources = list(config.model.init_seeds) or list(range(config.growth.seeds))
    if len(sources) != config.growth.seeds or any(k is not None and not 0 <= k < len(nets) for k in sources):
        raise InputError(f"model.init_seeds={list(config.model.init_seeds)} does not give one of the {len(nets)} "
                         f"seeds of {path} (or null) to each of growth.seeds={config.growth.seeds}",
                         "leave model.init_seeds empty, or list one checkpoint seed position or null per seed")
    return seed_parent_nets(nets, sources)


def next_step(history: list[Stage], config: Config, cap_fn: CapFn, goal: Goal, minutes: float,
              state: Optional[State] = None, lookbacks: Sequence[int] = ()) -> Proposal | Stop:
    """The controller's decision after the last stage: the policy, a fixed model, or the clock."""
    if config.model.widths:
        return Stop("fixed", "model.widths given: trained that architecture only")
    proposal = decide(history, config.growth, cap_fn, goal.threshold("val"), state, lookbacks)
    if isinstance(proposal, Proposal) and minutes >= config.growth.max_minutes:
        return Stop("max_minutes", f"growth.max_minutes={config.growth.max_minutes:g} reached")
    return proposal


def stage_of(record: StageRecord, goal: Goal) -> Stage:
    """What the policy sees of a stage: mean, seed spread, each seed's score, training loss and
    the stage it grew from (its seeds pair with that stage's)."""
    spread = record.val_std if math.isfinite(record.val_std) else 0.0
    seeds = tuple(float(v.get(goal.metric, math.inf)) for v in record.seed_val) if record.ok else ()
    parent = record.parent if record.init == "warm" else None
    own = not record.seed_parents  # recorded only where some seed did not grow from its own
    return Stage(record.widths, record.action, stage_score(record, goal), spread, seeds, record.train_loss, parent, own,
                 record.lookback)


def stage_score(record: StageRecord, goal: Goal) -> float:
    """The number decisions are made on: the validation goal metric as ``growth.judge`` scores
    the stage (``StageRecord.val``; inf for a failed stage)."""
    return record.val.get(goal.metric, math.inf) if record.ok else math.inf


def make_record(
    index: int,
    proposal: Proposal,
    outcome: StageOutcome,
    win: SeriesWindows,
    config: Config,
    goal: Goal,
    cap_fn: CapFn,
    alpha: float,
) -> StageRecord:
    """Summarise a stage's seeds: means, spread, over-fitting and the cap in force (``alpha``:
    the rule of thumb's, as the stages before it left it)."""
    seeds = outcome.seeds
    keys = list(seeds[0].val) if seeds else []
    train_loss = float(np.mean([s.train_loss for s in seeds])) if seeds else math.nan
    val_loss = float(np.mean([s.val_loss for s in seeds])) if seeds else math.nan
    ok = not outcome.error and bool(seeds)
    return StageRecord(
        index=index,
        action=proposal.action,
        widths=list(proposal.widths),
        params=count_params(win.n_inputs, proposal.widths, win.h, config.model.proj_size),
        # What the policy, the goal and the reports read: the seeds' mean forecast's metrics
        # (growth.judge=ensemble: what the LSTM delivers), or the mean of the seeds' own.
        val=dict(outcome.ensemble) if config.growth.judge == "ensemble" and outcome.ensemble else
        {k: outcome.mean(k) for k in keys},
        val_ensemble=dict(outcome.ensemble),
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


def lookback_steps(win: Any, config: Config) -> list[int]:
    """The longer lookbacks (input steps) the lookback move may try on ``win``: k x h for each k
    of ``growth.lookbacks``, longer than the layout's lookback. Only one network over many series
    with left-padded lookbacks gathers windows longer than its layout (``PooledWindows.with_lookback``);
    elsewhere, and for a fixed ``model.widths``, there is none."""
    if not config.growth.lookbacks or config.model.widths or not isinstance(win, PooledWindows) or not win.pad:
        return []
    return sorted({k * win.h for k in config.growth.lookbacks if k * win.h > win.norm_steps})


def size_label(widths: list[int], lookback: Optional[int]) -> str:
    """Widths, and the lookback where growth moves it: ``[2]`` or ``[2] L36``."""
    return str(list(widths)) + (f" L{lookback}" if lookback is not None else "")


def stage_line(record: StageRecord, goal: Goal) -> str:
    """The console line of one stage."""
    metric = metrics.metric_label(goal.metric)
    if not record.ok:
        return (
            f"stage {record.index:2d}  {record.action:<6s} {size_label(record.widths, record.lookback):<11s} "
            f"params {record.params:6d}  FAILED ({record.error})  -> {record.decision}"
        )
    gain = f"{record.gain:+6.1%}" if math.isfinite(record.gain) else "     -"
    notes = "".join(f"\n          note: {n}" for n in record.notes)
    return (
        f"stage {record.index:2d}  {record.action:<6s} {size_label(record.widths, record.lookback):<11s} "
        f"params {record.params:6d}  val {metric} {fmt(record.val[goal.metric])} ± {fmt(record.val_std)}  gain {gain}  "
        f"{record.seconds:5.1f}s  -> {record.decision}{notes}"
    )
