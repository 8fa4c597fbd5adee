"""Where a series is cut: training, early-stopping slice, validation origins, test span.

The full layout, ``| train | early-stopping slice | validation span | test span |``, needs about
6h points. A shorter series gets a smaller layout, shrunk one step at a time, in this order,
until its training windows fit:

1. a shorter lookback (local scope, default ``input_size`` only, down to ``max(h, m)``);
2. fewer validation origins, down to one (origins beyond ``BASE_ORIGINS`` go first, wherever
   they would leave training less than half the series);
3. an early-stopping slice of one origin (h points) instead of the validation span's length;
4. no internal test span (not when the test span is held-out data, ``data.test_path``);
5. no early-stopping slice: training then stops on its own loss (one series), or on the other
   series' slices (global scope).

In every layout the validation origins, which choose the size and judge the goal, lie after
every training and early-stopping target: what judges never steered training. In the global
scope the lookback is not shortened but left-padded (``pad``): a window may start before its
series does, its missing steps zero and flagged by a mask input. A series whose smallest layout
holds no training window still gets validation origins and a forecast (global scope), as long
as ``MIN_HISTORY`` points precede its validation origin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np

from growlstm.config import EvalConfig

# Points before a validation origin: the least MASE's in-sample scale (and naive) needs.
MIN_HISTORY = 2
# Validation origins every layout may keep before it shrinks; more (``eval.val_origins`` above
# this) only where the training part keeps at least half the series. Why: extra origins are
# extra evidence for the recommendation and the goal, bought with training data (each adds
# ``step`` points to the validation span and to the early-stopping slice); a long series can
# pay (M4: recommended OWA 0.772 with 3 origins, 0.718 with 9), a short one cannot (M1 yearly,
# global: 0.740 with 3, 0.784 when its series gave up training points for 9).
BASE_ORIGINS = 3


@dataclass(frozen=True)
class Layout:
    """Origins of one series: training windows' targets lie in ``[first_origin, train_end)``."""

    n: int
    h: int
    input_size: int
    test: np.ndarray  # test origins (empty: no internal test span)
    val: np.ndarray  # validation origins
    stop: np.ndarray  # early-stopping origins (empty: no slice of its own)
    train_end: int
    first_origin: int  # first training origin: input_size, or 1 with a padded lookback
    steps: tuple[str, ...] = ()  # what was shrunk, in words (empty: the full layout)

    @property
    def n_windows(self) -> int:
        """Training windows (origins whose h targets all lie before ``train_end``)."""
        return max(0, self.train_end - self.h - self.first_origin + 1)

    @property
    def n_train(self) -> int:
        """The first validation origin: scalers and fitted bases see only the data before it."""
        return int(self.val[0])

    def describe(self) -> str:
        return "full layout" if not self.steps else ", ".join(self.steps)


def origin_step(h: int, ev: EvalConfig) -> int:
    """Steps between forecast origins: ``eval.step``, or h / val_origins rounded up, at most three
    origins per horizon (up to three origins, the validation span covers about two horizons;
    more origins lengthen it, adding target values not seen by the others)."""
    return ev.step if ev.step is not None else max(1, math.ceil(h / min(ev.val_origins, BASE_ORIGINS)))


def _shapes(ev: EvalConfig, held_out: bool) -> Iterator[tuple[int, int, str, tuple[str, ...]]]:
    """(test origins, validation origins, slice kind, words) from the full layout down."""
    t, v = ev.test_origins, ev.val_origins
    slice_kind = "full" if ev.early_stop == "slice" else "val"
    for k in range(v, 0, -1):
        words = () if k == v else (f"{k} validation origin{'s' if k > 1 else ''} (of {v})",)
        yield t, k, slice_kind, words
    fewer = (f"1 validation origin (of {v})",) if v > 1 else ()
    if slice_kind == "full":
        yield t, 1, "one", (*fewer, "an early-stopping slice of one origin")
        if not held_out:
            yield 0, 1, "one", (*fewer, "an early-stopping slice of one origin", "no internal test span")
        none = (*fewer, "no early-stopping slice")
        yield (t, 1, "none", none) if held_out else (0, 1, "none", (*none, "no internal test span"))
    elif not held_out:
        yield 0, 1, slice_kind, (*fewer, "no internal test span")


def _place(n: int, h: int, ev: EvalConfig, shape: tuple[int, int, str], input_size: int,
           first_origin: int, test_span: Optional[int]) -> Layout:
    n_test, n_val, slice_kind = shape
    step = origin_step(h, ev)
    first_test = n - (test_span if test_span is not None else h + step * (n_test - 1)) if n_test else n
    test = first_test + step * np.arange(n_test)
    first_val = first_test - h - step * (n_val - 1)
    val = first_val + step * np.arange(n_val)
    if slice_kind == "full":
        train_end = first_val - (h + step * (n_val - 1))
        stop = np.arange(train_end, first_val - h + 1)  # every window inside the slice
    elif slice_kind == "one":
        train_end = first_val - h
        stop = np.array([train_end])
    elif slice_kind == "val":
        train_end, stop = first_val, val
    else:
        train_end, stop = first_val, np.zeros(0, dtype=int)
    return Layout(n, h, input_size, test.astype(int), val.astype(int), np.asarray(stop, dtype=int), int(train_end),
                  first_origin, ())


def plan(
    n: int,
    h: int,
    ev: EvalConfig,
    input_size: int,
    *,
    min_windows: int = 1,
    pad: bool = False,
    shorten_to: Optional[int] = None,
    test_span: Optional[int] = None,
) -> Optional[Layout]:
    """The largest layout of an ``n``-point series with at least ``min_windows`` training windows.

    ``pad``: windows may start before the series (first training origin 1). ``shorten_to``: the
    lookback may shrink from ``input_size`` down to this before the layout does (the local
    default). ``test_span``: the test span is exactly this many held-out points.
    When no layout has ``min_windows`` windows, the smallest one is returned (its
    ``n_windows`` says how many it has); None when not even one validation origin with
    ``MIN_HISTORY`` points of history fits.
    """
    smallest = None
    for n_test, n_val, kind, words in _shapes(ev, test_span is not None):
        lookbacks = [input_size] if pad or shorten_to is None else list(range(input_size, min(shorten_to, input_size) - 1, -1))
        for lookback in lookbacks:
            layout = _place(n, h, ev, (n_test, n_val, kind), lookback, 1 if pad else lookback, test_span)
            # Every window a model reads must start inside the series unless the lookback is padded.
            starts = min(layout.val[0], layout.stop.min() if layout.stop.size else layout.val[0])
            if layout.val[0] < MIN_HISTORY or starts < layout.first_origin:
                continue
            if n_val > BASE_ORIGINS and 2 * layout.train_end < n:  # extra origins: long series only
                continue
            shrunk = words + ((f"lookback shortened to {lookback}",) if lookback < input_size else ())
            layout = Layout(**{**layout.__dict__, "steps": shrunk})
            if layout.n_windows >= min_windows:
                return layout
            smallest = layout
    return smallest
