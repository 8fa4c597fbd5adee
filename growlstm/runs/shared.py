"""What runs on many series share, whichever the scope (local: one LSTM per series, ``runs.local``;
global: one for all, ``runs.pooled``): the run folder's layout, splitting the table, worker processes
and torch threads, the console line per series and the set-level records."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import re
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar

from growlstm import data as data_mod
from growlstm.config import Config
from growlstm.baselines.backtesting import BaselineResult, mean_scores, run_baseline
from growlstm.progress import progress
from growlstm.records.results import ManyResult
from growlstm.data.windows import SeriesWindows

log = logging.getLogger("growlstm")
T = TypeVar("T")


SERIES_DIR = "series"


MANY = "many.json"  # at the top of a many-series run: its scope and series count (for resume)


REFUSED = "refused.json"  # in a series folder: why the series was refused (kept on resume)


# Pooled batches are large (a 32nd of the training windows), so from this many cells in a layer
# torch's threads pay, while tiny networks train fastest on one (M1 monthly, 3 seeds packed, 2
# threads against 1: [2] 10 s against 9, [8] 7 against 7, [16] 9 against 12, [32] 13 against 19,
# [64] 56 against 84; the same epochs and scores).
WIDE_LAYER = 16


# Series per worker from which fitting their ETS bases in worker processes pays for starting
# them (a worker's start, importing torch, takes about as long as 20-30 ETS fits).
FITS_PER_WORKER = 25


def training_threads(widths: Sequence[int], workers: int) -> int:
    """Threads to train a pooled network of ``widths`` on: the run's workers once it is wide."""
    return max(1, workers) if widths and max(widths) >= WIDE_LAYER else 1


def mark_many(root: Path, scope: str, n_series: int) -> None:
    """Say at the top of the run folder that it holds a many-series run (resume checks it)."""
    from growlstm.records.store import write_text

    write_text(root / MANY, json.dumps({"scope": scope, "series": n_series}))


FOLDERS = "folders.json"  # each series id's folder under series/ (local scope)


def folder_name(uid: str) -> str:
    """A folder name for series ``uid`` that is safe on every filesystem, still readable, and
    never shared by two ids: an id that had to change (``café``, ``a b``, ``.``, ``東京``) or
    that looks like a changed one gets a short hash of the whole id after its readable part."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", uid).strip("._")
    if safe == uid and not re.search(r"_[0-9a-f]{10}$", uid):
        return safe
    digest = hashlib.sha256(uid.encode("utf-8")).hexdigest()[:10]
    return f"{safe or 'series'}_{digest}"


def series_folder(run_dir: Path, uid: str) -> Path:
    """Series ``uid``'s folder in a local-scope run (``folder_name``)."""
    return run_dir / SERIES_DIR / folder_name(uid)


def write_folders(root: Path, uids: Iterable[str]) -> None:
    """folders.json: the id -> folder map of a local-scope run (ids a folder name cannot show)."""
    from growlstm.records.store import write_text

    write_text(root / FOLDERS, json.dumps({u: folder_name(u) for u in uids}, indent=1, ensure_ascii=False))


def worker_count(config: Config, n_series: int) -> int:
    return max(1, min(config.growth.workers or os.cpu_count() or 1, n_series))


def split_panel(panel: data_mod.Panel) -> Iterator[tuple[str, data_mod.Panel]]:
    """Each series as a panel of its own (what a worker needs; far smaller to send than the
    whole table), in table order; one pass over the table, whatever the number of series."""
    for uid, rows in panel.df.groupby("unique_id", sort=False):
        uid = str(uid)
        tests = {uid: panel.test_rows[uid]} if uid in panel.test_rows else {}
        yield uid, replace(panel, df=rows.reset_index(drop=True), skipped={}, test_rows=tests)


def series_config(config: Config, uid: str) -> Config:
    """The run config with this series picked (what the series folder records)."""
    return replace(config, data=replace(config.data, series=uid), resume=None)


def quiet_worker() -> None:
    """Workers report through their rows; their stage lines go to the series' growlstm.log."""
    logging.getLogger("growlstm").setLevel(logging.WARNING)
    logging.getLogger("growlstm").propagate = False
    # Ctrl-C reaches every process of the terminal: the parent alone handles it (stop_workers),
    # rather than each worker printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the workers now (Ctrl-C): the pool would wait for every running series. SIGKILL,
    since Lightning defers SIGTERM; records are written atomically, so resume continues from
    each series' last complete stage."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):  # no public way before 3.14
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def progress_line(k: int, n: int, row: dict[str, Any], note: str = "") -> str:
    """One console line per finished series."""
    head = f"[{k}/{n}] {row['uid']}"
    if row["status"] != "ok":
        return f"{head}: {row['status']}: {row.get('reason', '')}"
    best = row.get("best_baseline") or ""
    lstm, base = row.get("lstm_test_mase", math.nan), row.get(f"{best}_test_mase", math.nan)
    if row.get("stop") == "too_short":
        return f"{head}: no LSTM (too short for one of its own); {best or 'no baseline'} validates best; {note}".rstrip("; ")
    met = {True: "yes", False: "no"}.get(row.get("goal_met_val"), "n/a")
    return (f"{head}: widths [{row.get('widths', '')}] test MASE {lstm:.3f} vs {best or 'baseline'} {base:.3f}; "
            f"goal met on validation: {met}; {row.get('seconds') or 0:.0f}s {note}").rstrip()


def write_many(root: Path, result: ManyResult) -> None:
    """series.csv and the set-level summary.json (written last: the mark of a finished run)."""
    from growlstm.records.htmlreport import set_page
    from growlstm.records.recorder import write_report
    from growlstm.records.store import atomic_write, clean, config_dict, versions, write_text

    atomic_write(root / "series.csv", lambda tmp: result.table.to_csv(tmp, index=False))
    pages = ({uid: f"{SERIES_DIR}/{series_folder(root, uid).name}/report.html" for uid in result.table.uid}
             if result.scope == "local" else None)
    write_report(root, lambda: set_page(result, pages))
    summary = {
        "scope": result.scope,
        "series": result.verdicts,
        "skipped": result.skipped,
        "refused": {r.uid: r.reason for r in result.table.itertuples() if r.status == "refused"},
        "failed": {r.uid: r.reason for r in result.table.itertuples() if r.status == "failed"},
        "set_level": {part: result.scores(part).reset_index().to_dict(orient="records") for part in ("val", "test")},
        "chosen_sizes": result.sizes,
        "residual_bases": result.residual_bases,
        "per_series": result.table.to_dict(orient="records"),
        "seconds": result.seconds,
        "workers": result.workers,
        **result.extra,
        "config": config_dict(result.config),
        "versions": versions(),
    }
    write_text(root / "summary.json", json.dumps(clean(summary), indent=2))


def fit_baselines(win: SeriesWindows, names: Sequence[str], engine: str = "statsmodels") -> dict[str, BaselineResult]:
    """Every baseline of one series at its validation and test origins (a worker's job).

    Only validation scores enter the decisions; test scores are read at the end.
    """
    results = {name: BaselineResult(name) for name in names}
    for name, result in results.items():
        run_baseline(name, win, result, "val", engine)
        run_baseline(name, win, result, "test", engine)
    return results


def _map_chunk(fn: Callable[..., T], chunk: Sequence[tuple[Any, ...]]) -> list[T]:
    return [fn(*args) for args in chunk]


def map_series(fn: Callable[..., T], items: Sequence[tuple[Any, ...]], workers: int, label: str,
               min_items: int = 2, config: Optional[Config] = None) -> list[T]:
    """``fn(*args)`` for every ``args`` of ``items``, in order, ``workers`` processes at a time in
    chunks (few round trips), with a progress bar; in this process when one worker would do, or
    when there are fewer than ``min_items`` per worker (starting a worker costs seconds). With
    ``config.growth.backend=ray`` the workers are Ray tasks (``runs.ray_backend``), same results.

    ``fn`` must be a module-level function (the workers are spawned, and import it)."""
    with progress(len(items), label) as bar:
        if workers == 1 or len(items) < min_items * workers:
            out = []
            for args in items:
                out.append(fn(*args))
                bar.update(1)
            return out
        if config is not None and config.growth.backend == "ray":
            from growlstm.runs.ray_backend import ray_map

            return ray_map(fn, items, config, workers, bar.update)
        size = max(1, math.ceil(len(items) / (workers * 4)))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=quiet_worker) as pool:
            futures = [pool.submit(_map_chunk, fn, chunk) for chunk in chunks]
            try:
                for future in as_completed(futures):
                    bar.update(len(future.result()))
            except KeyboardInterrupt:  # a chunk may train for many minutes (a refit): don't wait for it
                stop_workers(pool)
                raise
            done = [future.result() for future in futures]  # in item order
    return [r for chunk in done for r in chunk]


def all_baselines(wins: list[SeriesWindows], names: list[str], workers: int,
                  config: Optional[Config] = None) -> list[dict[str, BaselineResult]]:
    """Baselines of every series, ``workers`` processes (or Ray tasks: ``config``) at a time, fitted
    by ``config.baseline_engine`` (statsmodels without a config)."""
    engine = str(config.baseline_engine) if config is not None else "statsmodels"
    return map_series(fit_baselines, [(w, list(names), engine) for w in wins], workers, "baselines", config=config)


def set_baselines(per_series: list[dict[str, BaselineResult]], names: Sequence[str]) -> dict[str, BaselineResult]:
    """Each baseline's set-level result: metrics averaged over the series (where it fitted)."""
    out = {}
    for name in names:
        ok = [b[name] for b in per_series if b[name].ok]
        failed = len(per_series) - len(ok)
        result = BaselineResult(name, spec=f"per series ({len(ok)} fitted)")
        if not ok:
            result.error = f"failed on every series (e.g. {per_series[0][name].error})" if per_series else "no series"
        else:
            result.val = mean_scores([b.val for b in ok])
            result.test = mean_scores([b.test for b in ok if b.test])
            if failed:
                result.spec += f", failed on {failed}"
        out[name] = result
    return out
