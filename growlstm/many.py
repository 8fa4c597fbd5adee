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
import math
import multiprocessing
import os
import re
import signal
import time
import traceback
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

import pandas as pd

from growlstm import data as data_mod
from growlstm.config import Config, check_config
from growlstm.errors import InputError
from growlstm.progress import progress
from growlstm.setlevel import series_row, set_scores, size_counts, verdict_counts

if TYPE_CHECKING:
    from growlstm.search import GrowthResult

log = logging.getLogger("growlstm")

SERIES_DIR = "series"
MANY = "many.json"  # at the top of a many-series run: its scope and series count (for resume)
REFUSED = "refused.json"  # in a series folder: why the series was refused (kept on resume)


@dataclass
class ManyResult:
    """The outcome of growing on many series (local or global scope)."""

    config: Config
    scope: str
    table: pd.DataFrame  # one row per series (setlevel.series_row)
    skipped: dict[str, str] = field(default_factory=dict)  # series the loader left out, and why
    seconds: float = 0.0
    workers: int = 1
    run_dir: Optional[Path] = None
    extra: dict[str, Any] = field(default_factory=dict)  # scope-specific facts (global: the model's stages)

    def scores(self, part: str = "test") -> pd.DataFrame:
        return set_scores(self.table, part)

    @property
    def sizes(self) -> dict[str, int]:
        return size_counts(self.table.get("widths", pd.Series(dtype=str)))

    @property
    def residual_bases(self) -> dict[str, int]:
        """How many series the LSTM corrected each classical base on (``model.residual``)."""
        return size_counts(self.table.get("residual", pd.Series(dtype=str)))

    @property
    def verdicts(self) -> dict[str, int]:
        return verdict_counts(self.table)


def grow_many(
    series: Any, config: Optional[Config] = None, *, run_dir: Optional[str | Path] = None, resume: bool = False
) -> ManyResult:
    """Grow on every series of ``series`` (a Panel or a long DataFrame ``unique_id, ds, y``),
    in the scope ``config.growth.scope`` says: local (one LSTM per series) or global (one for all).

    Worker processes are spawned: a script that calls this needs the usual
    ``if __name__ == "__main__":`` guard.
    """
    from growlstm.search import to_panel

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
        from growlstm.pooled import grow_global

        return grow_global(panel, config, run_dir=run_dir, resume=resume)
    return grow_local(panel, config, run_dir=run_dir, resume=resume)


def choose_scope(panel: data_mod.Panel, config: Config) -> tuple[str, str]:
    """``growth.scope=auto``: global when at least half the series are too short for an LSTM of
    their own, local otherwise; and why, in words.

    Too short means that the capacity rule leaves the series no room to grow: its own layout
    (as one series would be cut) caps it below the first widening, so the recipe could not
    compare two sizes. Pooled, every series' training targets count, and the cap lifts.
    """
    from growlstm.layout import plan
    from growlstm.policy import capacity_cap, next_width
    from growlstm.windows import default_h, default_input_size

    g = config.growth
    h = config.h if config.h is not None else default_h(panel.freq)
    season = config.data.season_length or panel.season_length
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
    from growlstm.search import grow

    if len(panel) > 1:
        return grow_many(panel, config, run_dir=run_dir, resume=resume)
    return grow(panel, config, run_dir=run_dir, resume=resume)


def mark_many(root: Path, scope: str, n_series: int) -> None:
    """Say at the top of the run folder that it holds a many-series run (resume checks it)."""
    from growlstm.records import write_text

    write_text(root / MANY, json.dumps({"scope": scope, "series": n_series}))


def series_folder(run_dir: Path, uid: str) -> Path:
    """A folder name that is safe on every filesystem and still readable (ids may hold '/')."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", uid).strip("._") or "series"
    return run_dir / SERIES_DIR / safe


def worker_count(config: Config, n_series: int) -> int:
    return max(1, min(config.growth.workers or os.cpu_count() or 1, n_series))


def grow_local(
    panel: data_mod.Panel, config: Config, run_dir: Optional[str | Path] = None, resume: bool = False
) -> ManyResult:
    """Grow one LSTM per series of ``panel``; ``growth.workers`` series at once.

    A series that is refused (too short for the settings, ...) or fails is reported in its row
    with the reason, and the others go on.
    """
    from growlstm.records import write_run_config

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
    ids = panel.ids()
    report_skipped(panel)
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
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                rows[job[0]] = grow_series(*job)
                log.info("%s", progress_line(len(rows), len(ids), rows[job[0]]))
                bar.update(1)
        else:
            # spawn: a fresh interpreter per worker; forking a process that has run torch can hang.
            context = multiprocessing.get_context("spawn")
            # Longest series first: the last job to start is then a short one, which keeps the
            # workers busy to the end (series cost grows with their length).
            jobs.sort(key=lambda job: -len(job[1].df))
            with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_quiet_worker) as pool:
                futures: dict[Future[dict[str, Any]], str] = {pool.submit(grow_series, *job): job[0] for job in jobs}
                try:
                    for future in as_completed(futures):
                        uid = futures[future]
                        try:
                            rows[uid] = future.result()
                        except Exception as err:  # a worker that died (killed, out of memory): report, go on
                            rows[uid] = series_row(uid, "failed", reason=f"worker died: {err!r}")
                        log.info("%s", progress_line(len(rows), len(ids), rows[uid]))
                        bar.update(1)
                except KeyboardInterrupt:
                    stop_workers(pool)
                    raise
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


def _quiet_worker() -> None:
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


def grow_series(uid: str, panel: data_mod.Panel, config: Config, folder: Optional[Path]) -> dict[str, Any]:
    """Grow on one series (in a worker); its row. Never raises for a bad series."""
    from growlstm.records import clean, summary, write_text
    from growlstm.search import grow

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


def report_skipped(panel: data_mod.Panel) -> None:
    for uid, reason in panel.skipped.items():
        log.warning("skipped series %s: %s", uid, reason)
    if panel.skipped:
        log.warning("%d series skipped (data.bad_series=skip); data.bad_series=fail stops instead", len(panel.skipped))


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
    from growlstm.htmlreport import set_page
    from growlstm.records import atomic_write, clean, config_dict, versions, write_report, write_text

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
