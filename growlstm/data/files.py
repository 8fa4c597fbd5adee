"""Series from files: CSV (wide or long, delimiter sniffed) or Parquet, with held-out test actuals."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from growlstm.config import DataConfig
from growlstm.errors import InputError
from growlstm.data.panel import Panel
from growlstm.data.messages import _list
from growlstm.data.validate import build_panel


def _load_csv(cfg: DataConfig) -> Panel:
    """A CSV or Parquet file (wide, or long with an id column), plus held-out actuals if given."""
    if not cfg.path:
        raise InputError("data.name=csv but no data.path", "give data.path=<file.csv or file.parquet>")
    path = _existing(cfg.path, "data.path")
    id_col = cfg.id_col
    raw = _read_table(path, id_col)
    cols = list(raw.columns)
    if len(cols) == 1 and not _is_parquet(path):
        # One column usually means another delimiter (';' or tab): let csv.Sniffer decide.
        raw = _read_csv(path, id_col, sniff=True)
        cols = list(raw.columns)
        wanted = [c for c in (cfg.time_col, cfg.target, *cfg.features) if c]
        if len(cols) == 1 and any(c not in cols for c in wanted):
            raise InputError(f"file {path} reads as a single column ({cols[0]!r}), so it has no column "
                             f"{_list([c for c in wanted if c not in cols])}",
                             "separate the columns with ',', ';', tab or '|' (or fix data.time_col / data.target)")
    time_col = cfg.time_col or ("ds" if "ds" in cols else None)
    target = cfg.target or ("y" if "y" in cols else None)
    if id_col is None and "unique_id" in cols and cfg.time_col is None and cfg.target is None:
        id_col = "unique_id"  # a Nixtla-style file: unique_id, ds, y
    for key, val in (("time_col", time_col), ("target", target)):
        if val is None:
            raise InputError(f"{path} has no data.{key} given and no default column "
                             f"('{'ds' if key == 'time_col' else 'y'}'); columns: {_list(cols)}",
                             f"set data.{key}=<column>")
    assert time_col is not None and target is not None
    src = f"file {path}"
    at: Callable[[int], str] = (lambda i: f"row {i + 1}") if _is_parquet(path) else (lambda i: f"line {i + 2}")
    test_rows: dict[str, int] = {}
    if cfg.test_path:
        if id_col is None:
            raise InputError("data.test_path needs a long table with an id column",
                             "set data.id_col=<column> (for M4's files: data.id_col=uid)")
        raw, test_rows = _append_test(raw, _existing(cfg.test_path, "data.test_path"), id_col, time_col,
                                      target, list(cfg.features))
        at = lambda i, n=len(raw) - sum(test_rows.values()): f"line {i + 2}" if i < n else f"test row {i - n + 1}"  # noqa: E731
    panel = build_panel(raw, id_col=id_col, time_col=time_col, target=target, features=cfg.features,
                        freq=cfg.freq, season_length=cfg.season_length, fill=cfg.fill, name=path.stem,
                        series=cfg.series, src=src, at=at, bad_series=cfg.bad_series)
    panel.test_rows = {uid: k for uid, k in test_rows.items() if uid in set(panel.ids())}
    return panel


def _existing(given: str, key: str) -> Path:
    path = Path(given).expanduser()
    if not path.exists():
        raise InputError(f"file not found: {path}", f"check {key} (relative paths start from the directory you run in)")
    return path


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _read_table(path: Path, id_col: str | None) -> pd.DataFrame:
    """A CSV, or a Parquet file by its suffix; ids stay strings."""
    if not _is_parquet(path):
        return _read_csv(path, id_col)
    try:
        raw = pd.read_parquet(path)
    except ImportError as e:
        raise InputError(f"reading {path} needs a Parquet engine ({e})", "pip install pyarrow")
    except Exception as e:  # pyarrow raises its own error types for a damaged or foreign file
        raise InputError(f"cannot read {path} as Parquet ({type(e).__name__}: {e})",
                         "check that data.path is a Parquet file, or give a CSV")
    raw.columns = [str(c).strip() for c in raw.columns]
    for col in (id_col, "unique_id"):
        if col and col in raw.columns:
            raw[col] = raw[col].where(raw[col].isna(), raw[col].astype(str))
    return raw


def _append_test(raw: pd.DataFrame, path: Path, id_col: str, time_col: str, target: str,
                 features: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Training rows followed, per series, by its held-out rows from ``path``.

    The test file holds the same id and target columns, and either the time column or a
    ``step`` column (1, 2, ... after the series' last training time, for integer time steps).
    """
    test = _read_table(path, id_col)
    src = f"test file {path}"
    missing = [c for c in (id_col, target, *features) if c not in test.columns]
    if time_col not in test.columns and "step" not in test.columns:
        missing.append(f"{time_col} (or step)")
    if missing:
        raise InputError(f"{src} has no column {_list(missing)}; columns: {_list(test.columns)}",
                         "give it the training file's id and target columns, and its time column or a step column")
    if test[id_col].isna().any():
        raise InputError(f"{src}: id column '{id_col}' is empty at line {int(np.flatnonzero(test[id_col].isna())[0]) + 2}",
                         "give every row a series id")
    test = test.assign(**{id_col: test[id_col].astype(str)})
    train_ids = set(raw[id_col].astype(str)) if id_col in raw.columns else set()
    extra = sorted(set(test[id_col]) - train_ids)
    if extra:
        raise InputError(f"{src} has series {_list(extra)} that the training file lacks",
                         "use the test file that belongs to data.path (or select series with data.series)")
    if time_col not in test.columns:
        times = pd.to_numeric(raw[time_col], errors="coerce")
        steps = pd.to_numeric(test["step"], errors="coerce")
        if times.isna().any() or steps.isna().any() or (steps != steps.round()).any():
            raise InputError(f"{src} gives steps, but the training times (or the steps) are not integers",
                             f"give the test file a '{time_col}' column with the same kind of times as the training file")
        last = times.groupby(raw[id_col].astype(str)).max()
        test = test.assign(**{time_col: last.reindex(test[id_col]).to_numpy() + steps.to_numpy()})
        if not (steps.groupby(test[id_col]).apply(lambda s: list(s) == list(range(1, len(s) + 1)))).all():
            raise InputError(f"{src}: the steps of a series must read 1, 2, ..., in order",
                             "sort the test file by series and step")
    test_rows = {str(u): int(k) for u, k in test.groupby(id_col, sort=False).size().items()}
    cols = [id_col, time_col, target, *features]
    return pd.concat([raw, test[cols]], ignore_index=True), test_rows


def _read_csv(path: Path, id_col: str | None, sniff: bool = False) -> pd.DataFrame:
    # Ids stay strings ("007" must not become 7).
    dtype = {c: str for c in (id_col, "unique_id") if c}
    kw: dict[str, Any] = {}
    if sniff:
        # Only the usual delimiters: an unrestricted sniffer happily splits on letters.
        try:
            with open(path, newline="", errors="replace") as fh:
                kw["sep"] = csv.Sniffer().sniff(fh.read(65536), delimiters=";\t|,").delimiter
        except csv.Error:
            kw["sep"] = ","  # really one column; the column checks below say what is missing
    try:
        raw = pd.read_csv(path, dtype=dtype, **kw)
    except pd.errors.EmptyDataError:
        raise InputError(f"file {path} is empty", "point data.path at a CSV with a header row")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError, csv.Error) as e:
        raise InputError(f"cannot read {path} as CSV ({type(e).__name__}: {e})",
                         "check that data.path is a UTF-8 text CSV with a header row")
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw
