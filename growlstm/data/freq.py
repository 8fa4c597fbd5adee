"""Frequencies: pandas aliases to one-letter codes, inference from the dates, regular steps."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from growlstm.errors import InputError
from growlstm.data.messages import _fmt


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


def normalize_freq(alias: str) -> str:
    """A pandas frequency alias as one of Y, Q, M, W, D, H (InputError if unsupported)."""
    code = _code(alias)
    if code is None:
        raise InputError(f"unsupported frequency data.freq='{alias}'",
                         f"give data.freq as {_FREQ_HELP}; for other data leave data.freq "
                         "unset and give data.season_length")
    return code


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


# The spacing each code allows between neighbouring timestamps, in days (business days: a
# weekend makes 3; hourly data may skip an hour at daylight saving).
_SPACING: dict[str, tuple[float, float]] = {
    "Y": (365, 366), "Q": (89, 92), "M": (28, 31), "W": (7, 7), "D": (1, 3), "H": (1 / 24, 2 / 24),
}
_WORDS = {"Y": "year", "Q": "quarter", "M": "month", "W": "week", "D": "day", "H": "hour"}


def check_given_freq(groups: dict[str, pd.Series], alias: str, code: str, src: str) -> None:
    """Refuse a data.freq the timestamps contradict (data.freq=D on monthly dates): the season,
    the horizon and the forecast's dates would follow the given one. Gaps are allowed (data.fill=
    drop closes them up), so the test is the most common spacing, not every one."""
    lo, hi = _SPACING[code]
    for uid, ds in groups.items():
        if len(ds) < 2:
            continue
        days = pd.Series(np.diff(pd.DatetimeIndex(ds).asi8) / 86400e9)
        usual = float(days.mode().iloc[0])
        if not lo - 1e-9 <= usual <= hi + 1e-9:
            seen = _infer_freq({uid: ds}, src) if len(ds) >= 3 else None
            instead = f"data.freq={seen} or leave it unset" if seen else "the right data.freq or leave it unset"
            raise InputError(f"{src}: data.freq={alias} says one step per {_WORDS[code]}, but the timestamps of series "
                             f"'{uid}' are mostly {usual:g} days apart", f"give {instead}")


def usual_step(idx: pd.DatetimeIndex) -> object | None:
    """The pandas frequency of dates with gaps (data.fill=drop closed them up), from their most
    common spacing, anchored as the dates are (month starts, month ends); None if none fits."""
    if len(idx) < 2:
        return None
    usual = float(pd.Series(np.diff(idx.asi8) / 86400e9).mode().iloc[0])
    code = next((c for c, (lo, hi) in _SPACING.items() if lo - 1e-9 <= usual <= hi + 1e-9), None)
    if code in ("M", "Q", "Y"):
        months = {"M": 1, "Q": 3, "Y": 12}[code]
        return pd.offsets.MonthEnd(months) if idx.is_month_end.all() else pd.DateOffset(months=months)
    return pd.Timedelta(days=usual) if code else None


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
