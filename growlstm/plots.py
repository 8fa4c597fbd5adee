"""growth.png: validation metric against parameters per stage, baselines and goal as lines."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from growlstm.search import GrowthResult


def growth_plot(result: "GrowthResult", path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    metric = result.goal.metric
    label = "sMAPE" if metric == "smape" else metric.upper()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ok = [s for s in result.stages if s.ok]
    xs = [s.params for s in ok]
    ys = [s.val[metric] for s in ok]
    errs = [s.val_std for s in ok]
    ax.errorbar(xs, ys, yerr=errs, fmt="o-", color="C0", capsize=3, label="LSTM stages (mean ± sd over seeds)")
    for s in ok:
        ax.annotate(str(s.widths), (s.params, s.val[metric]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    chosen = result.chosen_stage
    if chosen is not None and chosen.ok:
        ax.scatter([chosen.params], [chosen.val[metric]], s=160, facecolors="none", edgecolors="C3", zorder=5,
                   label=f"chosen {chosen.widths}")
    for i, (name, b) in enumerate(result.baselines.items()):
        value = b.val.get(metric)
        if b.ok and value is not None and math.isfinite(value):
            ax.axhline(value, color=f"C{i + 1}", linestyle="--", linewidth=1, label=f"{name} ({value:.3f})")
    threshold = result.goal.threshold("val")
    if threshold is not None:
        ax.axhline(threshold, color="black", linewidth=1.5, label=f"goal ({threshold:.3f})")
    if ok:  # a run without a trained stage (too short, or every stage failed) has no x range
        ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel(f"validation {label}")
    ax.set_title(f"growlstm on {result.series}: stop = {result.stop_reason}")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
