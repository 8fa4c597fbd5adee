"""Set-level accuracy over many series: per-series rows, then sMAPE, MASE and OWA per model.

The M4 way: sMAPE and MASE are averaged over series first, and OWA is the mean of the two
ratios to Naive2's averages over the same series. Every model is scored on the same series:
those the LSTM ran on and where Naive2 fitted (OWA needs it).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Optional

import pandas as pd

PARTS = ("val", "test")
KEYS = ("smape", "mase")


def series_row(uid: str, status: str, summary: Optional[dict[str, Any]] = None, reason: str = "") -> dict[str, Any]:
    """One series as a flat row: status, chosen size, verdicts, and every model's val/test scores.

    ``summary`` is the series' summary.json (``growlstm.records.recorder.summary``) when it ran.
    """
    row: dict[str, Any] = {"uid": uid, "status": status, "reason": reason}
    if summary is None:
        return row
    chosen = summary.get("chosen") or {}
    goal = summary.get("goal") or {}
    row |= {
        "points": summary["data"]["points"],
        "widths": " ".join(map(str, chosen.get("widths", []))),
        "params": chosen.get("params"),
        "best_baseline": goal.get("baseline"),
        "goal_met_val": goal.get("met_val"),
        # The claim's evidence: met on the validation mean, and the one-sided p-value that it is
        # met beyond the noise (goal_met_val needs p < goal.claim_significance).
        "goal_met_val_mean": goal.get("met_val_mean"),
        "goal_met_val_p": goal.get("met_val_p"),
        "goal_met_val_origins": goal.get("met_val_origins"),  # share of the validation origins that met it
        # global scope: per-series claims withheld, as they did not carry over within validation
        "goal_claims_withheld": goal.get("claims_withheld"),
        "goal_met_test": goal.get("met_test"),
        "dm_p_better": (summary.get("significance") or {}).get("pvalue_better"),
        "stop": summary.get("stop_reason"),
        "residual": summary["data"].get("residual"),  # the layout, as growth.preparation.layout_of records it
        "seconds": summary.get("seconds"),
    }
    for part in PARTS:
        for key in KEYS:
            row[f"lstm_{part}_{key}"] = _num((chosen.get(part) or {}).get(key))
    if chosen.get("search_test"):  # forecast.refit: the searched networks' scores, to compare
        for key in KEYS:
            row[f"lstm_norefit_val_{key}"] = row[f"lstm_val_{key}"]
            row[f"lstm_norefit_test_{key}"] = _num(chosen["search_test"].get(key))
    for name, b in (summary.get("baselines") or {}).items():
        for part in PARTS:
            for key in KEYS:
                ok = b.get("status") == "ok"
                row[f"{name}_{part}_{key}"] = _num((b.get(part) or {}).get(key)) if ok else math.nan
    rec = summary.get("recommendation") or {}
    if rec:
        row["recommended"] = rec.get("model")
        # Why (one series: its own decision): the reference a hedge was made with, and the reason line.
        row["recommended_reference"], row["recommended_reason"] = rec.get("reference"), rec.get("reason")
        # The combinations and the recommended forecast, scored like every model.
        for name in [n for n in rec.get("candidates_test") or rec.get("candidates_val") or {} if "+" in n or n == "comb"]:
            for part in PARTS:
                for key in KEYS:
                    row[f"{name}_{part}_{key}"] = _num((rec.get(f"candidates_{part}") or {}).get(name, {}).get(key))
        for part in PARTS:
            for key in KEYS:
                row[f"recommended_{part}_{key}"] = _num((rec.get(part) or {}).get(key))
        row |= {k: _num(v) for k, v in (rec.get("intervals") or {}).items()}
    return row


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def models_in(table: pd.DataFrame) -> list[str]:
    """``recommended``, ``lstm``, then the baselines and combinations, in column order."""
    names = [c[: -len("_test_mase")] for c in table.columns if c.endswith("_test_mase")]
    return sorted(names, key=lambda n: (n != "recommended", n != "lstm"))


def lstm_scored(table: pd.DataFrame, part: str = "test") -> bool:
    """Whether any series has the LSTM's ``part`` scores (none: every forecast was classical)."""
    return f"lstm_{part}_mase" in table and bool(table[f"lstm_{part}_mase"].notna().any())


def scored_series(table: pd.DataFrame, part: str = "test") -> pd.DataFrame:
    """The series every set-level figure is computed on: the LSTM and Naive2 both scored; where
    no series has an LSTM (every one too short), those Naive2 scored, so the baselines still compare."""
    if table.empty:
        return table.iloc[0:0]
    ok = pd.Series(True, index=table.index)
    if lstm_scored(table, part):
        ok &= table[f"lstm_{part}_mase"].notna() & table[f"lstm_{part}_smape"].notna()
    elif f"naive2_{part}_mase" not in table:
        return table.iloc[0:0]
    if f"naive2_{part}_mase" in table:
        ok &= table[f"naive2_{part}_mase"].notna() & table[f"naive2_{part}_smape"].notna()
    return table[ok]


def set_scores(table: pd.DataFrame, part: str = "test") -> pd.DataFrame:
    """Per model: series scored, mean sMAPE, mean MASE and OWA vs Naive2 (NaN without Naive2).

    A baseline that failed on some of the scored series is averaged over the rest; ``series``
    says how many.
    """
    rows = scored_series(table, part)
    out = []
    has_naive2 = f"naive2_{part}_mase" in rows
    for model in models_in(table):
        smape_col, mase_col = rows[f"{model}_{part}_smape"], rows[f"{model}_{part}_mase"]
        both = smape_col.notna() & mase_col.notna()
        smape, mase = float(smape_col[both].mean()), float(mase_col[both].mean())
        owa = math.nan
        if has_naive2 and both.any():
            ref = rows[both]
            owa = 0.5 * (smape / ref[f"naive2_{part}_smape"].mean() + mase / ref[f"naive2_{part}_mase"].mean())
        out.append({"model": model, "series": int(both.sum()), "smape": smape, "mase": mase, "owa": owa})
    return pd.DataFrame(out, columns=["model", "series", "smape", "mase", "owa"]).set_index("model")


def size_counts(widths: Iterable[str]) -> dict[str, int]:
    """How often each chosen architecture ("3 2": 3 then 2 cells), or any other text value such as
    a residual base, occurs; most frequent first."""
    return dict(Counter(w for w in widths if isinstance(w, str) and w).most_common())


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    """Series that ran, met the goal on validation, and held it on test."""
    ran = table[table.status == "ok"] if "status" in table else table
    # Via the nullable boolean: an all-None column would otherwise warn about silent downcasting.
    val = ran.get("goal_met_val", pd.Series(dtype=object)).astype("boolean").fillna(False).astype(bool)
    test = ran.get("goal_met_test", pd.Series(dtype=object)).astype("boolean").fillna(False).astype(bool)
    return {"series": len(table), "ran": len(ran), "met_val": int(val.sum()), "met_test": int(test.sum()),
            "held_on_test": int((val & test).sum())}
