"""The user's accuracy goal: an absolute target, or a margin over the best baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from growlstm.config import GoalConfig
from growlstm.evaluate import BaselineResult


@dataclass
class Goal:
    """Resolved goal. The best baseline is chosen on validation and kept for the test verdict."""

    metric: str
    target: Optional[float]
    margin: float
    baseline: Optional[str]  # best baseline on validation (None if every baseline failed)
    reference: Optional[BaselineResult]
    beat: bool  # True: goal relative to the best baseline

    def threshold(self, part: str) -> Optional[float]:
        """The value the goal metric must not exceed on ``part`` (val or test); None: no goal."""
        if self.target is not None:
            return self.target
        if not self.beat or self.reference is None:
            return None
        value = getattr(self.reference, part).get(self.metric)
        return value * (1 - self.margin) if value is not None else None

    def met(self, value: float, part: str) -> Optional[bool]:
        threshold = self.threshold(part)
        if threshold is None:
            return None
        return bool(math.isfinite(value) and value <= threshold)

    def gap(self, value: float, part: str) -> Optional[float]:
        """How far ``value`` is above the threshold (<= 0 when met)."""
        threshold = self.threshold(part)
        return None if threshold is None else value - threshold

    def describe(self) -> str:
        name = self.metric.upper() if self.metric != "smape" else "sMAPE"
        if self.target is not None:
            return f"{name} <= {self.target:g}"
        if not self.beat:
            return "none (growth runs to its plateau)"
        if self.reference is None:
            return f"{self.margin:.0%} better than the best baseline (every baseline failed: no goal)"
        threshold = self.threshold("val")
        return f"{name} <= {threshold:.3f} on validation ({self.margin:.0%} better than {self.baseline})"


def make_goal(cfg: GoalConfig, baselines: dict[str, BaselineResult]) -> Goal:
    """Resolve ``cfg`` against the baselines' validation scores."""
    scored = [(b.val[cfg.metric], name) for name, b in baselines.items() if b.ok and cfg.metric in b.val]
    scored = [(v, n) for v, n in scored if math.isfinite(v)]
    best = min(scored)[1] if scored else None
    return Goal(
        metric=cfg.metric,
        target=cfg.target,
        margin=cfg.margin,
        baseline=best,
        reference=baselines[best] if best else None,
        beat=cfg.beat == "best_baseline",
    )
