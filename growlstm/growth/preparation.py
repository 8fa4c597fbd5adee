"""One series made ready for growth: the panel from what the user passed, the windows cut to
the layout that fits its length, the residual base, and whether it has room for an LSTM."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pandas as pd

from growlstm import data as data_mod
from growlstm.config import Config, GrowthConfig
from growlstm.errors import InputError
from growlstm.data.layout import MIN_HISTORY, origin_step
from growlstm.data.layout import plan as plan_layout
from growlstm.growth.policy import CapFn, capacity_cap
from growlstm.baselines.residual import AUTO_BASES, with_best_base, with_classical_base
from growlstm.data.windows import SeriesWindows, default_h, default_input_size, make_windows

log = logging.getLogger("growlstm")

TINY = 2  # cells of the recipe's first LSTM: a series whose cap is below it is too short for one


def horizon_and_season(panel: data_mod.Panel, config: Config) -> tuple[int, int]:
    """``h`` (given, or M4's horizon for the frequency) and the season length (given, or the
    frequency's): the same for one series, each series of a table, and the scope decision."""
    h = config.h if config.h is not None else default_h(panel.freq)
    return h, config.data.season_length or panel.season_length


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


# The defaults that depend on who the network is for (growth.probe and model.input_norm null):
# a series' own network, or one pooled over many series.


def probe_resolved(config: Config, pooled: bool) -> Config:
    """``config`` with ``growth.probe=null`` (auto) made definite: the flat-start probe where one
    series grows its own network, none for a network pooled over many (there every size
    validates within about 1%, and the probe's widest network doubled the time)."""
    if config.growth.probe is not None:
        return config
    return replace(config, growth=replace(config.growth, probe=not pooled))


def norm_for(config: Config, pooled: bool) -> str:
    """``model.input_norm``, or where it is null the scope's default: ``recent`` for a network
    pooled over many series, whose corrections are learnt on other series' scales and must not
    exceed a collapsed series' current level; ``last`` for a series' own network, which learns
    its own scale (and on a series that nears zero, such as sunspots, validates far better)."""
    if config.model.input_norm is not None:
        return str(config.model.input_norm)
    return "recent" if pooled else "last"


def residual_for(config: Config, pooled: bool) -> str | None:
    """``model.residual``, or where it is ``scope`` the scope's default: ``ets`` for a network
    pooled over many series, ``theta`` for a series' own network.

    Why: on the pooled M1 subsets the LSTM over ETS scores better on test than over Theta
    (global LSTM OWA monthly 0.915 -> 0.904, quarterly 0.876 -> 0.863, yearly 0.779 -> 0.763,
    scripts/results/bench_short.md); for a series' own network Theta is the treatment measured
    best on M4 (scripts/results/bench_m4.md), and ETS has not been benchmarked against it there."""
    residual = config.model.residual
    if residual == "scope":
        return "ets" if pooled else "theta"
    return None if residual is None else str(residual)


def base_input_for(config: Config, pooled: bool) -> bool:
    """``model.base_input``, or where it is null the scope's default: on for a network pooled over
    many series (M1: see the README, What the LSTM sees), off for a series' own network, where the
    h more inputs would halve the capacity cap and have not been benchmarked."""
    if config.model.base_input is not None:
        return bool(config.model.base_input)
    return pooled


def prepare(panel: data_mod.Panel, config: Config, *, pad: bool = False, pooled: bool = False) -> tuple[str, SeriesWindows]:
    """Pick the series to grow and cut it into windows, with h, input_size and the layout resolved.

    One series (``pad=False``) needs h training windows; its default lookback shortens to fit, then
    its layout shrinks (``growlstm.data.layout``). When even the smallest layout has too few windows,
    the windows come back as they are, for the classical forecasts (``lstm_room`` says why).
    ``pad``: the global scope's left-padded lookback, one training window is enough. ``pooled``:
    the windows are for one network over many series (``norm_for``).
    """
    # data.series may be a pattern that selected this one series when the data was loaded.
    picked = config.data.series if config.data.series in panel.ids() else None
    frame = panel.series(picked)
    uid = picked or panel.ids()[0]
    h, season = horizon_and_season(panel, config)
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
    too_long = ""
    if cut is None and not pad:
        # No lookback fits before the first validation origin: no LSTM of its own (``lstm_room``
        # then says why it gets the classical result).
        cut = plan_layout(len(frame), h, config.eval, shorten or lookback, min_windows=1, pad=True, test_span=held_out)
        if config.input_size is not None:  # the user's lookback: say which one would fit
            too_long = _lookback_that_fits(panel, len(frame), h, config, held_out)
    if cut is None:
        least = h + MIN_HISTORY + (held_out or 0)
        raise InputError(
            f"series '{uid}' has {len(frame)} points, too short to validate any forecast of h={h} steps "
            f"(needs at least {least}: {MIN_HISTORY} points before one validation origin"
            + (f", and the {held_out} held-out ones)" if held_out else ")"),
            f"use a smaller h (at most {max(1, len(frame) - MIN_HISTORY - (held_out or 0))}), or a longer series",
        )
    win = _windows(panel, config, uid, frame, cut, season, pad or cut.first_origin < cut.input_size, pooled)
    if too_long:
        win = replace(win, no_room=too_long)
    if not win.pad and not pooled and not config.model.widths:
        no_room = lstm_room(win, CapFn(win.n_samples, win.n_inputs, win.h), config.growth)
        if no_room:
            # The layout was shrunk for an LSTM that will not be trained; the classical forecasts
            # need only MIN_HISTORY points, so they are cut as the global scope cuts them, and
            # both scopes score the same validation and test origins.
            cut = plan_layout(len(frame), h, config.eval, shorten or lookback, min_windows=1, pad=True,
                              test_span=held_out) or cut
            win = replace(_windows(panel, config, uid, frame, cut, season, True, pooled), no_room=no_room)
    return uid, win


def _lookback_that_fits(panel: data_mod.Panel, n: int, h: int, config: Config, held_out: Any) -> str:
    """Why a given ``input_size`` leaves no LSTM, with the longest one that gives a series' own
    LSTM room (h training windows and a cap of ``growth.start_cells``); "" when none would."""
    base = h if base_input_for(config, False) and residual_for(config, False) else 0
    n_inputs = 1 + len(panel.features) + base
    for lookback in range(min(int(config.input_size or 1), n) - 1, 0, -1):
        cut = plan_layout(n, h, config.eval, lookback, min_windows=h, test_span=held_out)
        if cut is not None and cut.n_windows >= h and capacity_cap(
                cut.train_end - cut.first_origin, n_inputs, h, config.growth.alpha) >= config.growth.start_cells:
            return (f"no lookback of input_size={config.input_size} steps fits before its first validation origin "
                    f"({n} points, h={h}); input_size={lookback} or less gives it an LSTM of its own "
                    f"(or leave input_size unset)")
    return ""


def _windows(panel: data_mod.Panel, config: Config, uid: str, frame: pd.DataFrame, cut: Any, season: int,
             pad: bool, pooled: bool) -> SeriesWindows:
    """The series cut at ``cut``, with its residual base (``model.residual``)."""
    win = make_windows(
        frame, uid=uid, h=cut.h, input_size=cut.input_size, season_length=season,
        features=list(panel.features), norm=norm_for(config, pooled), ev=config.eval, cut=cut,
    )
    residual = residual_for(config, pooled)
    if residual == "seasonal_naive" and win.input_size < season and not pad:
        # The first training window must have a full season before it to repeat.
        raise InputError(
            f"model.residual=seasonal_naive needs input_size >= the season length ({season}); "
            f"series '{uid}' has input_size={win.input_size}",
            f"set input_size={season} or more (the series needs to be long enough for it), or use model.residual=theta",
        )
    if residual == "auto":
        # Chosen on the validation origins only; seasonal naive only where a full season fits.
        candidates = AUTO_BASES if win.input_size >= season or pad else ("theta",)
        win = with_best_base(win, candidates, config.goal.metric)
    elif residual:
        win = with_classical_base(win, residual)
    return replace(win, base_input=base_input_for(config, pooled))


def lstm_room(win: SeriesWindows, cap_fn: CapFn, growth: GrowthConfig) -> str:
    """Why one series is too short for an LSTM of its own ("" when it is not).

    It needs h training windows (so that training and early stopping mean something) and a
    capacity cap of at least ``growth.start_cells`` cells.
    """
    windows = len(win.train_origins)
    if win.no_room:  # decided before the series was cut again for the classical forecasts
        return win.no_room
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


def describe_layout(win: SeriesWindows) -> str:
    """The layout in words, for the run's first line."""
    return "full layout" if not win.layout_steps else "layout shrunk to fit: " + ", ".join(win.layout_steps)


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
