"""report.html: one self-contained page per run (plots embedded as data URIs, no other file,
no network), written for a reader who has never seen growlstm: what to use and why, the
forecast with its intervals, whether the LSTM met the goal, how it was grown, and every model's
scores. A many-series run gets a set-level page (scores, sizes, the worst series).
"""

from __future__ import annotations

import base64
import html
import math
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import pandas as pd

from growlstm.data import _fmt
from growlstm.metrics import fmt, metric_label

if TYPE_CHECKING:
    from growlstm.records.results import ManyResult
    from growlstm.records.results import GrowthResult

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1040px;
       padding: 1.5em; color: #1d1d1f; line-height: 1.45; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.sub { color: #555; margin-top: 0; }
.answer { background: #eef6ee; border-left: 6px solid #2e7d32; padding: 0.8em 1.1em; margin: 1em 0; }
.answer.no { background: #fdf1ec; border-left-color: #c0562a; }
.answer b.big { font-size: 1.25em; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.6em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f5f5f7; } td.l, th.l { text-align: left; }
tr.hl td { background: #fff7d6; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
dl.gloss dt { font-weight: 600; } dl.gloss dd { margin: 0 0 0.5em 1.2em; color: #333; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
.muted { color: #666; font-size: 0.9em; }
"""

GLOSSARY = [
    ("MASE", "mean absolute scaled error: the forecast's mean absolute error divided by that of a seasonal naive "
             "forecast within the history. Below 1: better than repeating the last season; lower is better."),
    ("sMAPE", "symmetric mean absolute percentage error, in percent; lower is better."),
    ("validation", "forecast origins just before the test span. Every choice (the LSTM's size, the recommended "
                   "model) is made there."),
    ("test", "the last part of the series, held out until every choice was made: an honest preview of how the "
             "forecast will do."),
    ("baseline", "a classical forecast (naive, seasonal naive, Naive2, ARIMA, ETS, Theta) fitted on the same data "
                 "and scored at the same origins."),
    ("interval", "a prediction interval: the range the future value should fall in with the stated probability, "
                 "from the model's own errors at the validation origins (conformal)."),
    ("stage", "one LSTM size tried by the search: it starts with one small layer, widens it while validation "
              "improves, then adds layers, and stops at the first size that meets the goal."),
]


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def image(png: bytes, alt: str) -> str:
    """A PNG embedded in the page itself (a data URI): the page needs no other file."""
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1, highlight: Optional[set[int]] = None) -> str:
    """An HTML table; the first ``left`` columns are text (left-aligned)."""
    cls = lambda k: ' class="l"' if k < left else ""  # noqa: E731
    head = "".join(f"<th{cls(k)}>{esc(h)}</th>" for k, h in enumerate(header))
    body = []
    for i, row in enumerate(rows):
        mark = ' class="hl"' if highlight and i in highlight else ""
        body.append(f"<tr{mark}>" + "".join(f"<td{cls(k)}>{esc(v)}</td>" for k, v in enumerate(row)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def glossary() -> str:
    items = "".join(f"<dt>{esc(t)}</dt><dd>{esc(d)}</dd>" for t, d in GLOSSARY)
    return f"<h2>Words used here</h2><dl class=\"gloss\">{items}</dl>"


def model_words(name: str) -> str:
    """A model's name as a reader understands it."""
    from growlstm.records.plots import model_label

    if name == "comb":
        return "comb: the mean of the ETS, ARIMA and Theta forecasts"
    if name.startswith("lstm+"):
        return f"the mean of the LSTM's and {name[5:]}'s forecasts"
    return model_label(name)


def run_page(result: "GrowthResult", win: Any, growth_png: bytes) -> str:
    """The page of one series' run."""
    from growlstm.records.plots import best_baseline_of, forecast_figure, forecast_models, metric_label, png_bytes
    from growlstm.records.report import format_report, verdict

    metric = result.goal.metric
    label = metric_label(metric)
    rec = result.recommendation or {}
    first, last = win.ds[0], win.ds[-1]
    parts = [
        f"<h1>Forecast report: {esc(result.series)}</h1>",
        f'<p class="sub">{result.n_points} observations ({esc(_fmt(first))} to {esc(_fmt(last))}), season length '
        f"{result.season_length}, forecasting the next {result.h} steps. Made by growlstm, which grows the smallest "
        f"LSTM network that meets an accuracy goal and compares it with classical forecasts.</p>",
        "<h2>What to use</h2>",
    ]
    if rec:
        test = rec.get("test") or {}
        cover = rec.get("intervals") or {}
        inside = ", ".join(f"{k.split('_')[1]}% interval: {v:.0%}" for k, v in cover.items()
                           if k.startswith("coverage_") and v is not None)
        parts.append(
            f'<div class="answer"><b class="big">Use {esc(model_words(rec["model"]))}.</b><br>'
            f"Why: {esc(rec.get('reason', ''))}.<br>"
            + (f"On the held-out test span its {label} is {fmt(test.get(metric))}" if metric in test else "")
            + (f"; test values inside its intervals: {esc(inside)}" if inside else "")
            + ".</div>"
        )
    else:
        parts.append('<div class="answer no"><b class="big">No recommendation</b>: no model forecast the '
                     "validation origins.</div>")
    models = forecast_models(result)
    parts.append("<h2>The forecast</h2>")
    parts.append(image(png_bytes(forecast_figure(result, win)), "the series, its test span and the forecasts"))
    parts.append('<p class="muted">Shaded grey: the test span, held out while choosing. Dashed: each model\'s '
                 "forecast of the test span from its origin(s); solid with bands: the forecast past the data with "
                 "its prediction intervals. forecast.csv in this folder holds these numbers and every other "
                 "model's.</p>")
    if result.forecast is not None and models:
        parts.append(future_table(result.forecast, models, rec.get("levels") or []))
    parts.append("<h2>Did the LSTM meet the goal?</h2>")
    met = result.goal_met("val")
    parts.append(f'<div class="answer{"" if met else " no"}">{esc(verdict(result))}</div>')
    if result.significance is not None:
        sig = result.significance
        parts.append(f"<p>On the test span the LSTM against {esc(sig.baseline)} (Diebold-Mariano test on absolute "
                     f"errors): p = {fmt(sig.pvalue_better)} that the LSTM is better "
                     f"({'significant' if sig.pvalue_better < 0.05 else 'not significant'} at 5%).</p>")
    parts.append(f"<p>Search stopped: {esc(result.stop_reason)}"
                 + (f" ({esc(result.stop_note)})" if result.stop_note else "") + ".</p>")
    parts.append("<h2>How the LSTM was grown</h2>")
    parts.append(image(growth_png, "validation score of each stage"))
    if result.stages:
        parts.append(stages_table(result))
    parts.append("<h2>Every model on validation and test</h2>")
    parts.append(models_table(result, best_baseline_of(result)))
    parts.append(glossary())
    parts.append("<h2>Details</h2><details><summary>the console report</summary>"
                 f"<pre>{esc(format_report(result))}</pre></details>")
    parts.append(f'<p class="muted">Files beside this page: summary.json (everything, machine-readable), '
                 f"stages.csv, forecast.csv, growth.png, stages/ (each stage's config and weights), tb/ "
                 f"(TensorBoard). Run time {result.seconds:.1f} s.</p>")
    return page(f"growlstm: {result.series}", "\n".join(parts))


def future_table(frame: pd.DataFrame, models: list[str], levels: Sequence[int]) -> str:
    """The forecast past the data: each model's point forecast and its widest interval."""
    level = max(levels) if levels else None
    header = ["step"] + (["date"] if "ds" in frame else [])
    for name in models:
        header.append(name)
        if level is not None and f"{name}-lo-{level}" in frame:
            header.append(f"{name} {level}% interval")
    rows = []
    for _, r in frame.iterrows():
        # (iterrows makes integer steps floats beside float columns: written back as integers)
        row: list[Any] = [int(r["step"])] + ([_fmt(pd.Timestamp(r["ds"])) if not isinstance(r["ds"], (int, float))
                                              else int(r["ds"]) if float(r["ds"]).is_integer() else r["ds"]]
                                             if "ds" in frame else [])
        for name in models:
            row.append(fmt(r[name], 2))
            if level is not None and f"{name}-lo-{level}" in frame:
                row.append(f"{fmt(r[f'{name}-lo-{level}'], 2)} to {fmt(r[f'{name}-hi-{level}'], 2)}")
        rows.append(row)
    return table(header, rows, left=2 if "ds" in frame else 1)


def stages_table(result: "GrowthResult") -> str:
    from growlstm.records.plots import metric_label

    metric = result.goal.metric
    rows, chosen = [], set()
    for s in result.stages:
        if s.index == result.chosen:
            chosen.add(len(rows))
        rows.append([s.index, s.action, " ".join(map(str, s.widths)), s.params,
                     f"{fmt(s.val.get(metric))} ± {fmt(s.val_std)}" if s.ok else f"failed: {s.error}",
                     fmt(s.gain), f"{s.seconds:.1f}", "; ".join([s.decision, *s.notes])])
    header = ["stage", "action", "cells per layer", "parameters", f"validation {metric_label(metric)} (± sd over seeds)",
              "gain", "seconds", "decision (and notes: retries, restarted seeds)"]
    return table(header, rows, left=3, highlight=chosen) + '<p class="muted">Highlighted: the chosen stage.</p>'


def models_table(result: "GrowthResult", best: Optional[str]) -> str:
    """The chosen LSTM, the recommendation and every baseline: validation and test scores."""
    rec = result.recommendation or {}
    keys = ["mase", "smape", "mae", "rmse"]
    header = ["model", "what it is", "validation MASE", "validation sMAPE"] + [f"test {metric_label(k)}"
                                                                             for k in keys]
    rows, marks = [], set()
    chosen = result.chosen_stage
    if rec:
        marks.add(0)
        rows.append([f"recommended: {rec['model']}", model_words(rec["model"]), fmt((rec.get("val") or {}).get("mase")),
                     fmt((rec.get("val") or {}).get("smape"))] + [fmt((rec.get("test") or {}).get(k)) for k in keys])
    if chosen is not None:
        rows.append(["LSTM (chosen size)", f"cells per layer {' '.join(map(str, chosen.widths))}, {chosen.params} parameters",
                     fmt(chosen.val.get("mase")), fmt(chosen.val.get("smape"))]
                    + [fmt(result.chosen_test.get(k)) for k in keys])
    for name, b in sorted(result.baselines.items(), key=lambda kv: kv[1].val.get(result.goal.metric, math.inf)):
        if not b.ok:
            rows.append([name, f"failed: {b.error}", "-", "-"] + ["-"] * len(keys))
            continue
        rows.append([name + (" (best baseline)" if name == best else ""), b.spec, fmt(b.val.get("mase")),
                     fmt(b.val.get("smape"))] + [fmt(b.test.get(k)) for k in keys])
    return table(header, rows, left=2, highlight=marks)


# ---------------------------------------------------------------------------------------------
# Many series: the set-level page


WORST = 10  # series listed as the worst


def set_page(result: "ManyResult", pages: Optional[dict[str, str]] = None) -> str:
    """The set-level page of a many-series run. ``pages``: each series' own report.html, as a
    path relative to this page (local scope), to link to."""
    from growlstm.records.report import NO_TEST_SCORES, format_many, set_model_label, shown_scores, untrained

    t = result.table
    v = result.verdicts
    block = result.extra.get("global")
    no_network = untrained(block)
    parts = [f"<h1>Forecast report: {v['series']} series</h1>",
             f'<p class="sub">{esc(result.scope)} scope: '
             + ("one LSTM grown per series" if result.scope == "local" else
                "no LSTM trained (too little data even pooled): classical forecasts" if no_network else
                "one LSTM grown on every series at once")
             + f". Made by growlstm, which grows the smallest LSTM network that meets an accuracy goal and compares "
               f"it with classical forecasts. Run time {result.seconds:.0f} s.</p>"]
    parts.append("<h2>What to use</h2>")
    rec = result.extra.get("recommendation")
    if rec:
        parts.append(f'<div class="answer"><b class="big">Use {esc(model_words(rec["model"]))} for every series.</b>'
                     f"<br>Why: {esc(rec.get('reason', ''))}.</div>")
    elif "recommended" in t:
        counts = t.recommended.value_counts()
        parts.append('<div class="answer">Each series gets its own recommendation: '
                     + ", ".join(f"<b>{esc(m)}</b> for {k} series" for m, k in counts.items()) + ".</div>")
    parts.append(f"<p>{v['ran']} of {v['series']} series ran; the LSTM met the goal on validation for {v['met_val']} "
                 f"and on test for {v['met_test']} ({v['held_on_test']} held it from validation to test).</p>")
    parts.append("<h2>Scores over the series (test)</h2>")
    scores, over = shown_scores(result)
    if scores.empty:
        parts.append(f"<p>{esc(NO_TEST_SCORES[0].upper() + NO_TEST_SCORES[1:])}.</p>")
    else:
        parts.append(table(["model", "series", "sMAPE", "MASE", "OWA"],
                           [[set_model_label(m), int(r.series), fmt(r.smape, 2), fmt(r.mase), fmt(r.owa)]
                            for m, r in scores.iterrows()]))
        parts.append(f'<p class="muted">Means over {esc(over)}; OWA: the mean of the sMAPE and MASE '
                     "ratios to Naive2 on the same series, as in the M4 competition (below 1: better than Naive2).</p>")
    scatter = set_scatter(t)
    if scatter is not None:
        parts.append(image(scatter, "LSTM against the best baseline, series by series"))
    parts += _sizes_section(result, block, no_network)
    parts += _worst_section(t, pages)
    problems = [(s, r) for s in ("refused", "failed") for r in t[t.status == s].itertuples()] if "status" in t else []
    if problems or result.skipped:
        parts.append("<h2>Series left out</h2>")
        parts.append(table(["series", "status", "reason"],
                           [[r.uid, s, r.reason] for s, r in problems]
                           + [[uid, "skipped", reason] for uid, reason in result.skipped.items()], left=3))
    parts.append(glossary())
    parts.append("<h2>Details</h2><details><summary>the console report</summary>"
                 f"<pre>{esc(format_many(result))}</pre></details>")
    return page(f"growlstm: {v['series']} series", "\n".join(parts))


def _sizes_section(result: "ManyResult", block: Optional[dict], no_network: bool) -> list[str]:
    """The sizes the run chose: the global network's stages, or the local sizes' counts."""
    parts: list[str] = []
    parts.append("<h2>LSTM sizes chosen</h2>")
    growth = result.run_dir / "growth.png" if result.run_dir is not None else None
    if no_network:
        parts.append(f"<p>No network was trained: {esc(block['stop_note'])}.</p>")
    elif block and growth is not None and growth.is_file():
        parts.append(image(growth.read_bytes(), "validation score of each stage of the global network"))
    if block and not no_network:
        parts.append(f"<p>One network for every series: cells per layer {esc(block['widths'])}, {block['params']} "
                     f"parameters (stage {block['chosen_stage']}); goal at set level: {esc(block['goal'])}; stopped: "
                     f"{esc(block['stop_reason'])}.</p>")
        metric = result.config.goal.metric
        parts.append(table(["stage", "cells per layer", "parameters", f"validation {metric_label(metric)} (mean over series)",
                            "decision"],
                           [[s["stage"], " ".join(map(str, s["widths"])), s["params"],
                             fmt((s.get("val") or {}).get(metric)), s.get("decision") or s.get("error")]
                            for s in block["stages"]], left=2,
                           highlight={k for k, s in enumerate(block["stages"]) if s["stage"] == block["chosen_stage"]}))
    elif result.sizes:
        parts.append(table(["cells per layer", "series"], [[w, k] for w, k in result.sizes.items()]))
    return parts

def _worst_section(t: pd.DataFrame, pages: Optional[dict[str, str]]) -> list[str]:
    """The series where the LSTM does worst against the best baseline, linked to their pages."""
    parts: list[str] = []
    parts.append("<h2>The worst series</h2>")
    worst = worst_series(t)
    if worst.empty:
        parts.append("<p>No series has a test score for the LSTM and a baseline.</p>")
    else:
        rows = []
        for r in worst.itertuples():
            uid = esc(r.uid)
            if pages and r.uid in pages:
                uid = f'<a href="{esc(pages[r.uid])}">{uid}</a>'
            rows.append([uid, esc(r.widths if isinstance(r.widths, str) else ""), esc(r.best), fmt(r.lstm), fmt(r.base),
                         fmt(r.ratio, 2), esc(getattr(r, "recommended", "") or "")])
        head = ["series", "cells per layer", "best baseline", "LSTM test MASE", "baseline test MASE", "ratio", "recommended"]
        parts.append(_raw_table(head, rows))
        parts.append(f'<p class="muted">The {len(worst)} series where the LSTM does worst against the best baseline '
                     f"on test (ratio of test MASE, above 1: the baseline is better); series.csv holds every "
                     f"series.</p>")
    return parts

def _raw_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table whose cells are already HTML (escaped by the caller)."""
    head = "".join(f'<th class="l">{esc(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td class="l">{c}</td>' for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def worst_series(table_: pd.DataFrame, n: int = WORST) -> pd.DataFrame:
    """The ``n`` series with the highest ratio of the LSTM's test MASE to its best baseline's."""
    if "lstm_test_mase" not in table_ or "best_baseline" not in table_:
        return pd.DataFrame()
    rows = []
    for r in table_.to_dict(orient="records"):
        best = r.get("best_baseline")
        lstm, base = r.get("lstm_test_mase"), r.get(f"{best}_test_mase") if isinstance(best, str) else None
        if lstm is None or base is None or not (math.isfinite(lstm) and math.isfinite(base)) or base <= 0:
            continue
        rows.append({"uid": r["uid"], "widths": r.get("widths"), "best": best, "lstm": lstm, "base": base,
                     "ratio": lstm / base, "recommended": r.get("recommended")})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values("ratio", ascending=False).head(n)


def set_scatter(table_: pd.DataFrame) -> Optional[bytes]:
    """Each series' LSTM test MASE against its best baseline's (below the diagonal: the LSTM wins)."""
    from growlstm.records.plots import png_bytes, pyplot

    pairs = worst_series(table_, n=len(table_))
    if pairs.empty:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.scatter(pairs.base, pairs.lstm, s=14, alpha=0.7, color="C0")
    top = float(max(pairs.base.max(), pairs.lstm.max())) * 1.05
    ax.plot([0, top], [0, top], color="0.5", linestyle="--", linewidth=1)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("best baseline: test MASE")
    ax.set_ylabel("LSTM: test MASE")
    ax.set_title("one dot per series; below the line the LSTM is better", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)
