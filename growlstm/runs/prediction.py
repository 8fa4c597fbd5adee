"""``predict``: forecast again from a finished run's saved forecaster (forecaster.pt), on its own
data or newer data of the same series, without training (``growlstm.records.forecaster`` does the
arithmetic; this module finds the run's forecasters, reads the data and writes the result)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pandas as pd

from growlstm.config import Config, DataConfig
from growlstm.errors import InputError
from growlstm.records.forecaster import MODEL_FILE, PREDICTION, check_series, forecast, load, stamp
from growlstm.records.store import atomic_write, clean, write_text

if TYPE_CHECKING:
    from growlstm.data import Panel

log = logging.getLogger("growlstm")


@dataclass
class Prediction:
    """What ``predict`` made: forecast.csv's table, the run it came from, and what to know."""

    forecast: pd.DataFrame
    run_dir: Path
    scope: str  # single | global | local
    recommended: dict[str, str]  # per series: the model in its `recommended` column
    notes: list[str] = field(default_factory=list)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # per series: points and end, now and in the run


def as_panel(series: Any, config: Config, uid: Optional[str]) -> "Panel":
    """The data to forecast: the run's own (``series=None``: loaded as ``config.data`` says), a
    Panel or long table, or one series' values (named as the run's series ``uid``)."""
    from growlstm import data as data_mod
    from growlstm.growth.preparation import to_panel

    if series is None:
        panel = data_mod.load(config.data)
        d = config.data
        if uid is not None and d.name == "csv" and d.path and panel.ids() == [Path(d.path).stem]:
            # A file of one series without an id column names it after the file: a newer file of
            # the same series has another name, and is still the run's series.
            panel = replace(panel, df=panel.df.assign(unique_id=uid))
        return panel
    if isinstance(series, (data_mod.Panel, pd.DataFrame)) or uid is None:
        return to_panel(series, config)
    d = config.data
    return data_mod.from_values(series, freq=d.freq, season_length=d.season_length, fill=d.fill, name=uid)


def local_forecasters(run_dir: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """A local-scope run's series: the forecaster of each that ran, and why the others did not."""
    from growlstm.runs.shared import series_folder

    table = pd.read_csv(run_dir / "series.csv", dtype={"uid": str, "reason": str}, keep_default_na=False)
    files, others = {}, {}
    for row in table.itertuples():
        path = series_folder(run_dir, row.uid) / MODEL_FILE
        if row.status == "ok" and path.is_file():
            files[row.uid] = path
        elif row.status == "ok":
            others[row.uid] = f"its folder has no {MODEL_FILE} (deleted, or not finished)"
        else:
            others[row.uid] = f"{row.status}: {row.reason}" if row.reason else str(row.status)
    return files, others


def run_config(run_dir: Path) -> Config:
    """The config of the finished run in ``run_dir`` (InputError when it is none)."""
    from growlstm.records.store import RUN_CONFIG, load_run_config

    if not (Path(run_dir) / RUN_CONFIG).is_file():
        raise InputError(f"{run_dir} holds no growlstm run ({RUN_CONFIG} is missing)",
                         "give predict= a finished run's directory, printed as 'records:' by the run")
    if not (Path(run_dir) / "summary.json").is_file():
        raise InputError(f"{run_dir} is not a finished run (it has no summary.json)",
                         f"finish it first: growlstm resume={run_dir}")
    return load_run_config(Path(run_dir))


def predict(run_dir: str | Path, series: Any = None, *, data: Optional[DataConfig] = None,
            out_dir: Optional[str | Path] = None) -> Prediction:
    """Forecast the h steps after the data ends with the run's recommended model (and every
    candidate, with intervals), without training.

    ``series``: the data to forecast, None for the run's own (reloaded from its saved data
    config, or ``data`` given: e.g. the same CSV with more recent points); a Panel, a long table
    or one series' values. ``out_dir``: where forecast.csv and predict.json go (nothing is
    written when None). Data that is not the run's (other series, frequency, features, too few
    points) raises ``InputError``.
    """
    from growlstm.runs.shared import MANY

    run_dir = Path(run_dir)
    config = run_config(run_dir)
    if data is not None:
        config = replace(config, data=data)
    top = run_dir / MODEL_FILE
    many = json.loads((run_dir / MANY).read_text()) if (run_dir / MANY).is_file() else {}
    if top.is_file():
        fc = load(top)
        scope = fc.scope
        panel = as_panel(series, config, fc.series[0].uid if scope == "single" else None)
        parts = [(fc, panel)]
    elif many.get("scope") == "local" and (run_dir / "series.csv").is_file() and (found := local_forecasters(run_dir))[0]:
        from growlstm.runs.shared import split_panel

        scope = "local"
        files, others = found
        panel = as_panel(series, config, None)
        check_series(panel, list(files), others, f"the run {run_dir}")
        split = dict(split_panel(panel))
        parts = [(load(files[uid]), split[uid]) for uid in panel.ids() if uid in files]
    else:
        finished = (run_dir / "summary.json").is_file()
        why = ("it was deleted, or the run did not finish writing it" if finished
               else "the run did not finish (no summary.json)")
        raise InputError(f"{run_dir} holds no {MODEL_FILE}: {why}", "run the growth again, then predict= its run folder")
    season = config.data.season_length or panel.season_length
    tables, recommended, notes = [], {}, []
    for fc, part in parts:
        table, choices, more = forecast(fc, part, season, run_dir)
        if scope == "local":
            table.insert(0, "unique_id", fc.series[0].uid)
        tables.append(table)
        recommended |= choices
        notes += more
    if scope == "local":
        notes += [f"{uid}: not forecast, as in the run ({others[uid]})" for uid in panel.ids() if uid in others]
    states = [s for fc, _ in parts for s in fc.series]
    ends = {uid: (len(rows), stamp(rows["ds"].iloc[-1])) for uid, rows in panel.df.groupby("unique_id", sort=False)}
    result = Prediction(
        tables[0] if len(tables) == 1 and scope != "local" else pd.concat(tables, ignore_index=True),
        run_dir, scope, recommended, notes,
        {s.uid: {"points": ends[s.uid][0], "last_ds": ends[s.uid][1], "run_points": s.n_points, "run_last_ds": s.last_ds}
         for s in states},
    )
    for line in notes:
        log.warning("note: %s", line)
    if out_dir is not None:
        write(Path(out_dir), result)
    return result


def write(out_dir: Path, result: Prediction) -> None:
    """forecast.csv, then predict.json (last: the mark of a finished prediction)."""
    atomic_write(out_dir / "forecast.csv", lambda tmp: result.forecast.to_csv(tmp, index=False))
    record = {"run": str(result.run_dir.resolve()), "scope": result.scope, "recommended": result.recommended,
              "data": result.data, "notes": result.notes}
    write_text(out_dir / PREDICTION, json.dumps(clean(record), indent=2))


def describe(result: Prediction) -> str:
    """The console's account of a prediction: what forecast, from where, what to use."""
    ends = sorted({d["last_ds"] for d in result.data.values()})
    after = ends[0] if len(ends) == 1 else f"each series' end ({ends[0]} .. {ends[-1]})"
    counts: dict[str, int] = {}
    for model in result.recommended.values():
        counts[model] = counts.get(model, 0) + 1
    used = ", ".join(f"{m} ({k} series)" if len(result.recommended) > 1 else m for m, k in counts.items())
    lines = [f"predict: {len(result.data)} series with the {result.scope}-scope run {result.run_dir}, "
             f"{len(result.forecast) // max(1, len(result.data))} steps after {after}; no training",
             f"recommended: {used or 'none'}; forecast.csv holds it first, then every candidate, with intervals"]
    return "\n".join(lines + [f"note: {n}" for n in result.notes])
