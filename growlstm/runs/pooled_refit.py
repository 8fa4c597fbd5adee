"""The global network refitted before forecasting (``growlstm.growth.refit``, the series pooled):
on every series' data before its first validation origin, before its first test origin and on all
of it, each a cut of its own. A narrow network trains on one thread, so the three cuts train side
by side in worker processes once the data pay for starting them."""

from __future__ import annotations

import logging
import time
from typing import Any, Optional, Sequence

import numpy as np

from growlstm.baselines.residual import fitted_base
from growlstm.config import Config
from growlstm.growth.refit import RefitFailure, growth_path, recut_at, refit, stage_epochs
from growlstm.runs.shared import FITS_PER_WORKER, map_series, training_threads, worker_count
from growlstm.train.fit import torch_threads
from growlstm.train.module import LSTMForecaster
from growlstm.train.pooled_windows import PooledWindows, pool_feature_scaling

log = logging.getLogger("growlstm")


# Training windows x epochs of a refit's three cuts (summed over its path) from which training
# the cuts side by side in worker processes pays for starting them: a narrow network trains on
# one thread, so one core idles otherwise. M1 quarterly, [2]: 1.08M, 56 s in a row, 40 s side by
# side; starting the workers cost about 8 s, which the saving covers from about 400k.
REFIT_SIDE_BY_SIDE = 400_000


def refitted(pooled: PooledWindows, stages: Sequence[Any], chosen: Optional[int], modules: Sequence[LSTMForecaster],
             config: Config) -> tuple[dict[str, tuple[PooledWindows, Sequence[LSTMForecaster]]], dict[str, Any]]:
    """The networks that score validation, test and the future: the chosen network refitted for
    each (``forecast.refit``), else the searched one; and what the refit did."""
    refits = {part: (pooled, modules) for part in ("val", "test", "future")}
    if not (config.forecast.refit and modules):
        return refits, {}
    try:
        return refit_global(pooled, stages, chosen, config)  # type: ignore[arg-type]
    except RefitFailure as err:  # the searched networks still forecast; say why they do
        log.warning("refit failed (%s): the forecast comes from the searched networks", err)
        return refits, {"error": str(err)}


def refit_global(
    pooled: PooledWindows, stages: Sequence[Any], chosen: int, config: Config,
) -> tuple[dict[str, tuple[PooledWindows, list[LSTMForecaster]]], dict[str, Any]]:
    """The chosen network refitted (``growlstm.growth.refit``, the series pooled) on every series' data
    before its first validation origin (``val``: the evidence the recommendation compares with
    the baselines, fitted there too), before its first test origin (``test``: the test scores)
    and on all of it (``future``: forecast.csv)."""
    path = growth_path(stages, chosen)

    parts = ("val", "test", "future")
    items = [(w, (int(w.val_origins[0]), int(w.test_origins[0]) if len(w.test_origins) else len(w.y), len(w.y)))
             for w in pooled.series]
    workers = worker_count(config, len(items))
    slow = any(fitted_base(w.base_name) for w in pooled.series)
    per_series = map_series(recut_at, items, workers if slow else 1, "refit data", min_items=FITS_PER_WORKER,
                            config=config)
    # Gathered as long as the search's windows: a stage on the path may read a longer lookback.
    cuts = {part: PooledWindows.build(pool_feature_scaling([c[k] for c in per_series]), series_id=pooled.series_id,
                                      series_stats=pooled.series_stats).with_lookback(pooled.input_size)
            for k, part in enumerate(parts)}
    windows = {k: len(c.train_pos) for k, c in cuts.items()}
    threads = training_threads(path[-1].widths, workers)
    epochs = sum(float(np.mean(stage_epochs(r, config.growth.seeds))) for r in path)
    # On one CPU device only: a GPU or DDP run keeps its device(s) to one refit at a time.
    on_cpu = config.trainer.accelerator == "cpu" and config.trainer.devices == 1
    side_by_side = on_cpu and workers > 1 and threads == 1 and sum(windows.values()) * epochs >= REFIT_SIDE_BY_SIDE
    procs = min(workers, len(parts)) if side_by_side else 1
    log.info("refit: the chosen network retrained on %d windows (before each validation span), %d (before each "
             "test span) and %d (all the data)%s", *windows.values(),
             f", side by side in {procs} processes" if side_by_side else "")
    start = time.perf_counter()
    if side_by_side:  # the largest first: with two workers the other two share the second meanwhile
        order = sorted(parts, key=lambda k: -windows[k])
        nets = dict(zip(order, map_series(refit_cut, [(cuts[k], path, config) for k in order], procs, "refit",
                                          min_items=1, config=config)))
    else:
        with torch_threads(threads):
            nets = {k: refit(c, path, config) for k, c in cuts.items()}
    info = {"path": [r.index for r in path], **{f"{k}_windows": n for k, n in windows.items()},
            "workers": procs, "seconds": round(time.perf_counter() - start, 1)}
    return {k: (cuts[k], nets[k]) for k in parts}, info


def refit_cut(cut: PooledWindows, path: Sequence[Any], config: Config) -> list[LSTMForecaster]:
    """One cut's refit on one thread (a worker's job: the cuts of a narrow network train side by side)."""
    with torch_threads(1):
        return refit(cut, path, config)
