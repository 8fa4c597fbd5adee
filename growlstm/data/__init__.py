"""Load and validate series into one long table (Nixtla-style ``unique_id, ds, y``).

Every problem a user can fix raises `InputError` naming the file/column/series, the first
offending value and the fix. Sources: built-in statsmodels datasets (no download), CSV files
(wide or long), and in-memory data (`from_values`, `from_long`); one module per step: panel,
freq, validate, builtin, files.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from growlstm.config import DataConfig
from growlstm.errors import InputError
from growlstm.data.builtin import BUILTINS, _BUILTIN_LOADERS, m4_sample_config
from growlstm.data.files import _load_csv
from growlstm.data.freq import normalize_freq
from growlstm.data.panel import Panel, report_skipped
from growlstm.data.messages import _fmt, _list
from growlstm.data.validate import BAD_SERIES, FILLS, _build, build_panel

__all__ = ["BAD_SERIES", "BUILTINS", "FILLS", "Panel", "build_panel", "from_long", "from_values", "load",
           "normalize_freq", "report_skipped", "_fmt"]


def load(cfg: DataConfig) -> Panel:
    """A built-in dataset or a CSV file, according to `cfg.name`."""
    name = (cfg.name or "").strip().lower()
    if name == "csv":
        return _load_csv(cfg)
    if name not in BUILTINS:
        raise InputError(f"unknown dataset '{cfg.name}'",
                         f"use data.name=csv with data.path=<file>, or one of {_list(BUILTINS)}")
    if cfg.path:
        # Default name is co2: a path with a built-in name is almost surely a forgotten name=csv.
        raise InputError(f"data.path='{cfg.path}' is set but data.name is the built-in '{name}'",
                         "set data.name=csv to load the file, or drop data.path")
    if name == "m4_sample":
        return _load_csv(m4_sample_config(cfg))
    raw, target = _BUILTIN_LOADERS[name]()
    if cfg.target is not None:
        target = cfg.target  # another column of the dataset, e.g. macrodata realcons
    return _build(raw, id_col=None, time_col="ds", target=target, features=cfg.features,
                  freq=cfg.freq, season_length=cfg.season_length, fill=cfg.fill, name=name,
                  series=cfg.series, src=f"built-in dataset '{name}'")


def from_values(y: Any, ds: Any = None, *, freq: str | None = None,
                season_length: int | None = None, features: pd.DataFrame | None = None,
                name: str = "series", fill: str = "error") -> Panel:
    """One series from a pandas Series (Datetime/Period/Range index) or a 1-D array/list."""
    if isinstance(y, pd.DataFrame):
        raise InputError("y is a DataFrame, not one series",
                         "pass one column (df['col']) or use from_long for several series")
    if isinstance(y, pd.Series):
        values = y.to_numpy()
        if ds is None:
            idx = y.index
            ds = idx.to_timestamp() if isinstance(idx, pd.PeriodIndex) else idx
    else:
        values = np.asarray(y)
        if values.ndim != 1:
            raise InputError(f"y has shape {values.shape}, expected one dimension",
                             "pass a 1-D array, list or pandas Series")
    if ds is None:
        ds = np.arange(len(values))
    ds = ds.to_timestamp() if isinstance(ds, pd.PeriodIndex) else ds
    if len(ds) != len(values):
        raise InputError(f"ds has {len(ds)} entries but y has {len(values)}",
                         "give one timestamp per value")
    raw = pd.DataFrame({"ds": np.asarray(ds), "y": values})
    feats: list[str] = []
    if features is not None:
        fdf = pd.DataFrame(features)
        if len(fdf) != len(raw):
            raise InputError(f"features have {len(fdf)} rows but y has {len(raw)}",
                             "align the feature table with y (one row per value)")
        feats = [str(c) for c in fdf.columns]
        # Positional alignment: the caller's index may differ from ours.
        raw = pd.concat([raw, fdf.reset_index(drop=True).set_axis(feats, axis=1)], axis=1)
    return _build(raw, id_col=None, time_col="ds", target="y", features=feats, freq=freq,
                  season_length=season_length, fill=fill, name=name, series=None,
                  src="the given values")


def from_long(df: pd.DataFrame, *, id_col: str = "unique_id", time_col: str = "ds",
              target: str = "y", features: Iterable[str] = (), freq: str | None = None,
              season_length: int | None = None, fill: str = "error",
              name: str = "panel", series: str | None = None, bad_series: str = "skip") -> Panel:
    """Many series from a long table (one row per series and time).

    ``series``: an id or a pattern (``"M4-W*"``) selecting some of them. ``bad_series``: skip a
    series that fails validation (it is listed in ``Panel.skipped``) or fail.
    """
    return build_panel(df, id_col=id_col, time_col=time_col, target=target, features=features,
                       freq=freq, season_length=season_length, fill=fill, name=name, series=series,
                       src=f"table '{name}'", bad_series=bad_series)


