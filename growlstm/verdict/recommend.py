"""What to use: the recommendation among the LSTM, the baselines and their combinations, with
conformal prediction intervals. Pure numpy: candidates' forecasts in, a decision out.

Candidates. Every model that forecast the validation origins: the chosen LSTM (its seeds' mean),
each classical baseline, ``comb`` (the mean of ETS, ARIMA and Theta, the combination forecasters
have trusted since the M competitions), ``lstm+<best>`` (the LSTM averaged with the classical
baseline that validates best) and ``lstm+comb`` (the LSTM averaged with ``comb``: the hedge).

The rule: a path of significance gates from the most robust forecast to the most specialised.
``comb`` is the classical choice unless the best single classical model validates significantly
better; ``lstm+<best>`` replaces the classical choice only if it validates significantly better;
the LSTM alone replaces ``lstm+<best>`` only if it validates significantly better still. Where
the LSTM-based challenger does not beat the classical choice significantly, the combination of
the LSTM and that choice is recommended (the hedge), unless the challenger validates worse beyond
the noise; then the classical choice stays (``hedge_or_reference``). A test
is one-sided on the validation errors (absolute errors scaled per series) and must give a p-value
below its level: Diebold-Mariano on one series' errors (origins as units, Newey-West variance
over the origins whose paths overlap) at ``series_significance``, or, from ``PANEL`` series on,
a paired t-test of the series' mean errors (series are independent units; the errors within one
are not) at ``significance``. A win that may be luck does not earn the complexity. Why a
significance test rather than the lowest validation score: on short series a handful of
validation origins decide, and the candidate with the lowest score is then often
the luckiest, not the best (issue 15: the validation-chosen baseline scored OWA 1.004 on 38
held-out series, about Naive2).

Intervals (split conformal, per horizon step). The absolute validation errors at step k, divided
by the series' scale (its in-sample naive error, as MASE's), are the conformity scores; the
interval at level L is the point forecast +- the ceil((n + 1) L)-th smallest of the n scores
times the scale. With many series the scores pool across series; one series with too few
origins for a level pools across steps, assuming errors grow like a random walk (sqrt(k)).
They assume that future errors look like validation errors (exchangeability): no regime change,
and a model that forecasts the future no worse than it forecast validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from growlstm.verdict.significance import PANEL, dm_pvalue, hln_factor, panel_pvalue

CLASSICAL_COMB = ("ets", "arima", "theta")
# The LSTM averaged with the classical combination, equal weights: the hedge when the LSTM's
# lead over ``comb`` on validation is within the noise (``recommend``).
HEDGE = "lstm+comb"


@dataclass
class Candidate:
    """One model's forecasts: at each validation origin, each test origin and the future."""

    name: str
    val: list[np.ndarray]
    test: list[np.ndarray] = field(default_factory=list)
    future: Optional[np.ndarray] = None
    members: tuple[str, ...] = ()  # the models it averages (empty: a single model)

    @property
    def has_lstm(self) -> bool:
        return self.name == "lstm" or "lstm" in self.members


def mean_of(name: str, parts: Sequence[Candidate]) -> Candidate:
    """The average of ``parts``' forecasts, origin by origin."""
    def avg(lists: Sequence[list[np.ndarray]]) -> list[np.ndarray]:
        return [np.mean(group, axis=0) for group in zip(*lists)]

    futures = [p.future for p in parts]
    future = np.mean(futures, axis=0) if all(f is not None for f in futures) else None
    return Candidate(name, avg([p.val for p in parts]), avg([p.test for p in parts]), future,
                     tuple(p.name for p in parts))


def with_combinations(singles: dict[str, Candidate], best_classical: Optional[str]) -> dict[str, Candidate]:
    """``singles`` plus ``comb`` (ETS, ARIMA and Theta where all three forecast),
    ``lstm+comb`` (the LSTM with ``comb``, equal weights: ``HEDGE``) and ``lstm+<best>`` (the
    LSTM with the best classical single model on validation). Equal weights, not weights fitted
    on validation: with 1-3 validation origins per series fitted weights are noise, and equal
    weights are the combination that holds up out of sample (the "forecast combination puzzle")."""
    out = dict(singles)
    if all(name in singles for name in CLASSICAL_COMB):
        out["comb"] = mean_of("comb", [singles[n] for n in CLASSICAL_COMB])
        if "lstm" in singles:
            out[HEDGE] = mean_of(HEDGE, [singles["lstm"], out["comb"]])
    if "lstm" in singles and best_classical in singles and best_classical != "lstm":
        out[f"lstm+{best_classical}"] = mean_of(f"lstm+{best_classical}", [singles["lstm"], singles[best_classical]])  # type: ignore[index]
    return out


def scaled_errors(forecasts: Sequence[np.ndarray], actuals: Sequence[np.ndarray], scale: float) -> np.ndarray:
    """Absolute errors per origin and step, in units of the series' scale: shape (origins, h)."""
    return np.abs(np.stack(forecasts) - np.stack(actuals)) / scale


@dataclass
class Recommendation:
    """The model to use, why, and the evidence it rests on."""

    model: str
    reason: str
    val_scores: dict[str, float]  # mean scaled validation error of every candidate (a MASE)
    reference: str  # the best classical candidate on validation
    challenger: Optional[str] = None  # the best candidate with the LSTM in it
    pvalue: Optional[float] = None  # one-sided DM p-value that the challenger beats the reference
    significance: float = 0.05  # the level of the gates that decided
    # Many series: how often each series' own decision (its errors alone) would differ (``per_series_check``).
    per_series: Optional[dict[str, object]] = None

    def as_dict(self) -> dict[str, object]:
        return {"model": self.model, "reason": self.reason, "reference": self.reference,
                "challenger": self.challenger, "pvalue_challenger_better": self.pvalue,
                "significance": self.significance, "val_scores": self.val_scores,
                **({"per_series": self.per_series} if self.per_series is not None else {})}


@dataclass
class _Gates:
    """The significance gates of one decision: validation ``errors`` and their mean ``scores`` per
    candidate, tested over series (a ``panel``) or over one series' origins (``overlap``)."""

    errors: dict[str, list[np.ndarray]]
    scores: dict[str, float]
    panel: bool
    significance: float
    overlap: int

    def beats(self, challenger: str, incumbent: str) -> float:
        """One-sided p-value that ``challenger`` validates better than ``incumbent``."""
        if self.scores[challenger] >= self.scores[incumbent]:
            return 1.0
        a, b = self.errors[incumbent], self.errors[challenger]
        return panel_pvalue(a, b) if self.panel else dm_pvalue(a, b, self.overlap)

    def gap(self, challenger: str, incumbent: str) -> float:
        """How much lower ``challenger``'s validation score is, as a share of ``incumbent``'s."""
        s = self.scores
        return 1 - s[challenger] / s[incumbent] if s[incumbent] else 0.0

    def better_by(self, challenger: str, incumbent: str) -> str:
        s = self.scores
        return (f"{challenger} validates {self.gap(challenger, incumbent):.1%} better than {incumbent} "
                f"(MASE {s[challenger]:.3f} vs {s[incumbent]:.3f})")

    def classical(self, singles: list[str], steps: list[str]) -> str:
        """The classical choice: ``comb``, unless the best single model validates significantly
        better; without comb the best single (or, with no classical candidate, the best)."""
        scores, significance = self.scores, self.significance
        if "comb" not in scores:
            return min(singles or scores, key=scores.__getitem__)
        best = min(singles, key=scores.__getitem__) if singles else None
        p_best = self.beats(best, "comb") if best is not None else 1.0
        if best is not None and p_best < significance:
            steps.append(f"{best} validates better than comb (p = {p_best:.3g} < {significance:g})")
            return best
        if best is not None and scores[best] < scores["comb"]:
            # Say why the hedge stays where a single model scored better (the reason must not
            # read as if comb validated best).
            steps.append(f"{self.better_by(best, 'comb')}, not significantly (p = {p_best:.2f} >= {significance:g}"
                         f"{'' if self.panel else untestable(self.errors[best], self.overlap)}): comb, the hedge, stays")
        return "comb"

def recommend(errors: dict[str, list[np.ndarray]], candidates: dict[str, Candidate], significance: float = 0.05,
              series_significance: float = 0.3, overlap: int = 0) -> Recommendation:
    """Choose among ``candidates`` from their scaled validation ``errors`` (per series, arrays of
    shape (origins, h); one list entry per series, in the same order for every candidate).

    The gates' level: ``significance`` for the panel test (``PANEL`` series or more),
    ``series_significance`` for the Diebold-Mariano test of fewer series' origins, whose
    ``path_overlap`` is ``overlap``. Why two: nine overlapping validation origins of one series
    are about four independent paths, which a 5% test almost never lets through, while a
    panel of hundreds of series is a powerful test at 5% (README, "What to use").

    A path of significance gates, from the most robust forecast to the most specialised: the
    classical combination ``comb``, replaced by the best single classical model only if that one
    validates significantly better; then ``lstm+<best>`` if it beats the classical choice
    significantly; then the LSTM alone if it beats ``lstm+<best>`` significantly. A challenger
    that does not beat the classical choice significantly gets the hedge (``hedge_or_reference``)
    unless it validates worse beyond the noise. Combinations
    first because averaging hedges against the model that validated best by luck, the rule
    forecasters learned in the M competitions."""
    scores = {name: float(np.mean([e.mean() for e in errs])) for name, errs in errors.items() if errs}
    if not scores:
        raise ValueError("no candidate forecast the validation origins")
    panel = max(len(errs) for errs in errors.values()) >= PANEL
    gates = _Gates(errors, scores, panel, significance if panel else series_significance, overlap)
    significance, beats, gap, better_by = gates.significance, gates.beats, gates.gap, gates.better_by
    singles = [n for n in scores if not candidates[n].has_lstm and not candidates[n].members]
    pair = next((n for n in scores if candidates[n].has_lstm and candidates[n].members and n != HEDGE), None)
    lstm = "lstm" if "lstm" in scores else None
    steps: list[str] = []
    choice = gates.classical(singles, steps)
    reference = choice
    rec = Recommendation(choice, "", scores, reference, significance=significance)
    for challenger in [c for c in (pair, lstm) if c is not None and c != choice]:
        p = beats(challenger, choice)
        rec.challenger, rec.pvalue = challenger, p
        if p < significance:
            steps.append(f"{better_by(challenger, choice)}, significant: p = {p:.3g} < {significance:g}")
            choice = challenger
            continue
        if candidates[choice].has_lstm:  # lstm+<best> won its gate; the LSTM alone did not beat it
            ahead = gap(challenger, choice)
            steps.append(f"{challenger} {'validates ' + format(ahead, '.1%') + ' better than' if ahead > 0 else 'does not beat'} "
                         f"{choice}, {'within the noise' if ahead > 0 else 'no better'} (p = {p:.2f} >= {significance:g})")
            break
        choice = hedge_or_reference(challenger, choice, p, significance, beats, gap, better_by, scores, steps)
        break
    rec.model = choice
    rec.reason = "; ".join(steps) if steps else f"{choice} validates best (MASE {scores[choice]:.3f})"
    if not candidates[choice].has_lstm and any(candidates[n].has_lstm for n in scores) and "beyond the noise" not in rec.reason:
        rec.reason += ": the simpler, classical forecast"
    return rec


def hedge_of(reference: str) -> str:
    """The combination of the LSTM and ``reference`` (``HEDGE`` for comb, ``lstm+<single>`` else)."""
    return HEDGE if reference == "comb" else f"lstm+{reference}"


def hedge_or_reference(challenger: str, reference: str, p: float, significance: float, beats: Any, gap: Any,
                       better_by: Any, scores: dict[str, float], steps: list[str]) -> str:
    """Where the LSTM-based ``challenger`` did not beat the classical ``reference`` significantly
    (one-sided p-value ``p``): the combination of the LSTM and the reference (``hedge_of``),
    unless the challenger validates worse beyond the noise; then the reference. Why combine: a
    lead within the noise is as likely real as not, and the average of two good forecasts is on
    the future about as good as the better one (M3, M4 and SCUM's results; issue 42: 0.875 for
    the mean of lstm and comb against 0.907 and 0.915 on 120 M1 monthly series)."""
    ahead = gap(challenger, reference)
    hedge = hedge_of(reference)
    if ahead > 0:
        case = f"{better_by(challenger, reference)}, within the noise (p = {p:.2f} >= {significance:g})"
    else:
        back = beats(reference, challenger)  # the other side: is the challenger worse beyond the noise?
        if back < significance:
            steps.append(f"{challenger} validates {-ahead:.1%} worse than {reference} (MASE {scores[challenger]:.3f} "
                         f"vs {scores[reference]:.3f}), beyond the noise (p = {back:.3g} < {significance:g}): "
                         f"{reference}, the classical forecast, stays")
            return reference
        case = (f"{challenger} validates {-ahead:.1%} worse than {reference} (MASE {scores[challenger]:.3f} vs "
                f"{scores[reference]:.3f}), within the noise (p = {back:.2f} >= {significance:g})")
    if hedge not in scores:
        steps.append(f"{case}: {reference} stays ({hedge}, the combination, did not forecast every origin)")
        return reference
    steps.append(f"{case}: {hedge}, the combination of the LSTM and {reference} (equal weights; "
                 f"MASE {scores[hedge]:.3f} on validation), hedges between them")
    return hedge


def untestable(errors: list[np.ndarray], overlap: int) -> str:
    """A note for a Diebold-Mariano gate that had no evidence to weigh (``hln_factor`` 0: one
    validation origin, or three whose paths overlap two ahead). Empty otherwise."""
    n = sum(np.atleast_2d(e).shape[0] for e in errors)
    if hln_factor(n, overlap) > 0:
        return ""
    origins = "1 validation origin" if n == 1 else f"{n} validation origins with overlapping paths"
    return f"; {origins}: too few to test"


# Below this many calibration origins one step's quantile is a single order statistic of a
# handful of errors: its noise makes the bounds zigzag over the horizon (nile, 9 origins: hi-80
# 955, 1075, 954, 1022, ...) and lets the 80% bound pass the 95% one.
SMALL_CALIBRATION = 20


def conformal_quantiles(scores: np.ndarray, levels: Sequence[float], weights: Optional[np.ndarray] = None) -> np.ndarray:
    """Per step, the split-conformal quantile of the scaled absolute errors ``scores`` (n, h) at
    each level (fractions): the ceil((n + 1) L)-th smallest score. Shape (len(levels), h).

    ``weights`` (n,), one per row (origin), mean 1: the weighted version, the smallest score
    whose cumulative weight reaches (n + 1) L (the ceil rule when every weight is 1).
    Steps with too few scores for a level borrow from all steps, scaled by sqrt(k): a random
    walk's errors grow that way (the assumption that stands in for missing origins).
    With fewer than ``SMALL_CALIBRATION`` origins the steps are smoothed (``_neighbours``,
    ``_non_decreasing``). A higher level never comes out narrower."""
    scores = np.asarray(scores, dtype=float)
    n, h = scores.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float) * n / np.sum(weights)
    steps = np.arange(1, h + 1)
    small = n < SMALL_CALIBRATION and h > 1
    per_step = [_neighbours(scores, w, k) if small else (scores[:, k], w) for k in range(h)]
    ranked = [_ranked(v, vw) for v, vw in per_step]  # sorted once, read at every level
    pooled = _ranked((scores / np.sqrt(steps)).ravel(), np.repeat(w, h))
    out = np.empty((len(levels), h))
    for i, level in enumerate(levels):
        for k, (values, _) in enumerate(per_step):
            m = values.size
            out[i, k] = (_reach(ranked[k], (m + 1) * level) if (m + 1) * level <= m + 1e-9 else
                         _reach(pooled, min((n * h + 1) * level, n * h)) * np.sqrt(k + 1))
        if small:
            out[i] = _non_decreasing(out[i])
    # The per-step and pooled quantiles could cross: the running maximum over levels nests them.
    order = np.argsort(levels)
    out[order] = np.maximum.accumulate(out[order], axis=0)
    return out


def _neighbours(scores: np.ndarray, w: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Step ``k``'s scores with those of the steps either side, rescaled to step k by sqrt
    (as the pooled fallback): three times the calibration set, for a few origins."""
    near = range(max(0, k - 1), min(scores.shape[1], k + 2))
    values = np.concatenate([scores[:, j] * np.sqrt((k + 1) / (j + 1)) for j in near])
    return values, np.tile(w, len(near))


def _non_decreasing(q: np.ndarray) -> np.ndarray:
    """The closest non-decreasing sequence to ``q`` (isotonic regression, pool adjacent
    violators): a forecast is no surer further ahead, and on a few origins a narrower later step
    is noise. It keeps the mean width, where a running maximum would widen every step."""
    blocks: list[list[float]] = []  # [mean, count]
    for v in q:
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m2, c2), (m1, c1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    return np.concatenate([np.full(int(c), m) for m, c in blocks])


def _ranked(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` in ascending order, and their cumulative weights."""
    order = np.argsort(values, kind="stable")
    return values[order], np.cumsum(weights[order])


def _reach(ranked: tuple[np.ndarray, np.ndarray], need: float) -> float:
    """The smallest value whose cumulative weight reaches ``need``: with unit weights the
    ceil(need)-th smallest (the tolerance absorbs float rounding)."""
    values, cum = ranked
    return float(values[min(int(np.searchsorted(cum, need - 1e-9)), values.size - 1)])


def interval_columns(name: str, point: np.ndarray, scale: float, quantiles: np.ndarray,
                     levels: Sequence[int], floor: Optional[float] = None) -> dict[str, np.ndarray]:
    """Nixtla-style columns ``<name>-lo-<L>`` / ``<name>-hi-<L>`` around ``point``; lower bounds
    no lower than ``floor`` (a series that cannot go below it)."""
    cols = {}
    for q, level in zip(quantiles, levels):
        low = point - q * scale
        cols[f"{name}-lo-{level}"] = low if floor is None else np.maximum(low, floor)
        cols[f"{name}-hi-{level}"] = point + q * scale
    return cols
