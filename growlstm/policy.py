"""The recipe's decisions as pure functions over the stage history (no torch, no I/O).

Replaying the history gives the search state (best model, current phase, strikes, alpha), so a
controller can be driven, tested and resumed from its records alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Optional

from growlstm.config import GrowthConfig

Action = Literal["start", "widen", "deepen"]
StopReason = Literal["goal_met", "plateau", "capacity_cap", "max_stages", "max_minutes", "fixed"]


@dataclass
class Stage:
    """What the policy needs to know about one evaluated stage."""

    widths: list[int]
    action: Action
    score: float  # mean validation goal metric over seeds (lower is better); inf if failed
    overfit: bool = False
    spread: float = 0.0  # std over seeds of the validation goal metric


@dataclass
class Proposal:
    """The next stage to train."""

    action: Action
    widths: list[int]
    note: str = ""


@dataclass
class Stop:
    """The search ends here."""

    reason: StopReason
    note: str = ""


@dataclass
class State:
    """The search state after replaying a history."""

    best: int = -1  # index of the best stage so far
    phase_start: int = 0  # index of the stage that opened the current layer's phase
    phase_best: int = -1
    before_phase_best: Optional[int] = None  # best stage before the phase (None in phase 0)
    strikes: int = 0
    alpha: float = 2.0
    gains: list[float] = field(default_factory=list)  # relative gain of each stage vs its reference


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


def improves(reference: Stage, stage: Stage, growth: GrowthConfig) -> bool:
    """Noise-aware acceptance: ``stage`` beats ``reference`` by much, and by more than the noise.

    The mean gain must be at least ``growth.min_gain`` (relative) and the absolute improvement
    larger than ``growth.spread_factor`` x the pooled seed spread sqrt((s_ref^2 + s_new^2) / 2).
    Why the spread itself rather than the standard error of the means: a forecaster deploys one
    trained network, not the mean of the seeds, so a size should help beyond what reseeding
    changes; with 3 seeds, a difference of one pooled std is also about t = 1.2 for the means.
    """
    if relative_gain(reference.score, stage.score) < growth.min_gain:
        return False
    spreads = [s for s in (reference.spread, stage.spread) if math.isfinite(s)]
    pooled = math.sqrt(sum(s * s for s in spreads) / 2) if spreads else 0.0
    return reference.score - stage.score > growth.spread_factor * pooled


def replay(history: list[Stage], growth: GrowthConfig) -> State:
    """Rebuild the search state from the evaluated stages."""
    state = State(alpha=growth.alpha)
    for i, stage in enumerate(history):
        if stage.action == "start" or state.best < 0:
            state.best = state.phase_best = state.phase_start = i
            state.gains.append(math.nan)
        elif stage.action == "deepen":
            state.before_phase_best, state.phase_start = state.best, i
            state.phase_best, state.strikes = i, 0
            state.gains.append(relative_gain(history[state.best].score, stage.score))
        else:  # widen: judged against the best width of the current layer
            gain = relative_gain(history[state.phase_best].score, stage.score)
            state.gains.append(gain)
            # Only a gain "by much", beyond seed noise, moves the layer's best: marginal gains do
            # not justify cells.
            if improves(history[state.phase_best], stage, growth):
                state.phase_best, state.strikes = i, 0
            else:
                state.strikes += 1
        if stage.score < history[state.best].score:
            state.best = i
        if stage.overfit:
            # Training loss clearly below validation loss: tighten the rule of thumb.
            state.alpha = min(growth.alpha_max, state.alpha + growth.alpha_step)
    return state


def next_width(width: int, schedule: list[int]) -> Optional[int]:
    """The next width on the schedule above ``width`` (None at the schedule's end)."""
    wider = [w for w in sorted(schedule) if w > width]
    return wider[0] if wider else None


def decide(
    history: list[Stage],
    growth: GrowthConfig,
    cap_for_alpha: "CapFn",
    goal_threshold: Optional[float],
) -> Proposal | Stop:
    """What to do after the last stage of ``history``: train another stage, or stop."""
    last = history[-1]
    if goal_threshold is not None and last.score <= goal_threshold:
        return Stop("goal_met", f"stage {len(history) - 1} meets the goal on the validation mean")
    if len(history) >= growth.max_stages:
        return Stop("max_stages", f"growth.max_stages={growth.max_stages} reached")
    state = replay(history, growth)
    cap = cap_for_alpha(state.alpha)
    if sum(last.widths) > cap:
        return Stop("capacity_cap", f"alpha rose to {state.alpha:g}: the cap is now {cap} cells")

    plateau_note = ""
    if state.strikes <= growth.patience:
        width = next_width(last.widths[-1], growth.schedule)
        if width is None:
            plateau_note = "end of growth.schedule"
        elif sum(last.widths[:-1]) + width > cap:
            plateau_note = f"widening to {width} would pass the capacity cap ({cap} cells)"
        else:
            return Proposal("widen", [*last.widths[:-1], width])
    else:
        plateau_note = f"gain below {growth.min_gain:.0%} or within the seed spread for {state.strikes} widening(s)"

    # Width plateau of the current layer.
    phase_best = history[state.phase_best]
    if state.before_phase_best is not None:
        before = history[state.before_phase_best]
        if not improves(before, phase_best, growth):
            return Stop(
                "plateau",
                f"layer {len(phase_best.widths)} did not beat the best model by "
                f"{growth.min_gain:.0%} and the seed spread: dropped ({plateau_note})",
            )
    if len(phase_best.widths) >= growth.max_layers:
        return Stop("plateau", f"width plateau at growth.max_layers={growth.max_layers} ({plateau_note})")
    deeper = [*phase_best.widths, growth.new_layer_cells]
    if sum(deeper) > cap:
        return Stop("capacity_cap", f"{plateau_note}; a new layer would pass the cap ({cap} cells)")
    return Proposal("deepen", deeper, plateau_note)


class CapFn:
    """Capacity cap as a function of alpha, for one dataset (keeps ``decide`` pure)."""

    def __init__(self, n_samples: int, n_inputs: int, n_outputs: int) -> None:
        self.n_samples, self.n_inputs, self.n_outputs = n_samples, n_inputs, n_outputs

    def __call__(self, alpha: float) -> int:
        return capacity_cap(self.n_samples, self.n_inputs, self.n_outputs, alpha)
