"""The recipe's decisions as pure functions over the stage history (no torch, no I/O).

Replaying the history gives the search state (best model, current phase, strikes, alpha), so a
controller can be driven, tested and resumed from its records alone.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Literal, Optional, Sequence

from growlstm.config import GrowthConfig

Action = Literal["start", "widen", "deepen", "probe", "lookback"]
# too_short: no stage was trained, the capacity rule leaving the data no room for the first one.
StopReason = Literal["goal_met", "plateau", "capacity_cap", "max_stages", "max_minutes", "fixed", "too_short"]


@dataclass
class Stage:
    """What the policy needs to know about one evaluated stage."""

    widths: list[int]
    action: Action
    score: float  # mean validation goal metric over seeds (lower is better); inf if failed
    spread: float = 0.0  # std over seeds of the validation goal metric
    seeds: tuple[float, ...] = ()  # each seed's validation goal metric (for paired comparisons)
    train: float = math.nan  # mean training loss over seeds
    parent: Optional[int] = None  # the stage it was grown from (warm growth), seed by seed
    # Whether each seed grew from the parent's seed of the same index: False when a lagging
    # parent seed was replaced (``seed_sources``), which breaks the seed-by-seed pairing.
    own_seeds: bool = True
    lookback: Optional[int] = None  # input steps its network reads (None: the layout's lookback)


@dataclass
class Proposal:
    """The next stage to train (``parent``: the stage to grow it from, warm; ``lookback``: the
    input steps its network reads, None for the layout's)."""

    action: Action
    widths: list[int]
    note: str = ""
    parent: Optional[int] = None
    lookback: Optional[int] = None


@dataclass
class Stop:
    """The search ends here."""

    reason: StopReason
    note: str = ""


@dataclass
class State:
    """The search state after replaying a history."""

    alpha: float
    best: int = -1  # index of the best-validating stage so far
    phase_best: int = -1  # the layer's accepted width: moved only by a gain beyond noise
    phase_lead: int = -1  # the layer's best-validating stage: what the next step grows from
    phase_widest: int = 0  # the widest last layer tried in the phase
    phase_start: int = 0  # the phase's first stage (the start, or the deepening that opened it)
    before_phase_best: Optional[int] = None  # best stage before the phase (None in phase 0)
    strikes: int = 0
    gains: list[float] = field(default_factory=list)  # relative gain of each stage vs its reference
    overfit: list[bool] = field(default_factory=list)  # per stage: did it raise alpha


def capacity_cap(n_samples: int, n_inputs: int, n_outputs: int, alpha: float) -> int:
    """Largest total hidden units allowed: N_h <= N_s / (alpha (N_i + N_o)).

    N_s counts distinct training target values (not overlapping windows), N_i the inputs per time
    step, N_o the outputs (the horizon h).
    """
    return math.floor(n_samples / (alpha * (n_inputs + n_outputs)))


def relative_gain(reference: float, score: float) -> float:
    """How much lower ``score`` is than ``reference``, as a fraction of the reference."""
    if not math.isfinite(score):
        return -math.inf
    if not math.isfinite(reference):
        return math.inf
    return (reference - score) / abs(reference) if reference else 0.0


def improves(reference: Stage, stage: Stage, growth: GrowthConfig, paired: bool = False) -> bool:
    """Noise-aware acceptance: ``stage`` beats ``reference`` by much, and by more than the noise.

    The mean gain must be at least ``growth.min_gain`` (relative) and the absolute improvement
    larger than ``growth.spread_factor`` x the seed noise. Unpaired, the noise is the pooled seed
    spread sqrt((s_ref^2 + s_new^2) / 2), the spread of single seeds. ``paired`` (one stage grew
    from the other, seed by seed): the noise is the spread of the per-seed gains over sqrt(2),
    which equals the pooled spread when the seeds are independent, and is smaller when each
    seed's luck carries over from parent to child. That is the extra evidence warm growth has
    for free: a gain every seed shares is real even when the seeds differ much from each other.
    """
    if relative_gain(reference.score, stage.score) < growth.min_gain:
        return False
    pairs = [(r, s) for r, s in zip(reference.seeds, stage.seeds) if math.isfinite(r) and math.isfinite(s)]
    if paired and len(pairs) >= 2 and len(pairs) == len(reference.seeds) == len(stage.seeds):
        gains = [r - s for r, s in pairs]
        return reference.score - stage.score > growth.spread_factor * statistics.stdev(gains) / math.sqrt(2)
    spreads = [s for s in (reference.spread, stage.spread) if math.isfinite(s)]
    pooled = math.sqrt(sum(s * s for s in spreads) / 2) if spreads else 0.0
    return reference.score - stage.score > growth.spread_factor * pooled


def related(history: list[Stage], i: int, j: int) -> bool:
    """Whether one of stages ``i`` and ``j`` grew (warm, through parents) from the other, each
    seed from the same seed all the way (so their seeds pair)."""

    def ancestors(k: int) -> set[int]:
        seen: set[int] = set()
        while history[k].own_seeds and (k := history[k].parent) is not None and k not in seen:  # type: ignore[assignment]
            seen.add(k)
        return seen

    return i in ancestors(j) or j in ancestors(i)


def beats(history: list[Stage], reference: int, challenger: int, growth: GrowthConfig) -> bool:
    """``improves`` between two stages of a history, paired when one grew from the other."""
    return improves(history[reference], history[challenger], growth, related(history, reference, challenger))


def overfits(history: list[Stage], reference: int, i: int, growth: GrowthConfig) -> bool:
    """More capacity that hurts: stage ``i`` (larger than ``reference``) fits the training data
    better but validates worse, beyond the noise. Only this evidence tightens the rule of thumb;
    a large validation/training loss ratio alone is not over-fitting (it differs between input
    treatments and level shifts while validation still improves)."""
    stage, ref = history[i], history[reference]
    if not (math.isfinite(stage.score) and math.isfinite(stage.train) and math.isfinite(ref.train)):
        return False
    return stage.train < ref.train and beats(history, i, reference, growth)


def replay(history: list[Stage], growth: GrowthConfig) -> State:
    """Rebuild the search state from the evaluated stages."""
    state = State(alpha=growth.alpha)
    for i, stage in enumerate(history):
        reference = None
        if stage.action == "start" or state.best < 0:
            state.best = state.phase_best = state.phase_lead = state.phase_start = i
            state.phase_widest = stage.widths[-1]
            state.gains.append(math.nan)
        elif stage.action == "deepen":
            reference = stage.parent if stage.parent is not None else state.best
            state.before_phase_best = state.best
            state.phase_best = state.phase_lead = state.phase_start = i
            state.phase_widest, state.strikes = stage.widths[-1], 0
            state.gains.append(relative_gain(history[state.best].score, stage.score))
        else:  # widen, probe or lookback: judged against the accepted stage of the current layer
            reference = stage.parent if stage.parent is not None else state.phase_lead
            state.phase_widest = max(state.phase_widest, stage.widths[-1])
            state.gains.append(relative_gain(history[state.phase_best].score, stage.score))
            # Only a gain "by much", beyond seed noise, moves the layer's accepted width: marginal
            # gains do not justify cells. The next step still grows from the best-validating one.
            if beats(history, state.phase_best, i, growth):
                state.phase_best, state.strikes = i, 0
            else:
                state.strikes += 1
            if stage.score < history[state.phase_lead].score:
                state.phase_lead = i
        if stage.score < history[state.best].score:
            state.best = i
        hurt = reference is not None and overfits(history, reference, i, growth)
        state.overfit.append(hurt)
        if hurt:
            state.alpha = min(growth.alpha_max, state.alpha + growth.alpha_step)
    return state


def seed_sources(seeds: tuple[float, ...], lagging: Optional[float]) -> list[Optional[int]]:
    """Which parent seed each seed of a warm stage grows from: its own, or, for a seed that
    validated more than ``lagging`` (relative) worse than the parent stage's best seed, None
    (it starts afresh). Growth preserves a network's function, so a seed stuck in a poor basin
    (often early-stopped after an epoch or two) would otherwise be grown and drag every stage
    after it; a fresh draw gives it the chance every seed of a cold stage gets. ``lagging``
    None: every seed grows from its own."""
    finite = [v for v in seeds if math.isfinite(v)]
    if lagging is None or not finite:
        return list(range(len(seeds)))
    best = min(finite)
    limit = best + lagging * abs(best)
    return [k if math.isfinite(v) and v <= limit else None for k, v in enumerate(seeds)]


def next_width(width: int, schedule: list[int]) -> Optional[int]:
    """The next width on the schedule above ``width`` (None at the schedule's end)."""
    wider = [w for w in sorted(schedule) if w > width]
    return wider[0] if wider else None


def decide(
    history: list[Stage],
    growth: GrowthConfig,
    cap_for_alpha: "CapFn",
    goal_threshold: Optional[float],
    state: Optional[State] = None,
    lookbacks: Sequence[int] = (),
) -> Proposal | Stop:
    """What to do after the last stage of ``history``: train another stage, or stop.
    ``state``: ``replay(history, growth)`` when the caller has it already. ``lookbacks``: the
    longer lookbacks (input steps) the lookback move may try, shortest first (``growth.lookbacks``)."""
    last = history[-1]
    if goal_threshold is not None and last.score <= goal_threshold:
        return Stop("goal_met", f"stage {len(history) - 1} meets the goal on the validation mean")
    if len(history) >= growth.max_stages:
        return Stop("max_stages", f"growth.max_stages={growth.max_stages} reached")
    state = state or replay(history, growth)
    cap = cap_for_alpha(state.alpha)
    if sum(last.widths) > cap:
        return Stop("capacity_cap", f"alpha rose to {state.alpha:g}: the cap is now {cap} cells")

    plateau_note = ""
    lead = history[state.phase_lead]
    if state.strikes <= growth.patience:
        # Wider than any width tried in this layer, grown from the best-validating one.
        width = next_width(state.phase_widest, growth.schedule)
        if width is None:
            plateau_note = "end of growth.schedule"
        elif sum(lead.widths[:-1]) + width > cap:
            plateau_note = f"widening to {width} would pass the capacity cap ({cap} cells)"
        else:
            return Proposal("widen", [*lead.widths[:-1], width], parent=state.phase_lead, lookback=lead.lookback)
    else:
        plateau_note = f"gain below {growth.min_gain:.0%} or within the seed noise for {state.strikes} widening(s)"

    # The lookback move: the layer's best-validating network reads a longer lookback, each
    # longer one once per layer. Capacity may have had nothing to use in a short window; where
    # the longer one pays beyond the noise, widening goes on from it.
    longer = next_lookback(history, state, lookbacks)
    if longer is not None:
        return Proposal("lookback", list(lead.widths), f"{plateau_note}; lookback {lead.lookback} -> {longer} steps",
                        parent=state.phase_lead, lookback=longer)

    # A flat start: the first layer's small widenings all failed. Before adding layers, train the
    # widest width the schedule and the cap allow once, from fresh weights: warm growth in small
    # steps can stay in its parent's basin, while much larger sizes may validate far better.
    probe = probe_width(history, state, growth, cap)
    if probe is not None:
        return Proposal("probe", [probe], f"{plateau_note}; probing [{probe}] from fresh weights",
                        lookback=lead.lookback)

    # Width plateau of the current layer: its best-validating width carries on.
    if state.before_phase_best is not None and not beats(history, state.before_phase_best, state.phase_lead, growth):
        return Stop(
            "plateau",
            f"layer {len(lead.widths)} did not beat the best model by {growth.min_gain:.0%} and the seed "
            f"noise: dropped ({plateau_note})",
        )
    if len(lead.widths) >= growth.max_layers:
        return Stop("plateau", f"width plateau at growth.max_layers={growth.max_layers} ({plateau_note})")
    deeper = [*lead.widths, growth.new_layer_cells]
    if sum(deeper) > cap:
        return Stop("capacity_cap", f"{plateau_note}; a new layer would pass the cap ({cap} cells)")
    return Proposal("deepen", deeper, plateau_note, parent=state.phase_lead, lookback=lead.lookback)


def next_lookback(history: list[Stage], state: State, lookbacks: Sequence[int]) -> Optional[int]:
    """The shortest of ``lookbacks`` longer than the layer's best-validating stage reads that
    no stage of the layer has tried yet, or None."""
    lead = history[state.phase_lead].lookback
    tried = {s.lookback for s in history[state.phase_start:] if s.action == "lookback"}
    return next((k for k in sorted(lookbacks) if lead is not None and k > lead and k not in tried), None)


def probe_width(history: list[Stage], state: State, growth: GrowthConfig, cap: int) -> Optional[int]:
    """The width of the flat-start probe (``growth.probe``), or None: only in the first layer,
    once, and only when the widest width allowed is at least twice the widest tried."""
    if not growth.probe or state.before_phase_best is not None or any(s.action == "probe" for s in history):
        return None
    allowed = [w for w in growth.schedule if w <= cap]
    if not allowed or max(allowed) < 2 * state.phase_widest:
        return None
    return max(allowed)


class CapFn:
    """Capacity cap as a function of alpha, for one dataset (keeps ``decide`` pure)."""

    def __init__(self, n_samples: int, n_inputs: int, n_outputs: int) -> None:
        self.n_samples, self.n_inputs, self.n_outputs = n_samples, n_inputs, n_outputs

    def __call__(self, alpha: float) -> int:
        return capacity_cap(self.n_samples, self.n_inputs, self.n_outputs, alpha)
