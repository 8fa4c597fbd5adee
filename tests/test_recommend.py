"""The recommendation on scripted validation errors, combinations, and conformal intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from growlstm.verdict.recommend import Candidate, conformal_quantiles, interval_columns, mean_of, recommend, with_combinations

H = 4


def _errors(level: float, noise: float, series: int = 1, origins: int = 3, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.abs(level + noise * rng.standard_normal((origins, H))) for _ in range(series)]


def _cands(*names: str) -> dict[str, Candidate]:
    return {n: Candidate(n, [], members=("lstm", "ets") if "+" in n else ()) for n in names}


def test_an_lstm_win_inside_the_noise_loses_to_the_classical_forecast() -> None:
    errors = {"ets": _errors(1.00, 0.5, seed=1), "lstm": _errors(0.97, 0.5, seed=2)}
    rec = recommend(errors, _cands("ets", "lstm"))
    assert rec.val_scores["lstm"] < rec.val_scores["ets"]  # the LSTM validates better ...
    assert rec.model == "ets" and rec.pvalue >= 0.05  # ... but not beyond the noise
    assert "within the noise" in rec.reason


def test_a_clear_lstm_win_is_taken() -> None:
    errors = {"ets": _errors(1.0, 0.05, origins=10, seed=1), "lstm": _errors(0.6, 0.05, origins=10, seed=2)}
    rec = recommend(errors, _cands("ets", "lstm"))
    assert rec.model == "lstm" and rec.pvalue < 0.05 and "significant" in rec.reason


def test_many_series_pool_their_evidence_series_by_series() -> None:
    # Each series alone is too noisy to tell; 200 series with the same small edge are not.
    ref, new = _errors(1.0, 0.3, series=200, seed=1), _errors(0.95, 0.3, series=200, seed=2)
    alone = recommend({"ets": ref[:1], "lstm+ets": new[:1]}, _cands("ets", "lstm+ets"), series_significance=0.05)
    # Alone, not significant: lstm+ets is then taken as the hedge of the LSTM and ets, not as a win.
    assert alone.pvalue >= 0.05 and alone.model == "lstm+ets" and "hedges between them" in alone.reason
    rec = recommend({"ets": ref, "lstm+ets": new}, _cands("ets", "lstm+ets"))
    assert rec.model == "lstm+ets" and rec.pvalue < 0.05


def test_the_reference_is_the_best_classical_candidate_combinations_included() -> None:
    errors = {"ets": _errors(1.0, 0.01), "theta": _errors(1.1, 0.01), "comb": _errors(0.9, 0.01),
              "lstm": _errors(2.0, 0.01)}
    rec = recommend(errors, _cands("ets", "theta", "comb", "lstm"))
    assert rec.model == "comb" and rec.reference == "comb" and rec.challenger == "lstm" and rec.pvalue == 1.0


def test_combinations_average_their_members_origin_by_origin() -> None:
    f = {n: Candidate(n, [np.full(H, v), np.full(H, v + 1)], [np.full(H, v)], np.full(H, v))
         for n, v in (("ets", 1.0), ("arima", 2.0), ("theta", 6.0), ("lstm", 10.0))}
    out = with_combinations(f, "ets")
    np.testing.assert_allclose(out["comb"].val[1], np.full(H, 4.0))  # (2 + 3 + 7) / 3
    np.testing.assert_allclose(out["lstm+ets"].future, np.full(H, 5.5))
    assert out["lstm+ets"].has_lstm and not out["comb"].has_lstm
    assert "comb" not in with_combinations({n: f[n] for n in ("ets", "lstm")}, "ets")  # needs all three
    assert mean_of("x", [f["ets"]]).members == ("ets",)


def test_conformal_quantiles_by_hand() -> None:
    # 9 origins, one step: the 80% quantile is the ceil(10 * 0.8) = 8th smallest score.
    scores = np.arange(1.0, 10.0)[:, None]
    assert conformal_quantiles(scores, [0.8, 0.5]).tolist() == [[8.0], [5.0]]  # and ceil(10 * 0.5) = 5th
    assert conformal_quantiles(scores, [0.9]).tolist() == [[9.0]]


def test_equal_weights_change_nothing() -> None:
    scores = np.abs(np.random.default_rng(1).standard_normal((23, H)))
    levels = [0.5, 0.8, 0.95, 0.99]  # 0.99: (n + 1) L > n, the pooled fallback
    np.testing.assert_array_equal(conformal_quantiles(scores, levels, np.full(23, 0.25)),
                                  conformal_quantiles(scores, levels))


def test_pooled_quantiles_weigh_every_series_the_same() -> None:
    from growlstm.verdict.advice import SeriesAdvice, quantiles

    # A long series with 9 small errors, a short one with 1 large: origins as units, the 80%
    # quantile is the long series' error; series as units (each test span is one origin), the
    # short series' error is half the weight and the quantile must reach it.
    long = SeriesAdvice("long", {}, {"ets": np.ones((9, 1))}, 1.0)
    short = SeriesAdvice("short", {}, {"ets": np.full((1, 1), 10.0)}, 1.0)
    assert conformal_quantiles(np.vstack([np.ones((9, 1)), [[10.0]]]), [0.8]).tolist() == [[1.0]]
    assert quantiles([long, short], "ets", [80]).tolist() == [[10.0]]
    assert quantiles([long], "ets", [80]).tolist() == [[1.0]]  # one series: its origins are the units


def test_too_few_origins_borrow_from_every_step_by_sqrt_k() -> None:
    scores = np.array([[1.0, 2.0, 3.0, 4.0]])  # one origin: no per-step quantile at 95%
    q = conformal_quantiles(scores, [0.95])
    pooled = np.sort(scores[0] / np.sqrt([1, 2, 3, 4]))
    np.testing.assert_allclose(q[0], pooled[-1] * np.sqrt([1, 2, 3, 4]))


def test_intervals_are_nested_and_contain_the_point() -> None:
    rng = np.random.default_rng(0)
    q = conformal_quantiles(np.abs(rng.standard_normal((30, H))), [0.8, 0.95])
    point = np.array([10.0, 11.0, 12.0, 13.0])
    cols = pd.DataFrame(interval_columns("recommended", point, 2.0, q, [80, 95]))
    assert list(cols.columns) == ["recommended-lo-80", "recommended-hi-80", "recommended-lo-95", "recommended-hi-95"]
    assert (cols["recommended-lo-95"] <= cols["recommended-lo-80"]).all()
    assert (cols["recommended-lo-80"] <= point).all() and (point <= cols["recommended-hi-80"]).all()
    assert (cols["recommended-hi-80"] <= cols["recommended-hi-95"]).all()


@pytest.mark.parametrize("levels", [[80, 95], [50, 80, 99]])
def test_a_forecast_csv_holds_recommended_and_every_candidate_with_intervals(levels: list[int], tmp_path) -> None:
    import json

    from growlstm import grow, load
    from growlstm.config import Config, DataConfig, ForecastConfig, GrowthConfig, TrainerConfig

    config = Config(data=DataConfig(name="nile"), trainer=TrainerConfig(max_epochs=3, early_stopping_patience=2),
                    growth=GrowthConfig(seeds=2, max_stages=2), baselines=["naive", "ets", "arima", "theta"],
                    forecast=ForecastConfig(levels=levels))
    grow(load(config.data), config, run_dir=tmp_path)
    frame = pd.read_csv(tmp_path / "forecast.csv")
    rec = json.loads((tmp_path / "summary.json").read_text())["recommendation"]
    assert frame.columns[:3].tolist() == ["ds", "step", "recommended"]
    pair = next(c for c in frame.columns if c.startswith("lstm+") and "-" not in c)
    for name in ["recommended", "lstm", "naive", "ets", "arima", "theta", "comb", pair]:
        for level in levels:
            lo, hi = frame[f"{name}-lo-{level}"], frame[f"{name}-hi-{level}"]
            assert (lo <= frame[name]).all() and (frame[name] <= hi).all()
        for narrow, wide in zip(levels, levels[1:]):
            assert (frame[f"{name}-lo-{wide}"] <= frame[f"{name}-lo-{narrow}"]).all()
            assert (frame[f"{name}-hi-{narrow}"] <= frame[f"{name}-hi-{wide}"]).all()
    np.testing.assert_allclose(frame["recommended"], frame[rec["model"]])
    assert rec["reason"] and set(rec["val_scores"]) >= {"lstm", "ets", "comb", pair}


def test_the_path_goes_from_the_combination_to_the_lstm_one_significant_gate_at_a_time() -> None:
    names = ("ets", "arima", "theta", "comb", "lstm+ets", "lstm")
    cands = {n: Candidate(n, [], members=("lstm", "ets") if n == "lstm+ets" else ("ets", "arima", "theta") if n == "comb" else ())
             for n in names}
    e = {"ets": _errors(0.99, 0.3, 50, seed=1), "arima": _errors(1.2, 0.3, 50, seed=2),
         "theta": _errors(1.1, 0.3, 50, seed=3), "comb": _errors(1.0, 0.3, 50, seed=4),
         "lstm+ets": _errors(0.8, 0.3, 50, seed=5), "lstm": _errors(0.79, 0.3, 50, seed=6)}
    rec = recommend(e, cands)
    # ets validates a little better than comb, not significantly: comb stays; the pair beats it
    # clearly; the LSTM alone edges the pair within the noise: the pair is recommended.
    assert rec.reference == "comb" and rec.model == "lstm+ets" and rec.challenger == "lstm" and rec.pvalue >= 0.05
    e["ets"] = _errors(0.7, 0.3, 50, seed=1)  # now a single model clearly beats the combination
    assert recommend(e, cands).reference == "ets"


def test_a_baseline_that_failed_on_a_few_series_still_takes_part_in_the_decision() -> None:
    from growlstm.verdict.advice import SeriesAdvice, decide, shared_candidates

    # 20 series: ARIMA validates far better than the LSTM but failed on 2 of them.
    arima, lstm, naive = _errors(0.5, 0.05, 20, seed=1), _errors(0.8, 0.05, 20, seed=2), _errors(1.0, 0.05, 20, seed=3)
    advice = []
    for k in range(20):
        errors = {"lstm": lstm[k], "naive": naive[k], **({"arima": arima[k]} if k >= 2 else {})}
        advice.append(SeriesAdvice(f"s{k}", {n: Candidate(n, []) for n in errors}, errors, 1.0))
    names, usable = shared_candidates(advice)
    assert names == ["arima", "lstm", "naive"] and [a.uid for a in usable] == [f"s{k}" for k in range(2, 20)]
    rec = decide(advice, 0.05, 0.3)
    assert rec.model == "arima" and rec.reference == "arima"  # not "lstm beats naive" on all 20
    # A candidate most series lack is left out rather than the series.
    for a in advice[:5]:
        a.candidates.pop("naive"), a.errors.pop("naive")
    names, usable = shared_candidates(advice)
    assert names == ["arima", "lstm"] and len(usable) == 18


def test_goal_met_on_validation_is_claimed_only_beyond_the_noise() -> None:
    from growlstm.baselines.backtesting import BaselineResult
    from growlstm.verdict.goal import Goal

    rng = np.random.default_rng(0)
    actuals = [rng.normal(100, 1, H) for _ in range(3)]
    # Naive scale 1 (MASE = mean absolute error); origins H apart: paths that do not overlap.
    histories = [np.arange(50.0 + H * k) for k in range(3)]
    base = BaselineResult("ets", val_forecasts=[a + rng.choice([-1.0, 1.0], H) for a in actuals])  # MASE 1.0
    goal = Goal("mase", None, 0.05, "ets", base, True)  # threshold 0.95
    # Just under the threshold on the mean, with errors as noisy as the baseline's: not claimed.
    close = [a + rng.choice([-1, 1], H) * rng.uniform(0.3, 1.5, H) for a in actuals]
    assert np.mean(np.abs(np.stack(close) - np.stack(actuals))) < 0.95
    assert goal.claim_pvalue(close, actuals, histories, 1) >= 0.05
    # Clearly under it: claimed.
    clear = [a + rng.choice([-0.3, 0.3], H) for a in actuals]
    assert goal.claim_pvalue(clear, actuals, histories, 1) < 0.05
    # An absolute target is tested against the target itself.
    target = Goal("mase", 0.5, 0.05, None, None, False)
    assert target.claim_pvalue(clear, actuals, histories, 1) < 0.05
    assert target.claim_pvalue(close, actuals, histories, 1) > 0.5


def test_goal_evidence_origin_by_origin_and_its_carry_over_check() -> None:
    from growlstm.baselines.backtesting import BaselineResult
    from growlstm.verdict.goal import Goal, carry_over

    histories = [np.arange(50.0) for _ in range(3)]  # naive scale 1: MASE = mean absolute error
    actuals = [np.full(H, 100.0) for _ in range(3)]
    lstm = [a + e for a, e in zip(actuals, (0.4, 0.45, 0.6))]  # one error per origin, every step
    target = Goal("mase", 0.5, 0.05, None, None, False)
    np.testing.assert_allclose(target.origin_ratios(lstm, actuals, histories, 1), [0.8, 0.9, 1.2])
    # Against the best baseline: its errors times (1 - margin) are the bar at each origin.
    base = BaselineResult("ets", val_forecasts=[a + e for a, e in zip(actuals, (1.0, 0.5, 2.0))])
    relative = Goal("mase", None, 0.05, "ets", base, True)
    np.testing.assert_allclose(relative.origin_ratios(lstm, actuals, histories, 1),
                               [0.4 / 0.95, 0.45 / 0.475, 0.6 / 1.9])
    assert Goal("mase", None, 0.05, None, None, False).origin_ratios(lstm, actuals, histories, 1) is None  # no goal
    # The check: series meeting the goal at their first origin, and whether they still do at the last.
    held, lost, never = np.array([0.9, 1.5, 0.8]), np.array([0.9, 0.7, 1.1]), np.array([1.2, 0.5, 0.5])
    check = carry_over([held] * 8 + [lost] * 4 + [never] * 5 + [None, np.array([0.5])])
    assert (check.claimed, check.held) == (12, 8) and check.withholds  # 8 of 12 < 80%
    check = carry_over([held] * 9 + [lost] * 2 + [never])
    assert (check.claimed, check.held) == (11, 9) and not check.withholds  # 82%
    assert carry_over([held, held, lost]).withholds  # 2 of 3: a guess, even on few series
    assert not carry_over([never, None]).withholds  # nothing claimed at a first origin: nothing against


def test_dm_without_overlap_is_the_one_sample_t_test_on_origin_means() -> None:
    from scipy import stats

    from growlstm.verdict.significance import dm_pvalue

    rng = np.random.default_rng(3)
    ref, new = rng.normal(1.0, 0.3, (8, H)), rng.normal(0.8, 0.3, (8, H))
    expected = stats.ttest_1samp(ref.mean(axis=1) - new.mean(axis=1), 0.0, alternative="greater").pvalue
    assert dm_pvalue(ref, new) == pytest.approx(expected, rel=1e-9)


def test_path_overlap_counts_the_later_origins_that_share_targets() -> None:
    from growlstm.verdict.significance import path_overlap

    assert path_overlap([100, 105, 110], 13) == 2  # 5 apart: the next two paths share targets
    assert path_overlap([100, 113, 126], 13) == 0  # h apart: none
    assert path_overlap([100], 13) == 0


def test_dm_on_overlapping_origins_rejects_equal_models_less_often_than_independent_origins() -> None:
    # Two equally good models; the loss difference belongs to the target, so origins 5 apart
    # with h = 13 share most of their targets (M4 weekly's validation layout: 9 origins).
    from growlstm.verdict.significance import dm_pvalue, path_overlap

    h, origins = 13, np.arange(9) * 5
    overlap = path_overlap(origins, h)
    rng = np.random.default_rng(0)
    draws = [rng.standard_normal(origins[-1] + h) for _ in range(600)]
    paths = [np.stack([1 + e[o:o + h] for o in origins]) for e in draws]
    ones = np.ones((len(origins), h))
    rate = np.mean([dm_pvalue(p, ones, overlap) < 0.05 for p in paths])
    independent = np.mean([dm_pvalue(p, ones, 0) < 0.05 for p in paths])  # the overlap ignored
    # Nine overlapping origins are little evidence: still above the nominal 5%, far closer to it.
    assert rate < 0.13 and rate < 0.7 * independent


def test_one_series_decides_at_the_series_level_and_a_panel_at_the_panel_level() -> None:
    one = {"ets": _errors(1.0, 0.3, origins=9, seed=1), "lstm": _errors(0.9, 0.3, origins=9, seed=2)}
    rec = recommend(one, _cands("ets", "lstm"))
    assert rec.significance == 0.3 and 0 < rec.pvalue < 1
    p = rec.pvalue
    assert recommend(one, _cands("ets", "lstm"), series_significance=p * 1.01).model == "lstm"
    assert recommend(one, _cands("ets", "lstm"), series_significance=p * 0.99).model == "ets"
    assert recommend(one, _cands("ets", "lstm"), significance=p * 1.01, series_significance=p * 0.99).model == "ets"
    panel = {"ets": _errors(1.0, 0.3, series=20, seed=1), "lstm": _errors(0.9, 0.3, series=20, seed=2)}
    assert recommend(panel, _cands("ets", "lstm")).significance == 0.05


def test_the_reason_says_why_comb_stays_when_a_single_model_scored_better() -> None:
    # One validation origin (as on a short series' shrunk layout): no test can weigh arima's edge,
    # so the hedge stays, and the reason must say so rather than call comb the best.
    errors = {"arima": _errors(0.5, 0.1, origins=1, seed=1), "ets": _errors(4.0, 0.1, origins=1, seed=2),
              "theta": _errors(0.9, 0.1, origins=1, seed=3), "comb": _errors(1.6, 0.1, origins=1, seed=4)}
    rec = recommend(errors, _cands("arima", "ets", "theta", "comb"), series_significance=0.3)
    assert rec.model == "comb"
    assert "arima validates" in rec.reason and "not significantly" in rec.reason and "too few to test" in rec.reason
    assert "comb validates best" not in rec.reason and "; 1 validation origin:" in rec.reason
    # Three origins whose paths overlap two ahead (M1's local layout) give the test no power either.
    three = {n: _errors(v, 0.1, origins=3, seed=s) for n, v, s in (("arima", 0.5, 1), ("ets", 4.0, 2),
                                                                    ("theta", 0.9, 3), ("comb", 1.6, 4))}
    rec = recommend(three, _cands("arima", "ets", "theta", "comb"), series_significance=0.3, overlap=2)
    assert rec.model == "comb" and "3 validation origins with overlapping paths: too few to test" in rec.reason
    # With evidence (many origins) the same edge is taken, and nothing says the test was empty.
    errors = {n: _errors(v, 0.05, origins=12, seed=s) for n, v, s in (("arima", 0.5, 1), ("ets", 4.0, 2),
                                                                       ("theta", 0.9, 3), ("comb", 1.6, 4))}
    rec = recommend(errors, _cands("arima", "ets", "theta", "comb"), series_significance=0.3)
    assert rec.model == "arima" and "too few" not in rec.reason
