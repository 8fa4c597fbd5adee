"""growth.png: the stages in search order, their validation metric with the seeds' spread, the
chosen model's test score, and the baselines and goal as labelled lines."""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

from growlstm.metrics import metric_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from growlstm.records.results import GrowthResult, GrowthView


@contextlib.contextmanager
def no_glyph_warnings() -> Iterator[None]:
    """Series ids in scripts the plot font lacks (東京) draw as boxes; matplotlib's warning about
    each missing glyph is chatter on the forecaster's console."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt


def spread_labels(positions: Sequence[float], gap: float, low: float = 0.0, high: float = 1.0) -> list[float]:
    """Label positions near ``positions`` (in the input order), at least ``gap`` apart and
    within [low, high] where they fit: each overlapping run is pushed apart around its centre."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = [float(positions[i]) for i in order]
    for _ in range(len(placed)):  # a pass can only merge runs: len(placed) passes settle them
        moved = False
        start = 0
        while start < len(placed):
            end = start
            while end + 1 < len(placed) and placed[end + 1] - placed[end] < gap - 1e-12:
                end += 1
            if end > start:  # a run of crowded labels: spread it evenly about its mean
                n = end - start + 1
                centre = sum(placed[start:end + 1]) / n
                first = min(max(centre - gap * (n - 1) / 2, low), max(low, high - gap * (n - 1)))
                placed[start:end + 1] = [first + k * gap for k in range(n)]
                moved = True
            start = end + 1
        if not moved:
            break
    out = [0.0] * len(positions)
    for rank, i in enumerate(order):
        out[i] = placed[rank]
    return out


def reference_lines(result: "GrowthResult | GrowthView") -> list[tuple[str, float, str]]:
    """(label, value, style) of the baselines' validation metric and the goal; baselines with
    the same value share one line and one label."""
    metric = result.goal.metric
    by_value: dict[float, list[str]] = {}
    for name, b in result.baselines.items():
        value = b.val.get(metric)
        if b.ok and value is not None and math.isfinite(value):
            by_value.setdefault(round(value, 6), []).append(name)
    lines = [(f"{' = '.join(names)} {value:.3f}", value, "baseline") for value, names in by_value.items()]
    threshold = result.goal.threshold("val")
    if threshold is not None and math.isfinite(threshold):
        lines.append((f"goal {threshold:.3f}", threshold, "goal"))
    return lines


def growth_figure(result: "GrowthResult | GrowthView") -> "Figure":
    """The growth plot as a matplotlib Figure (``growth_plot`` saves it)."""
    plt = pyplot()
    metric = result.goal.metric
    label = metric_label(metric)
    stages = result.stages
    # Room for each stage's three-line label: wider with many stages (up to 20 by default).
    fig, ax = plt.subplots(figsize=(min(18.0, max(8.0, 3.2 + 0.75 * len(stages))), 4.2))
    xs = list(range(len(stages)))
    ok = [s for s in stages if s.ok]
    # Each seed as a faint dot, the mean over seeds with +/- one sd: is a gain beyond the noise?
    for s in ok:
        seeds = [v.get(metric) for v in s.seed_val if v.get(metric) is not None]
        ax.scatter([s.index] * len(seeds), seeds, s=12, color="C0", alpha=0.35, linewidths=0, zorder=3)
    ax.errorbar([s.index for s in ok], [s.val[metric] for s in ok],
                yerr=[0.0 if not math.isfinite(s.val_std) else s.val_std for s in ok],
                fmt="o-", color="C0", capsize=4, zorder=4, label="LSTM stage: validation mean ± sd over seeds (dots: seeds)")
    for s in stages:
        if not s.ok:
            ax.axvline(s.index, color="0.6", linestyle=":", linewidth=1)
    chosen = result.chosen_stage
    if chosen is not None and chosen.ok:
        ax.scatter([chosen.index], [chosen.val[metric]], s=220, facecolors="none", edgecolors="C3", linewidths=2,
                   zorder=5, label=f"chosen: stage {chosen.index} {chosen.widths}")
        test = result.chosen_test.get(metric)
        if test is not None and math.isfinite(test):
            ax.scatter([chosen.index], [test], marker="*", s=200, color="C3", zorder=6,
                       label=f"chosen on test: {test:.3f}")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{s.index}: {s.action}\n{' '.join(map(str, s.widths))}\n{s.params} p"
                        + ("" if s.ok else "\nfailed") for s in stages], fontsize=8)
    ax.set_xlim(-0.5, max(len(stages), 1) - 0.5)
    lines = reference_lines(result)
    for text, value, style in lines:
        ax.axhline(value, color="black" if style == "goal" else "0.45", linestyle="-" if style == "goal" else "--",
                   linewidth=1.4 if style == "goal" else 1.0, zorder=2)
    ax.set_xlabel("stage in search order: action, widths per layer, parameters")
    ax.set_ylabel(f"validation {label}")
    if not stages:
        ax.text(0, 0.5, "no LSTM stage (see the run's stop reason)", transform=ax.get_xaxis_transform(),
                ha="center", color="0.4")
    ax.set_title(f"growlstm on {result.series}: stop = {result.stop_reason}", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.27), ncol=2, frameon=False)
    width = fig.get_figwidth()
    fig.subplots_adjust(left=0.75 / width, right=1 - 2.1 / width, top=0.93, bottom=0.3)  # margins in inches
    label_lines(fig, ax, lines)
    return fig


def label_lines(fig: "Figure", ax: Any, lines: list[tuple[str, float, str]]) -> None:
    """Each reference line's label in the right margin, at its height where room allows, moved
    apart where lines lie close (a thin leader joins a moved label to its line)."""
    if not lines:
        return
    fig.canvas.draw()  # fixes the y range
    low, high = ax.get_ylim()
    frac = [(value - low) / (high - low) for _, value, _ in lines]
    text_height = 7.5 * 1.35 / 72 * fig.dpi  # points to pixels, with line spacing
    gap = text_height / ax.get_window_extent().height
    placed = spread_labels(frac, gap, low=-0.05, high=1.05)
    for (text, value, style), y in zip(lines, placed):
        ax.annotate(text, xy=(1.0, (value - low) / (high - low)), xycoords="axes fraction", xytext=(1.03, y),
                    textcoords="axes fraction", va="center", fontsize=7.5,
                    fontweight="bold" if style == "goal" else "normal",
                    arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.6}, annotation_clip=False)


def growth_plot(result: "GrowthResult | GrowthView", path: Path) -> None:
    fig = growth_figure(result)
    with no_glyph_warnings():
        fig.savefig(path, format="png", dpi=110)
    pyplot().close(fig)


def model_label(name: str) -> str:
    return {"lstm": "LSTM", "comb": "comb (mean of ETS, ARIMA, Theta)"}.get(name, name.replace("lstm", "LSTM"))


def test_forecasts(result: "GrowthResult", name: str) -> list[Any]:
    """A model's forecasts at the test origins (a combination: the mean of its members', as the
    recommendation averages them), or []."""
    from growlstm.verdict.recommend import CLASSICAL_COMB, Candidate, mean_of

    if name == "lstm":
        return list(result.lstm_test)
    if name in result.baselines:
        return list(result.baselines[name].test_forecasts) if result.baselines[name].ok else []
    members = list(CLASSICAL_COMB) if name == "comb" else name.split("+") if "+" in name else []
    parts = [test_forecasts(result, m) for m in members]
    if not parts or not all(parts) or len({len(p) for p in parts}) != 1:
        return []
    return mean_of(name, [Candidate(m, [], p) for m, p in zip(members, parts)]).test


def best_baseline_of(result: "GrowthResult") -> Optional[str]:
    """The baseline that validates best (the goal's reference when it beats a baseline)."""
    from growlstm.verdict.advice import best_classical

    return result.goal.baseline or best_classical(result.baselines, result.goal.metric)


def forecast_models(result: "GrowthResult") -> list[str]:
    """The forecasts a reader compares: the recommended one, the LSTM, the best baseline (each
    once, those in forecast.csv)."""
    names = [result.recommendation.get("model"), "lstm", best_baseline_of(result)]
    columns = set(result.forecast.columns) if result.forecast is not None else set()
    out: list[str] = []
    for name in names:
        if name and name not in out and name in columns:
            out.append(name)
    return out


def forecast_figure(result: "GrowthResult", win: Any) -> "Figure":
    """The history with the test span, and the forecast past its end with prediction intervals:
    on top the whole series with the recommended forecast; below, zoomed on the end, the
    recommended, the LSTM and the best baseline each with its test-span forecasts and intervals."""
    import numpy as np
    import pandas as pd

    plt = pyplot()
    frame = result.forecast if result.forecast is not None else pd.DataFrame()
    models = forecast_models(result)
    best = best_baseline_of(result)
    y, n, h = np.asarray(win.y, dtype=float), len(win.y), win.h
    dated = "ds" in frame and isinstance(win.ds, pd.DatetimeIndex)
    x_hist = np.asarray(win.ds) if dated else np.arange(n)
    x_future = pd.to_datetime(frame["ds"]).to_numpy() if dated else np.arange(n, n + len(frame))
    test = [int(o) for o in win.test_origins]
    levels = sorted(result.recommendation.get("levels") or [], reverse=True)  # widest band first

    def draw(ax: Any, name: Optional[str], color: str, span: slice, with_test: bool) -> None:
        ax.plot(x_hist[span], y[span], color="black", linewidth=1, label="observed")
        if test:
            ax.axvspan(x_hist[test[0]], x_hist[min(n - 1, test[-1] + h - 1)], color="0.9", zorder=0,
                       label="test span (held out)")
        if name is None:
            return
        if with_test:
            for k, (o, f) in enumerate(zip(test, test_forecasts(result, name))):
                m = min(len(f), n - o)
                ax.plot(x_hist[o:o + m], np.asarray(f)[:m], color=color, linestyle="--", linewidth=1.2,
                        label="its forecast of the test span" if k == 0 else None)
        for alpha, level in zip((0.18, 0.35), levels):
            lo, hi = f"{name}-lo-{level}", f"{name}-hi-{level}"
            if lo in frame and hi in frame:
                ax.fill_between(x_future, frame[lo], frame[hi], color=color, alpha=alpha, linewidth=0,
                                label=f"{level}% interval")
        if name in frame:
            ax.plot(x_future, frame[name], color=color, linewidth=1.6, label="forecast")

    rows = 2 if models else 1
    fig = plt.figure(figsize=(10, 6.4 if rows == 2 else 3.4))
    grid = fig.add_gridspec(rows, max(1, len(models)), height_ratios=[1, 1.15][:rows], hspace=0.45, wspace=0.25)
    top = fig.add_subplot(grid[0, :])
    first = models[0] if models else None
    draw(top, first, "C3", slice(0, n), with_test=False)
    top.set_title(f"{result.series}: the whole series" + (f" and the recommended forecast ({model_label(first)})"
                                                         if first else ""), fontsize=10)
    handles, labels = top.get_legend_handles_labels()
    if models and test:  # the zoomed panels draw each model's test-span forecast dashed
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.3", linestyle="--"))
        labels.append("below: each model's forecast of the test span")
    top.legend(handles, labels, fontsize=7, loc="upper left", ncol=3, frameon=False)
    start = max(0, (test[0] if test else n) - 3 * h)
    colors = {0: "C3", 1: "C0", 2: "C2"}
    for k, name in enumerate(models):
        ax = fig.add_subplot(grid[1, k], sharey=None)
        draw(ax, name, colors[k], slice(start, n), with_test=True)
        roles = [role for role, is_it in (("recommended", name == first), ("LSTM", name == "lstm"),
                                          ("best baseline", name == best)) if is_it]
        ax.set_title(" = ".join(roles) + ("" if name == "lstm" else f": {model_label(name)}"), fontsize=9)
        ax.tick_params(labelsize=7)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
    top.tick_params(labelsize=8)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.94, bottom=0.12)
    return fig


def png_bytes(fig: "Figure", dpi: int = 100) -> bytes:
    """The figure as PNG bytes (closes it)."""
    import io

    buffer = io.BytesIO()
    with no_glyph_warnings():
        fig.savefig(buffer, format="png", dpi=dpi)
    pyplot().close(fig)
    return buffer.getvalue()
