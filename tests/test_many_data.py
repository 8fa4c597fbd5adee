"""The long-table loader for many series: Parquet, patterns, held-out test files, bad series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growlstm import from_long, load
from growlstm.config import Config, DataConfig
from growlstm.errors import InputError
from growlstm.growth.preparation import prepare


def _table(n_series: int = 3, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = [
        pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range("2000-01-01", periods=n, freq="MS"),
                      "y": 10 + k + np.sin(np.arange(n) / 2) + rng.normal(0, 0.1, n)})
        for k in range(n_series)
    ]
    return pd.concat(parts, ignore_index=True)


def test_parquet_and_csv_give_the_same_panel(tmp_path: Path) -> None:
    table = _table()
    table.to_parquet(tmp_path / "t.parquet")
    table.to_csv(tmp_path / "t.csv", index=False)
    a = load(DataConfig(name="csv", path=str(tmp_path / "t.parquet")))
    b = load(DataConfig(name="csv", path=str(tmp_path / "t.csv")))
    assert a.ids() == b.ids() == ["s0", "s1", "s2"] and a.freq == b.freq == "M"
    np.testing.assert_allclose(a.df["y"], b.df["y"])
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot read .*bad.parquet as Parquet"):
        load(DataConfig(name="csv", path=str(tmp_path / "bad.parquet")))


def test_series_pattern_selects_several() -> None:
    table = _table(4)
    p = from_long(table, series="s[12]")
    assert p.ids() == ["s1", "s2"]
    assert from_long(table, series="s3").ids() == ["s3"]
    with pytest.raises(InputError, match="series 'x\\*' is not in.*pattern"):
        from_long(table, series="x*")


def test_bad_series_are_skipped_with_the_reason_or_fail_the_load() -> None:
    table = _table(3)
    table.loc[table.unique_id == "s1", "y"] = 5.0  # constant
    dup = table[table.unique_id == "s2"].iloc[[3]]
    table = pd.concat([table, dup], ignore_index=True)  # a duplicated time in s2
    p = from_long(table)
    assert p.ids() == ["s0"]
    assert set(p.skipped) == {"s1", "s2"}
    assert "constant" in p.skipped["s1"] and "duplicated time" in p.skipped["s2"]
    assert "fix:" in p.skipped["s1"]
    with pytest.raises(InputError, match="series 's2' has duplicated time"):  # the first problem found
        from_long(table, bad_series="fail")
    with pytest.raises(InputError, match="data.bad_series=maybe"):
        from_long(table, bad_series="maybe")
    only_bad = table[table.unique_id == "s1"]
    with pytest.raises(InputError, match="constant"):  # nothing left: the error, not an empty panel
        from_long(only_bad)


def test_a_problem_between_series_is_not_blamed_on_one() -> None:
    a = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2000-01-01", periods=30, freq="MS"), "y": np.arange(30.0)})
    b = pd.DataFrame({"unique_id": "b", "ds": pd.date_range("2000-01-01", periods=30, freq="D"), "y": np.arange(30.0)})
    with pytest.raises(InputError, match="different frequencies"):
        from_long(pd.concat([a, b]))


def _m4(shared_m4: Path, series: str, **kw: object) -> DataConfig:
    return DataConfig(name="csv", path=str(shared_m4 / "train.csv"), id_col="uid", time_col="t", target="value",
                      test_path=str(shared_m4 / "test.csv"), series=series, **kw)  # type: ignore[arg-type]


def test_m4_layout_through_the_loader(shared_m4: Path) -> None:
    """train.csv (uid, t, value) + test.csv (uid, step, value): each series continues with its test."""
    p = load(_m4(shared_m4, "M4-W1*", season_length=1))
    train = pd.read_csv(shared_m4 / "train.csv")
    test = pd.read_csv(shared_m4 / "test.csv")
    wanted = sorted(u for u in train.uid.unique() if u.startswith("M4-W1"))
    assert sorted(p.ids()) == wanted and len(wanted) > 1
    uid = wanted[0]
    one = p.series(uid)
    expected = np.concatenate([train[train.uid == uid].value, test[test.uid == uid].value])
    np.testing.assert_allclose(one["y"], expected)
    assert one["ds"].tolist() == list(range(1, len(expected) + 1))
    assert p.test_rows[uid] == 13
    # The test span is exactly the held-out rows: the training, stopping and validation windows
    # never reach them.
    cfg = Config(data=DataConfig(series=uid), h=13)
    _, win = prepare(p, cfg)
    n_train_part = len(expected) - 13
    assert win.test_origins.tolist() == [n_train_part]
    assert win.val_origins.max() + 13 <= n_train_part and win.train_end <= n_train_part
    with pytest.raises(InputError, match="13 held-out rows.*test span is 6.*set h=13"):
        prepare(p, Config(data=DataConfig(series=uid), h=6))


def test_test_file_problems(tmp_path: Path, shared_m4: Path) -> None:
    (tmp_path / "test.csv").write_text("uid,step,value\nZZ,1,3.0\n")
    cfg = _m4(shared_m4, "M4-M1")
    with pytest.raises(InputError, match="series ZZ that the training file lacks"):
        load(DataConfig(**{**cfg.__dict__, "test_path": str(tmp_path / "test.csv")}))
    (tmp_path / "test2.csv").write_text("uid,value\nM4-M1,3.0\n")
    with pytest.raises(InputError, match="no column t \\(or step\\)"):
        load(DataConfig(**{**cfg.__dict__, "test_path": str(tmp_path / "test2.csv")}))
    (tmp_path / "test3.csv").write_text("uid,step,value\nM4-M1,2,3.0\nM4-M1,1,4.0\n")
    with pytest.raises(InputError, match="steps of a series must read 1, 2"):
        load(DataConfig(**{**cfg.__dict__, "test_path": str(tmp_path / "test3.csv")}))
    with pytest.raises(InputError, match="needs a long table"):
        load(DataConfig(name="csv", path=str(shared_m4 / "train.csv"), time_col="t", target="value",
                        test_path=str(shared_m4 / "test.csv")))
