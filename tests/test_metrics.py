"""Metrics: hand-computed values, and the official M4 scores recomputed from the M4 files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growlstm.metrics import METRICS, mae, mase, mase_scale, owa, rmse, score, smape

M4_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4"


def test_mae_rmse_by_hand() -> None:
    y, f = [1, 2, 3], [2, 2, 5]  # errors 1, 0, 2
    assert mae(y, f) == pytest.approx(1.0)
    assert rmse(y, f) == pytest.approx(math.sqrt(5 / 3))


def test_smape_by_hand_and_zero_denominator() -> None:
    # terms: 200*2/4 = 100; 0/0 counts 0; exact forecast 0
    assert smape([1, 0, 2], [3, 0, 2]) == pytest.approx(100 / 3)
    assert smape([-1], [1]) == pytest.approx(200.0)
    assert smape([0, 0], [0, 0]) == 0.0


def test_mase_scale_by_hand_and_fallback() -> None:
    x = [1, 3, 2, 5, 4]
    assert mase_scale(x, 2) == pytest.approx(5 / 3)  # |2-1|, |5-3|, |4-2|
    assert mase_scale(x, 1) == pytest.approx(7 / 4)  # 2, 1, 3, 1
    # No full season in the data: falls back to m = 1.
    assert mase_scale([1, 3, 2], 3) == pytest.approx(1.5)
    assert mase_scale([1, 3, 2], 12) == pytest.approx(1.5)
    assert mase_scale([4, 4, 4, 4], 1) == 0.0


def test_mase_by_hand_and_zero_scale() -> None:
    assert mase([3, 5], [2, 5], [1, 3, 2, 5, 4], 2) == pytest.approx(0.5 / (5 / 3))
    assert math.isnan(mase([3, 5], [2, 5], [4, 4, 4], 1))


def test_owa_by_hand() -> None:
    assert owa(10, 1, 20, 2) == pytest.approx(0.5)
    assert owa(10, 2, 10, 1) == pytest.approx(1.5)


def test_score_keys_and_values() -> None:
    y, f, x = [3, 5], [2, 5], [1, 3, 2, 5, 4]
    s = score(y, f, x, 2)
    assert tuple(s) == METRICS == ("mae", "rmse", "smape", "mase")
    assert s["mae"] == mae(y, f) and s["mase"] == mase(y, f, x, 2)
    assert all(isinstance(v, float) for v in s.values())


def test_length_mismatch_raises() -> None:
    for fn in (mae, rmse, smape):
        with pytest.raises(ValueError):
            fn([1, 2, 3], [1, 2])
    with pytest.raises(ValueError):
        mase([1, 2], [1], [1, 2, 3], 1)


def test_accepts_array_likes() -> None:
    assert mae(pd.Series([1.0, 2.0]), np.array([1, 3])) == pytest.approx(0.5)


@pytest.mark.skipif(not M4_DIR.is_dir(), reason=f"M4 reference data not found at {M4_DIR}")
def test_official_m4_subset_scores() -> None:
    """sMAPE / MASE of the official M4 forecasts, per subset, to 3 decimals."""
    catalog = pd.read_csv(M4_DIR / "catalog.csv").set_index("uid")
    train = pd.read_csv(M4_DIR / "train.csv").sort_values(["uid", "t"])
    test = pd.read_csv(M4_DIR / "test.csv").sort_values(["uid", "step"])
    fc = pd.read_csv(M4_DIR / "benchmark_forecasts.csv").sort_values(["uid", "method", "step"])
    official = pd.read_csv(M4_DIR / "subset_benchmark_scores.csv").set_index(["subset", "method"])

    insample = {u: g["value"].to_numpy() for u, g in train.groupby("uid")}
    actual = {u: g["value"].to_numpy() for u, g in test.groupby("uid")}
    rows = []
    for (uid, method), g in fc.groupby(["uid", "method"]):
        m = int(catalog.loc[uid, "seasonal_period"])
        f = g["value"].to_numpy()
        y = actual[uid]
        rows.append((catalog.loc[uid, "subset"], method, smape(y, f), mase(y, f, insample[uid], m)))
    got = pd.DataFrame(rows, columns=["subset", "method", "sMAPE", "MASE"])
    agg = got.groupby(["subset", "method"]).agg(["mean", "size"])

    assert len(agg) == len(official) == 12
    for key, ref in official.iterrows():
        assert agg.loc[key, ("sMAPE", "size")] == ref["n_series"]
        for metric in ("sMAPE", "MASE"):
            got_value = round(agg.loc[key, (metric, "mean")], 3)
            assert got_value == pytest.approx(ref[metric], abs=1e-9), (key, metric)
        # The sheet's OWA is computed from the 3-decimal scores.
        naive2 = official.loc[(key[0], "M4:Naive2")]
        o = owa(ref["sMAPE"], ref["MASE"], naive2["sMAPE"], naive2["MASE"])
        assert o == pytest.approx(ref["OWA_vs_Naive2"], abs=5e-4), key
