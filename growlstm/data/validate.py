"""From a raw table to a Panel: columns, times, values, order, gaps and missing values checked,
with one clear InputError (what, where, the fix) for every problem a user can fix."""

from __future__ import annotations

import fnmatch
import logging
import warnings
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from growlstm.config import SEASON_LENGTHS, BadSeries, Fill, values
from growlstm.errors import InputError
from growlstm.data.messages import _fmt, _list
from growlstm.data.freq import _check_steps, _infer_freq, check_given_freq, normalize_freq
from growlstm.data.panel import Panel, _zero_step


log = logging.getLogger("growlstm")

FILLS: tuple[str, ...] = values(Fill)


BAD_SERIES: tuple[str, ...] = values(BadSeries)


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
    _check_columns(raw, id_col, time_col, target, features, src)
    out = _standard_frame(raw, id_col, time_col, target, features, name, src, at)
    if series is not None:
        uids = list(pd.unique(out["unique_id"]))
        if str(series) not in uids:
            raise InputError(f"series '{series}' is not in {src}; it holds {_list(uids)}",
                             "use one of those ids in data.series")
        out = out[out["unique_id"] == str(series)]
    if out.empty:
        raise InputError(f"{src} has no rows", "give a table with at least a few values")
    out = _in_time_order(out, time_col, src, at)
    code = _frequency(out, freq, src)
    cols = ["y", *features]
    out = _fill_missing(out, cols, fill, target, src)
    _check_values(out, cols, target, src)
    if season_length is None:
        season_length = SEASON_LENGTHS.get(code, 1) if code else 1
    elif isinstance(season_length, bool) or int(season_length) != season_length \
            or season_length < 1:
        raise InputError(f"data.season_length={season_length} is not a positive integer",
                         "give a whole number >= 1 (1 = no seasonality), or leave it unset")
    else:
        _check_season(out, int(season_length), src)
    return Panel(df=out, freq=code, season_length=int(season_length), features=features,
                 name=name)


def _check_season(out: pd.DataFrame, season_length: int, src: str) -> None:
    """A season must repeat in the data: with fewer than two full seasons in the longest series,
    seasonal naive, ETS and the season-aware lookback have nothing to learn it from."""
    longest = int(out.groupby("unique_id", sort=False).size().max())
    if 2 * season_length > longest:
        raise InputError(f"data.season_length={season_length} is longer than half of {src} ({longest} points): "
                         "the data holds fewer than two full seasons",
                         f"give data.season_length of at most {longest // 2} (the steps of one cycle, e.g. 12 "
                         "for monthly data), 1 for none, or leave it unset")


def _check_columns(raw: pd.DataFrame, id_col: str | None, time_col: str, target: str, features: list[str],
                   src: str) -> None:
    """Every named column exists, and each plays one role."""
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


def _standard_frame(raw: pd.DataFrame, id_col: str | None, time_col: str, target: str, features: list[str],
                    name: str, src: str, at: Callable[[int], str]) -> pd.DataFrame:
    """The table as ``unique_id, ds, y, <features>``: ids as text, times parsed, values numeric."""
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
    return out


def _in_time_order(out: pd.DataFrame, time_col: str, src: str, at: Callable[[int], str]) -> pd.DataFrame:
    """``out`` sorted by series and time, after refusing duplicated times and rows out of order."""
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
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def _frequency(out: pd.DataFrame, freq: str | None, src: str) -> str | None:
    """The series' frequency code: given, inferred from dated rows, or None for integer steps
    (which must then be regular)."""
    groups = {uid: g["ds"] for uid, g in out.groupby("unique_id", sort=False)}
    if freq is not None:
        code = normalize_freq(freq)
        if pd.api.types.is_datetime64_any_dtype(out["ds"]):
            check_given_freq(groups, freq, code, src)
        return code
    if pd.api.types.is_datetime64_any_dtype(out["ds"]):
        return _infer_freq(groups, src)
    for uid, ds in groups.items():
        _check_steps(ds, uid, src)
    return None


def _fill_missing(out: pd.DataFrame, cols: list[str], fill: str, target: str, src: str) -> pd.DataFrame:
    """Missing values refused (``fill=error``), interpolated or dropped; values as floats."""
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
            out = _interpolate_inside(out, cols, src)
        else:  # drop: the timestamps defined the grid above; rows go, the series closes up
            out = out.dropna(subset=cols).reset_index(drop=True)
    out[cols] = out[cols].astype(float)
    return out


def _interpolate_inside(out: pd.DataFrame, cols: list[str], src: str) -> pd.DataFrame:
    """Linear interpolation in time order inside each series; rows before a column's first value
    or after its last are dropped, with a warning: filling them would invent the ends (the last
    months would be scored as the test span and the forecast would start from made-up values)."""
    keep = np.ones(len(out), dtype=bool)
    for uid, g in out.groupby("unique_id", sort=False):
        seen = g[cols].notna()
        first = int(seen.to_numpy().argmax(axis=0).max())
        last = len(g) - 1 - int(seen.to_numpy()[::-1].argmax(axis=0).max())
        pos = out.index.get_indexer(g.index)
        keep[pos[:first]] = keep[pos[last + 1:]] = False
        for where, count in (("start", first), ("end", len(g) - 1 - last)):
            if count:
                log.warning("%s: series '%s' has %d missing values at the %s: dropped, not extrapolated "
                            "(data.fill=interpolate fills only between values)", src, uid, count, where)
    out = out[keep].reset_index(drop=True)
    out[cols] = out.groupby("unique_id", sort=False)[cols].transform(lambda s: s.interpolate(method="linear"))
    return out


def _check_values(out: pd.DataFrame, cols: list[str], target: str, src: str) -> None:
    """No constant series, and magnitudes float64 arithmetic can square."""
    for uid, g in out.groupby("unique_id", sort=False):
        if g["y"].nunique() <= 1:
            raise InputError(f"{src}: series '{uid}' is constant (all {len(g)} values of "
                             f"'{target}' equal {g['y'].iloc[0]:g}); an LSTM and the MASE "
                             "scale are meaningless on it",
                             "choose another target column or series")
    for col in cols:
        _check_scale(out, col, target if col == "y" else col, src)


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
    # Several UTC offsets (daylight saving): pandas asks for one clock. Depending on the pandas and
    # dateutil versions it parses them to NaT or to Timestamps of object dtype.
    if parsed.isna().all() or (parsed.dtype == object and parsed.notna().any()):
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
    inf = np.isinf(vals)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise InputError(f"{src}: column '{name}' has infinite value '{col.iloc[i]}' at {at(i)} "
                         f"({int(inf.sum())} such values); forecasts and scores of it are meaningless",
                         "replace them with the real values, or leave them empty and set data.fill=interpolate or drop")
    bad = np.isnan(vals) & col.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{src}: column '{name}' has non-numeric value '{col.iloc[i]}' at "
                         f"{at(i)} ({int(bad.sum())} such values)",
                         "clean the column (numbers with '.' decimals) or pick another column")
    return pd.Series(vals, index=col.index)


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
