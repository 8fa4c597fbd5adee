"""The recommendation of a run: candidates built from the searched LSTM and the baselines of each
series, the rule of ``growlstm.verdict.recommend`` applied, and every candidate's test scores and
forecast with its conformal intervals (what forecast.csv, summary.json and series.csv show).

One series decides on its own validation errors. Many series in one global model decide once,
on the validation errors of all series pooled (each scaled by its own series), and every series
follows that decision: per series, one to three origins are too little evidence, a panel is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence

import numpy as np

from growlstm import metrics
from growlstm.baselines.backtesting import BaselineResult, mean_scores, score_at
from growlstm.verdict.recommend import (
    Candidate, Recommendation, conformal_quantiles, interval_columns, recommend, scaled_errors, with_combinations,
)
from growlstm.verdict.significance import path_overlap
from growlstm.data.windows import SeriesWindows

@dataclass
class SeriesAdvice:
    """One series' candidates and what became of them."""

    uid: str
    candidates: dict[str, Candidate]
    errors: dict[str, np.ndarray]  # scaled validation errors per candidate, (origins, h)
    scale: float
    val: dict[str, dict[str, float]] = field(default_factory=dict)  # candidate -> validation metrics
    test: dict[str, dict[str, float]] = field(default_factory=dict)  # candidate -> test metrics
    overlap: int = 0  # validation origins whose paths share targets with one origin's (significance.path_overlap)
    # Where the candidates' forecasts were floored (``series_floors``): validation and test, future.
    floors: tuple[Optional[float], Optional[float]] = (None, None)


def series_scale(win: SeriesWindows) -> float:
    """The series' error unit: MASE's in-sample naive error before the first validation origin
    (mean absolute value, or 1, when that is zero)."""
    return history_scale(win.history(int(win.val_origins[0])), win.season_length)


def history_scale(history: np.ndarray, season_length: int) -> float:
    """``series_scale`` of the data before an origin (``growlstm.records.forecaster`` takes it again
    on newer data)."""
    scale = metrics.mase_scale(history, season_length) if history.size >= 2 else 0.0
    if not scale or not math.isfinite(scale):
        scale = float(np.mean(np.abs(history))) or 1.0
    return scale


def forecast_floor(y: np.ndarray, nonnegative: Optional[bool]) -> Optional[float]:
    """The floor under forecasts made from the data ``y`` (``forecast.nonnegative``): 0.0 or None.
    Auto (None): 0.0 when no value of ``y`` is negative. Why floor at all: a trend model run past
    a falling series' end can forecast negative sales; for a non-negative target the floored
    forecast is never further from the truth, in any of the M4 metrics."""
    if nonnegative is None:
        return 0.0 if len(y) and float(np.nanmin(y)) >= 0 else None
    return 0.0 if nonnegative else None


def series_floors(win: SeriesWindows, nonnegative: Optional[bool]) -> tuple[Optional[float], Optional[float]]:
    """(the floor of the validation and test forecasts, that of the future forecast): the first
    judged from the data before the validation span only (what the models were fitted on, so the
    sign of later values does not leak into the scores), the second from all the data."""
    return forecast_floor(win.history(int(win.val_origins[0])), nonnegative), forecast_floor(win.y, nonnegative)


def floored(cand: Candidate, floors: tuple[Optional[float], Optional[float]]) -> Candidate:
    """``cand`` with its validation and test forecasts no lower than ``floors[0]``, its future
    forecast no lower than ``floors[1]`` (None: as made)."""
    def clip(f: np.ndarray, floor: Optional[float]) -> np.ndarray:
        return f if floor is None else np.maximum(f, floor)

    past, ahead = floors
    return replace(cand, val=[clip(f, past) for f in cand.val], test=[clip(f, past) for f in cand.test],
                   future=None if cand.future is None else clip(cand.future, ahead))


def delivered(singles: dict[str, Candidate], best: Optional[str],
              floors: tuple[Optional[float], Optional[float]]) -> dict[str, Candidate]:
    """Every candidate as forecast.csv delivers it: the single models and their combinations
    (``with_combinations``), each floored (``floored``) after averaging, since flooring the
    members first could move an average away from a true value below it. ``predict`` rebuilds
    its candidates here too, so a run and its replay agree."""
    return {n: floored(c, floors) for n, c in with_combinations(singles, best).items()}


def best_classical(baselines: dict[str, BaselineResult], metric: str) -> Optional[str]:
    scored = [(b.val[metric], n) for n, b in baselines.items() if b.ok and math.isfinite(b.val.get(metric, math.nan))]
    return min(scored)[1] if scored else None


def series_advice(
    win: SeriesWindows, baselines: dict[str, BaselineResult], lstm: Optional[Candidate], metric: str = "mase",
    best: Optional[str] = None, nonnegative: Optional[bool] = False,
) -> SeriesAdvice:
    """The candidates of one series: its baselines that forecast every origin, the LSTM, and the
    combinations (``lstm+<best>`` with ``best``, by default this series' best baseline), their
    forecasts floored at zero as ``nonnegative`` (``forecast.nonnegative``) says (``series_floors``)."""
    floors = series_floors(win, nonnegative)
    singles = {
        n: Candidate(n, list(b.val_forecasts), list(b.test_forecasts), b.future)
        for n, b in baselines.items()
        if b.ok and len(b.val_forecasts) == len(win.val_origins) and len(b.test_forecasts) == len(win.test_origins)
    }
    if lstm is not None:
        singles["lstm"] = lstm
    best = best if best in singles else best_classical({n: baselines[n] for n in singles if n in baselines}, metric)
    candidates = delivered(singles, best, floors)
    scale = series_scale(win)
    actuals = [win.actuals(int(o)) for o in win.val_origins]
    errors = {n: scaled_errors(c.val, actuals, scale) for n, c in candidates.items()}
    advice = SeriesAdvice(win.uid, candidates, errors, scale, overlap=path_overlap(win.val_origins, win.h),
                          floors=floors)
    for name, cand in candidates.items():
        advice.val[name] = mean_scores([score_at(win, int(o), f) for o, f in zip(win.val_origins, cand.val)])
        if cand.test:
            advice.test[name] = mean_scores([score_at(win, int(o), f) for o, f in zip(win.test_origins, cand.test)])
    return advice


# Share of the series a many-series decision must rest on (see ``shared_candidates``).
DECISION_SHARE = 0.9


def shared_candidates(advice: Sequence[SeriesAdvice], share: float = DECISION_SHARE) -> tuple[list[str], list[SeriesAdvice]]:
    """The candidates a many-series decision compares, and the series it rests on (those that
    have all of them): every candidate, less the ones fewest series have, until at least
    ``share`` of the series have all that remain. Why: a baseline that failed on a few series
    (ARIMA on 4 of 181 M1 yearly ones) must not drop out of the decision for all of them."""
    counts = {n: sum(n in a.candidates for a in advice) for n in set().union(*(a.candidates for a in advice))}
    names = sorted(counts, key=lambda n: (-counts[n], n))
    while True:
        usable = [a for a in advice if all(n in a.candidates for n in names)]
        if len(names) == 1 or len(usable) >= share * len(advice):
            return sorted(names), usable
        names.pop()


def decide(advice: Sequence[SeriesAdvice], significance: float, series_significance: float) -> Recommendation:
    """One recommendation from the pooled validation errors of ``advice`` (one or many series),
    among the candidates nearly every series has (``shared_candidates``; many series share one
    ``lstm+<best>`` partner). A series that lacks the chosen model follows ``series_choice``."""
    names, usable = shared_candidates(advice)
    errors = {n: [a.errors[n] for a in usable] for n in names}
    rec = recommend(errors, {n: usable[0].candidates[n] for n in names}, significance, series_significance,
                    overlap=max(a.overlap for a in usable))
    if len(usable) < len(advice):
        rec.reason += f"; decided on the {len(usable)} of {len(advice)} series that have every candidate compared"
    if len(usable) > 1:
        rec.per_series = per_series_check(usable, names, rec, significance, series_significance)
    return rec


def per_series_check(usable: Sequence[SeriesAdvice], names: Sequence[str], rec: Recommendation, significance: float,
                     series_significance: float) -> dict[str, object]:
    """How often a per-series choice (the same rule on one series' validation errors alone)
    would have changed the panel's decision: reported, not used, since one series' 1-3 origins
    are noisy evidence (issue 42: switch only where a benchmark shows it pays)."""
    own: dict[str, int] = {}
    for a in usable:
        mine = recommend({n: [a.errors[n]] for n in names}, {n: a.candidates[n] for n in names}, significance,
                         series_significance, overlap=a.overlap).model
        if mine != rec.model:
            own[mine] = own.get(mine, 0) + 1
    return {"series": len(usable), "changed": sum(own.values()),
            "to": dict(sorted(own.items(), key=lambda kv: -kv[1]))}


def per_series_line(check: Optional[dict[str, Any]], model: str) -> str:
    """The console's line for ``per_series_check`` ("" without one)."""
    if not check:
        return ""
    to = ", ".join(f"{m} x{k}" for m, k in check["to"].items())
    return (f"per-series choice (each series' validation errors alone, not used): would differ from {model} on "
            f"{check['changed']} of {check['series']} series" + (f" ({to})" if to else ""))


def quantiles(advice: Sequence[SeriesAdvice], model: str, levels: Sequence[int]) -> np.ndarray:
    """Conformal quantiles of ``model``'s scaled validation errors, pooled over the series.

    Each series weighs the same, whatever its number of validation origins: its test span is one
    origin, as every other series' is, so a long series with many origins must not stand in
    for the short ones (on M1 they differ: see README, What to use)."""
    errors = [a.errors[model] for a in advice if len(a.errors.get(model, ()))]
    weights = np.concatenate([np.full(len(e), 1.0 / len(e)) for e in errors])
    return conformal_quantiles(np.concatenate(errors), [lv / 100 for lv in levels], weights)


def series_choice(advice: SeriesAdvice, rec: Recommendation) -> str:
    """The recommended model where this series has it; else the reference (the best classical
    forecast of the decision); else what validates best on this series."""
    scores = {n: float(e.mean()) for n, e in advice.errors.items()}
    return first_available(advice.candidates, (rec.model, rec.reference), scores)  # type: ignore[return-value]


def first_available(available: Any, preferred: Sequence[Optional[str]], scores: dict[str, float]) -> Optional[str]:
    """The first of ``preferred`` that is ``available``; else the available one with the lowest
    validation score (None when nothing is available)."""
    for name in preferred:
        if name in available:
            return name
    return min(available, key=lambda n: scores.get(n, math.inf)) if available else None


def forecast_columns(
    advice: SeriesAdvice, rec: Recommendation, levels: Sequence[int], q: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """forecast.csv's columns for one series: recommended first, then every candidate, each with
    its intervals (``<name>-lo-<L>``, ``<name>-hi-<L>``)."""
    futures = {n: c.future for n, c in advice.candidates.items()}
    return future_columns(series_choice(advice, rec), futures, advice.scale, q, levels, advice.floors[1])


def future_columns(choice: str, futures: dict[str, Optional[np.ndarray]], scale: float, q: dict[str, np.ndarray],
                   levels: Sequence[int], floor: Optional[float] = None) -> dict[str, np.ndarray]:
    """``forecast_columns`` from the recommended model's name and every candidate's future
    (intervals no lower than ``floor``)."""
    cols: dict[str, np.ndarray] = {}
    for label, name in [("recommended", choice), *((n, n) for n in futures)]:
        future = futures.get(name)
        if future is None or name not in q:
            continue
        cols[label] = future
        cols |= interval_columns(label, future, scale, q[name], levels, floor)
    return cols


def coverage(win: SeriesWindows, cand: Candidate, scale: float, q: np.ndarray, levels: Sequence[int],
             floor: Optional[float] = None) -> dict[str, float]:
    """Share of test points inside each interval, and M4's MSIS (at the widest level; scaled
    by the in-sample seasonal naive error of the data before the origin); lower bounds no lower
    than ``floor``, as forecast.csv has them."""
    out: dict[str, float] = {}
    if not cand.test:
        return out
    actual = np.concatenate([win.actuals(int(o)) for o in win.test_origins])
    point = np.concatenate(cand.test)
    widths = {level: np.tile(qi, len(win.test_origins)) * scale for qi, level in zip(q, levels)}
    bounds = {level: (point - w if floor is None else np.maximum(point - w, floor), point + w) for level, w in widths.items()}
    for level, (lo, hi) in bounds.items():
        out[f"coverage_{level}"] = float(np.mean((lo <= actual) & (actual <= hi)))
    level = max(levels)
    (lo, hi), a = bounds[level], 1 - level / 100
    penalty = (hi - lo) + (2 / a) * ((lo - actual) * (actual < lo) + (actual - hi) * (actual > hi))
    insample = metrics.mase_scale(win.history(int(win.test_origins[0])), win.season_length)
    out[f"msis_{level}"] = float(np.mean(penalty) / insample) if insample else math.nan
    return out


def summary_block(rec: Recommendation, advice: SeriesAdvice, q: dict[str, np.ndarray], levels: Sequence[int],
                  win: SeriesWindows) -> dict[str, Any]:
    """summary.json's ``recommendation``: the decision, its evidence, and the test it rests on."""
    model = series_choice(advice, rec)
    chosen = advice.candidates[model]
    return rec.as_dict() | {
        "model": model,  # this series' (the decision's model, unless it failed here)
        "val": advice.val.get(model, {}),
        "test": advice.test.get(model, {}),
        "candidates_val": advice.val,
        "candidates_test": advice.test,
        "intervals": coverage(win, chosen, advice.scale, q[model], levels, advice.floors[0]) if model in q else {},
        "levels": list(levels),
    } | ({"interval_note": note} if (note := coinciding(q.get(model), levels, len(advice.errors.get(model, ())))) else {})


def coinciding(q: Optional[np.ndarray], levels: Sequence[int], origins: int) -> str:
    """A note where two levels' intervals are the same width at some step ("" where none are):
    with few calibration origins the higher level has no larger error to reach, and is nested
    into the lower one's bounds (``conformal_quantiles``)."""
    if q is None or len(levels) < 2:
        return ""
    order = np.argsort(levels)
    notes = []
    for lo, hi in zip(order[:-1], order[1:]):
        same = np.flatnonzero(np.isclose(q[hi], q[lo], rtol=1e-9, atol=0))
        if same.size:
            steps = ", ".join(str(k + 1) for k in same[:6]) + (", ..." if same.size > 6 else "")
            notes.append(f"the {levels[lo]}% and {levels[hi]}% intervals coincide at step{'s' if same.size > 1 else ''} "
                         f"{steps}: {origins} validation origins are too few to tell them apart")
    return "; ".join(notes)
