"""Loading and validating series: built-ins, CSV (wide/long), in-memory data, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growlstm.config import DataConfig
from growlstm.data import BUILTINS, Panel, from_long, from_values, load, normalize_freq
from growlstm.errors import InputError


def _check_panel(p: Panel) -> None:
    df = p.df
    assert list(df.columns[:3]) == ["unique_id", "ds", "y"]
    assert not df.isna().to_numpy().any()
    assert df["y"].dtype == float
    for _, g in df.groupby("unique_id"):
        assert g["ds"].is_monotonic_increasing and g["ds"].is_unique


@pytest.mark.parametrize("name,freq,season", [
    ("co2", "M", 12), ("sunspots", "Y", 1), ("nile", "Y", 1), ("elec_equip", "M", 12),
    ("macrodata", "Q", 4),
])
def test_builtins(name: str, freq: str, season: int) -> None:
    p = load(DataConfig(name=name))
    assert (p.freq, p.season_length, len(p), p.ids(), p.name) == (freq, season, 1, [name], name)
    assert pd.api.types.is_datetime64_any_dtype(p.df["ds"])
    assert len(p.df) > 90
    _check_panel(p)
    assert list(p.series().columns) == ["ds", "y"]


def test_builtins_listed() -> None:
    assert set(BUILTINS) == {"co2", "sunspots", "nile", "elec_equip", "macrodata", "m4_sample"}


def test_m4_sample_is_shipped_with_the_package() -> None:
    # The README's many-series example needs no checkout beside it: ten M4 monthly series and
    # their official 18-month test spans come with the package.
    p = load(DataConfig(name="m4_sample"))
    assert sorted(p.ids()) == sorted(f"M4-M{i}" for i in range(1, 11)) and p.season_length == 12
    assert p.test_rows == {uid: 18 for uid in p.ids()}
    assert len(p.series("M4-M4")) == 82 + 18
    assert load(DataConfig(name="m4_sample", series="M4-M1?", season_length=1)).ids() == ["M4-M10"]
    with pytest.raises(InputError, match="data.name=csv"):
        load(DataConfig(name="m4_sample", path="x.csv"))


def test_builtin_features_and_overrides() -> None:
    p = load(DataConfig(name="macrodata", features=["realcons", "infl"], season_length=1))
    assert p.features == ["realcons", "infl"] and p.season_length == 1
    assert list(p.series().columns) == ["ds", "y", "realcons", "infl"]
    with pytest.raises(InputError, match="no column nope.*realcons"):
        load(DataConfig(name="macrodata", features=["nope"]))
    with pytest.raises(InputError, match="unknown dataset 'foo'.*csv"):
        load(DataConfig(name="foo"))
    with pytest.raises(InputError, match="data.name=csv"):
        load(DataConfig(name="co2", path="x.csv"))


def _write(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    f = tmp_path / name
    f.write_text(text)
    return str(f)


def _monthly(n: int = 24, start: str = "2020-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="MS")


def _wide(tmp_path: Path, sep: str = ",", n: int = 24) -> str:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"date": _monthly(n).strftime("%Y-%m-%d"), "sales": rng.normal(size=n),
                       "price": rng.normal(size=n), "note": ["x"] * n})
    return _write(tmp_path, df.to_csv(index=False, sep=sep))


def test_csv_wide_with_features(tmp_path: Path) -> None:
    path = _wide(tmp_path)
    p = load(DataConfig(name="csv", path=path, time_col="date", target="sales",
                        features=["price"]))
    assert (p.freq, p.season_length, p.features, p.name, len(p.df)) == ("M", 12, ["price"], "d", 24)
    assert p.ids() == ["d"]
    _check_panel(p)
    assert list(p.series().columns) == ["ds", "y", "price"]


def test_csv_defaults_ds_y(tmp_path: Path) -> None:
    ds = pd.date_range("2021-01-01", periods=10, freq="D").strftime("%Y-%m-%d")
    rows = [f"{d},{v}" for d, v in zip(ds, range(10))]
    p = load(DataConfig(name="csv", path=_write(tmp_path, "ds,y\n" + "\n".join(rows))))
    assert p.freq == "D" and p.season_length == 1
    assert p.series()["y"].tolist() == list(map(float, range(10)))


def test_unsorted_timestamps_are_refused(tmp_path: Path) -> None:
    ds = pd.date_range("2021-01-01", periods=10, freq="D").strftime("%Y-%m-%d")
    rows = [f"{d},{v}" for d, v in zip(ds, range(10))]
    rows[3], rows[4] = rows[4], rows[3]
    with pytest.raises(InputError, match="not in time order: 2021-01-04 .*line 6.*Fix: sort the rows by 'ds'"):
        load(DataConfig(name="csv", path=_write(tmp_path, "ds,y\n" + "\n".join(rows))))


@pytest.mark.parametrize("sep", [";", "\t"])
def test_csv_delimiter_sniffing(tmp_path: Path, sep: str) -> None:
    p = load(DataConfig(name="csv", path=_wide(tmp_path, sep=sep), time_col="date",
                        target="sales"))
    assert p.freq == "M" and len(p.df) == 24


def _long(tmp_path: Path) -> str:
    parts = []
    for uid, n in (("007", 20), ("b", 15)):
        parts.append(pd.DataFrame({"unique_id": uid, "ds": _monthly(n).strftime("%Y-%m-%d"),
                                   "y": np.arange(n) * 1.5 + (uid == "b")}))
    return _write(tmp_path, pd.concat(parts).to_csv(index=False))


def test_csv_long_and_series_selection(tmp_path: Path) -> None:
    path = _long(tmp_path)
    p = load(DataConfig(name="csv", path=path, id_col="unique_id", time_col="ds", target="y"))
    assert p.ids() == ["007", "b"] and len(p) == 2 and p.freq == "M"  # ids stay strings
    _check_panel(p)
    assert len(p.series("b")) == 15
    with pytest.raises(InputError, match="2 series.*data.series="):
        p.series()
    one = load(DataConfig(name="csv", path=path, series="b"))  # unique_id auto-detected
    assert one.ids() == ["b"] and len(one.series()) == 15
    with pytest.raises(InputError, match="series 'zz' is not in.*007, b"):
        load(DataConfig(name="csv", path=path, series="zz"))


def test_from_values_series_and_array() -> None:
    s = pd.Series(np.sin(np.arange(30)), index=pd.date_range("2000-01-01", periods=30, freq="W"))
    p = from_values(s, name="w")
    assert (p.freq, p.season_length, p.ids()) == ("W", 1, ["w"])
    _check_panel(p)
    a = from_values(np.arange(12.0) ** 2)
    assert a.freq is None and a.season_length == 1
    assert a.series()["ds"].tolist() == list(range(12))
    q = from_values(pd.Series(np.arange(10.0), index=pd.period_range("2001Q1", periods=10,
                                                                       freq="Q")))
    assert q.freq == "Q" and q.season_length == 4
    f = from_values(list(range(8)), freq="M", season_length=3,
                    features=pd.DataFrame({"x": np.ones(8)}, index=range(100, 108)))
    assert (f.freq, f.season_length, f.features) == ("M", 3, ["x"])
    with pytest.raises(InputError, match="one dimension"):
        from_values(np.zeros((3, 2)))


def test_from_long() -> None:
    df = pd.DataFrame({"id": ["a"] * 5 + ["b"] * 5, "t": list(range(5)) * 2,
                       "v": np.arange(10.0)})
    p = from_long(df, id_col="id", time_col="t", target="v")
    assert p.ids() == ["a", "b"] and p.freq is None


@pytest.mark.parametrize("alias,code", [
    ("MS", "M"), ("M", "M"), ("ME", "M"), ("QS", "Q"), ("Q", "Q"), ("A", "Y"), ("YS", "Y"),
    ("Y", "Y"), ("W", "W"), ("W-SUN", "W"), ("D", "D"), ("H", "H"), ("h", "H"),
    ("QS-OCT", "Q"), ("A-DEC", "Y"),
])
def test_normalize_freq(alias: str, code: str) -> None:
    assert normalize_freq(alias) == code


def test_unsupported_freq() -> None:
    with pytest.raises(InputError, match="unsupported frequency.*'15min'"):
        from_values(np.arange(5.0), freq="15min")


# ---------------------------------------------------------------- bad inputs


def _csv(tmp_path: Path, text: str, **kw) -> Panel:
    return load(DataConfig(name="csv", path=_write(tmp_path, text), **kw))


def test_missing_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found.*nope.csv"):
        load(DataConfig(name="csv", path=str(tmp_path / "nope.csv")))
    with pytest.raises(InputError, match="no data.path"):
        load(DataConfig(name="csv"))
    with pytest.raises(InputError, match="cannot read"):
        load(DataConfig(name="csv", path=str(tmp_path)))  # a directory
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81\x00ds,y\n\x9c")
    with pytest.raises(InputError, match="cannot read"):
        load(DataConfig(name="csv", path=str(tmp_path / "bin.csv")))
    with pytest.raises(InputError, match="is empty"):
        _csv(tmp_path, "")


def test_missing_columns(tmp_path: Path) -> None:
    path = _wide(tmp_path)
    with pytest.raises(InputError, match="no column sale; columns: date, sales, price"):
        load(DataConfig(name="csv", path=path, time_col="date", target="sale"))
    with pytest.raises(InputError, match="data.time_col.*date, sales"):
        load(DataConfig(name="csv", path=path, target="sales"))
    with pytest.raises(InputError, match="data.target"):
        load(DataConfig(name="csv", path=path, time_col="date"))
    # A single-column file stays single-column after sniffing: columns are still missing.
    with pytest.raises(InputError, match="no column"):
        _csv(tmp_path, "a\n1\n2\n3\n", time_col="ds", target="y")


def test_non_numeric(tmp_path: Path) -> None:
    text = "ds,y,f\n2020-01-01,1,1\n2020-02-01,2,1\n2020-03-01,abc,1\n2020-04-01,4,1\n"
    with pytest.raises(InputError, match="column 'y' has non-numeric value 'abc' at line 4"):
        _csv(tmp_path, text)
    text = "ds,y,f\n2020-01-01,1,1\n2020-02-01,2,x\n2020-03-01,3,1\n"
    with pytest.raises(InputError, match="column 'f' has non-numeric value 'x' at line 3"):
        _csv(tmp_path, text, features=["f"])
    with pytest.raises(InputError, match="non-numeric value 'b' at row 1"):
        from_values(["1", "b", "3"])


def test_bad_timestamps(tmp_path: Path) -> None:
    text = "ds,y\n2020-01-01,1\n2020-02-01,2\nnot a date,3\n"
    with pytest.raises(InputError, match="cannot parse timestamp 'not a date'.*line 4"):
        _csv(tmp_path, text)
    with pytest.raises(InputError, match="time column 'ds' is empty at line 3"):
        _csv(tmp_path, "ds,y\n2020-01-01,1\n,2\n2020-03-01,3\n")


def _gappy(tmp_path: Path) -> str:
    return ("ds,y\n2020-01-01,1\n2020-02-01,\n2020-03-01,3\n2020-04-01,5\n2020-05-01,4\n"
            "2020-06-01,\n")


def test_missing_values_policies(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="2 missing values in y.*2020-02-01.*data.fill="):
        _csv(tmp_path, _gappy(tmp_path))
    p = _csv(tmp_path, _gappy(tmp_path), fill="interpolate")
    assert p.series()["y"].tolist() == [1.0, 2.0, 3.0, 5.0, 4.0]  # linear inside; the missing end is dropped
    p = _csv(tmp_path, _gappy(tmp_path), fill="drop")
    assert p.series()["y"].tolist() == [1.0, 3.0, 5.0, 4.0] and p.freq == "M"
    with pytest.raises(InputError, match="unknown missing-value policy data.fill='zero'"):
        _csv(tmp_path, _gappy(tmp_path), fill="zero")
    with pytest.raises(InputError, match="series 'd' is empty"):
        _csv(tmp_path, "ds,y\n2020-01-01,\n2020-02-01,\n2020-03-01,\n", fill="interpolate")


def test_duplicates_and_unsorted(tmp_path: Path) -> None:
    text = "ds,y\n2020-03-01,3\n2020-01-01,1\n2020-02-01,2\n2020-02-01,5\n2020-04-01,4\n"
    with pytest.raises(InputError, match="duplicated time 2020-02-01"):
        _csv(tmp_path, text)


def test_irregular_frequency(tmp_path: Path) -> None:
    days = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-07", "2020-01-08"]
    text = "ds,y\n" + "\n".join(f"{d},{i % 3}" for i, d in enumerate(days))
    with pytest.raises(InputError, match="irregular.*2020-01-04.*2020-01-07.*data.freq="):
        _csv(tmp_path, text)
    assert _csv(tmp_path, text, freq="D").freq == "D"  # an explicit freq is trusted
    with pytest.raises(InputError, match="irregular integer steps.*3 and 5"):
        from_values(np.arange(5.0), ds=[0, 1, 2, 3, 5])


def test_one_per_month_counts_as_monthly() -> None:
    ds = pd.to_datetime(["2020-01-15", "2020-02-14", "2020-03-16", "2020-04-15"])
    assert from_values(np.arange(4.0), ds=ds).freq == "M"


def test_constant_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="constant.*another target"):
        _csv(tmp_path, "ds,y\n2020-01-01,2\n2020-02-01,2\n2020-03-01,2\n")
    with pytest.raises(InputError, match="has no rows"):
        _csv(tmp_path, "ds,y\n")
    with pytest.raises(InputError, match="has no rows"):
        from_values([])


def test_mixed_date_formats_are_named(tmp_path: Path) -> None:
    text = "ds,y\n2020-01-01,1\n2020-02-01,2\n03/01/2020,3\n2020-04-01,4\n"
    with pytest.raises(InputError, match="mixes date formats: '2020-01-01' at line 2 but '03/01/2020' at line 4"):
        _csv(tmp_path, text)
    # Padding and a time part are not another format.
    assert _csv(tmp_path, "ds,y\n2020-1-1,1\n2020-01-02,2\n2020-01-03 00:00,3\n2020-01-04,5\n").freq == "D"


def test_zone_aware_timestamps_are_read(tmp_path: Path) -> None:
    # One UTC offset: the clock time as written.
    text = "ds,y\n" + "".join(f"2020-01-0{d}T00:00:00+01:00,{d % 3}\n" for d in range(1, 6))
    p = _csv(tmp_path, text)
    assert p.freq == "D" and str(p.df["ds"].iloc[0]) == "2020-01-01 00:00:00"
    # Daylight saving in daily data: still the clock time (UTC would be 23:00, then 22:00).
    days = ["2020-03-27T00:00:00+01:00", "2020-03-28T00:00:00+01:00", "2020-03-29T00:00:00+01:00",
            "2020-03-30T00:00:00+02:00", "2020-03-31T00:00:00+02:00"]
    p = _csv(tmp_path, "ds,y\n" + "".join(f"{d},{i % 3}\n" for i, d in enumerate(days)))
    assert p.freq == "D" and str(p.df["ds"].iloc[-1]) == "2020-03-31 00:00:00"
    # ... in hourly data: UTC, which stays evenly spaced across the missing hour.
    hours = pd.date_range("2020-03-29", periods=6, freq="h", tz="Europe/Berlin")
    p = from_values(pd.Series(np.arange(6.0) % 4, index=hours))
    assert p.freq == "H" and str(p.df["ds"].iloc[0]) == "2020-03-28 23:00:00"


def test_one_column_in_two_roles(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the id column and the target column are the same column 'y'"):
        from_long(pd.DataFrame({"ds": _monthly(5), "y": np.arange(5.0)}), id_col="y")
    with pytest.raises(InputError, match="the time column and the target column are the same column 'ds'"):
        load(DataConfig(name="nile", target="ds"))


def test_values_beyond_float_range(tmp_path: Path) -> None:
    y = np.arange(24.0) + 1
    with pytest.raises(InputError, match=r"holds 1e\+300 .*beyond the 1e\+100.*Fix: rescale the column \(divide it by 1e301\)"):
        from_values(y * 1e300, ds=_monthly())
    with pytest.raises(InputError, match=r"varies by only 2.3e-299.*Fix: rescale the column \(multiply it by 1e299\)"):
        from_values(y * 1e-300, ds=_monthly())
    assert len(from_values(y * 1e50, ds=_monthly()).df) == 24
