"""The one place that decides how a run goes: one series (``growth.controller.grow``), many
series one LSTM each (``runs.local.grow_local``) or one LSTM for all (``runs.pooled.grow_global``), and resuming any
of them."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

from growlstm import data as data_mod
from growlstm.config import Config, check_config
from growlstm.errors import InputError
from growlstm.data.layout import plan
from growlstm.runs.local import grow_local
from growlstm.runs.shared import MANY
from growlstm.growth.policy import capacity_cap, next_width
from growlstm.runs.pooled import grow_global
from growlstm.growth.preparation import horizon_and_season, to_panel
from growlstm.records.results import GrowthResult, ManyResult
from growlstm.growth.controller import grow
from growlstm.records.store import load_run_config
from growlstm.data.windows import default_input_size

log = logging.getLogger("growlstm")


def grow_many(
    series: Any, config: Optional[Config] = None, *, run_dir: Optional[str | Path] = None, resume: bool = False
) -> ManyResult:
    """Grow on every series of ``series`` (a Panel or a long DataFrame ``unique_id, ds, y``),
    in the scope ``config.growth.scope`` says: local (one LSTM per series) or global (one for all).

    Worker processes are spawned: a script that calls this needs the usual
    ``if __name__ == "__main__":`` guard.
    """
    config = config or Config()
    check_config(config)
    panel = to_panel(series, config)
    scope = config.growth.scope
    if scope == "auto":
        scope, why = choose_scope(panel, config)
        log.info("growth.scope=auto: %s scope, %s", scope, why)
        if config.model.series_id and scope == "local":
            raise InputError("model.series_id=true needs one network for several series, and growth.scope=auto "
                             "chose local scope", "add growth.scope=global, or drop model.series_id")
    if scope == "global":
        return grow_global(panel, config, run_dir=run_dir, resume=resume)
    return grow_local(panel, config, run_dir=run_dir, resume=resume)


def choose_scope(panel: data_mod.Panel, config: Config) -> tuple[str, str]:
    """``growth.scope=auto``: global when at least half the series are too short for an LSTM of
    their own, local otherwise; and why, in words.

    Too short means that the capacity rule leaves the series no room to grow: its own layout
    (as one series would be cut) caps it below the first widening, so the recipe could not
    compare two sizes. Pooled, every series' training targets count, and the cap lifts.
    """
    g = config.growth
    h, season = horizon_and_season(panel, config)
    lookback = config.input_size or default_input_size(h, season)
    shorten = None if config.input_size is not None else min(lookback, max(h, season))
    room = next_width(g.start_cells, g.schedule) or g.start_cells
    n_inputs = 1 + len(panel.features)
    short = 0
    lengths = panel.df.groupby("unique_id", sort=False).size()
    for uid, n in lengths.items():
        cut = plan(int(n), h, config.eval, lookback, min_windows=h, shorten_to=shorten,
                   test_span=panel.test_rows.get(str(uid)))
        samples = cut.train_end - cut.first_origin if cut is not None and cut.n_windows >= h else 0
        short += capacity_cap(samples, n_inputs, h, g.alpha) < room
    why = (f"{short} of {len(lengths)} series too short for an LSTM of their own (the capacity rule leaves "
           f"them fewer than {room} cells at alpha={g.alpha:g})")
    return ("global" if len(lengths) > 1 and 2 * short >= len(lengths) else "local"), why


def grow_panel(
    panel: data_mod.Panel, config: Config, *, run_dir: Optional[str | Path] = None, resume: bool = False
) -> "GrowthResult | ManyResult":
    """One series: ``grow``; several: ``grow_many`` (what the CLI and ``resume`` run)."""
    if len(panel) > 1:
        return grow_many(panel, config, run_dir=run_dir, resume=resume)
    return grow(panel, config, run_dir=run_dir, resume=resume)


def resume(run_dir: str | Path, series: Any = None) -> GrowthResult:
    """Continue an interrupted run from its last completed stage, with its saved config.

    A run on several series continues as ``growlstm.runs.dispatch.grow_many(..., resume=True)`` and
    returns its ``ManyResult``.

    ``series``: the data the run was started on; None reloads it from the saved ``data`` config
    (built-in datasets and CSV files; a run started on an in-memory series needs it passed).
    """
    config = load_run_config(Path(run_dir))
    if series is None:
        series = data_mod.load(config.data)
    panel = to_panel(series, config)
    marker = Path(run_dir) / MANY
    if marker.is_file() and len(panel) == 1:
        grown = json.loads(marker.read_text())
        raise InputError(
            f"{run_dir} holds a {grown['scope']}-scope run on {grown['series']} series, but its saved data config "
            f"gives one series ({config.data.name})",
            "pass the series it was started on: growlstm.resume(run_dir, panel)",
        )
    return grow_panel(panel, config, run_dir=run_dir, resume=True)  # type: ignore[return-value]
