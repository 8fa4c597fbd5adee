"""The hedge (issue 42): where a challenger is better or worse within the noise, the
recommendation takes its combination with the reference; scripted validation histories."""

from __future__ import annotations

import numpy as np

from growlstm.verdict.recommend import Candidate, recommend, with_combinations

H = 4


def _errors(level: float, noise: float, series: int = 1, origins: int = 3, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.abs(level + noise * rng.standard_normal((origins, H))) for _ in range(series)]


# The hedge (issue 42): the rule on scripted validation histories of a 40-series panel.
HEDGE_NAMES = ("ets", "arima", "theta", "comb", "lstm", "lstm+ets", "lstm+comb")


def _hedge_cands() -> dict[str, Candidate]:
    members = {"comb": ("ets", "arima", "theta"), "lstm+ets": ("lstm", "ets"), "lstm+comb": ("lstm", "comb")}
    return {n: Candidate(n, [], members=members.get(n, ())) for n in HEDGE_NAMES}


def _panel(lstm: float, noise: float, series: int = 40) -> dict[str, list[np.ndarray]]:
    """Scaled validation errors: comb best classical (1.0), the LSTM at ``lstm``, lstm+ets
    between, lstm+comb a little better than both (averaging cancels part of the errors)."""
    levels = {"ets": 1.1, "arima": 1.2, "theta": 1.15, "comb": 1.0, "lstm": lstm, "lstm+ets": (lstm + 1.1) / 2,
              "lstm+comb": (lstm + 1.0) / 2 - 0.02}
    return {n: _errors(v, noise, series=series, seed=k) for k, (n, v) in enumerate(levels.items())}


def test_a_challenger_better_within_the_noise_gets_the_combination() -> None:
    rec = recommend(_panel(0.98, 0.8), _hedge_cands())
    assert rec.val_scores["lstm+ets"] < rec.val_scores["comb"] and rec.pvalue >= 0.05
    assert rec.model == "lstm+comb" and rec.reference == "comb" and rec.challenger == "lstm+ets"
    assert "better than comb" in rec.reason and "within the noise" in rec.reason
    assert "lstm+comb, the combination of the LSTM and comb" in rec.reason and "classical forecast" not in rec.reason
    assert f"{rec.val_scores['lstm+comb']:.3f}" in rec.reason  # the numbers the case rests on


def test_a_challenger_worse_beyond_the_noise_keeps_the_classical_forecast() -> None:
    rec = recommend(_panel(1.6, 0.05), _hedge_cands())
    assert rec.model == "comb" and rec.challenger == "lstm+ets"
    assert "worse than comb" in rec.reason and "beyond the noise" in rec.reason and "stays" in rec.reason


def test_a_challenger_worse_within_the_noise_still_gets_the_combination() -> None:
    rec = recommend(_panel(1.1, 0.8), _hedge_cands())
    assert rec.val_scores["lstm+ets"] > rec.val_scores["comb"]
    assert rec.model == "lstm+comb" and "worse than comb" in rec.reason and "within the noise" in rec.reason


def test_a_challenger_better_beyond_the_noise_is_taken() -> None:
    rec = recommend(_panel(0.5, 0.05), _hedge_cands())
    assert rec.model == "lstm" and "significant" in rec.reason and "lstm+comb" not in rec.reason


def test_the_combination_averages_the_lstm_and_comb_at_every_origin() -> None:
    f = {n: Candidate(n, [np.full(H, v), np.full(H, v + 3)], [np.full(H, v)] * 2, np.full(H, v))
         for n, v in (("ets", 1.0), ("arima", 2.0), ("theta", 6.0), ("lstm", 11.0))}
    hedge = with_combinations(f, "ets")["lstm+comb"]
    assert hedge.members == ("lstm", "comb") and hedge.has_lstm
    assert [v.shape for v in hedge.val] == [(H,)] * 2 and len(hedge.test) == 2 and hedge.future.shape == (H,)
    np.testing.assert_allclose(hedge.val[1], np.full(H, (14.0 + 6.0) / 2))  # lstm 14, comb (4 + 5 + 9) / 3
    assert "lstm+comb" not in with_combinations({n: f[n] for n in ("ets", "arima", "theta")}, "ets")  # no LSTM


def test_the_combination_gets_its_own_calibrated_intervals() -> None:
    from growlstm.verdict.advice import SeriesAdvice, quantiles
    from growlstm.verdict.recommend import scaled_errors

    # 300 series; the LSTM and comb err independently, so their mean errs less than either and
    # its intervals, calibrated on its own validation errors, are narrower and still cover.
    rng = np.random.default_rng(3)
    advice, tests = [], []
    for k in range(300):
        truth = [rng.normal(10, 1, H) for _ in range(4)]  # 3 validation origins, 1 test
        singles = {n: Candidate(n, [t + rng.normal(0, 1, H) for t in truth[:3]], [truth[3] + rng.normal(0, 1, H)])
                   for n in ("ets", "arima", "theta", "lstm")}
        cands = with_combinations(singles, "ets")
        errors = {n: scaled_errors(c.val, truth[:3], 1.0) for n, c in cands.items()}
        advice.append(SeriesAdvice(str(k), cands, errors, 1.0))
        tests.append((truth[3], cands["lstm+comb"].test[0]))
    q = quantiles(advice, "lstm+comb", [80, 95])
    assert q.shape == (2, H) and (q[1] >= q[0]).all()
    assert (q < quantiles(advice, "lstm", [80, 95])).all()
    for i, level in enumerate((0.80, 0.95)):
        inside = np.mean([np.abs(t - f) <= q[i] for t, f in tests])
        assert abs(inside - level) < 0.03


def test_the_combination_is_judged_on_validation_only() -> None:
    from growlstm.verdict.advice import SeriesAdvice, decide
    from growlstm.verdict.recommend import scaled_errors

    # Every test forecast and future replaced by garbage: the decision, its scores and the
    # combination's validation forecasts do not move (no weight or choice reads the test span).
    def panel(garbage: bool) -> list[SeriesAdvice]:
        rng_k = np.random.default_rng(7)
        out = []
        for k in range(30):
            truth = [rng_k.normal(10, 1, H) for _ in range(3)]
            singles = {}
            for n, s in (("ets", 1.0), ("arima", 1.0), ("theta", 1.0), ("lstm", 0.9)):
                val, test = [t + rng_k.normal(0, s, H) for t in truth[:2]], truth[2] + rng_k.normal(0, s, H)
                singles[n] = Candidate(n, val, [test + 1e6 if garbage else test], np.full(H, -1e6) if garbage else truth[2])
            cands = with_combinations(singles, "ets")
            out.append(SeriesAdvice(str(k), cands, {n: scaled_errors(c.val, truth[:2], 1.0) for n, c in cands.items()}, 1.0))
        return out

    clean, spoiled = decide(panel(False), 0.05, 0.3), decide(panel(True), 0.05, 0.3)
    assert clean.model == spoiled.model and clean.val_scores == spoiled.val_scores and clean.reason == spoiled.reason


def test_a_panel_reports_how_often_a_per_series_choice_would_differ() -> None:
    from growlstm.records.report import per_series_line
    from growlstm.verdict.advice import SeriesAdvice, decide

    # 40 series: 20 where the LSTM is far better, 20 where it is far worse; the panel decides once.
    advice = []
    for k in range(40):
        good = k < 20
        errs = {n: np.full((6, H), 1.0 + 0.01 * j) + np.random.default_rng(k * 10 + j).normal(0, 0.01, (6, H))
                for j, n in enumerate(HEDGE_NAMES)}
        errs["lstm"] = errs["lstm"] * (0.3 if good else 3.0)
        errs["lstm+ets"] = (errs["lstm"] + errs["ets"]) / 2
        errs["lstm+comb"] = (errs["lstm"] + errs["comb"]) / 2
        advice.append(SeriesAdvice(str(k), _hedge_cands(), errs, 1.0))
    rec = decide(advice, 0.05, 0.3)
    check = rec.per_series
    assert check["series"] == 40 and 0 < check["changed"] <= 40 and sum(check["to"].values()) == check["changed"]
    assert rec.model not in check["to"]
    line = per_series_line(check, rec.model)
    assert f"{check['changed']} of 40 series" in line and rec.model in line
    assert rec.as_dict()["per_series"] == check
    assert decide(advice[:1], 0.05, 0.3).per_series is None  # one series: nothing to compare
