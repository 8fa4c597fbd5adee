"""Many series, local scope: one growth search per series, series in parallel processes.

Each series gets its own run directory ``<run dir>/series/<id>/`` (stages, summary.json, ...,
exactly as a single-series run), so a series can be inspected, resumed or retrained alone.
The set-level account (``summary.json``, ``series.csv``) is written at the top when all are
done. Resuming skips finished series, continues interrupted ones from their last stage and
retries failed ones; refused series (bad input for the settings) stay refused.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
import traceback
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd

from growlstm import data as data_mod
from growlstm.config import Config, check_config
from growlstm.errors import InputError
from growlstm.runs.shared import (
    REFUSED, SERIES_DIR, mark_many, progress_line, quiet_worker, series_config, series_folder, split_panel, stop_workers,
    worker_count, write_folders, write_many,
)
from growlstm.progress import progress
from growlstm.records.results import ManyResult
from growlstm.records.setlevel import series_row

log = logging.getLogger("growlstm")


def grow_local(
    panel: data_mod.Panel, config: Config, run_dir: Optional[str | Path] = None, resume: bool = False
) -> ManyResult:
    """Grow one LSTM per series of ``panel``; ``growth.workers`` series at once.

    A series that is refused (too short for the settings, ...) or fails is reported in its row
    with the reason, and the others go on.
    """
    from growlstm.records.store import write_run_config

    check_config(config)
    start = time.perf_counter()
    root = Path(run_dir) if run_dir is not None else None
    if root is not None:
        if not resume and (root / SERIES_DIR).is_dir() and any((root / SERIES_DIR).iterdir()):
            raise InputError(f"{root} already holds a many-series run",
                             f"continue it with resume={root}, or write to a new directory")
        root.mkdir(parents=True, exist_ok=True)
        write_run_config(root, config, resume)
        (root / "summary.json").unlink(missing_ok=True)  # rewritten when every series is done
        mark_many(root, "local", len(panel))
        write_folders(root, panel.ids())
    ids = panel.ids()
    data_mod.report_skipped(panel)
    workers = worker_count(config, len(ids))
    log.info("growlstm: %d series, local scope: one growth search per series, %d at a time%s",
             len(ids), workers, f"; records under {root / SERIES_DIR}" if root else "")
    rows: dict[str, dict[str, Any]] = {}
    jobs = []
    for uid, one in split_panel(panel):
        folder = series_folder(root, uid) if root is not None else None
        done = finished_row(uid, folder) if folder is not None and resume else None
        if done is not None:
            rows[uid] = done
            log.info("%s", progress_line(len(rows), len(ids), done, "(done before)"))
        else:
            jobs.append((uid, one, series_config(config, uid), folder))
    with progress(len(ids), "series", initial=len(rows)) as bar:
        def report(uid: str, row: dict[str, Any]) -> None:
            rows[uid] = row
            log.info("%s", progress_line(len(rows), len(ids), row))
            bar.update(1)

        serial = workers == 1 or len(jobs) <= 1
        if not serial:  # longest series first: the last job to start is then a short one, which
            jobs.sort(key=lambda job: -len(job[1].df))  # keeps the workers busy to the end
        if serial:
            for job in jobs:
                report(job[0], grow_series(*job))
        elif config.growth.backend == "ray":
            from growlstm.runs.ray_backend import ray_each

            for k, out in ray_each(grow_series, jobs, config, workers, size=1):
                report(jobs[k][0], out[0] if isinstance(out, list) else died(jobs[k][0], out))
        else:
            grow_in_processes(jobs, workers, report)
    table = pd.DataFrame([rows[uid] for uid in ids])
    if not (table.status == "ok").any():
        # Nothing to report: an input problem (every series refused), not a finished run.
        first = table.iloc[0]
        raise InputError(f"none of the {len(table)} series could be forecast ({first.uid}: {first.reason})",
                         "see the reason: a smaller h, or longer series")
    result = ManyResult(config=config, scope="local", table=table, skipped=dict(panel.skipped),
                        seconds=time.perf_counter() - start, workers=workers, run_dir=root)
    if root is not None:
        write_many(root, result)
    return result


def died(uid: str, err: BaseException) -> dict[str, Any]:
    """The row of a series whose worker died (killed, out of memory): reported, the others go on."""
    return series_row(uid, "failed", reason=f"worker died: {err!r}")


def grow_in_processes(jobs: list[tuple[Any, ...]], workers: int, report: Callable[[str, dict[str, Any]], None]) -> None:
    """``grow_series`` of every job, ``workers`` processes at a time; ``report(uid, row)`` as each ends."""
    # spawn: a fresh interpreter per worker; forking a process that has run torch can hang.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=quiet_worker) as pool:
        futures: dict[Future[dict[str, Any]], str] = {pool.submit(grow_series, *job): job[0] for job in jobs}
        try:
            for future in as_completed(futures):
                uid = futures[future]
                try:
                    row = future.result()
                except Exception as err:
                    row = died(uid, err)
                report(uid, row)
        except KeyboardInterrupt:
            stop_workers(pool)
            raise


def grow_series(uid: str, panel: data_mod.Panel, config: Config, folder: Optional[Path]) -> dict[str, Any]:
    """Grow on one series (in a worker); its row. Never raises for a bad series."""
    from growlstm.records.recorder import summary
    from growlstm.records.store import clean, write_text
    from growlstm.growth.controller import grow

    logger = logging.getLogger("growlstm")
    # Stage lines go to the series' own growlstm.log; the console keeps one line per series.
    saved = [(h, h.level) for h in logger.handlers]
    saved_level = logger.level
    handler = None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(folder / "growlstm.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        for h, old in saved:
            h.setLevel(max(old, logging.WARNING))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(max(saved_level, logging.WARNING))
    try:
        resume = folder is not None and (folder / "stages").is_dir() and any((folder / "stages").glob("stage_*"))
        result = grow(panel, config, run_dir=folder, resume=resume)
        return series_row(uid, "ok", clean(summary(result)))
    except InputError as err:
        if folder is not None:
            write_text(folder / REFUSED, json.dumps({"uid": uid, "reason": str(err)}))
        return series_row(uid, "refused", reason=str(err))
    except Exception as err:  # a bug or a numerical failure on this series: the others go on
        if folder is not None:
            write_text(folder / "error.txt", traceback.format_exc())
        return series_row(uid, "failed", reason=f"{type(err).__name__}: {err}")
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
        for h, old in saved:
            h.setLevel(old)
        logger.setLevel(saved_level)


def finished_row(uid: str, folder: Path) -> Optional[dict[str, Any]]:
    """The row of a series finished (or refused) by an earlier run; None if it must run."""
    if (folder / "summary.json").is_file():
        return series_row(uid, "ok", json.loads((folder / "summary.json").read_text()))
    if (folder / REFUSED).is_file():
        return series_row(uid, "refused", reason=json.loads((folder / REFUSED).read_text())["reason"])
    return None


