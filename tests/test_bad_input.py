"""Issue 39, items 5-7: input that gave silent wrong results, crossing intervals and misleading
messages. Each test failed on the code before the fix."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growlstm.config import DataConfig
from growlstm.data import from_values, load
from growlstm.data.windows import future_frame
from growlstm.errors import InputError
from growlstm.verdict.recommend import conformal_quantiles


def monthly(n: int = 60) -> tuple[pd.DatetimeIndex, np.ndarray]:
    ds = pd.date_range("2000-01-01", periods=n, freq="MS")
    return ds, 100 + 10 * np.sin(np.arange(n) * 2 * np.pi / 12) + np.arange(n)


def csv(tmp_path: Path, ds: list, y: list) -> str:
    path = tmp_path / "s.csv"
    pd.DataFrame({"ds": ds, "y": y}).to_csv(path, index=False)
    return str(path)


# -- item 5: silent wrong results ------------------------------------------------------------

def test_interpolate_does_not_invent_the_last_months(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds, y = monthly(24)
    y = y.copy()
    y[5], y[-3:] = np.nan, np.nan  # an inner gap and 3 missing months at the end
    with caplog.at_level(logging.WARNING, logger="growlstm"):
        p = load(DataConfig(name="csv", path=csv(tmp_path, [str(d.date()) for d in ds], list(y)), fill="interpolate"))
    frame = p.series()
    assert len(frame) == 21 and frame["ds"].iloc[-1] == ds[-4]  # the series ends where the data does
    assert np.isclose(frame["y"].iloc[5], (y[4] + y[6]) / 2)  # inside: linear
    assert "3 missing values at the end" in caplog.text and "not extrapolated" in caplog.text


def test_gaps_with_a_given_monthly_freq_still_date_the_forecast() -> None:
    ds, _ = monthly(30)
    kept = ds.delete([7, 8, 20])  # data.fill=drop closed these gaps up
    frame = future_frame(pd.Index(kept), 3)
    assert list(frame["ds"]) == list(pd.date_range(ds[-1], periods=4, freq="MS")[1:])


def test_a_freq_the_timestamps_contradict_is_refused() -> None:
    ds, y = monthly()
    with pytest.raises(InputError, match="data.freq=D.*one step per day.*31 days apart.*data.freq=M or leave"):
        from_values(y, ds=ds, freq="D")
    assert from_values(y, ds=ds, freq="MS").freq == "M"
    gappy = ds.delete([3, 9])
    assert from_values(np.delete(y, [3, 9]), ds=gappy, freq="MS").freq == "M"  # gaps: still monthly


def test_a_season_longer_than_half_the_series_is_refused() -> None:
    ds, y = monthly(60)
    with pytest.raises(InputError, match="data.season_length=1000 .*60 points.*two full seasons"):
        from_values(y, ds=ds, season_length=1000)
    assert from_values(y, ds=ds, season_length=30).season_length == 30


def test_inf_is_named_as_infinite_not_as_non_numeric() -> None:
    ds, y = monthly()
    with pytest.raises(InputError, match="infinite value 'inf' at row 5") as err:
        from_values(np.r_[y[:5], np.inf, y[6:]], ds=ds)
    assert "non-numeric" not in str(err.value)
    with pytest.raises(InputError, match="non-numeric value 'x'"):
        from_values(["1", "x", "3"])


# -- item 6: intervals -----------------------------------------------------------------------

def test_few_origins_give_nested_smooth_intervals() -> None:
    rng = np.random.default_rng(3)
    scores = np.abs(rng.standard_normal((9, 6))) * np.sqrt(np.arange(1, 7))  # 9 origins, as nile gets
    q80, q95 = conformal_quantiles(scores, [0.8, 0.95])
    assert (q95 >= q80).all()
    assert (np.diff(q80) >= -1e-12).all() and (np.diff(q95) >= -1e-12).all()  # no zigzag over the horizon


def test_many_origins_keep_their_per_step_quantiles() -> None:
    rng = np.random.default_rng(4)
    scores = np.abs(rng.standard_normal((200, 3)))[:, ::-1].copy()
    scores[:, 0] *= 3  # step 1 the hardest: a large calibration set says so, and is believed
    q = conformal_quantiles(scores, [0.8])
    assert q[0, 0] == np.sort(scores[:, 0])[int(np.ceil(201 * 0.8)) - 1]


def test_nile_forecast_intervals_nest_and_widen_and_coincidences_are_named(tiny_config) -> None:
    import statsmodels.api as sm

    from dataclasses import replace

    import growlstm
    from growlstm.config import EvalConfig

    config = replace(tiny_config, eval=EvalConfig(val_origins=9))  # the default: 9 origins, as the run
    result = growlstm.grow(sm.datasets.nile.load_pandas().data["volume"].to_numpy(), config)
    f, rec = result.forecast, result.recommendation
    for name in ("recommended", rec["model"]):
        w80, w95 = f[f"{name}-hi-80"] - f[name], f[f"{name}-hi-95"] - f[name]
        assert (w95 >= w80 - 1e-9).all() and (np.diff(w80) >= -1e-9).all() and (np.diff(w95) >= -1e-9).all()
    same = np.isclose(f["recommended-hi-80"], f["recommended-hi-95"])
    assert ("coincide at step" in rec.get("interval_note", "")) == bool(same.any())


def test_coinciding_levels_get_a_note() -> None:
    from growlstm.verdict.advice import coinciding

    q = np.array([[1.0, 2.0, 3.0], [1.0, 2.5, 3.0]])
    assert coinciding(q, [80, 95], 3) == ("the 80% and 95% intervals coincide at steps 1, 3: "
                                          "3 validation origins are too few to tell them apart")
    assert coinciding(q * [[1], [2]], [80, 95], 3) == ""


# -- item 7: messages ------------------------------------------------------------------------

def test_a_fixed_architecture_is_not_reported_as_a_search(tiny_config) -> None:
    from dataclasses import replace

    import statsmodels.api as sm

    import growlstm
    from growlstm.config import GoalConfig, ModelConfig
    from growlstm.records.report import verdict

    config = replace(tiny_config, model=ModelConfig(widths=[8, 2]), goal=GoalConfig(target=0.01))  # never met
    result = growlstm.grow(sm.datasets.nile.load_pandas().data["volume"].to_numpy(), config)
    text = verdict(result)
    assert "the fixed architecture model.widths=[8, 2] does not meet the goal" in text, text
    assert "no LSTM size met" not in text and "smallest size no other beats" not in text


def test_no_baselines_is_not_called_every_baseline_failed() -> None:
    from growlstm.baselines.backtesting import BaselineResult
    from growlstm.config import GoalConfig
    from growlstm.verdict.goal import make_goal

    text = make_goal(GoalConfig(), {}).describe()  # baselines=[]
    assert "every baseline failed" not in text and "baselines=[]" in text
    failed = make_goal(GoalConfig(), {"naive": BaselineResult("naive", error="boom")}).describe()
    assert "every baseline failed" in failed  # where some were asked for and all failed, say so


def test_local_scope_scores_the_test_span_the_global_scope_scores() -> None:
    """A series too short for an LSTM of its own was cut for the LSTM anyway (test span dropped
    to make training windows), so local scope said "no test scores" where global scored one."""
    import statsmodels.api as sm

    from growlstm.config import Config, EvalConfig
    from growlstm.growth.preparation import prepare

    nile = sm.datasets.nile.load_pandas().data["volume"].to_numpy()[:25]  # a 25-point real series
    config = Config(h=6, eval=EvalConfig())
    _, local = prepare(from_values(nile), config)
    _, pooled = prepare(from_values(nile), config, pad=True)
    assert local.test_origins.tolist() == pooled.test_origins.tolist() != []
    assert local.val_origins.tolist() == pooled.val_origins.tolist()
    assert "capacity rule allows 0 cell(s)" in local.no_room  # and it still says why it has no LSTM


def test_an_input_size_longer_than_the_series_names_one_that_fits() -> None:
    """input_size=1000 on a short series ran silently (a classical forecast, no word of the lookback)."""
    import statsmodels.api as sm

    from growlstm.config import Config
    from growlstm.growth.preparation import prepare

    nile = sm.datasets.nile.load_pandas().data["volume"].to_numpy()  # 100 points
    _, win = prepare(from_values(nile), Config(h=6, input_size=1000))
    assert "no lookback of input_size=1000 steps fits" in win.no_room
    fits = int(win.no_room.split("; input_size=")[1].split()[0])
    _, ok = prepare(from_values(nile), Config(h=6, input_size=fits))  # the one it names does fit
    assert not ok.pad and not ok.no_room and len(ok.train_origins) >= 6 and ok.input_size == fits
