"""growth.png reads at a glance: stages in search order, seeds' spread, the chosen model's test
score, and every baseline labelled where no label hides another."""

from __future__ import annotations

import itertools

import pytest

import growlstm
from growlstm.config import Config, GoalConfig, GrowthConfig
from growlstm.data import load
from growlstm.records.plots import growth_figure, pyplot, reference_lines, spread_labels

from .test_search import CO2, scripted


def test_spread_labels_keeps_order_and_gap() -> None:
    values = [0.50, 0.51, 0.505, 0.9, 0.2, 0.21]
    placed = spread_labels(values, gap=0.05)
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranked = [placed[i] for i in order]
    assert all(b - a >= 0.05 - 1e-9 for a, b in zip(ranked, ranked[1:]))  # apart, in the lines' order
    assert placed[3] == 0.9  # a line with room keeps its label at its height
    assert abs(sum(placed[:3]) / 3 - sum(values[:3]) / 3) < 1e-9  # a crowded run stays centred on its lines
    assert spread_labels([0.99, 1.0], gap=0.1, high=1.0) == pytest.approx([0.9, 1.0])  # kept inside


@pytest.fixture(scope="module")
def result() -> growlstm.GrowthResult:
    fake = scripted({(2,): 1.0, (3,): 0.9, (4,): 0.85, (6,): 0.84, (8,): 0.845, (4, 2): 0.95, (6, 2): 0.95})
    config = Config(baselines=["naive", "seasonal_naive", "naive2"], goal=GoalConfig(beat="none"),
                    growth=GrowthConfig(max_stages=5))
    out = growlstm.grow(CO2, config, evaluator=fake)
    # Crowded lines: two baselines equal, one a hair away, as short series often give.
    out.baselines["naive"].val["mase"] = 0.8601
    out.baselines["seasonal_naive"].val["mase"] = 0.8601
    out.baselines["naive2"].val["mase"] = 0.8612
    out.chosen_test = {"mase": 0.77}
    return out


def test_growth_figure_reads_at_a_glance(result: growlstm.GrowthResult) -> None:
    fig = growth_figure(result)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert [t.split(":")[0] for t in ticks] == [str(s.index) for s in result.stages]  # search order
    assert [t.splitlines()[1] for t in ticks] == [" ".join(map(str, s.widths)) for s in result.stages]
    assert [t.splitlines()[2] for t in ticks] == [f"{s.params} p" for s in result.stages]
    # Equal baselines share one line and one label; the near one gets its own.
    labels = [text for text, _, _ in reference_lines(result)]
    assert labels == ["naive = seasonal_naive 0.860", "naive2 0.861"]
    notes = [t for t in ax.texts if t.get_text() in labels]
    assert len(notes) == 2
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in notes]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    # The chosen stage's test score is drawn at its stage, and said in the legend.
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "chosen on test: 0.770" in legend
    chosen = result.chosen_stage
    offsets = [c.get_offsets().tolist() for c in ax.collections]
    assert [[chosen.index, 0.77]] in offsets
    # Each seed's score is a dot at its stage (the spread behind the error bar).
    assert [[0, 0.99], [0, 1.01]] in [[[round(x, 6), round(y, 6)] for x, y in o] for o in offsets]
    pyplot().close(fig)


def test_a_run_without_stages_still_plots(tmp_path) -> None:
    from growlstm.records.plots import growth_plot

    config = Config(baselines=["naive"], goal=GoalConfig(target=0.5), growth=GrowthConfig(max_stages=1))
    config.data.name = "nile"
    out = growlstm.grow(load(config.data), config, evaluator=scripted({(2,): 1.0}))
    out.stages, out.chosen = [], None
    growth_plot(out, tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 1000


def test_many_stages_keep_their_labels_apart() -> None:
    widths = [(2,), (3,), (4,), (6,), (8,), (12,), (16,), (24,), (32,), (48,), (64,)]
    fake = scripted({w: 1.0 - 0.021 * k for k, w in enumerate(widths)} | {(64, 2): 0.5})
    config = Config(baselines=["naive"], goal=GoalConfig(beat="none"),
                    growth=GrowthConfig(max_stages=12, alpha=0.01, alpha_max=0.01))
    out = growlstm.grow(CO2, config, evaluator=fake)
    assert len(out.stages) >= 10
    fig = growth_figure(out)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in fig.axes[0].get_xticklabels()]
    assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:]))
    pyplot().close(fig)
