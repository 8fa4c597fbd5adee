"""Load and validate series into one long table (Nixtla-style ``unique_id, ds, y``).

Every problem a user can fix raises `InputError` naming the file/column/series, the first
offending value and the fix. Sources: built-in statsmodels datasets (no download), CSV files
(wide or long), and in-memory data (`from_values`, `from_long`).
"""

from __future__ import annotations

import csv
import fnmatch
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from growlstm.config import SEASON_LENGTHS, BadSeries, DataConfig, Fill, values
from growlstm.errors import InputError

BUILTINS: tuple[str, ...] = ("co2", "sunspots", "nile", "elec_equip", "macrodata")
FILLS: tuple[str, ...] = values(Fill)
BAD_SERIES: tuple[str, ...] = values(BadSeries)

# pandas alias stems (anchor and multiple stripped, upper-cased) -> our single-letter codes.
_ALIASES: dict[str, str] = {
    **{a: "Y" for a in ("Y", "YS", "YE", "A", "AS", "AE", "BA", "BAS", "BY", "BYS", "BYE")},
    **{a: "Q" for a in ("Q", "QS", "QE", "BQ", "BQS", "BQE")},
    **{a: "M" for a in ("M", "MS", "ME", "BM", "BMS", "BME")},
    "W": "W",
    **{a: "D" for a in ("D", "B", "C")},  # business days: still one step per day
    **{a: "H" for a in ("H", "BH")},
}
# Sub-hourly pandas aliases; checked case-sensitively first since "ms" (milliseconds) would
# otherwise upper-case to "MS" (month start).
_SUBHOURLY = {"min", "T", "s", "S", "ms", "L", "us", "U", "ns", "N"}
_FREQ_HELP = "one of Y, Q, M, W, D, H; pandas aliases such as YS, A, QS, MS, ME, W-SUN, h work"


@dataclass
class Panel:
    """One or many series as a long table, Nixtla-style."""

    df: pd.DataFrame  # unique_id (str), ds, y (float), features (float); sorted; no NaN
    freq: str | None  # "Y","Q","M","W","D","H" or None (unknown / integer steps)
    season_length: int
    features: list[str] = field(default_factory=list)
    name: str = "panel"
    skipped: dict[str, str] = field(default_factory=dict)  # series left out, with the reason
    test_rows: dict[str, int] = field(default_factory=dict)  # held-out rows appended (data.test_path)

    def ids(self) -> list[str]:
        """Series ids in table order."""
        # Cached per table: a many-series run asks once per series, and pd.unique over string
        # columns is not free. A new table (dataclasses.replace) gets a new Panel.
        cached = self.__dict__.get("_ids")
        if cached is None or cached[0] is not self.df:
            cached = (self.df, list(pd.unique(self.df["unique_id"])))
            self.__dict__["_ids"] = cached
        return list(cached[1])

    def series(self, uid: str | None = None) -> pd.DataFrame:
        """One series' rows (ds, y, features); `uid=None` means the only series."""
        ids = self.ids()
        if uid is None:
            if len(ids) != 1:
                raise InputError(
                    f"{self.name} holds {len(ids)} series ({_list(ids)}); which one is meant",
                    f"pick one with data.series=<id>, e.g. data.series={ids[0]}",
                )
            uid = ids[0]
        if uid not in ids:
            raise InputError(f"series '{uid}' is not in {self.name}; it holds {_list(ids)}",
                             "use one of those ids in data.series")
        rows = self.df if len(ids) == 1 else self.df[self.df["unique_id"] == uid]
        return self._frame(rows)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every series as ``series`` gives it, in one pass over the table (not one per series)."""
        return {str(uid): self._frame(rows) for uid, rows in self.df.groupby("unique_id", sort=False)}

    def _frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({c: rows[c].to_numpy() for c in ("ds", "y", *self.features)})

    def __len__(self) -> int:
        return len(self.ids())


def _zero_step(ds: pd.Series) -> object:
    """A zero difference of the time column's dtype (Timedelta for dates, 0 for steps)."""
    return pd.Timedelta(0) if pd.api.types.is_datetime64_any_dtype(ds) else 0


# ---------------------------------------------------------------- public constructors


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


def normalize_freq(alias: str) -> str:
    """A pandas frequency alias as one of Y, Q, M, W, D, H (InputError if unsupported)."""
    code = _code(alias)
    if code is None:
        raise InputError(f"unsupported frequency data.freq='{alias}'",
                         f"give data.freq as {_FREQ_HELP}; for other data leave data.freq "
                         "unset and give data.season_length")
    return code


# ---------------------------------------------------------------- built-in datasets


def _co2() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data["co2"]
    # Weekly samples with missing weeks: monthly means are the usual regular view. A few
    # months (1958-06, 1958-10, 1964-02..04) had no sample at all; linear interpolation in
    # time fills those 5 of ~500 months instead of breaking the series.
    monthly = weekly.resample("MS").mean().interpolate(method="time")
    return pd.DataFrame({"ds": monthly.index, "co2": monthly.to_numpy()}), "co2"


def _sunspots() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    d = sm.datasets.sunspots.load_pandas().data
    return pd.DataFrame({"ds": _years(d["YEAR"]), "SUNACTIVITY": d["SUNACTIVITY"]}), "SUNACTIVITY"


def _nile() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    d = sm.datasets.nile.load_pandas().data
    return pd.DataFrame({"ds": _years(d["year"]), "volume": d["volume"]}), "volume"


def _elec_equip() -> tuple[pd.DataFrame, str]:
    from statsmodels.datasets import elec_equip

    d = elec_equip.load_pandas().data
    return pd.DataFrame({"ds": d.index, "elec_equip": d.iloc[:, 0].to_numpy()}), "elec_equip"


def _macrodata() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    q = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int),
                                   freq="Q")
    # Other columns stay available as features (data.features=[realcons,...]).
    out = d.drop(columns=["year", "quarter"]).reset_index(drop=True)
    out.insert(0, "ds", q.to_timestamp())
    return out, "realgdp"


def _years(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col.astype(int).astype(str), format="%Y").reset_index(drop=True)


_BUILTIN_LOADERS: dict[str, Callable[[], tuple[pd.DataFrame, str]]] = {
    "co2": _co2, "sunspots": _sunspots, "nile": _nile, "elec_equip": _elec_equip,
    "macrodata": _macrodata,
}


# ---------------------------------------------------------------- CSV


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


def _select(raw: pd.DataFrame, id_col: str, series: str | None, src: str) -> pd.DataFrame:
    """The rows of the series ``data.series`` names: one id, or an fnmatch pattern (M4-W*)."""
    if series is None or id_col not in raw.columns:
        return raw  # all series; a missing id column is reported with the other columns
    ids = raw[id_col].astype(str)
    keep = ids == str(series)
    if not keep.any() and any(c in str(series) for c in "*?["):
        keep = ids.map(lambda u: fnmatch.fnmatchcase(u, str(series)))
    if not keep.any():
        raise InputError(f"series '{series}' is not in {src}; it holds {_list(pd.unique(ids))}",
                         "use one of those ids in data.series, or a pattern such as 'M4-W*'")
    return raw[keep.to_numpy()]


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


def build_panel(raw: pd.DataFrame, *, id_col: str | None, series: str | None, bad_series: str,
                src: str, at: Callable[[int], str] = lambda i: f"row {i}", **kw: Any) -> Panel:
    """``_build`` for a table of many series: a series that fails validation is skipped and
    reported in ``Panel.skipped`` (``bad_series="skip"``), or stops the load (``"fail"``).

    The whole table is validated at once first (fast when it is clean); only when that fails
    are the series validated one by one to find the bad ones.
    """
    if bad_series not in BAD_SERIES:
        raise InputError(f"data.bad_series={bad_series} is not understood", f"use one of {_list(BAD_SERIES)}")
    _check_roles(id_col, kw["time_col"], kw["target"], src)  # before the per-series retry below
    if id_col is not None:
        raw = _select(raw, id_col, series, src)
    try:
        return _build(raw, id_col=id_col, series=None if id_col else series, src=src, at=at, **kw)
    except InputError as first:
        if bad_series == "fail" or id_col is None or id_col not in raw.columns or raw[id_col].isna().any():
            raise
        ids = raw[id_col].astype(str)
        good: list[pd.DataFrame] = []
        skipped: dict[str, str] = {}
        for uid, rows in raw.groupby(ids, sort=False):
            try:
                _build(rows, id_col=id_col, series=None, src=src,
                       at=lambda i, idx=rows.index: at(int(idx[i])), **kw)
                good.append(rows)
            except InputError as err:
                skipped[str(uid)] = f"{err.problem}; fix: {err.fix}" if err.fix else err.problem
        if not good or not skipped:
            raise first  # every series is bad, or the problem lies between series (e.g. frequencies)
        kept = pd.concat(good)
        panel = _build(kept, id_col=id_col, series=None, src=src, at=lambda i, idx=kept.index: at(int(idx[i])), **kw)
        panel.skipped = skipped
        return panel


# ---------------------------------------------------------------- validation core


def _build(raw: pd.DataFrame, *, id_col: str | None, time_col: str, target: str,
           features: Iterable[str], freq: str | None, season_length: int | None, fill: str,
           name: str, series: str | None, src: str,
           at: Callable[[int], str] = lambda i: f"row {i}") -> Panel:
    """Check, normalise and assemble a Panel from a raw table."""
    if fill not in FILLS:
        raise InputError(f"unknown missing-value policy data.fill='{fill}'",
                         f"use one of {_list(FILLS)}")
    features = [str(f) for f in features]
    raw = raw.reset_index(drop=True)
    needed = [c for c in (id_col, time_col, target, *features) if c is not None]
    missing = [c for c in dict.fromkeys(needed) if c not in raw.columns]
    if missing:
        raise InputError(f"{src} has no column {_list(missing)}; columns: {_list(raw.columns)}",
                         "fix the column name in data.time_col / data.target / data.id_col / "
                         "data.features")
    _check_roles(id_col, time_col, target, src)
    clash = [f for f in features if f in (id_col, time_col, target, "unique_id", "ds", "y")]
    if clash or len(set(features)) != len(features):
        raise InputError(f"feature columns {_list(features)} repeat the id/time/target column "
                         "or each other", "list each extra input column once in data.features")

    out = pd.DataFrame(index=raw.index)
    if id_col is None:
        out["unique_id"] = name
    else:
        ids = raw[id_col]
        if ids.isna().any():
            i = int(np.flatnonzero(ids.isna().to_numpy())[0])
            raise InputError(f"{src}: id column '{id_col}' is empty at {at(i)}",
                             "give every row a series id")
        out["unique_id"] = ids.astype(str)
    out["ds"] = _parse_time(raw[time_col], time_col, src, at)
    for col, new in ((target, "y"), *((f, f) for f in features)):
        out[new] = _numeric(raw[col], col, src, at)

    if series is not None:
        uids = list(pd.unique(out["unique_id"]))
        if str(series) not in uids:
            raise InputError(f"series '{series}' is not in {src}; it holds {_list(uids)}",
                             "use one of those ids in data.series")
        out = out[out["unique_id"] == str(series)]
    if out.empty:
        raise InputError(f"{src} has no rows", "give a table with at least a few values")

    dup = out.duplicated(["unique_id", "ds"])
    if dup.any():
        r = out[dup].iloc[0]
        raise InputError(f"{src}: series '{r['unique_id']}' has duplicated time {_fmt(r['ds'])} "
                         f"({int(dup.sum())} duplicate rows)",
                         "keep one row per time (aggregate or deduplicate), or set data.id_col "
                         "if the file holds several series")
    # Out-of-order rows are refused rather than sorted: they often mean a mis-parsed date
    # column (day/month swapped) or rows from another series, which sorting would hide.
    back = out.groupby("unique_id", sort=False)["ds"].diff() < _zero_step(out["ds"])
    if back.any():
        i = int(np.flatnonzero(back.to_numpy())[0])
        r = out.iloc[i]
        raise InputError(f"{src}: series '{r['unique_id']}' is not in time order: "
                         f"{_fmt(r['ds'])} at {at(out.index[i])} comes after {_fmt(out['ds'].iloc[i - 1])}",
                         f"sort the rows by '{time_col}' (oldest first)")
    out = out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)

    groups = {uid: g["ds"] for uid, g in out.groupby("unique_id", sort=False)}
    dated = pd.api.types.is_datetime64_any_dtype(out["ds"])
    if freq is not None:
        code: str | None = normalize_freq(freq)
    elif dated:
        code = _infer_freq(groups, src)
    else:
        code = None
        for uid, ds in groups.items():
            _check_steps(ds, uid, src)

    cols = ["y", *features]
    for uid, g in out.groupby("unique_id", sort=False):
        if g["y"].isna().all():
            raise InputError(f"{src}: series '{uid}' is empty (no values in '{target}')",
                             "choose another target/series or fill the column")
    nan = out[cols].isna()
    if nan.to_numpy().any():
        if fill == "error":
            r = out[nan.any(axis=1)].iloc[0]
            bad = [c if c != "y" else target for c in cols if nan[c].any()]
            raise InputError(f"{src} has {int(nan.to_numpy().sum())} missing values in "
                             f"{_list(bad)}, first in series '{r['unique_id']}' at {_fmt(r['ds'])}",
                             "set data.fill=interpolate (linear in time) or data.fill=drop, "
                             "or clean the file")
        if fill == "interpolate":
            # Linear in time order inside each series; ends take the nearest value.
            out[cols] = out.groupby("unique_id", sort=False)[cols].transform(
                lambda s: s.interpolate(method="linear").ffill().bfill())
        else:  # drop: the timestamps defined the grid above; rows go, the series closes up
            out = out.dropna(subset=cols).reset_index(drop=True)
    out[cols] = out[cols].astype(float)

    for uid, g in out.groupby("unique_id", sort=False):
        if g["y"].nunique() <= 1:
            raise InputError(f"{src}: series '{uid}' is constant (all {len(g)} values of "
                             f"'{target}' equal {g['y'].iloc[0]:g}); an LSTM and the MASE "
                             "scale are meaningless on it",
                             "choose another target column or series")
    for col in cols:
        _check_scale(out, col, target if col == "y" else col, src)

    if season_length is None:
        season_length = SEASON_LENGTHS.get(code, 1) if code else 1
    elif isinstance(season_length, bool) or int(season_length) != season_length \
            or season_length < 1:
        raise InputError(f"data.season_length={season_length} is not a positive integer",
                         "give a whole number >= 1 (1 = no seasonality), or leave it unset")
    return Panel(df=out, freq=code, season_length=int(season_length), features=features,
                 name=name)


# Values are squared and summed in float64 (variances, MSE, likelihoods): beyond these magnitudes
# the squares overflow to inf or underflow to zero, and every score turns into nonsense.
_LARGEST, _SMALLEST_SPREAD = 1e100, 1e-100


def _check_scale(out: pd.DataFrame, col: str, name: str, src: str) -> None:
    """Refuse a column whose values are too large, or vary too little, for float arithmetic."""
    values = out[col].to_numpy()
    big = np.flatnonzero(np.abs(values) > _LARGEST)
    if big.size:
        r = out.iloc[int(big[0])]
        raise InputError(f"{src}: column '{name}' holds {values[big[0]]:.3g} (series '{r['unique_id']}' at "
                         f"{_fmt(r['ds'])}), beyond the {_LARGEST:.0e} that float arithmetic handles here "
                         "(its squares overflow)",
                         f"rescale the column (divide it by 1e{int(np.log10(np.abs(values).max()))}) "
                         "or forecast its logarithm")
    g = out.groupby("unique_id", sort=False)[col]
    spread = g.max() - g.min()
    tiny = spread[(spread > 0) & (spread < _SMALLEST_SPREAD)]
    if len(tiny):
        uid, width = tiny.index[0], float(tiny.iloc[0])
        raise InputError(f"{src}: column '{name}' of series '{uid}' varies by only {width:.3g}, below the "
                         f"{_SMALLEST_SPREAD:.0e} that float arithmetic handles here (its squares underflow to zero)",
                         f"rescale the column (multiply it by 1e{-int(np.floor(np.log10(width)))})")


def _check_roles(id_col: str | None, time_col: str, target: str, src: str) -> None:
    """One column in two roles would be read twice (as ids and values: every value its own series)."""
    roles = {"id": id_col, "time": time_col, "target": target}
    for a, b in (("id", "target"), ("id", "time"), ("time", "target")):
        if roles[a] is not None and roles[a] == roles[b]:
            raise InputError(f"{src}: the {a} column and the {b} column are the same column '{roles[a]}'",
                             "point data.id_col at the series ids (or leave it unset for one series), "
                             "data.time_col at the timestamps and data.target at the values to forecast")


def _parse_time(col: pd.Series, name: str, src: str, at: Callable[[int], str]) -> pd.Series:
    """Timestamps, or integer steps for a numeric time column."""
    if col.isna().any():
        i = int(np.flatnonzero(col.isna().to_numpy())[0])
        raise InputError(f"{src}: time column '{name}' is empty at {at(i)}",
                         "give every row a timestamp (or drop those rows)")
    if pd.api.types.is_bool_dtype(col):
        raise InputError(f"{src}: time column '{name}' holds booleans", "set data.time_col")
    if pd.api.types.is_numeric_dtype(col):
        vals = col.to_numpy(dtype=float)
        frac = np.flatnonzero(vals != np.round(vals))
        if frac.size:
            i = int(frac[0])
            raise InputError(f"{src}: time column '{name}' has non-integer step {col.iloc[i]} "
                             f"at {at(i)}", "use dates or integer step numbers")
        return col.astype("int64")
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return _one_clock(col.dt.tz_localize(None), col.dt.tz_convert(None))
    if pd.api.types.is_datetime64_any_dtype(col):
        return col
    parsed = _to_datetime(col, None)  # one format, inferred from the first value
    if parsed.isna().any():
        alone = _to_datetime(col, "mixed")  # each value on its own: '2020-1-5' next to '2020-01-06'
        j = _other_format(col, parsed.isna().to_numpy() & alone.notna().to_numpy())
        if j is not None:
            raise InputError(f"{src}: time column '{name}' mixes date formats: '{col.iloc[0]}' at {at(0)} "
                             f"but '{col.iloc[j]}' at {at(j)}",
                             "write every timestamp the same way, e.g. ISO dates YYYY-MM-DD[ hh:mm]")
        parsed = alone
    if parsed.isna().all():  # several UTC offsets (daylight saving): pandas asks for one clock
        wall = _to_datetime(col.astype(str).str.replace(r"(Z|[+-]\d\d:?\d\d)$", "", regex=True), "mixed")
        parsed = _one_clock(wall, _to_datetime(col, "mixed", utc=True).dt.tz_convert(None))
    elif isinstance(parsed.dtype, pd.DatetimeTZDtype):  # one UTC offset throughout
        parsed = parsed.dt.tz_localize(None)
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"{src}: cannot parse timestamp '{col.iloc[i]}' in column '{name}' "
                         f"at {at(i)}", "use ISO dates (YYYY-MM-DD[ hh:mm]) or integer steps, "
                         "or set data.time_col to the right column")
    return parsed


def _to_datetime(col: pd.Series, fmt: str | None, utc: bool = False) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format" chatter
        try:
            return pd.to_datetime(col, errors="coerce", format=fmt, utc=utc)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=col.index)


def _other_format(col: pd.Series, candidates: np.ndarray) -> int | None:
    """The first of the ``candidates`` positions whose timestamp is written another way than the
    first one, if any.

    Digits may differ in padding and a time part may follow: '2020-1-5' and '2020-01-06 12:00'
    are one format; '2020-01-05' and '01/06/2020' are two, and parsed together they would land
    out of order or swap day and month.
    """
    dates = col.astype(str).str.strip().str.split(r"[ T](?=\d)", n=1, regex=True).str[0]
    shapes = dates.str.replace(r"\d+", "9", regex=True).str.replace(r"[^\W\d_]+", "a", regex=True).to_numpy()
    other = np.flatnonzero((shapes != shapes[0]) & candidates)
    return int(other[0]) if other.size else None


def _one_clock(wall: pd.Series, utc: pd.Series) -> pd.Series:
    """Zone-aware timestamps as plain ones: the clock time as written, unless the UTC offset
    changes (daylight saving) in data that UTC keeps evenly spaced (hourly): then UTC."""
    even = lambda t: t.notna().all() and t.diff().iloc[1:].nunique() <= 1  # noqa: E731
    return utc if even(utc) and not even(wall) else wall


def _numeric(col: pd.Series, name: str, src: str, at: Callable[[int], str]) -> pd.Series:
    """Floats; names the first value that is not a number (NaN stays: the fill policy)."""
    num = pd.to_numeric(col, errors="coerce")
    if pd.api.types.is_bool_dtype(num):
        num = num.astype(float)
    vals = num.to_numpy(dtype=float, na_value=np.nan)
    bad = (np.isnan(vals) & col.notna().to_numpy()) | np.isinf(vals)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{src}: column '{name}' has non-numeric value '{col.iloc[i]}' at "
                         f"{at(i)} ({int(bad.sum())} such values)",
                         "clean the column (numbers with '.' decimals) or pick another column")
    return pd.Series(vals, index=col.index)


def _code(alias: str | None) -> str | None:
    """Our frequency code for a pandas alias; None if unsupported (sub-hourly, multiples)."""
    if not alias:
        return None
    m = re.fullmatch(r"(\d*)([A-Za-z]+)", str(alias).strip().split("-")[0])
    if m is None or (m.group(1) not in ("", "1")) or m.group(2) in _SUBHOURLY:
        return None
    return _ALIASES.get(m.group(2).upper())


def _pd_infer(ds: pd.Series | pd.DatetimeIndex) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 future-offset notice
        try:
            f = pd.infer_freq(ds)
        except (ValueError, TypeError):
            return None
    return None if f is None else str(getattr(f, "freqstr", f))


def _infer_freq(groups: dict[str, pd.Series], src: str) -> str | None:
    """One code for all series; unsupported regular frequencies (e.g. 15min) give None."""
    found: dict[str, str | None] = {}
    for uid, ds in groups.items():
        if len(ds) < 3:
            continue  # pandas needs 3 points; a short series cannot veto the others
        idx = pd.DatetimeIndex(ds)
        alias = _pd_infer(idx)
        if alias is not None:
            found[uid] = _code(alias)
            continue
        # One observation per calendar month/quarter/year is regular even if the day varies.
        for code in ("M", "Q", "Y"):
            p = idx.to_period(code).asi8
            if np.all(np.diff(p) == 1):
                found[uid] = code
                break
        else:
            prev, nxt = _first_gap(idx)
            raise InputError(f"{src}: series '{uid}' has irregular timestamps, first break "
                             f"between {_fmt(prev)} and {_fmt(nxt)}; the frequency cannot be "
                             "inferred",
                             f"give data.freq=... ({_FREQ_HELP}) or regularise the file")
    if not found:
        raise InputError(f"{src}: too few timestamps (fewer than 3) to infer the frequency",
                         f"give data.freq ({_FREQ_HELP})")
    codes = set(found.values())
    if len(codes) > 1:
        desc = ", ".join(f"{u}: {c}" for u, c in list(found.items())[:6])
        raise InputError(f"{src}: series have different frequencies ({desc})",
                         "split the file, select one with data.series=..., or give data.freq")
    return codes.pop()


def _first_gap(idx: pd.DatetimeIndex) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first pair of neighbours that breaks the pattern of the first (or last) 3 points."""
    for alias in (_pd_infer(idx[:3]), _pd_infer(idx[-3:])):
        if alias:
            expected = pd.date_range(idx[0], periods=len(idx), freq=alias)
            off = np.flatnonzero(expected != idx)
            if off.size and off[0] > 0:
                return idx[off[0] - 1], idx[off[0]]
    d = np.diff(idx.asi8)
    step = pd.Series(d).mode().iloc[0]
    i = int(np.flatnonzero(d != step)[0]) if (d != step).any() else 0
    return idx[i], idx[i + 1]


def _check_steps(ds: pd.Series, uid: str, src: str) -> None:
    """Integer steps must be evenly spaced (no missing steps)."""
    d = np.diff(ds.to_numpy())
    if d.size and (d != d[0]).any():
        step = pd.Series(d).mode().iloc[0]
        i = int(np.flatnonzero(d != step)[0])
        raise InputError(f"{src}: series '{uid}' has irregular integer steps, first break "
                         f"between {ds.iloc[i]} and {ds.iloc[i + 1]} (usual step {step})",
                         "regularise the file (one row per step) or use dated timestamps "
                         "with data.freq=...")


def _fmt(t: Any) -> str:
    """A timestamp without a midnight time part (2020-01-01, not 2020-01-01 00:00:00)."""
    if isinstance(t, pd.Timestamp) and t == t.normalize():
        return str(t.date())
    return str(t)


def _list(items: Iterable[Any], n: int = 10) -> str:
    items = [str(i) for i in items]
    more = f", ... ({len(items)} in all)" if len(items) > n else ""
    return ", ".join(items[:n]) + more
